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

/// The webhook sender's decoding of one body, as it runs it.
fn check_delivery_body(body: &str) {
    if let Ok(message) = DeliveryMessage::from_body(body) {
        let written = serde_json::to_value(&message).expect("a message serializes");
        assert_read_as(body, &written, &["tenantId", "livemode", "jobId", "run"]);
        check_delivery_round_trip(&message);
    }
}

/// The worker's decoding of one body, as it runs it.
fn check_job_body(body: &str) {
    if let Ok(message) = JobMessage::from_body(body) {
        let written = serde_json::to_value(&message).expect("a message serializes");
        assert_read_as(body, &written, &["tenantId", "livemode", "jobId"]);
        check_round_trip(&message);
    }
}

/// A decoded body is exactly the message's keys (`written` is the message
/// as its sender writes it), or the array of their values in order (as
/// serde reads any struct): nothing else was accepted.
fn assert_read_as(body: &str, written: &Value, keys: &[&str]) {
    let read = serde_json::from_str::<Value>(body).expect("a decoded body is JSON");
    let as_array = Value::Array(keys.iter().map(|k| written[*k].clone()).collect());
    assert!(
        &read == written || read == as_array,
        "{body:?} was read as {written}"
    );
}

/// What `DeliveryQueue::send` writes is what the webhook sender reads.
pub fn check_delivery_round_trip(message: &DeliveryMessage) {
    let sent = message.to_body().expect("a delivery message serializes");
    let received =
        DeliveryMessage::from_body(&sent).unwrap_or_else(|e| panic!("{sent} does not decode: {e}"));
    assert_eq!(&received, message);
}

/// What `JobQueue::send` writes is what the worker reads.
pub fn check_round_trip(message: &JobMessage) {
    let sent = message.to_body().expect("a job message serializes");
    let received =
        JobMessage::from_body(&sent).unwrap_or_else(|e| panic!("{sent} does not decode: {e}"));
    assert_eq!(&received, message);
}
