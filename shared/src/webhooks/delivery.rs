//! One delivery attempt: sign, POST through the outbound guard, and say what
//! happened. Retrying is the caller's (the webhook-sender's schedule); this
//! makes exactly one request, so the delivery log has one entry per request
//! a receiver saw.

use std::time::{Duration, Instant};

use crate::netguard::{self, UrlPolicy};

use super::{USER_AGENT, WebhookEvent, signature};

/// A receiver gets this long for one request, connecting included (at
/// most 5 s of it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a timed-out endpoint's other events wait before one probes it.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// How an attempt ended, as the delivery log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// Not delivered, and worth another attempt later: any other answer,
    /// a timeout or a connection error.
    Retryable,
    /// Not delivered, and another attempt cannot help: `410 Gone`, a URL the
    /// outbound policy refuses, a secret that cannot sign.
    Final,
}

/// One attempt: its outcome, the receiver's status (when it answered), a
/// sentence for the log (never the receiver's body) and how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempted {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
    /// No answer within the timeout: the endpoint held a sender that long.
    pub timed_out: bool,
}

impl Attempted {
    fn failed(outcome: Outcome, http_status: Option<u16>, error: String, started: Instant) -> Self {
        Attempted {
            outcome,
            http_status,
            error: Some(error),
            duration: started.elapsed(),
            timed_out: false,
        }
    }
}

pub struct Deliverer {
    http: reqwest::Client,
    policy: UrlPolicy,
    timeout: Duration,
}

impl Deliverer {
    /// `timeout` bounds the whole request; connecting gets at most 5 s of it.
    /// Redirects are not followed (the guarded client's policy): a 3xx is a
    /// failed attempt, so an event never lands somewhere its URL does not say.
    pub fn new(policy: UrlPolicy, timeout: Duration) -> Result<Deliverer, reqwest::Error> {
        Ok(Deliverer {
            http: netguard::guarded_client(policy, Duration::from_secs(5).min(timeout), timeout)?,
            policy,
            timeout,
        })
    }

    /// The longest one attempt takes.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn attempt(&self, url: &str, secret: &str, event: &WebhookEvent) -> Attempted {
        let started = Instant::now();
        let target = match netguard::check_url(url, self.policy) {
            Ok(u) => u,
            Err(e) => {
                return Attempted::failed(
                    Outcome::Final,
                    None,
                    format!("the webhook URL {e}"),
                    started,
                );
            }
        };
        let body = match serde_json::to_string(event) {
            Ok(b) => b,
            Err(e) => {
                return Attempted::failed(Outcome::Final, None, format!("payload: {e}"), started);
            }
        };
        let timestamp = crate::time::now().timestamp();
        let signature = match signature(secret, &event.event_id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Attempted::failed(Outcome::Final, None, e.to_string(), started),
        };
        let sent = self
            .http
            .post(target)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT)
            .header("webhook-id", &event.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Attempted {
                outcome: Outcome::Delivered,
                http_status: Some(resp.status().as_u16()),
                error: None,
                duration: started.elapsed(),
                timed_out: false,
            },
            Ok(resp) if resp.status() == reqwest::StatusCode::GONE => Attempted::failed(
                Outcome::Final,
                Some(410),
                "410 Gone: the receiver asked for no more deliveries".into(),
                started,
            ),
            Ok(resp) => {
                let status = resp.status().as_u16();
                Attempted::failed(
                    Outcome::Retryable,
                    Some(status),
                    format!("the receiver answered HTTP {status}"),
                    started,
                )
            }
            Err(e) if e.is_timeout() => Attempted {
                timed_out: true,
                ..Attempted::failed(
                    Outcome::Retryable,
                    None,
                    format!(
                        "the receiver timed out (after {} ms)",
                        self.timeout.as_millis()
                    ),
                    started,
                )
            },
            Err(_) => Attempted::failed(
                Outcome::Retryable,
                None,
                "the receiver could not be reached (or resolves to a forbidden address)".into(),
                started,
            ),
        }
    }
}
