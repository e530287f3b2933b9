//! The two queues. The jobs queue: one message per accepted job, `{tenantId, livemode,
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
//! The delivery queue: one message per webhook event (and per redelivery
//! asked for), `{tenantId, livemode, jobId, run}`, also grouped by tenant so
//! one tenant's failing endpoint never delays another tenant's events. The
//! webhook sender reads the job and the delivery state from the table.
//!
//! `Sqs` is the one SQS adapter under both: `send`, and `delay` (the
//! worker's backoff, the webhook sender's retry schedule).

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
        scope_of(&self.tenant_id, self.livemode)
    }

    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_body(body: &str) -> Result<JobMessage, serde_json::Error> {
        serde_json::from_str(body)
    }
}

fn scope_of(tenant_id: &str, livemode: bool) -> crate::domain::Scope<'_> {
    let mode = if livemode {
        crate::domain::KeyMode::Live
    } else {
        crate::domain::KeyMode::Test
    };
    crate::domain::Scope::new(tenant_id, mode)
}

/// A webhook event to (re)deliver: the job's key and the delivery run it
/// belongs to. Run 0 is the event's first delivery (from the stream); each
/// redelivery starts the next run, and a message of an older run is stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryMessage {
    pub tenant_id: String,
    pub livemode: bool,
    pub job_id: String,
    pub run: u32,
}

impl DeliveryMessage {
    pub fn new(scope: crate::domain::Scope<'_>, job_id: &str, run: u32) -> DeliveryMessage {
        DeliveryMessage {
            tenant_id: scope.tenant_id.to_string(),
            livemode: scope.livemode(),
            job_id: job_id.to_string(),
            run,
        }
    }

    pub fn scope(&self) -> crate::domain::Scope<'_> {
        scope_of(&self.tenant_id, self.livemode)
    }

    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_body(body: &str) -> Result<DeliveryMessage, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{action} failed: {cause}")]
pub struct QueueError {
    action: &'static str,
    cause: String,
}

const SENDING: &str = "sending to a queue";
const DELAYING: &str = "delaying a message";

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

/// One queue: sends grouped by tenant, and delays of received messages.
struct Sqs {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Sqs {
    async fn send(&self, body: String, group: &str) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(group)
            .send()
            .await
            .map_err(failed(SENDING))?;
        Ok(())
    }

    /// Makes a received message (by its receipt handle) come back after
    /// `delay`, whole seconds rounded up.
    async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
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

pub struct JobQueue {
    sqs: Sqs,
}

impl JobQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> JobQueue {
        JobQueue {
            sqs: Sqs { client, url },
        }
    }

    pub async fn send(&self, msg: &JobMessage) -> Result<(), QueueError> {
        let body = msg.to_body().map_err(failed(SENDING))?;
        self.sqs.send(body, &msg.tenant_id).await
    }

    /// The worker's backoff: the received message comes back after `delay`.
    pub async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        self.sqs.delay(receipt_handle, delay).await
    }
}

/// The delivery queue, and its dead-letter queue for events whose retries
/// ran out (the sender moves them there itself, so the alarm on it means
/// exactly that).
pub struct DeliveryQueue {
    sqs: Sqs,
    dead_letters: Option<Sqs>,
}

impl DeliveryQueue {
    pub fn new(
        client: aws_sdk_sqs::Client,
        url: String,
        dead_letter_url: Option<String>,
    ) -> DeliveryQueue {
        DeliveryQueue {
            dead_letters: dead_letter_url.map(|url| Sqs {
                client: client.clone(),
                url,
            }),
            sqs: Sqs { client, url },
        }
    }

    pub async fn send(&self, msg: &DeliveryMessage) -> Result<(), QueueError> {
        let body = msg.to_body().map_err(failed(SENDING))?;
        self.sqs.send(body, &msg.tenant_id).await
    }

    /// The retry schedule's wait: the received message comes back after
    /// `delay` (at most 12 hours, SQS's limit).
    pub async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        self.sqs.delay(receipt_handle, delay).await
    }

    /// Puts an exhausted event's message on the dead-letter queue (when the
    /// sender has one configured).
    pub async fn dead_letter(&self, msg: &DeliveryMessage) -> Result<(), QueueError> {
        let Some(dlq) = &self.dead_letters else {
            return Ok(());
        };
        let body = msg.to_body().map_err(failed(SENDING))?;
        dlq.send(body, &msg.tenant_id).await
    }
}
