//! The webhooks Lambda, on the jobs table's stream (new and old images).
//!
//! A record is an event only when a job moves from a non-terminal to a
//! terminal status; the template's filter says the same, but this handler
//! does not rely on it. Each event with somewhere to go becomes one message
//! on the delivery queue (grouped by tenant); this function never calls a
//! receiver, so a slow or failing endpoint cannot hold up the shard. The
//! webhook-sender function makes the attempts. A record whose message could
//! not be sent is reported in `batchItemFailures`, so the stream retries it
//! (bounded) and then hands it to the on-failure destination.

use std::convert::Infallible;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::LambdaEvent;
use shared::domain::Job;
use shared::env::Env;
use shared::queue::{DeliveryMessage, DeliveryQueue};
use shared::store::{Item, Store, job_from_item};
use shared::webhooks::terminal_transition;
use tracing::Instrument;

pub struct Notifier {
    store: Store,
    deliveries: DeliveryQueue,
}

impl Notifier {
    pub fn new(store: Store, deliveries: DeliveryQueue) -> Notifier {
        Notifier { store, deliveries }
    }

    /// `TABLE_NAME`, `DELIVERY_QUEUE_URL`.
    pub async fn from_env() -> Result<Notifier, Box<dyn std::error::Error + Send + Sync>> {
        let env = Env::process();
        let table = env.required("TABLE_NAME")?;
        let queue_url = env.required("DELIVERY_QUEUE_URL")?;
        let sdk = shared::sdk::sdk_config().await;
        Ok(Notifier::new(
            Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            DeliveryQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url, None),
        ))
    }

    /// Queues the batch's events concurrently; failures name the records
    /// the stream must retry.
    pub async fn process(&self, event: Event) -> DynamoDbEventResponse {
        let results =
            futures_util::future::join_all(event.records.iter().map(|r| self.process_record(r)))
                .await;
        let mut response = DynamoDbEventResponse::default();
        for (record, ok) in event.records.iter().zip(results) {
            if !ok {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// `false` if the record must be retried.
    async fn process_record(&self, record: &EventRecord) -> bool {
        let Some(job) = terminal_job(record) else {
            return true;
        };
        let span = tracing::info_span!("webhook", tenant_id = %job.tenant_id, job_id = %job.id, status = %job.status);
        async {
            match self.has_target(&job).await {
                Ok(true) => {}
                Ok(false) => return true,
                Err(e) => {
                    tracing::error!(error = %e, "reading the tenant failed; the record will be retried");
                    return false;
                }
            }
            match self.deliveries.send(&DeliveryMessage::new(job.scope(), &job.id, 0)).await {
                Ok(()) => {
                    tracing::info!("webhook event queued for delivery");
                    true
                }
                Err(e) => {
                    tracing::error!(error = %e, "queueing the webhook event failed; the record will be retried");
                    false
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Whether the event has somewhere to go: the job's own URL, or a
    /// tenant URL. (The sender checks again, with the secret, when it
    /// sends: the tenant may change in between.)
    async fn has_target(&self, job: &Job) -> Result<bool, shared::store::StoreError> {
        if job.webhook_url.is_some() {
            return Ok(true);
        }
        Ok(self
            .store
            .get_tenant(&job.tenant_id)
            .await?
            .is_some_and(|t| t.webhook_url.is_some() && t.webhook_secret.is_some()))
    }
}

/// The job of a record that moves it into a terminal status.
fn terminal_job(record: &EventRecord) -> Option<Job> {
    if record.event_name != "MODIFY" {
        return None;
    }
    // The stream image in the SDK's type (serde_dynamo's conversion), so the
    // table's own item reader parses it.
    let job = |image: &serde_dynamo::Item| {
        let item = Item(
            image
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::from(v.clone())))
                .collect(),
        );
        (item.opt_str("type").ok()? == Some("JOB")).then(|| job_from_item(&item).ok())?
    };
    let (old, new) = (
        job(&record.change.old_image)?,
        job(&record.change.new_image)?,
    );
    terminal_transition(Some(&old), &new).then_some(new)
}

/// The Lambda entry point.
pub async fn handle(
    notifier: &Notifier,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Infallible> {
    Ok(notifier.process(event.payload).await)
}
