//! The jobs queue: one message per accepted job, `{tenantId, livemode,
//! jobId}` (the job's key, nothing more). The message carries no job data;
//! the worker reads the job from the table, so a canceled job is seen as
//! canceled whatever the queue delivers.
//!
//! Every message is sent with `MessageGroupId = tenantId`. On a standard
//! queue that makes it an SQS fair queue: when one tenant's backlog piles
//! up, SQS hands out the other tenants' messages first, so their dwell time
//! does not grow with it. Ordering and throughput stay those of a standard
//! queue.
//!
//! `JobQueue` is the one SQS adapter: the senders' `send` and the
//! worker's `delay` (its backoff).

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobMessage {
    pub tenant_id: String,
    /// The key mode the job was submitted with: its scope's half of the key.
    pub livemode: bool,
    pub job_id: String,
}

/// The one encoding of a message body, used by every sender and by the
/// worker, so what is sent is what is read.
impl JobMessage {
    /// The message that runs the job `job_id` of `scope`.
    pub fn new(scope: crate::domain::Scope<'_>, job_id: &str) -> JobMessage {
        JobMessage {
            tenant_id: scope.tenant_id.to_string(),
            livemode: scope.livemode(),
            job_id: job_id.to_string(),
        }
    }

    /// The message that runs `job`.
    pub fn of(job: &crate::domain::Job) -> JobMessage {
        JobMessage::new(job.scope(), &job.id)
    }

    /// The scope of the job the message names.
    pub fn scope(&self) -> crate::domain::Scope<'_> {
        let mode = if self.livemode {
            crate::domain::KeyMode::Live
        } else {
            crate::domain::KeyMode::Test
        };
        crate::domain::Scope::new(&self.tenant_id, mode)
    }

    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_body(body: &str) -> Result<JobMessage, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{action} failed: {cause}")]
pub struct QueueError {
    action: &'static str,
    cause: String,
}

const SENDING: &str = "sending to the jobs queue";
const DELAYING: &str = "delaying a message of the jobs queue";

/// SQS refuses a visibility timeout above 12 hours.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

fn failed<E>(action: &'static str) -> impl FnOnce(E) -> QueueError
where
    E: std::error::Error + 'static,
{
    move |e| QueueError {
        action,
        cause: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
    }
}

pub struct JobQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl JobQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> JobQueue {
        JobQueue { client, url }
    }

    pub async fn send(&self, msg: &JobMessage) -> Result<(), QueueError> {
        let body = msg.to_body().map_err(failed(SENDING))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(&msg.tenant_id)
            .send()
            .await
            .map_err(failed(SENDING))?;
        Ok(())
    }

    /// Makes a received message (by its receipt handle) come back after
    /// `delay`, whole seconds rounded up: the worker's backoff.
    pub async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        let secs = delay.min(MAX_VISIBILITY).as_secs_f64().ceil() as i32;
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(failed(DELAYING))?;
        Ok(())
    }
}
