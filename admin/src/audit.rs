//! `tenant audit ID [--fix]`: for each key mode of the tenant, is its
//! active-job counter the number of its QUEUED, RUNNING and RETRYING jobs,
//! and is any of those stuck? Test and live are counted apart (contract
//! 1.1), so each mode is audited on its own and reported under its name.
//!
//! The counter decides whether the tenant may submit, so drift either
//! refuses work the tenant is entitled to (counter too high) or admits more
//! than its limit (too low). Submits and finished jobs move the counter all
//! the time, so the audit reads the tenant twice and repairs only what both
//! reads agree on, with a write conditional on the counter it saw.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use shared::domain::{KeyMode, Scope};
use shared::env::Env;
use shared::queue::{JobMessage, JobQueue};
use shared::store::OpenJob;
use shared::time::{self, Timestamp};

use crate::Ctx;
use crate::cli::TenantAuditArgs;
use crate::error::AdminError;
use crate::input;
use crate::output::{Output, record, table};

/// One consistent look at a scope: its counter, then its open jobs.
struct Snapshot {
    active_jobs: i64,
    open: Vec<OpenJob>,
}

impl Snapshot {
    async fn take(ctx: &Ctx, scope: Scope<'_>) -> Result<Snapshot, AdminError> {
        let active_jobs = ctx
            .store
            .active_jobs(scope)
            .await?
            .ok_or_else(|| AdminError::UnknownTenant(scope.tenant_id.to_string()))?;
        let open = ctx.store.open_jobs(scope).await?;
        Ok(Snapshot { active_jobs, open })
    }

    /// Two snapshots agree when the counter and the set of open jobs are
    /// the same (a job moving between open statuses changes neither).
    /// Then no job was submitted or finished between the first read and the
    /// second count, and a later one changes the counter, which the
    /// conditional repair would see.
    fn agrees_with(&self, other: &Snapshot) -> bool {
        self.active_jobs == other.active_jobs
            && self
                .open
                .iter()
                .map(|j| &j.id)
                .eq(other.open.iter().map(|j| &j.id))
    }
}

/// What became of the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    /// It equals the recount.
    Correct,
    /// It drifted; `--fix` was not given.
    Drifted,
    /// It drifted and was set to the recount.
    Repaired,
    /// Jobs were submitted or finished while the audit read them: nothing
    /// can be concluded, run it again.
    Moving,
}

impl Counter {
    fn as_str(self) -> &'static str {
        match self {
            Counter::Correct => "correct",
            Counter::Drifted => "drifted",
            Counter::Repaired => "repaired",
            Counter::Moving => "moving",
        }
    }

    fn explain(self, counted: i64) -> String {
        match self {
            Counter::Correct => "correct".into(),
            Counter::Drifted => "drifted: run with --fix to set it to the recount".into(),
            Counter::Repaired => format!("repaired: set to {counted}"),
            Counter::Moving => {
                "not judged: jobs were submitted or finished during the audit; run it again".into()
            }
        }
    }
}

/// A job that will not move on its own.
struct Stuck<'a> {
    job: &'a OpenJob,
    reason: String,
}

pub async fn run(ctx: &Ctx, args: &TenantAuditArgs) -> Result<Output, AdminError> {
    let id = input::tenant_id(&args.id)?;
    let mut human = String::new();
    let mut json = serde_json::Map::from_iter([("tenantId".to_string(), json!(id))]);
    let mut needs_attention = false;
    for mode in KeyMode::ALL {
        let (mode_human, mode_json, attention) =
            audit_scope(ctx, args, Scope::new(id, mode)).await?;
        human.push_str(&mode_human);
        json.insert(mode.as_str().to_string(), mode_json);
        needs_attention |= attention;
    }
    let mut out = Output::new(human, Value::Object(json));
    out.needs_attention = needs_attention;
    Ok(out)
}

/// One mode's audit: what to print, its JSON, and whether it needs an
/// operator.
async fn audit_scope(
    ctx: &Ctx,
    args: &TenantAuditArgs,
    scope: Scope<'_>,
) -> Result<(String, Value, bool), AdminError> {
    let first = Snapshot::take(ctx, scope).await?;
    let last = Snapshot::take(ctx, scope).await?;
    let now = time::now();
    let counted = i64::try_from(last.open.len()).unwrap_or(i64::MAX);
    let drift = last.active_jobs - counted;

    let counter = if !first.agrees_with(&last) {
        Counter::Moving
    } else if drift == 0 {
        Counter::Correct
    } else if !args.fix {
        Counter::Drifted
    } else if ctx
        .store
        .set_active_jobs(scope, last.active_jobs, counted)
        .await?
    {
        Counter::Repaired
    } else {
        Counter::Moving
    };

    let stuck = stuck_jobs(&last.open, now, args.stale_after);
    let requeued = if args.fix && !stuck.is_empty() {
        requeue(ctx, args, scope, &stuck).await?
    } else {
        Vec::new()
    };

    let report = Report {
        scope,
        snapshot: &last,
        counted,
        drift,
        counter,
        stuck: &stuck,
        requeued: &requeued,
    };
    let attention =
        matches!(counter, Counter::Drifted | Counter::Moving) || requeued.len() < stuck.len();
    Ok((report.human(), report.json(), attention))
}

