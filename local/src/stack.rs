//! A provisioned stack on an AWS endpoint: resources created, `App` built.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use shared::netguard::UrlPolicy;
use shared::{App, Config};

use shared::images::gemini::{GeminiConfig, Models};
use shared::store::Store;
use shared::webhooks::Deliverer;
use webhooks::Notifier;
use worker::{Worker, WorkerConfig};

use crate::streams::StreamSource;

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
    /// First backoff of webhook retries, in the handler and in the stream.
    pub webhook_retry_base: Duration,
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
        }
    }
}

pub struct Stack {
    pub sdk: SdkConfig,
    pub options: StackOptions,
    pub queue_url: String,
    pub app: Arc<App>,
    pub worker: Arc<Worker>,
    pub notifier: Arc<Notifier>,
    pub webhook_failures_url: String,
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

impl Stack {
    /// Creates table, queues and bucket (idempotently) and builds the `App`
    /// the handlers use, in local mode.
    pub async fn provision(endpoint: &str, options: StackOptions) -> Result<Stack, BoxError> {
        let sdk = sdk_for(endpoint).await;
        provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &options.table).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = provision::create_queues(&sqs, &options.queue).await?;
        let webhook_failures_url = provision::create_failure_queue(&sqs, &options.queue).await?;
        provision::create_bucket(&local_s3(&sdk), &options.bucket).await?;
        let config = Config {
            table_name: options.table.clone(),
            queue_url: queue_url.clone(),
            cursor_secret: Some(provision::LOCAL_CURSOR_SECRET.to_string()),
            url_policy: UrlPolicy::Local,
            auth_cache_ttl: options.auth_cache_ttl,
        };
        let app = Arc::new(App::new(&sdk, config));
        let worker = Arc::new(Worker::new(
            &sdk,
            local_s3(&sdk),
            worker_config(&options, &queue_url),
        )?);
        let notifier = Arc::new(notifier(&sdk, &options)?);
        Ok(Stack {
            sdk,
            options,
            queue_url,
            app,
            worker,
            notifier,
            webhook_failures_url,
        })
    }

    /// Feeds the table's stream to the webhooks handler, as the stream event
    /// source would.
    pub fn spawn_webhooks(&self) -> tokio::task::JoinHandle<()> {
        let source = StreamSource::new(
            &self.sdk,
            self.options.table.clone(),
            self.webhook_failures_url.clone(),
            self.options.webhook_retry_base,
        );
        tokio::spawn(source.run(self.notifier.clone()))
    }

    /// The sweeper on this stack's table and queue.
    pub fn sweeper(&self, stale_after: Duration) -> sweeper::Sweeper {
        sweeper::Sweeper::new(
            Store::new(
                aws_sdk_dynamodb::Client::new(&self.sdk),
                self.options.table.clone(),
            ),
            shared::queue::JobQueue::new(
                aws_sdk_sqs::Client::new(&self.sdk),
                self.queue_url.clone(),
            ),
            stale_after,
        )
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
        ))
    }
}

/// S3 on the emulator is addressed by path (`/bucket/key`), so presigned
/// result URLs work with plain curl: the worker's own client, which does
/// so whenever an endpoint is set (`sdk_for` always sets one).
pub fn local_s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    shared::results::s3_client(sdk)
}

/// The webhooks handler on this stack's table, with clients built from
/// `sdk` (the benchmarks pass a metered one).
pub fn notifier(sdk: &SdkConfig, options: &StackOptions) -> Result<Notifier, BoxError> {
    Ok(Notifier::new(
        Store::new(aws_sdk_dynamodb::Client::new(sdk), options.table.clone()),
        Deliverer::new(
            options.webhook_url_policy,
            Duration::from_secs(10),
            options.webhook_retry_base,
        )?,
    ))
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
    }
}
