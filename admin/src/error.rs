//! Every way a command can fail. Each message is one line and says what to
//! do; `main` prints it and exits non-zero.

use shared::netguard::UrlRejected;
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no table given: pass --table NAME or set TABLE_NAME")]
    NoTable,
    #[error("no AWS region configured: set AWS_REGION or use a profile with a region")]
    NoRegion,
    #[error("no tenant `{0}`")]
    UnknownTenant(String),
    #[error("no API key `{0}`")]
    UnknownKey(String),
    #[error("webhook URL `{url}` {reason}")]
    BadWebhookUrl { url: String, reason: UrlRejected },
    #[error(
        "nothing to update: give --rpm, --max-concurrency, --webhook-url, --no-webhook or --rotate-webhook-secret"
    )]
    NothingToUpdate,
    #[error("tenant `{0}` has no webhook URL: set one with --webhook-url")]
    NoWebhook(String),
    #[error("no jobs queue to send stuck jobs to: pass --queue-url URL or set QUEUE_URL")]
    NoQueue,
    #[error("{0}")]
    Queue(shared::queue::QueueError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Should never happen: a fresh id or key collided or came out malformed.
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
}
