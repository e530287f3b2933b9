//! A provisioned stack on an AWS endpoint: resources created, `App` built.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use shared::netguard::UrlPolicy;
use shared::{App, Config};

use crate::provision::{self, BoxError};

#[derive(Clone, Debug)]
pub struct StackOptions {
    pub table: String,
    pub queue: String,
    pub bucket: String,
    pub auth_cache_ttl: Duration,
}

impl StackOptions {
    /// Resource names with a suffix, so many stacks share one emulator.
    pub fn named(prefix: &str) -> StackOptions {
        StackOptions {
            table: format!("{prefix}-jobs"),
            queue: format!("{prefix}-jobs"),
            bucket: format!("{prefix}-results"),
            auth_cache_ttl: Duration::from_secs(60),
        }
    }
}

pub struct Stack {
    pub sdk: SdkConfig,
    pub options: StackOptions,
    pub queue_url: String,
    pub app: Arc<App>,
}

/// SDK configuration for an emulator endpoint: fixed test credentials and
/// region, the service's timeouts.
pub async fn sdk_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "local-stack"))
        .timeout_config(shared::app::default_timeouts())
        .load()
        .await
}

impl Stack {
    /// Creates table, queues and bucket (idempotently) and builds the `App`
    /// the handlers use, in local mode.
    pub async fn provision(endpoint: &str, options: StackOptions) -> Result<Stack, BoxError> {
        let sdk = sdk_for(endpoint).await;
        provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &options.table).await?;
        let queue_url =
            provision::create_queues(&aws_sdk_sqs::Client::new(&sdk), &options.queue).await?;
        provision::create_bucket(&aws_sdk_s3::Client::new(&sdk), &options.bucket).await?;
        let config = Config {
            table_name: options.table.clone(),
            queue_url: queue_url.clone(),
            cursor_secret: "local-stack-cursor-secret".to_string(),
            url_policy: UrlPolicy::Local,
            auth_cache_ttl: options.auth_cache_ttl,
        };
        let app = Arc::new(App::new(&sdk, config));
        Ok(Stack {
            sdk,
            options,
            queue_url,
            app,
        })
    }
}
