//! The jobs queue: one message per accepted job, `{tenantId, jobId}`. The
//! message carries no job data; the worker reads the job from the table, so a
//! canceled job is seen as canceled whatever the queue delivers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobMessage {
    pub tenant_id: String,
    pub job_id: String,
}

/// The one encoding of a message body, used by every sender and by the
/// worker, so what is sent is what is read.
impl JobMessage {
    pub fn to_body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_body(body: &str) -> Result<JobMessage, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sending to the jobs queue failed: {0}")]
pub struct QueueError(String);

pub struct JobQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl JobQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> JobQueue {
        JobQueue { client, url }
    }

    pub async fn send(&self, msg: &JobMessage) -> Result<(), QueueError> {
        let body = msg.to_body().map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
