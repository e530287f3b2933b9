//! The webhooks function's input: a batch of records from the jobs table's
//! stream. Whatever the batch holds, the function never panics, and it acts
//! (here: asks the store for the tenant, or the delivery queue to take the
//! event, which fails, so the record is reported for retry) only on a record that moves a job from a
//! non-terminal to a terminal status; every other record, malformed or not,
//! passes without effect.
//!
//! The function runs for real (`webhooks::Notifier::process`) against a
//! DynamoDB endpoint and an SQS endpoint that refuse connections, so "acted on" is visible as
//! a reported failure and nothing leaves the machine.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_dynamo::AttributeValue as StreamValue;
use serde_json::{Value, json};
use shared::domain::Job;
use shared::queue::DeliveryQueue;
use shared::store::{Store, job_to_item};
use webhooks::Notifier;

const NON_TERMINAL: [&str; 3] = ["QUEUED", "RUNNING", "RETRYING"];
const TERMINAL: [&str; 3] = ["SUCCEEDED", "FAILED", "CANCELED"];

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

static NOTIFIER: LazyLock<Notifier> =
    LazyLock::new(|| Notifier::new(refusing_store(), refusing_queue()));

/// A loopback endpoint nothing listens on (a port bound, then released).
fn refusing_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A store whose every call fails at once: a refusing endpoint, and the
/// SDK does not retry.
fn refusing_store() -> Store {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("fuzz", "fuzz", None, None, "fuzz"))
        .endpoint_url(refusing_endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    Store::new(aws_sdk_dynamodb::Client::from_conf(config), "jobs".into())
}

/// The same for the delivery queue.
fn refusing_queue() -> DeliveryQueue {
    let endpoint = refusing_endpoint();
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "fuzz", "fuzz", None, None, "fuzz",
        ))
        .endpoint_url(&endpoint)
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    DeliveryQueue::new(
        aws_sdk_sqs::Client::from_conf(config),
        format!("{endpoint}/000000000000/deliveries"),
        None,
    )
}

/// Input: a stream event as the Lambda receives it.
pub fn check(data: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<Event>(data) {
        let acted_on = process(event.clone());
        let may_act: HashSet<String> = event
            .records
            .iter()
            .filter(|r| looks_like_terminal_transition(r))
            .map(|r| r.change.sequence_number.clone().unwrap_or_default())
            .collect();
        for id in &acted_on {
            assert!(
                may_act.contains(id),
                "record {id} acted on, but it is no terminal transition"
            );
        }
    }
}

/// A change of one job, old and new image as the store writes them, is
/// acted on exactly when it is a MODIFY moving the job from a non-terminal
/// to a terminal status.
pub fn check_change(event_name: &str, old: &Job, new: &Job) {
    let event = stream_event(&[(event_name, old, new)]);
    let acted_on = process(serde_json::from_value(event).expect("a stream event"));
    let expected = event_name == "MODIFY"
        && NON_TERMINAL.contains(&old.status.as_str())
        && TERMINAL.contains(&new.status.as_str());
    assert_eq!(
        !acted_on.is_empty(),
        expected,
        "{event_name} {} -> {}",
        old.status,
        new.status
    );
}

/// The sequence numbers of the records the function acted on.
fn process(event: Event) -> Vec<String> {
    let response = RUNTIME.block_on(NOTIFIER.process(event));
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier.unwrap_or_default())
        .collect()
}

/// Judged from the raw attributes: a MODIFY whose images are job items with
/// a non-terminal old status and a terminal new one.
fn looks_like_terminal_transition(record: &EventRecord) -> bool {
    let attribute = |image: &serde_dynamo::Item, name: &str| match image.get(name) {
        Some(StreamValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    let is_job = |image: &serde_dynamo::Item| attribute(image, "type").as_deref() == Some("JOB");
    let status = |image: &serde_dynamo::Item| attribute(image, "status").unwrap_or_default();
    let (old, new) = (&record.change.old_image, &record.change.new_image);
    record.event_name == "MODIFY"
        && is_job(old)
        && is_job(new)
        && NON_TERMINAL.contains(&status(old).as_str())
        && TERMINAL.contains(&status(new).as_str())
}

/// A stream event (DynamoDB JSON) with one record per `(eventName, old,
/// new)`, the images written by the store's own item format; sequence
/// numbers count from 1.
pub fn stream_event(records: &[(&str, &Job, &Job)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, (event_name, old, new))| {
            json!({
                "eventID": format!("event-{i}"),
                "eventName": event_name,
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "OldImage": image_json(job_to_item(old)),
                    "NewImage": image_json(job_to_item(new)),
                    "SequenceNumber": (i + 1).to_string(),
                    "SizeBytes": 1,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
        })
        .collect();
    json!({ "Records": records })
}

/// DynamoDB JSON, as the stream writes it (serde_dynamo's encoding).
fn image_json(item: HashMap<String, AttributeValue>) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(item)).expect("an item is JSON")
}
