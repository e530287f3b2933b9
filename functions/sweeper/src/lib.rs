//! The sweeper Lambda, run on a schedule: finds every tenant's jobs that
//! will not move on their own and sends each to the jobs queue again.
//!
//! A job can lose its message: a submit whose queue send and whose undo
//! both failed, a message that went to the dead-letter queue after its
//! receives ran out, a worker that died after its message was deleted.
//! Such a job would stay QUEUED, RETRYING or RUNNING for ever and hold one
//! of its tenant's concurrency slots. A second message for a job that is
//! only slow is harmless: the worker claims a job with a conditional write,
//! so it runs once per claim whatever the queue delivers.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use shared::domain::submit::DEADLINE_SECONDS;
use shared::domain::{FailureCode, JobStatus, KeyMode, Scope};
use shared::env::{Env, EnvError};
use shared::metrics::{self, Event, Subject};
use shared::queue::{JobMessage, JobQueue, QueueError};
use shared::store::{Store, StoreError};
use shared::time::{self, Timestamp};

/// Jobs untouched this long are stuck unless configured otherwise: longer
/// than any retry backoff and than a worker run (180 s), so a sweep never
/// races a job that is moving.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(15 * 60);
/// This function's name in its metrics (`Function`).
const FUNCTION: &str = "sweeper";

