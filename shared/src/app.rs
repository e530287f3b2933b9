//! `App`: what a function builds once per cold start (SDK clients, config,
//! caches) and lends to every invocation.

use aws_config::SdkConfig;

use crate::auth::Authenticator;
use crate::cursor::CursorCodec;
use crate::env::Env;
use crate::queue::{DeliveryQueue, JobQueue};
use crate::results::ResultStore;
use crate::secrets::Secret;
use crate::store::Store;
use crate::{ApiError, Config};

pub struct App {
    pub config: Config,
    pub store: Store,
    pub queue: JobQueue,
    pub auth: Authenticator,
    /// The system's time (tests may shift it).
    pub clock: crate::time::Clock,
    /// Only where the configuration names the delivery queue.
    deliveries: Option<DeliveryQueue>,
    /// Only where the configuration has the cursor secret (see `cursors`).
    cursors: Option<CursorCodec>,
    /// Only where the configuration names the results bucket (see `inputs`).
    inputs: Option<ResultStore>,
}

/// The secrets an HTTP function needs at cold start. The template gives
/// each secret only to the functions that use it, so a function asks only
/// for its own and fails to start without them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The listing cursors' HMAC key (`CURSOR_SECRET_ARN` or `CURSOR_SECRET`).
    pub cursor_secret: bool,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        cursor_secret: false,
    };
    pub const CURSOR_SECRET: Needs = Needs {
        cursor_secret: true,
    };
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
            clock: crate::time::Clock::default(),
            deliveries: config
                .delivery_queue_url
                .as_ref()
                .map(|url| DeliveryQueue::new(aws_sdk_sqs::Client::new(sdk), url.clone(), None)),
            cursors: config
                .cursor_secret
                .as_ref()
                .map(|secret| CursorCodec::new(secret.as_bytes().to_vec())),
            inputs: config.results_bucket.as_ref().map(|bucket| {
                ResultStore::new(crate::results::s3_client(sdk), bucket.clone(), None)
            }),
            config,
        }
    }

    /// The cursor codec. `Needs::CURSOR_SECRET` makes a function without the
    /// secret fail its cold start, so this error is only reachable from an
    /// `App` built by hand without it.
    pub fn cursors(&self) -> Result<&CursorCodec, ApiError> {
        self.cursors.as_ref().ok_or_else(|| {
            ApiError::internal("this function was configured without the cursor secret")
        })
    }

    /// The delivery queue, for redelivery requests.
    pub fn deliveries(&self) -> Result<&DeliveryQueue, ApiError> {
        self.deliveries.as_ref().ok_or_else(|| {
            ApiError::internal("this function was configured without DELIVERY_QUEUE_URL")
        })
    }

    /// Where submitted `data:` input images are stored.
    pub fn inputs(&self) -> Result<&ResultStore, ApiError> {
        self.inputs.as_ref().ok_or_else(|| {
            ApiError::internal("this function was configured without RESULTS_BUCKET")
        })
    }

    /// The configuration, the SDK's (`crate::sdk`: timeouts so a stalled
    /// dependency turns into a prompt 500 rather than a hung request), then
    /// the secrets in `needs`, each read once.
    pub async fn from_env(needs: Needs) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let mut config = Config::from_env(&Env::process())?;
        let sdk = crate::sdk::sdk_config().await;
        if needs.cursor_secret {
            config.cursor_secret = Some(Secret::from_env("CURSOR_SECRET").required(&sdk).await?);
        }
        Ok(App::new(&sdk, config))
    }
}
