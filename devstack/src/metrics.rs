//! What `make dev` shows of the metrics: the functions emit the same events
//! as in Lambda (`shared::metrics`), and instead of an EMF line each, the
//! local stack prints one compact line a minute that had any, e.g.
//!
//! ```text
//! metrics 10:41 admitted 12 (draft 10, final 2) · refused 3 (rpm 2, quota 1) · finished 11 (SUCCEEDED 9, FAILED 1: TIMEOUT 1, CANCELED 1) · generation p50 85 ms, p99 240 ms · queue wait p50 40 ms, p99 90 ms · provider errors 0, throttled 0 · webhooks 5 attempts, 1 failed · sweeper requeued 0
//! ```
//!
//! `DEV_METRICS=emf` prints every EMF line as Lambda would instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::domain::JobStatus;
use shared::metrics::{Emitted, Event, Refusal, Sink};

/// One minute's figures.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Minute {
    pub admitted: BTreeMap<&'static str, u64>,
    pub refused: BTreeMap<&'static str, u64>,
    pub finished: BTreeMap<&'static str, u64>,
    pub failures: BTreeMap<&'static str, u64>,
    pub generation_ms: Vec<u64>,
    pub queue_wait_ms: Vec<u64>,
    pub provider_errors: u64,
    pub provider_throttled: u64,
    pub webhook_attempts: u64,
    pub webhook_failures: u64,
    pub sweeper_requeued: u64,
}

impl Minute {
    pub fn add(&mut self, event: &Event) {
        match *event {
            Event::JobAdmitted { mode } => *self.admitted.entry(mode.as_str()).or_default() += 1,
            Event::SubmitRefused { reason } => {
                *self.refused.entry(reason.as_str()).or_default() += 1;
            }
            Event::JobFinished {
                status,
                failure_code,
                ..
            } => {
                *self.finished.entry(status.as_str()).or_default() += 1;
                if let Some(code) = failure_code {
                    *self.failures.entry(code.as_str()).or_default() += 1;
                }
            }
            Event::Generation { millis, .. } => self.generation_ms.push(millis),
            Event::QueueWait { millis, .. } => self.queue_wait_ms.push(millis),
            Event::ProviderError { .. } => self.provider_errors += 1,
            Event::ProviderThrottled => self.provider_throttled += 1,
            Event::WebhookAttempt { failed } => {
                self.webhook_attempts += 1;
                self.webhook_failures += u64::from(failed);
            }
            Event::SweeperRequeued { jobs } => self.sweeper_requeued += jobs,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Minute::default()
    }

    /// The compact line, labelled `hh:mm` (UTC).
    pub fn line(&self, label: &str) -> String {
        let admitted: u64 = self.admitted.values().sum();
        let refused: u64 = self.refused.values().sum();
        let finished: u64 = self.finished.values().sum();
        let refused_by = Refusal::ALL
            .iter()
            .filter_map(|r| {
                self.refused
                    .get(r.as_str())
                    .map(|n| format!("{} {n}", r.as_str()))
            })
            .collect::<Vec<_>>();
        let finished_by = [JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled]
            .iter()
            .filter_map(|s| {
                let n = self.finished.get(s.as_str())?;
                Some(if *s == JobStatus::Failed && !self.failures.is_empty() {
                    let codes: Vec<String> = self
                        .failures
                        .iter()
                        .map(|(c, n)| format!("{c} {n}"))
                        .collect();
                    format!("FAILED {n}: {}", codes.join(", "))
                } else {
                    format!("{} {n}", s.as_str())
                })
            })
            .collect::<Vec<_>>();
        let by_mode = self
            .admitted
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect::<Vec<_>>();
        let mut parts = vec![
            format!("admitted {admitted}{}", grouped(&by_mode)),
            format!("refused {refused}{}", grouped(&refused_by)),
            format!("finished {finished}{}", grouped(&finished_by)),
        ];
        parts.push(format!("generation {}", percentiles(&self.generation_ms)));
        parts.push(format!("queue wait {}", percentiles(&self.queue_wait_ms)));
        parts.push(format!(
            "provider errors {}, throttled {}",
            self.provider_errors, self.provider_throttled
        ));
        parts.push(format!(
            "webhooks {} attempts, {} failed",
            self.webhook_attempts, self.webhook_failures
        ));
        parts.push(format!("sweeper requeued {}", self.sweeper_requeued));
        format!("metrics {label} {}", parts.join(" · "))
    }
}

fn grouped(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" ({})", items.join(", "))
    }
}

