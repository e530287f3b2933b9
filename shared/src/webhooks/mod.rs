//! Webhooks: which table changes are events, the payload, Standard Webhooks
//! signatures (`signing`), one guarded delivery attempt (`delivery`) and the
//! retry schedule between attempts (`schedule`).
//!
//! The stream function turns each terminal transition into a message on the
//! delivery queue; the webhook-sender function makes the attempts and the
//! store's `deliveries` module records them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{Job, JobError, JobStatus};

pub mod delivery;
pub mod schedule;
pub mod signing;

pub use delivery::{Attempted, Deliverer, Outcome};
pub use schedule::{BadSchedule, RetrySchedule};
pub use signing::{BadSecret, signature};

pub const SECRET_PREFIX: &str = "whsec_";
pub const USER_AGENT: &str = concat!("ImageSaaS-Webhooks/", env!("CARGO_PKG_VERSION"));

/// A new tenant webhook secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    crate::ids::fill_random(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// A job's move from a non-terminal to a terminal status: the only change
/// that is an event. Anything else (other items, other moves, a terminal
/// job touched again) is not.
pub fn terminal_transition(old: Option<&Job>, new: &Job) -> bool {
    matches!(old, Some(old) if !old.status.is_terminal()) && new.status.is_terminal()
}

/// Derived from the job and the terminal status it reached. A job reaches a
/// terminal status once and never leaves it, so this names its one event:
/// every attempt, stream replay and redelivery carries the same id, and
/// receivers can deduplicate on it.
pub fn event_id(job_id: &str, terminal: JobStatus) -> String {
    let digest = Sha256::digest(format!("{job_id}:{terminal}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}

/// The contract's payload, exactly these keys.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    pub event_id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub status: JobStatus,
    pub result_urls: Vec<String>,
    pub error: Option<JobError>,
    /// Whether the job is live-mode data (1.1); test-mode events say false.
    pub livemode: bool,
    /// The result images (1.1), as the job view shows them.
    pub images: Vec<crate::views::ImageView>,
    /// What the job used and cost (1.1), as the job view shows it.
    pub usage: Option<crate::views::UsageView>,
    /// The job's options as accepted (1.1), as the job view shows them.
    pub request: crate::views::RequestView,
    /// When the job reached the status, epoch milliseconds.
    pub timestamp: i64,
}

impl WebhookEvent {
    /// The event of a terminal job; `None` for a job still on its way.
    pub fn of(job: &Job) -> Option<WebhookEvent> {
        job.status.is_terminal().then(|| WebhookEvent {
            event_id: event_id(&job.id, job.status),
            job_id: job.id.clone(),
            tenant_id: job.tenant_id.clone(),
            status: job.status,
            result_urls: job.result_urls.clone(),
            error: job.error.clone(),
            livemode: job.scope().livemode(),
            images: crate::views::ImageView::list(job),
            usage: crate::views::UsageView::of(job),
            request: crate::views::RequestView::of(job),
            timestamp: job.updated_at.timestamp_millis(),
        })
    }
}

/// Where a job's event goes: the job's own `webhookUrl`, else the tenant's
/// URL; always signed with the tenant's secret. `None` when there is no URL
/// or no secret to sign with.
pub fn target<'a>(job: &'a Job, tenant: &'a crate::domain::Tenant) -> Option<(&'a str, &'a str)> {
    let url = job
        .webhook_url
        .as_deref()
        .or(tenant.webhook_url.as_deref())?;
    Some((url, tenant.webhook_secret.as_deref()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64_and_unique() {
        let a = new_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&a[6..]).unwrap().len(), 24);
        assert_ne!(a, new_secret());
        assert!(signature("whsec_***", "id", 1, "{}").is_err());
    }

    #[test]
    fn event_ids_are_one_per_job_and_terminal_status() {
        let a = event_id("cjob", JobStatus::Succeeded);
        assert_eq!(a, event_id("cjob", JobStatus::Succeeded));
        assert_ne!(a, event_id("cjob", JobStatus::Canceled));
        assert_ne!(a, event_id("cjob2", JobStatus::Succeeded));
        assert!(a.starts_with("evt_") && a.len() == 28);
    }
}
