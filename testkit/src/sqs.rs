//! Events as Lambda's SQS event source hands them to the worker.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The SQS event the worker Lambda gets for one job message, encoded as
/// `JobQueue::send` encodes it.
pub fn job_message_event(
    message_id: String,
    message: &shared::queue::JobMessage,
) -> Result<SqsEvent, BoxError> {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id);
    record.body = Some(message.to_body()?);
    let mut event = SqsEvent::default();
    event.records = vec![record];
    Ok(event)
}