/// `p50 x ms, p99 y ms` (nearest rank), or `-` with no samples.
fn percentiles(samples: &[u64]) -> String {
    if samples.is_empty() {
        return "-".into();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i]
    };
    format!("p50 {} ms, p99 {} ms", rank(0.50), rank(0.99))
}

/// The local stack's sink: the current minute's figures, or each EMF line.
pub struct DevMetrics {
    minute: Mutex<Minute>,
    emf: bool,
}

impl DevMetrics {
    pub fn new(emf: bool) -> Arc<DevMetrics> {
        Arc::new(DevMetrics {
            minute: Mutex::new(Minute::default()),
            emf,
        })
    }

    /// The figures since the last call, and a fresh minute.
    pub fn take(&self) -> Minute {
        std::mem::take(
            &mut *self
                .minute
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Prints the last minute's line at each minute's end (when it had any
    /// event), until the task is dropped.
    pub fn spawn_printer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let now = shared::time::now();
                let into_minute =
                    u64::try_from(now.timestamp_millis().rem_euclid(60_000)).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(60_000 - into_minute)).await;
                let minute = me.take();
                if !minute.is_empty() {
                    let label = (shared::time::now() - chrono::Duration::seconds(30))
                        .format("%H:%M")
                        .to_string();
                    println!("{}", minute.line(&label));
                }
            }
        })
    }
}

impl Sink for DevMetrics {
    fn emit(&self, emitted: &Emitted<'_>) {
        if self.emf {
            println!("{}", emitted.line);
            return;
        }
        self.minute
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(&emitted.event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::{FailureCode, Mode};

    #[test]
    fn a_minute_of_mixed_events_reads_as_one_line() {
        let mut m = Minute::default();
        for event in [
            Event::JobAdmitted { mode: Mode::Draft },
            Event::JobAdmitted { mode: Mode::Draft },
            Event::JobAdmitted { mode: Mode::Final },
            Event::SubmitRefused {
                reason: Refusal::Rpm,
            },
            Event::SubmitRefused {
                reason: Refusal::Quota,
            },
            Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Succeeded,
                failure_code: None,
            },
            Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Failed,
                failure_code: Some(FailureCode::Timeout),
            },
            Event::Generation {
                mode: Mode::Draft,
                millis: 80,
            },
            Event::Generation {
                mode: Mode::Draft,
                millis: 240,
            },
            Event::QueueWait {
                mode: Mode::Draft,
                millis: 40,
            },
            Event::WebhookAttempt { failed: true },
            Event::WebhookAttempt { failed: false },
        ] {
            m.add(&event);
        }
        assert_eq!(
            m.line("10:41"),
            "metrics 10:41 admitted 3 (draft 2, final 1) · refused 2 (rpm 1, quota 1) · \
             finished 2 (SUCCEEDED 1, FAILED 1: TIMEOUT 1) · generation p50 80 ms, p99 240 ms · \
             queue wait p50 40 ms, p99 40 ms · provider errors 0, throttled 0 · \
             webhooks 2 attempts, 1 failed · sweeper requeued 0"
        );
    }

    #[test]
    fn a_quiet_minute_is_empty_and_taking_starts_a_new_one() {
        let sink = DevMetrics::new(false);
        assert!(sink.take().is_empty());
        sink.minute
            .lock()
            .expect("lock")
            .add(&Event::ProviderThrottled);
        assert_eq!(sink.take().provider_throttled, 1);
        assert!(sink.take().is_empty());
    }
}
