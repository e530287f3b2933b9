//! `App`: what a function builds once per cold start (SDK clients, config,
//! caches) and lends to every invocation.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

use crate::Config;
use crate::auth::Authenticator;
use crate::cursor::CursorCodec;
use crate::queue::JobQueue;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub queue: JobQueue,
    pub auth: Authenticator,
    pub cursors: CursorCodec,
}

impl App {
    pub fn new(sdk: &SdkConfig, config: Config) -> App {
        App {
            store: Store::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.table_name.clone(),
            ),
            queue: JobQueue::new(aws_sdk_sqs::Client::new(sdk), config.queue_url.clone()),
            auth: Authenticator::new(config.auth_cache_ttl),
            cursors: CursorCodec::new(config.cursor_secret.as_bytes().to_vec()),
            config,
        }
    }

    /// The standard AWS configuration chain (honours `AWS_ENDPOINT_URL`),
    /// with timeouts so a stalled dependency turns into a prompt 500 rather
    /// than a hung request.
    pub async fn from_env() -> Result<App, crate::config::MissingEnv> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(default_timeouts())
            .load()
            .await;
        Ok(App::new(&sdk, config))
    }
}

pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}
