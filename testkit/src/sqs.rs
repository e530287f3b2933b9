//! Events as Lambda's SQS event source hands them to the worker and the
//! webhook sender.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The SQS event the worker Lambda gets for one job message, encoded as
/// `JobQueue::send` encodes it.
pub fn job_message_event(
    message_id: String,
    message: &shared::queue::JobMessage,
) -> Result<SqsEvent, BoxError> {
    Ok(message_event(message_id, None, message.to_body()?))
}

/// The SQS event of one received message (its receipt handle, when it was
/// received from a queue, so the handler can change its visibility).
pub fn message_event(message_id: String, receipt_handle: Option<String>, body: String) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id);
    record.receipt_handle = receipt_handle;
    record.body = Some(body);
    let mut event = SqsEvent::default();
    event.records = vec![record];
    event
}
