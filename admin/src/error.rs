//! Every way a command can fail. Each message is one line and says what to
//! do; `main` prints it and exits non-zero.

use shared::domain::JobStatus;
use shared::netguard::UrlRejected;
use shared::queue::QueueError;
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
        "nothing to update: give --rpm, --max-concurrency, --monthly-image-quota, --no-quota, --webhook-url, --no-webhook or --rotate-webhook-secret"
    )]
    NothingToUpdate,
    #[error("tenant `{0}` has no webhook URL: set one with --webhook-url")]
    NoWebhook(String),
    #[error("no jobs queue to send stuck jobs to: pass --queue-url URL or set QUEUE_URL")]
    NoQueue,
    #[error("no job `{job_id}` of tenant `{tenant_id}` (looked in test and live mode)")]
    UnknownJob { job_id: String, tenant_id: String },
    #[error(
        "job `{job_id}` is {status}; only a SUCCEEDED, FAILED or CANCELED job has an event to redeliver"
    )]
    NotTerminal { job_id: String, status: JobStatus },
    #[error(
        "job `{job_id}` has no webhook target: it has no webhookUrl and tenant `{tenant_id}` has no webhook URL and secret (set them with `tenant update {tenant_id} --webhook-url URL`)"
    )]
    NoWebhookTarget { job_id: String, tenant_id: String },
    #[error(
        "no delivery queue to send the event to: pass --queue-url URL or set DELIVERY_QUEUE_URL"
    )]
    NoDeliveryQueue,
    /// The new delivery run is recorded but has no message: nothing will
    /// deliver it until the command is run again (which starts the next run).
    #[error(
        "redelivery run {run} was recorded but its message was not sent ({cause}); run the command again"
    )]
    RedeliveryNotSent { run: u32, cause: QueueError },
    #[error("{0}")]
    Queue(QueueError),
    /// `stats` could not read a queue it was given (before its scan).
    #[error("reading the {queue} queue `{url}` failed: {message}")]
    QueueAttributes {
        queue: &'static str,
        url: String,
        message: String,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Should never happen: a fresh id or key collided or came out malformed.
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
}
