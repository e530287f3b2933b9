//! Every request the chaos clients made and what came back, checked against
//! the contract's error shape as it is recorded, and every broken
//! expectation, collected so one run reports all of them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use system_tests::Reply;

/// What a request was meant to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Submit,
    SubmitNewKey,
    SubmitSameKey,
    SubmitKeyOtherBody,
    GetOwn,
    GetForeign,
    List,
    ListForeignCursor,
    CancelOwn,
    CancelForeign,
}

/// Which limit a 429 named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    PerMinute,
    Concurrency,
    Contention,
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub tenant: &'static str,
    pub kind: Kind,
    pub status: u16,
    pub limit: Option<Limit>,
    /// An error answer's message.
    pub message: Option<String>,
    /// When the request was sent, from the ledger's start.
    pub sent: Duration,
    pub latency: Duration,
}

pub struct Ledger {
    epoch: Instant,
    /// Whether `500 UNKNOWN_ERROR` is an allowed answer (an AWS outage).
    allow_server_errors: bool,
    exchanges: Mutex<Vec<Exchange>>,
    violations: Mutex<Vec<String>>,
}

/// The contract's error codes and their statuses.
const ERROR_CODES: [(&str, u16); 8] = [
    ("INVALID_REQUEST", 400),
    ("INVALID_API_KEY", 401),
    ("RATE_LIMIT_EXCEEDED", 429),
    ("JOB_NOT_FOUND", 404),
    ("INVALID_STATE", 400),
    ("IDEMPOTENCY_KEY_REUSED", 422),
    ("NOT_FOUND", 404),
    ("UNKNOWN_ERROR", 500),
];

impl Ledger {
    pub fn new(allow_server_errors: bool) -> Ledger {
        Ledger {
            epoch: Instant::now(),
            allow_server_errors,
            exchanges: Mutex::default(),
            violations: Mutex::default(),
        }
    }

    pub fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.epoch)
    }

    /// Records an answer and checks what holds for every answer. Returns
    /// `false` for an allowed 500, after which the request's own
    /// expectations do not apply.
    pub fn record(&self, tenant: &'static str, kind: Kind, sent: Instant, reply: &Reply) -> bool {
        let status = reply.status.as_u16();
        let what = format!("{tenant} {kind:?} → {status} {}", reply.body);
        if status >= 400
            && let Err(problem) = contract_error(reply)
        {
            self.violation(format!("{what}: {problem}"));
        }
        if status >= 500 && !(status == 500 && self.allow_server_errors) {
            self.violation(format!("{what}: a server error"));
        }
        let limit = if status == 429 {
            let named = limit_named(reply.message());
            if named.is_none() {
                self.violation(format!("{what}: a 429 that names no limit"));
            }
            named
        } else {
            None
        };
        self.lock_exchanges().push(Exchange {
            tenant,
            kind,
            status,
            limit,
            message: (status >= 400).then(|| reply.message().to_string()),
            sent: self.since_start(sent),
            latency: sent.elapsed(),
        });
        status != 500
    }

    pub fn violation(&self, what: String) {
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what);
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock_exchanges().clone()
    }

    fn lock_exchanges(&self) -> std::sync::MutexGuard<'_, Vec<Exchange>> {
        self.exchanges.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers with this status so far.
    pub fn count_status(&self, status: u16) -> usize {
        self.lock_exchanges()
            .iter()
            .filter(|e| e.status == status)
            .count()
    }

    /// Requests per kind and status, e.g. `Submit: 202×410 429×3021`.
    pub fn by_kind_and_status(&self) -> String {
        let mut counts: BTreeMap<Kind, BTreeMap<u16, usize>> = BTreeMap::new();
        for e in self.lock_exchanges().iter() {
            *counts
                .entry(e.kind)
                .or_default()
                .entry(e.status)
                .or_default() += 1;
        }
        counts
            .iter()
            .map(|(kind, statuses)| {
                let cells: Vec<String> = statuses
                    .iter()
                    .map(|(status, n)| format!("{status}×{n}"))
                    .collect();
                format!("  {kind:?}: {}", cells.join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// 429s per tenant and limit.
    pub fn limit_rejections(&self) -> BTreeMap<(&'static str, Limit), usize> {
        let mut counts = BTreeMap::new();
        for e in self.lock_exchanges().iter() {
            if let Some(limit) = e.limit {
                *counts.entry((e.tenant, limit)).or_default() += 1;
            }
        }
        counts
    }
}

/// Exactly `{"error": <a contract code>, "message": <non-empty>}`, with the
/// status the contract gives that code.
pub fn contract_error(reply: &Reply) -> Result<&str, String> {
    let obj = reply
        .body
        .as_object()
        .ok_or("the error body is not an object")?;
    if obj.len() != 2 || !obj.contains_key("message") {
        return Err("the error body is not exactly {error, message}".into());
    }
    if reply.message().is_empty() {
        return Err("the error message is empty".into());
    }
    let code = obj["error"].as_str().ok_or("`error` is not a string")?;
    match ERROR_CODES.iter().find(|(c, _)| *c == code) {
        Some((_, status)) if *status == reply.status.as_u16() => Ok(code),
        Some((_, status)) => Err(format!("{code} belongs with HTTP {status}")),
        None => Err(format!("{code} is not a contract error code")),
    }
}

/// The limit a 429's message names.
pub fn limit_named(message: &str) -> Option<Limit> {
    if message.contains("per minute") {
        Some(Limit::PerMinute)
    } else if message.contains("Concurrency") {
        Some(Limit::Concurrency)
    } else if message.contains("simultaneous") {
        Some(Limit::Contention)
    } else {
        None
    }
}
