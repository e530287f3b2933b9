//! A provisioned stack on an AWS endpoint: resources created, `App` built,
//! the worker, the webhooks handler, the webhook sender and the sweeper
//! ready to run on them.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use shared::App;
use shared::queue::DeliveryQueue;
use shared::store::Store;
use shared::webhooks::Deliverer;
use webhook_sender::Sender;
use webhooks::Notifier;
use worker::Worker;

use crate::provision::BoxError;
use crate::resources::{Resources, StackOptions};
use crate::streams::StreamSource;

pub struct Stack {
    pub sdk: SdkConfig,
    pub options: StackOptions,
    pub queue_url: String,
    pub app: Arc<App>,
    pub worker: Arc<Worker>,
    pub notifier: Arc<Notifier>,
    pub sender: Arc<Sender>,
    pub webhook_failures_url: String,
    pub delivery_queue_url: String,
    pub delivery_dlq_url: String,
}

impl Stack {
    /// Creates table, queues and bucket (idempotently) and builds the `App`
    /// the handlers use, in local mode.
    pub async fn provision(endpoint: &str, options: StackOptions) -> Result<Stack, BoxError> {
        let resources = Resources::create(endpoint, options).await?;
        let app = Arc::new(App::new(&resources.sdk, resources.config()));
        let worker = Arc::new(resources.worker()?);
        let notifier = Arc::new(notifier(
            &resources.sdk,
            &resources.options,
            &resources.delivery_queue_url,
        ));
        let sender = Arc::new(sender(
            &resources.sdk,
            &resources.options,
            &resources.delivery_queue_url,
            &resources.delivery_dlq_url,
        )?);
        let Resources {
            sdk,
            options,
            queue_url,
            webhook_failures_url,
            delivery_queue_url,
            delivery_dlq_url,
        } = resources;
        Ok(Stack {
            sdk,
            options,
            queue_url,
            app,
            worker,
            notifier,
            sender,
            webhook_failures_url,
            delivery_queue_url,
            delivery_dlq_url,
        })
    }

    /// Feeds the table's stream to the webhooks handler, as the stream event
    /// source would, and the delivery queue to the webhook sender, as SQS's
    /// would (a few batches at once, as Lambda scales out).
    pub fn spawn_webhooks(&self) -> tokio::task::JoinHandle<()> {
        let source = StreamSource::new(
            &self.sdk,
            self.options.table.clone(),
            self.webhook_failures_url.clone(),
            self.options.webhook_retry_base,
        );
        let stream = source.run(self.notifier.clone());
        let deliveries = crate::drain::drain_queue(
            aws_sdk_sqs::Client::new(&self.sdk),
            self.delivery_queue_url.clone(),
            self.sender.clone(),
            self.options.sender_batches,
        );
        tokio::spawn(async move {
            tokio::join!(stream, deliveries);
        })
    }

    /// The sweeper on this stack's table and queue.
    pub fn sweeper(&self, stale_after: Duration) -> sweeper::Sweeper {
        crate::resources::sweeper_on(&self.sdk, &self.options.table, &self.queue_url, stale_after)
    }

    /// Sweeps every `every`, as the template's schedule does.
    pub fn spawn_sweeper(
        &self,
        every: Duration,
        stale_after: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let sweeper = self.sweeper(stale_after);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                if let Err(e) = sweeper.sweep(shared::time::now()).await {
                    tracing::warn!(error = %e, "sweep failed");
                }
            }
        })
    }

    /// Runs the worker on the jobs queue, as the SQS event source would.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::drain::drain_queue(
            aws_sdk_sqs::Client::new(&self.sdk),
            self.queue_url.clone(),
            self.worker.clone(),
            1,
        ))
    }
}

/// The webhooks handler on this stack's table and delivery queue, with
/// clients built from `sdk` (the benchmarks pass a metered one).
pub fn notifier(sdk: &SdkConfig, options: &StackOptions, delivery_queue_url: &str) -> Notifier {
    Notifier::new(
        Store::new(aws_sdk_dynamodb::Client::new(sdk), options.table.clone()),
        DeliveryQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            delivery_queue_url.to_string(),
            None,
        ),
    )
}

/// The webhook sender on this stack's table and delivery queues, as its
/// Lambda would build it.
pub fn sender(
    sdk: &SdkConfig,
    options: &StackOptions,
    delivery_queue_url: &str,
    delivery_dlq_url: &str,
) -> Result<Sender, BoxError> {
    Ok(Sender::new(
        Store::new(aws_sdk_dynamodb::Client::new(sdk), options.table.clone()),
        DeliveryQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            delivery_queue_url.to_string(),
            Some(delivery_dlq_url.to_string()),
        ),
        Deliverer::new(options.webhook_url_policy, options.webhook_timeout)?,
        options.webhook_schedule.clone(),
        options.webhook_hold,
    ))
}
