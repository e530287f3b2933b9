//! One stack's resources on the emulated AWS, and the settings the
//! functions get for them, without the functions: what a test of a tool
//! that writes the table itself (the admin CLI) needs, and what `Stack`
//! builds the functions on.

use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use shared::Config;
use shared::images::gemini::{GeminiConfig, Models};
use shared::netguard::UrlPolicy;
use shared::webhooks::RetrySchedule;
use worker::WorkerConfig;

use crate::provision::{self, BoxError};

#[derive(Clone, Debug)]
pub struct StackOptions {
    pub table: String,
    pub queue: String,
    pub bucket: String,
    pub auth_cache_ttl: Duration,
    /// Gemini for live keys: base URL and API key.
    pub gemini: Option<(String, String)>,
    pub max_attempts: u32,
    pub retry_base_delay: Duration,
    pub lease: Duration,
    /// What the worker may fetch. The local stack allows loopback; tests of
    /// the production guard set `Production`.
    pub worker_url_policy: UrlPolicy,
    /// Where webhooks may go (loopback allowed locally).
    pub webhook_url_policy: UrlPolicy,
    /// First backoff of the stream source's retries of a record the
    /// webhooks function could not queue.
    pub webhook_retry_base: Duration,
    /// The webhook sender's waits between attempts.
    pub webhook_schedule: RetrySchedule,
    /// The webhook sender's request timeout.
    pub webhook_timeout: Duration,
    /// How long a timeout holds the endpoint's other events.
    pub webhook_hold: Duration,
    /// Batches of the delivery queue the local event source runs at once
    /// (Lambda's `MaximumConcurrency` of the sender's event source).
    pub sender_batches: usize,
}

impl StackOptions {
    /// Resource names with a suffix, so many stacks share one emulator.
    pub fn named(prefix: &str) -> StackOptions {
        StackOptions {
            table: format!("{prefix}-jobs"),
            queue: format!("{prefix}-jobs"),
            bucket: format!("{prefix}-results"),
            auth_cache_ttl: Duration::from_secs(60),
            gemini: None,
            max_attempts: 3,
            retry_base_delay: Duration::from_secs(2),
            lease: Duration::from_secs(300),
            worker_url_policy: UrlPolicy::Local,
            webhook_url_policy: UrlPolicy::Local,
            webhook_retry_base: Duration::from_millis(500),
            webhook_schedule: RetrySchedule::default(),
            webhook_timeout: shared::webhooks::delivery::DEFAULT_TIMEOUT,
            webhook_hold: shared::webhooks::delivery::DEFAULT_HOLD,
            sender_batches: 8,
        }
    }
}

/// SDK configuration for an emulator endpoint: fixed test credentials and
/// region, the service's timeouts.
pub async fn sdk_for(endpoint: &str) -> SdkConfig {
    shared::sdk::loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "local-stack"))
        .load()
        .await
}

/// The table, the queues and the bucket of one stack, created
/// (idempotently) on an emulator endpoint.
pub struct Resources {
    pub sdk: SdkConfig,
    pub options: StackOptions,
    pub queue_url: String,
    pub webhook_failures_url: String,
    pub delivery_queue_url: String,
    pub delivery_dlq_url: String,
}

impl Resources {
    pub async fn create(endpoint: &str, options: StackOptions) -> Result<Resources, BoxError> {
        let sdk = sdk_for(endpoint).await;
        provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &options.table).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = provision::create_queues(&sqs, &options.queue).await?;
        let webhook_failures_url = provision::create_failure_queue(&sqs, &options.queue).await?;
        let (delivery_queue_url, delivery_dlq_url) =
            provision::create_delivery_queues(&sqs, &options.queue).await?;
        provision::create_bucket(&local_s3(&sdk), &options.bucket).await?;
        Ok(Resources {
            sdk,
            options,
            queue_url,
            webhook_failures_url,
            delivery_queue_url,
            delivery_dlq_url,
        })
    }

    /// The HTTP handlers' configuration on these resources, in local mode.
    pub fn config(&self) -> Config {
        Config {
            table_name: self.options.table.clone(),
            queue_url: self.queue_url.clone(),
            cursor_secret: Some(provision::LOCAL_CURSOR_SECRET.to_string()),
            url_policy: UrlPolicy::Local,
            auth_cache_ttl: self.options.auth_cache_ttl,
            delivery_queue_url: Some(self.delivery_queue_url.clone()),
            results_bucket: Some(self.options.bucket.clone()),
        }
    }

    /// The worker on these resources, as its Lambda would build it.
    pub fn worker(&self) -> Result<worker::Worker, BoxError> {
        Ok(worker::Worker::new(
            &self.sdk,
            local_s3(&self.sdk),
            worker_config(&self.options, &self.queue_url),
        )?)
    }

    /// The sweeper on these resources, as its Lambda would build it.
    pub fn sweeper(&self, stale_after: Duration) -> sweeper::Sweeper {
        sweeper_on(&self.sdk, &self.options.table, &self.queue_url, stale_after)
    }
}

/// The sweeper on a table and a jobs queue.
pub fn sweeper_on(
    sdk: &SdkConfig,
    table: &str,
    queue_url: &str,
    stale_after: Duration,
) -> sweeper::Sweeper {
    sweeper::Sweeper::new(
        shared::store::Store::new(aws_sdk_dynamodb::Client::new(sdk), table.to_string()),
        shared::queue::JobQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url.to_string()),
        stale_after,
    )
}

/// S3 on the emulator is addressed by path (`/bucket/key`), so presigned
/// result URLs work with plain curl: the worker's own client, which does
/// so whenever an endpoint is set (`sdk_for` always sets one).
pub fn local_s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    shared::results::s3_client(sdk)
}

/// The worker's settings on this stack's resources; tests that need another
/// Gemini timeout start from these.
pub fn worker_config(options: &StackOptions, queue_url: &str) -> WorkerConfig {
    WorkerConfig {
        table_name: options.table.clone(),
        queue_url: queue_url.to_string(),
        results_bucket: options.bucket.clone(),
        cdn_base_url: None,
        gemini: options
            .gemini
            .clone()
            .map(|(base_url, api_key)| GeminiConfig {
                base_url,
                api_key,
                models: Models::default(),
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(30),
            }),
        url_policy: options.worker_url_policy,
        max_attempts: options.max_attempts,
        retry_base_delay: options.retry_base_delay,
        lease: options.lease,
        prices: shared::domain::PriceTable::default(),
    }
}
