//! What Lambda's SQS event source mapping does, on this machine: long-poll
//! a queue, hand each batch to its function's handler as an `SqsEvent`,
//! delete the messages it did not report as failures. Lambda runs several
//! batches at once; `concurrency` says how many here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

/// A function on an SQS queue: the worker, the webhook sender.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send;
}

impl BatchHandler for worker::Worker {
    fn handle(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send {
        self.process_batch(event)
    }
}

#[cfg(feature = "stack")]
impl BatchHandler for webhook_sender::Sender {
    fn handle(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send {
        self.process_batch(event)
    }
}

pub async fn drain_queue<H: BatchHandler>(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    handler: Arc<H>,
    concurrency: usize,
) {
    // Owned by this future: when the drain is stopped (aborted, as a test
    // kills its worker), the batches in flight stop with it, as a Lambda
    // instance's do.
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        while running.len() >= concurrency.max(1) {
            running.join_next().await;
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receiving from a queue failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages.into_iter().map(to_event_record).collect();
        let (sqs, queue_url, handler) = (sqs.clone(), queue_url.clone(), handler.clone());
        running.spawn(async move {
            let response = handler.handle(event.clone()).await;
            delete_done(&sqs, &queue_url, &event, &response).await;
        });
    }
}

/// Deletes the batch's messages that the handler did not report as failed.
async fn delete_done(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event: &SqsEvent,
    response: &SqsBatchResponse,
) {
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let done: Vec<DeleteMessageBatchRequestEntry> = event
        .records
        .iter()
        .filter(|m| !failed.contains(&m.message_id.as_deref().unwrap_or_default()))
        .filter_map(|m| {
            DeleteMessageBatchRequestEntry::builder()
                .id(m.message_id.clone()?)
                .receipt_handle(m.receipt_handle.clone()?)
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty()
        && let Err(e) = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(done))
            .send()
            .await
    {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "deleting processed messages failed");
    }
}

fn to_event_record(m: aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = m.message_id;
    record.receipt_handle = m.receipt_handle;
    record.body = m.body;
    record.md5_of_body = m.md5_of_body;
    record.attributes = m
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect::<HashMap<_, _>>();
    record.event_source = Some("aws:sqs".into());
    record
}