fn stuck_jobs(open: &[OpenJob], now: Timestamp, stale_after_minutes: u32) -> Vec<Stuck<'_>> {
    let stale_after = Duration::from_secs(u64::from(stale_after_minutes) * 60);
    open.iter()
        .filter_map(|job| {
            let reason = job.stuck_reason(now, stale_after)?;
            Some(Stuck { job, reason })
        })
        .collect()
}

/// Sends each stuck job to the jobs queue again; returns the ids sent.
async fn requeue(
    ctx: &Ctx,
    args: &TenantAuditArgs,
    scope: Scope<'_>,
    stuck: &[Stuck<'_>],
) -> Result<Vec<String>, AdminError> {
    let url = args
        .queue_url
        .clone()
        .or_else(|| Env::process().optional("QUEUE_URL"))
        .filter(|u| !u.is_empty())
        .ok_or(AdminError::NoQueue)?;
    let queue = JobQueue::new(aws_sdk_sqs::Client::new(&ctx.sdk), url);
    let mut sent = Vec::with_capacity(stuck.len());
    for s in stuck {
        let message = JobMessage::new(scope, &s.job.id);
        queue.send(&message).await.map_err(AdminError::Queue)?;
        sent.push(s.job.id.clone());
    }
    Ok(sent)
}

fn open_by_status(open: &[OpenJob]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for job in open {
        *counts.entry(job.status.as_str()).or_default() += 1;
    }
    counts
}

/// What the audit found and did, for both output forms.
struct Report<'a> {
    scope: Scope<'a>,
    snapshot: &'a Snapshot,
    counted: i64,
    drift: i64,
    counter: Counter,
    stuck: &'a [Stuck<'a>],
    requeued: &'a [String],
}

impl Report<'_> {
    fn human(&self) -> String {
        let by_status = open_by_status(&self.snapshot.open)
            .iter()
            .map(|(status, n)| format!("{status} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut text = record(&[
            ("tenant id", self.scope.tenant_id.to_string()),
            ("mode", self.scope.mode.as_str().to_string()),
            ("active-job counter", self.snapshot.active_jobs.to_string()),
            (
                "open jobs",
                if by_status.is_empty() {
                    "0".to_string()
                } else {
                    format!("{} ({by_status})", self.counted)
                },
            ),
            ("drift", format!("{:+}", self.drift)),
            ("counter", self.counter.explain(self.counted)),
            ("stuck jobs", self.stuck.len().to_string()),
        ]);
        if !self.stuck.is_empty() {
            let rows: Vec<Vec<String>> = self
                .stuck
                .iter()
                .map(|s| {
                    let action = if self.requeued.contains(&s.job.id) {
                        "requeued"
                    } else {
                        "run with --fix to requeue"
                    };
                    vec![
                        s.job.id.clone(),
                        s.job.status.to_string(),
                        s.reason.clone(),
                        action.to_string(),
                    ]
                })
                .collect();
            text.push_str(&table(&["JOB ID", "STATUS", "WHY", "ACTION"], &rows));
        }
        text
    }

    fn json(&self) -> Value {
        json!({
            "activeJobs": self.snapshot.active_jobs,
            "openJobs": self.counted,
            "openJobsByStatus": open_by_status(&self.snapshot.open),
            "drift": self.drift,
            "counter": self.counter.as_str(),
            "stuck": self.stuck.iter().map(|s| json!({
                "jobId": s.job.id,
                "status": s.job.status,
                "updatedAt": time::iso_millis(&s.job.updated_at),
                "reason": s.reason,
                "requeued": self.requeued.contains(&s.job.id),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use shared::domain::JobStatus;

    use super::*;

    fn job(id: &str, status: JobStatus, minutes_ago: i64, lease_in_ms: Option<i64>) -> OpenJob {
        let now = time::parse_iso("2026-11-24T12:00:00.000Z").unwrap();
        let at = now - chrono::Duration::minutes(minutes_ago);
        OpenJob {
            id: id.into(),
            status,
            created_at: at,
            updated_at: at,
            lease_until_ms: lease_in_ms.map(|d| now.timestamp_millis() + d),
            deadline_at: None,
            reservation: shared::domain::usage::Reservation::default(),
        }
    }

    #[test]
    fn stuck_means_an_ended_lease_or_a_long_wait() {
        let now = time::parse_iso("2026-11-24T12:00:00.000Z").unwrap();
        let open = vec![
            job("a", JobStatus::Running, 1, Some(-1)),
            job("b", JobStatus::Running, 90, Some(60_000)),
            job("c", JobStatus::Queued, 31, None),
            job("d", JobStatus::Queued, 29, None),
            job("e", JobStatus::Retrying, 45, None),
        ];
        let stuck: Vec<&str> = stuck_jobs(&open, now, 30)
            .iter()
            .map(|s| s.job.id.as_str())
            .collect();
        assert_eq!(stuck, ["a", "c", "e"]);
    }

    #[test]
    fn snapshots_agree_on_counter_and_open_set_not_on_status() {
        let a = Snapshot {
            active_jobs: 2,
            open: vec![
                job("a", JobStatus::Queued, 1, None),
                job("b", JobStatus::Queued, 1, None),
            ],
        };
        let moved = Snapshot {
            active_jobs: 2,
            open: vec![
                job("a", JobStatus::Running, 0, Some(1000)),
                job("b", JobStatus::Queued, 1, None),
            ],
        };
        let finished = Snapshot {
            active_jobs: 1,
            open: vec![job("b", JobStatus::Queued, 1, None)],
        };
        assert!(a.agrees_with(&moved));
        assert!(!a.agrees_with(&finished));
    }
}
