//! The worker's and the webhook sender's input: an SQS batch whose message
//! bodies are job messages (`{"tenantId":…,"livemode":…,"jobId":…}`, the
//! only shape the generate function sends) or delivery messages (the same
//! and `"run":…`, the only shape the webhooks function and redelivery send).
//! Whatever arrives, decoding never panics; a body the worker accepts is
//! exactly such an object (no other keys, two strings and a boolean) or, as
//! serde reads any struct, the array of those three in order (harmless: only the
//! generate function writes to the queue); and what the queue writer sends
//! always decodes back to the same message.
//!
//! Input: an SQS event as the Lambda receives it; bytes that are not one are
//! taken as a single message body.

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use shared::queue::{DeliveryMessage, JobMessage};

pub fn check(data: &[u8]) {
    match serde_json::from_slice::<SqsEvent>(data) {
        Ok(event) => event
            .records
            .iter()
            .filter_map(|r| r.body.as_deref())
            .for_each(check_body),
        Err(_) => check_body(&String::from_utf8_lossy(data)),
    }
}

/// Both consumers' decoding of one body.
pub fn check_body(body: &str) {
    check_job_body(body);
    check_delivery_body(body);
}

/// The webhook sender's decoding of one body, as it runs it: a decoded
/// body is exactly the four keys (or serde's array of them), and what the
/// senders write reads back unchanged.
fn check_delivery_body(body: &str) {
    let Ok(message) = DeliveryMessage::from_body(body) else {
        return;
    };
    let read = serde_json::from_str::<Value>(body).expect("a decoded body is JSON");
    let as_object = serde_json::json!({
        "tenantId": message.tenant_id,
        "livemode": message.livemode,
        "jobId": message.job_id,
        "run": message.run,
    });
    let as_array = serde_json::json!([
        message.tenant_id,
        message.livemode,
        message.job_id,
        message.run
    ]);
    assert!(
        read == as_object || read == as_array,
        "the webhook sender read {body:?} as {message:?}"
    );
    check_delivery_round_trip(&message);
}

/// What `DeliveryQueue::send` writes is what the webhook sender reads.
pub fn check_delivery_round_trip(message: &DeliveryMessage) {
    let sent = message.to_body().expect("a delivery message serializes");
    let received =
        DeliveryMessage::from_body(&sent).unwrap_or_else(|e| panic!("{sent} does not decode: {e}"));
    assert_eq!(&received, message);
}

/// The worker's decoding of one body, as it runs it.
fn check_job_body(body: &str) {
    let Ok(message) = JobMessage::from_body(body) else {
        return;
    };
    let read = serde_json::from_str::<Value>(body).expect("a decoded body is JSON");
    let as_object = serde_json::json!({
        "tenantId": message.tenant_id,
        "livemode": message.livemode,
        "jobId": message.job_id,
    });
    let as_array = serde_json::json!([message.tenant_id, message.livemode, message.job_id]);
    assert!(
        read == as_object || read == as_array,
        "the worker read {body:?} as {message:?}"
    );
    check_round_trip(&message);
}

/// What `JobQueue::send` writes is what the worker reads.
pub fn check_round_trip(message: &JobMessage) {
    let sent = message.to_body().expect("a job message serializes");
    let received =
        JobMessage::from_body(&sent).unwrap_or_else(|e| panic!("{sent} does not decode: {e}"));
    assert_eq!(&received, message);
}
