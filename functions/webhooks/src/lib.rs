//! The webhooks Lambda, on the jobs table's stream (new and old images).
//!
//! A record is an event only when a job moves from a non-terminal to a
//! terminal status; the template's filter says the same, but this handler
//! does not rely on it. Each event is signed with the tenant's secret and
//! POSTed through the outbound guard, with a few quick retries; a record
//! still failing is reported in `batchItemFailures`, so the stream retries it
//! (bounded) and then hands it to the on-failure destination.

use std::convert::Infallible;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::LambdaEvent;
use shared::domain::Job;
use shared::env::Env;
use shared::store::{Item, Store, job_from_item};
use shared::webhooks::{Deliverer, Delivery, WebhookEvent, terminal_transition};
use tracing::Instrument;

pub struct Notifier {
    store: Store,
    deliverer: Deliverer,
}

impl Notifier {
    pub fn new(store: Store, deliverer: Deliverer) -> Notifier {
        Notifier { store, deliverer }
    }

    /// `TABLE_NAME`; `LOCAL_MODE` allows http to loopback receivers.
    pub async fn from_env() -> Result<Notifier, Box<dyn std::error::Error + Send + Sync>> {
        let env = Env::process();
        let table = env.required("TABLE_NAME")?;
        let deliverer = Deliverer::new(
            env.url_policy(),
            Duration::from_secs(10),
            Duration::from_millis(500),
        )?;
        let sdk = shared::sdk::sdk_config().await;
        Ok(Notifier::new(
            Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            deliverer,
        ))
    }

    /// Delivers the batch's events concurrently; failures name the records
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
        let Some((old, new)) = transition(record) else {
            return true;
        };
        let span = tracing::info_span!("webhook", tenant_id = %new.tenant_id, job_id = %new.id, status = %new.status);
        async {
            let tenant = match self.store.get_tenant(&new.tenant_id).await {
                Ok(Some(t)) => t,
                Ok(None) => {
                    tracing::warn!("tenant no longer exists; event dropped");
                    return true;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading the tenant failed; the record will be retried");
                    return false;
                }
            };
            let (Some(url), Some(secret)) = (tenant.webhook_url, tenant.webhook_secret) else {
                return true;
            };
            let event = WebhookEvent::for_transition(&old, &new);
            match self.deliverer.deliver(&url, &secret, &event).await {
                Delivery::Delivered { attempts } => {
                    tracing::info!(event_id = %event.event_id, attempts, "webhook delivered");
                    true
                }
                Delivery::Refused(reason) => {
                    tracing::warn!(event_id = %event.event_id, %reason, "webhook not deliverable; not retried");
                    true
                }
                Delivery::Failed(reason) => {
                    tracing::warn!(event_id = %event.event_id, %reason, "webhook delivery failed; the stream will retry");
                    false
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// The old and new job of a record that moves a job into a terminal status.
fn transition(record: &EventRecord) -> Option<(Job, Job)> {
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
    terminal_transition(Some(&old), &new).then_some((old, new))
}

/// The Lambda entry point.
pub async fn handle(
    notifier: &Notifier,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Infallible> {
    Ok(notifier.process(event.payload).await)
}
