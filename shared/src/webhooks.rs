//! Webhooks: which table changes are events, the payload, Standard Webhooks
//! signatures, and delivery through the outbound guard with quick retries.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{Job, JobError, JobStatus};
use crate::netguard::{self, UrlPolicy};

pub const SECRET_PREFIX: &str = "whsec_";
pub const USER_AGENT: &str = concat!("ImageSaaS-Webhooks/", env!("CARGO_PKG_VERSION"));
/// Attempts within one invocation before the record is handed back to the
/// stream for a later retry.
pub const QUICK_ATTEMPTS: u32 = 3;

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

/// Derived from the job and the transition, so every retry or replay of one
/// event carries the same id and receivers can deduplicate.
pub fn event_id(job_id: &str, from: JobStatus, to: JobStatus) -> String {
    let digest = Sha256::digest(format!("{job_id}:{from}->{to}").as_bytes());
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
    /// When the job reached the status, epoch milliseconds.
    pub timestamp: i64,
}

impl WebhookEvent {
    pub fn for_transition(old: &Job, new: &Job) -> WebhookEvent {
        WebhookEvent {
            event_id: event_id(&new.id, old.status, new.status),
            job_id: new.id.clone(),
            tenant_id: new.tenant_id.clone(),
            status: new.status,
            result_urls: new.result_urls.clone(),
            error: new.error.clone(),
            livemode: new.scope().livemode(),
            timestamp: new.updated_at.timestamp_millis(),
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not `whsec_` followed by base64")]
pub struct BadSecret;

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
/// base64-decoded part of the secret after `whsec_` (Standard Webhooks).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, BadSecret> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| BadSecret)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// How a delivery ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered {
        attempts: u32,
    },
    /// Final: a 4xx other than 408/429, a redirect, or a refused URL. Not
    /// retried; logged.
    Refused(String),
    /// Still failing after the quick retries (5xx, 408, 429, timeouts,
    /// connection errors): the stream should retry later.
    Failed(String),
}

pub struct Deliverer {
    http: reqwest::Client,
    policy: UrlPolicy,
    retry_base: Duration,
}

impl Deliverer {
    pub fn new(
        policy: UrlPolicy,
        timeout: Duration,
        retry_base: Duration,
    ) -> Result<Deliverer, reqwest::Error> {
        Ok(Deliverer {
            http: netguard::guarded_client(policy, Duration::from_secs(5).min(timeout), timeout)?,
            policy,
            retry_base,
        })
    }

    pub async fn deliver(&self, url: &str, secret: &str, event: &WebhookEvent) -> Delivery {
        let target = match netguard::check_url(url, self.policy) {
            Ok(u) => u,
            Err(e) => return Delivery::Refused(format!("webhook URL {e}")),
        };
        let body = match serde_json::to_string(event) {
            Ok(b) => b,
            Err(e) => return Delivery::Refused(format!("payload: {e}")),
        };
        let mut last = String::new();
        for attempt in 1..=QUICK_ATTEMPTS {
            let timestamp = crate::time::now().timestamp();
            let signature = match signature(secret, &event.event_id, timestamp, &body) {
                Ok(s) => s,
                Err(e) => return Delivery::Refused(e.to_string()),
            };
            let sent = self
                .http
                .post(target.clone())
                .header("content-type", "application/json")
                .header("user-agent", USER_AGENT)
                .header("webhook-id", &event.event_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => {
                    return Delivery::Delivered { attempts: attempt };
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if !matches!(status, 408 | 429 | 500..=599) {
                        return Delivery::Refused(format!("the receiver answered HTTP {status}"));
                    }
                    last = format!("the receiver answered HTTP {status}");
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "the receiver timed out".into()
                    } else {
                        "the receiver could not be reached (or resolves to a forbidden address)"
                            .into()
                    };
                }
            }
            if attempt < QUICK_ATTEMPTS {
                tokio::time::sleep(jittered(self.retry_base * 2u32.pow(attempt - 1))).await;
            }
        }
        Delivery::Failed(last)
    }
}

/// Between half and all of `d`, so retries of many events spread out.
fn jittered(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    crate::ids::fill_random(&mut b);
    let frac = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
    d.mul_f64(0.5 + frac / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1614265330;
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, ts, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_whsec_base64_and_unique() {
        let a = new_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&a[6..]).unwrap().len(), 24);
        assert_ne!(a, new_secret());
        assert!(signature("whsec_***", "id", 1, "{}").is_err());
    }

    #[test]
    fn event_ids_are_stable_per_transition() {
        let a = event_id("cjob", JobStatus::Running, JobStatus::Succeeded);
        assert_eq!(
            a,
            event_id("cjob", JobStatus::Running, JobStatus::Succeeded)
        );
        assert_ne!(a, event_id("cjob", JobStatus::Queued, JobStatus::Canceled));
        assert_ne!(
            a,
            event_id("cjob2", JobStatus::Running, JobStatus::Succeeded)
        );
        assert!(a.starts_with("evt_") && a.len() == 28);
    }
}
