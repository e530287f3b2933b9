//! An SQS function's batch, the way both the worker and the webhook sender
//! answer it: every message at once (a slow one holds up only itself), and
//! the messages to see again reported as `batchItemFailures`, each first
//! delayed by its visibility when the handler says how long.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

/// What becomes of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it.
    Done,
    /// Leave it on the queue, to come back after this long (`None`: after
    /// the queue's own visibility timeout).
    Again(Option<Duration>),
}

/// Runs `process` on every message of `event` concurrently; for each one
/// to see again, `delay(receipt handle, wait)` first when it says how long.
pub async fn each_message<'e, P, PF, D, DF>(
    event: &'e SqsEvent,
    process: P,
    delay: D,
) -> SqsBatchResponse
where
    P: Fn(&'e SqsMessage) -> PF,
    PF: Future<Output = Disposition>,
    D: Fn(&'e str, Duration) -> DF,
    DF: Future<Output = ()>,
{
    let dispositions = futures_util::future::join_all(event.records.iter().map(process)).await;
    let mut response = SqsBatchResponse::default();
    for (message, disposition) in event.records.iter().zip(dispositions) {
        if let Disposition::Again(wait) = disposition {
            if let (Some(wait), Some(receipt)) = (wait, &message.receipt_handle) {
                delay(receipt, wait).await;
            }
            response.add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    response
}