pub struct Sweeper {
    store: Store,
    queue: JobQueue,
    stale_after: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Env(#[from] EnvError),
    #[error("listing tenants: {0}")]
    Tenants(StoreError),
    /// Some tenants could not be swept; the others were. The next scheduled
    /// run tries again (requeueing is idempotent).
    #[error("{failed} of {tenants} tenants could not be swept; first failure: {first}")]
    Partial {
        failed: usize,
        tenants: usize,
        first: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum TenantSweepError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Queue(#[from] QueueError),
}

/// What one sweep did: returned to Lambda and logged.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub tenants: usize,
    /// `tenantId/jobId` of every job sent to the queue again.
    pub requeued: Vec<String>,
    /// `tenantId/jobId` of every job ended FAILED `TIMEOUT`: its deadline
    /// passed before an attempt started.
    pub expired: Vec<String>,
}

impl Sweeper {
    pub fn new(store: Store, queue: JobQueue, stale_after: Duration) -> Sweeper {
        Sweeper {
            store,
            queue,
            stale_after,
        }
    }

    /// `TABLE_NAME`, `QUEUE_URL`; `STALE_AFTER_MINUTES` (default 15).
    pub async fn from_env() -> Result<Sweeper, SweepError> {
        let env = Env::process();
        let table = env.required("TABLE_NAME")?;
        let queue_url = env.required("QUEUE_URL")?;
        let stale_after = stale_after(&env)?;
        let sdk = shared::sdk::sdk_config().await;
        Ok(Sweeper::new(
            Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            JobQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url),
            stale_after,
        ))
    }

    /// One pass over every tenant. A tenant that fails does not stop the
    /// others; the sweep then reports the failure so it shows in metrics.
    pub async fn sweep(&self, now: Timestamp) -> Result<SweepReport, SweepError> {
        let tenants = self
            .store
            .list_tenants()
            .await
            .map_err(SweepError::Tenants)?;
        let mut report = SweepReport {
            tenants: tenants.len(),
            ..SweepReport::default()
        };
        let mut failures = Vec::new();
        for tenant in &tenants {
            if let Err(e) = self.sweep_tenant(&tenant.id, now, &mut report).await {
                tracing::error!(tenant_id = %tenant.id, error = %e, "sweeping a tenant failed");
                failures.push(e.to_string());
            }
        }
        match failures.first() {
            None => Ok(report),
            Some(first) => Err(SweepError::Partial {
                failed: failures.len(),
                tenants: tenants.len(),
                first: first.clone(),
            }),
        }
    }

    async fn sweep_tenant(
        &self,
        tenant_id: &str,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), TenantSweepError> {
        // A job updated after this cutoff is not stuck, and `updatedAt` is
        // never before `createdAt`: only older jobs need reading.
        let cutoff = now - self.stale_after;
        // A deadline is at least 10 s after the submit: jobs younger than
        // that cannot have passed theirs. Open jobs are bounded by the
        // scope's concurrency limit, so reading them all costs little.
        let oldest_deadline = now - Duration::from_secs(u64::from(*DEADLINE_SECONDS.start()));
        for mode in KeyMode::ALL {
            let scope = Scope::new(tenant_id, mode);
            let candidates = self
                .store
                .open_jobs_created_before(scope, oldest_deadline.max(cutoff))
                .await?;
            for job in candidates {
                if job.expired(now) {
                    if self
                        .store
                        .expire_job(scope, &job.id, &job.reservation, now)
                        .await?
                    {
                        tracing::warn!(tenant_id, livemode = scope.livemode(), job_id = %job.id, "deadline passed before generation started; job FAILED TIMEOUT");
                        metrics::emit(
                            FUNCTION,
                            Event::JobFinished {
                                mode: job.mode,
                                status: JobStatus::Failed,
                                failure_code: Some(FailureCode::Timeout),
                            },
                            Subject::job(tenant_id, &job.id),
                        );
                        report.expired.push(format!("{tenant_id}/{}", job.id));
                    }
                    continue;
                }
                if job.created_at >= cutoff {
                    continue;
                }
                let Some(reason) = job.stuck_reason(now, self.stale_after) else {
                    continue;
                };
                let message = JobMessage::new(scope, &job.id);
                self.queue.send(&message).await?;
                tracing::warn!(tenant_id, livemode = scope.livemode(), job_id = %job.id, %reason, "stuck job sent to the queue again");
                metrics::emit(
                    FUNCTION,
                    Event::SweeperRequeued { jobs: 1 },
                    Subject::job(tenant_id, &job.id),
                );
                report.requeued.push(format!("{tenant_id}/{}", job.id));
            }
        }
        Ok(())
    }
}

/// `STALE_AFTER_MINUTES`, strictly: a sweeper told to requeue jobs after a
/// nonsensical age does not start.
fn stale_after(env: &Env) -> Result<Duration, EnvError> {
    const EXPECTED: &str = "a whole number of minutes from 1 to 10080";
    match env.parsed::<u64>("STALE_AFTER_MINUTES", EXPECTED)? {
        None => Ok(DEFAULT_STALE_AFTER),
        Some(m @ 1..=10_080) => Ok(Duration::from_secs(m * 60)),
        Some(_) => Err(EnvError::Bad {
            name: "STALE_AFTER_MINUTES",
            expected: EXPECTED,
        }),
    }
}

/// The scheduled event carries nothing the sweep needs.
pub async fn handle(
    sweeper: &Sweeper,
    _event: LambdaEvent<serde_json::Value>,
) -> Result<SweepReport, lambda_runtime::Error> {
    let report = sweeper.sweep(time::now()).await?;
    tracing::info!(
        tenants = report.tenants,
        requeued = report.requeued.len(),
        expired = report.expired.len(),
        "sweep done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale_after_of(value: &str) -> Result<Duration, EnvError> {
        stale_after(&Env::from_pairs(&[("STALE_AFTER_MINUTES", value)]))
    }

    #[test]
    fn jobs_are_stale_after_fifteen_minutes_unless_configured() {
        assert_eq!(stale_after(&Env::from_pairs(&[])), Ok(DEFAULT_STALE_AFTER));
        assert_eq!(stale_after_of("30"), Ok(Duration::from_secs(30 * 60)));
        assert_eq!(
            stale_after_of("10080"),
            Ok(Duration::from_secs(10_080 * 60))
        );
    }

    #[test]
    fn a_stale_age_out_of_range_or_not_a_number_stops_the_sweeper() {
        for bad in ["0", "10081", "-5", "fifteen", "1.5"] {
            let err = stale_after_of(bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                "environment variable STALE_AFTER_MINUTES must be a whole number of minutes from 1 to 10080",
                "{bad}"
            );
        }
    }
}
