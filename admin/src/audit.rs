//! `tenant audit ID [--fix] [--month YYYY-MM]`: for each key mode of the
//! tenant, is its active-job counter the number of its QUEUED, RUNNING and
//! RETRYING jobs, is any of those stuck, is the month's image counter what
//! its jobs reserved and generated, and does the month's daily usage match
//! its SUCCEEDED jobs? Test and live are counted apart (contract 1.1), so
//! each mode is audited on its own and reported under its name.
//!
//! The counters decide whether the tenant may submit, so drift either
//! refuses work the tenant is entitled to (counter too high) or admits more
//! than its limit (too low). Submits and finished jobs move them all the
//! time, so the audit reads the tenant twice and repairs only what both
//! reads agree on, with a write conditional on the counter it saw.
//!
//! The month's image counter (`QUOTA#YYYY-MM`) should be the images of the
//! open jobs that reserved them in that month plus those of the jobs
//! submitted that month that SUCCEEDED. The SUCCEEDED jobs come from the
//! status index, which lags the table by a moment: a job that succeeded
//! just before the audit may be missing from both reads. Daily usage is
//! only reported: it is what was billed, and no recount can say which of
//! two disagreeing records is right.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::{Value, json};
use shared::domain::usage::usage_day;
use shared::domain::{KeyMode, Mode, Scope};
use shared::env::Env;
use shared::queue::{JobMessage, JobQueue};
use shared::store::{OpenJob, SucceededJob, UsageDay};
use shared::time::{self, Timestamp};

use crate::Ctx;
use crate::cli::TenantAuditArgs;
use crate::error::AdminError;
use crate::input;
use crate::output::{Output, record, table};
use crate::usage::{month_name, whole_month};

/// One consistent look at a scope: its counters, then its open jobs, then
/// each audited month's SUCCEEDED jobs and daily usage.
struct Snapshot {
    active_jobs: i64,
    open: Vec<OpenJob>,
    months: Vec<MonthLook>,
}

/// What a snapshot saw of one month.
struct MonthLook {
    /// `YYYY-MM`.
    month: String,
    /// The month's image counter.
    images: i64,
    /// The jobs submitted that month that SUCCEEDED.
    succeeded: Vec<SucceededJob>,
    /// The month's daily usage items.
    usage: Vec<UsageDay>,
}

impl Snapshot {
    async fn take(
        ctx: &Ctx,
        scope: Scope<'_>,
        months: &[NaiveDate],
    ) -> Result<Snapshot, AdminError> {
        let active_jobs = ctx
            .store
            .active_jobs(scope)
            .await?
            .ok_or_else(|| AdminError::UnknownTenant(scope.tenant_id.to_string()))?;
        let mut counters = Vec::with_capacity(months.len());
        for month in months {
            counters.push(ctx.store.month_images(scope, &month_name(*month)).await?);
        }
        // The jobs after the counters, as for the active-job counter: a
        // job that moves in between changes what the second snapshot sees.
        let open = ctx.store.open_jobs(scope).await?;
        let mut looks = Vec::with_capacity(months.len());
        for (month, images) in months.iter().zip(counters) {
            let (succeeded, usage) = tokio::try_join!(
                ctx.store.succeeded_jobs_created_in(scope, *month),
                ctx.store.usage_days(scope, whole_month(*month))
            )?;
            looks.push(MonthLook {
                month: month_name(*month),
                images,
                succeeded,
                usage,
            });
        }
        Ok(Snapshot {
            active_jobs,
            open,
            months: looks,
        })
    }

    fn open_ids(&self) -> impl Iterator<Item = &String> {
        self.open.iter().map(|j| &j.id)
    }

    /// Two snapshots agree when the counter and the set of open jobs are
    /// the same (a job moving between open statuses changes neither).
    /// Then no job was submitted or finished between the first read and the
    /// second count, and a later one changes the counter, which the
    /// conditional repair would see.
    fn agrees_with(&self, other: &Snapshot) -> bool {
        self.active_jobs == other.active_jobs && self.open_ids().eq(other.open_ids())
    }

    /// The same for month `i`'s image counter: the counter, the open jobs
    /// and the month's SUCCEEDED jobs are the same in both (a success moves
    /// a job from one set to the other and changes no counter).
    fn month_agrees_with(&self, other: &Snapshot, i: usize) -> bool {
        let (a, b) = (&self.months[i], &other.months[i]);
        a.images == b.images
            && self.open_ids().eq(other.open_ids())
            && a.succeeded_ids().eq(b.succeeded_ids())
    }

    /// The same for month `i`'s daily usage: the same usage items and the
    /// same SUCCEEDED jobs.
    fn usage_agrees_with(&self, other: &Snapshot, i: usize) -> bool {
        let (a, b) = (&self.months[i], &other.months[i]);
        a.usage == b.usage && a.succeeded_ids().eq(b.succeeded_ids())
    }
}

impl MonthLook {
    fn succeeded_ids(&self) -> impl Iterator<Item = &String> {
        self.succeeded.iter().map(|j| &j.id)
    }

    /// The images the month's counter should hold: those reserved by open
    /// jobs in this month, and those of the jobs submitted this month that
    /// SUCCEEDED (a job submitted before quotas existed reserved nothing).
    fn recount(&self, open: &[OpenJob]) -> MonthRecount {
        let reserved = open
            .iter()
            .filter(|j| j.reservation.month.as_deref() == Some(self.month.as_str()))
            .map(|j| i64::from(j.reservation.images))
            .sum();
        let succeeded = self
            .succeeded
            .iter()
            .filter(|j| j.quota_month.as_deref() == Some(self.month.as_str()))
            .map(|j| i64::from(j.images))
            .sum();
        MonthRecount {
            reserved,
            succeeded,
        }
    }

    /// The days and generation modes whose usage item does not count the
    /// SUCCEEDED jobs submitted that day: jobs and images, recorded (the
    /// usage item) against found (the jobs).
    fn usage_differences(&self) -> Vec<UsageDifference> {
        let mut days = BTreeMap::new();
        for item in &self.usage {
            let day = days
                .entry((item.date.clone(), item.mode.as_str()))
                .or_insert_with(|| UsageDifference::new(&item.date, item.mode));
            day.recorded = (item.jobs, item.images);
        }
        for job in &self.succeeded {
            let date = usage_day(job.created_at);
            let day = days
                .entry((date.clone(), job.mode.as_str()))
                .or_insert_with(|| UsageDifference::new(&date, job.mode));
            day.found.0 += 1;
            day.found.1 += u64::from(job.images);
        }
        days.into_values()
            .filter(|d| d.recorded != d.found)
            .collect()
    }
}

/// What a month's image counter should hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MonthRecount {
    /// By open jobs.
    reserved: i64,
    /// By SUCCEEDED jobs.
    succeeded: i64,
}

impl MonthRecount {
    fn total(self) -> i64 {
        self.reserved + self.succeeded
    }
}

/// A day and generation mode whose usage item and jobs disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
struct UsageDifference {
    date: String,
    mode: Mode,
    /// Jobs and images in the usage item.
    recorded: (u64, u64),
    /// Jobs and images of the SUCCEEDED jobs.
    found: (u64, u64),
}

impl UsageDifference {
    fn new(date: &str, mode: Mode) -> UsageDifference {
        UsageDifference {
            date: date.to_string(),
            mode,
            recorded: (0, 0),
            found: (0, 0),
        }
    }
}

/// What the audit concluded about a month's daily usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Usage {
    Consistent,
    /// Some day differs (reported, never repaired).
    Differs,
    /// Jobs succeeded while the audit read them: run it again.
    Moving,
}

impl Usage {
    fn as_str(self) -> &'static str {
        match self {
            Usage::Consistent => "consistent",
            Usage::Differs => "differs",
            Usage::Moving => "moving",
        }
    }

    fn explain(self, differences: usize) -> String {
        match self {
            Usage::Consistent => "matches the SUCCEEDED jobs".into(),
            Usage::Differs => format!(
                "{differences} day(s) differ from the SUCCEEDED jobs (reported, not repaired)"
            ),
            Usage::Moving => "not judged: jobs succeeded during the audit; run it again".into(),
        }
    }
}

/// What the audit found and did for one month.
struct MonthReport<'a> {
    look: &'a MonthLook,
    recount: MonthRecount,
    drift: i64,
    counter: Counter,
    usage: Usage,
    differences: Vec<UsageDifference>,
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
    // The current UTC month, and the one asked for.
    let mut months = vec![time::now().date_naive()];
    if let Some(month) = args.month
        && month_name(month) != month_name(months[0])
    {
        months.push(month);
    }
    let mut human = String::new();
    let mut json = serde_json::Map::from_iter([("tenantId".to_string(), json!(id))]);
    let mut needs_attention = false;
    for mode in KeyMode::ALL {
        let (mode_human, mode_json, attention) =
            audit_scope(ctx, args, Scope::new(id, mode), &months).await?;
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
    months: &[NaiveDate],
) -> Result<(String, Value, bool), AdminError> {
    let first = Snapshot::take(ctx, scope, months).await?;
    let last = Snapshot::take(ctx, scope, months).await?;
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

    let mut month_reports = Vec::with_capacity(last.months.len());
    for (i, look) in last.months.iter().enumerate() {
        month_reports.push(audit_month(ctx, args, scope, &first, &last, i, look).await?);
    }

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
        months: &month_reports,
    };
    let attention = matches!(counter, Counter::Drifted | Counter::Moving)
        || requeued.len() < stuck.len()
        || month_reports.iter().any(|m| {
            matches!(m.counter, Counter::Drifted | Counter::Moving) || m.usage != Usage::Consistent
        });
    Ok((report.human(), report.json(), attention))
}

/// Month `i`'s image counter judged (and with `--fix` repaired) and its
/// daily usage compared, from the two snapshots.
async fn audit_month<'a>(
    ctx: &Ctx,
    args: &TenantAuditArgs,
    scope: Scope<'_>,
    first: &Snapshot,
    last: &Snapshot,
    i: usize,
    look: &'a MonthLook,
) -> Result<MonthReport<'a>, AdminError> {
    let recount = look.recount(&last.open);
    let drift = look.images - recount.total();
    let counter = if !first.month_agrees_with(last, i) {
        Counter::Moving
    } else if drift == 0 {
        Counter::Correct
    } else if !args.fix {
        Counter::Drifted
    } else if ctx
        .store
        .set_month_images(scope, &look.month, look.images, recount.total())
        .await?
    {
        Counter::Repaired
    } else {
        Counter::Moving
    };
    let differences = look.usage_differences();
    let usage = if !first.usage_agrees_with(last, i) {
        Usage::Moving
    } else if differences.is_empty() {
        Usage::Consistent
    } else {
        Usage::Differs
    };
    Ok(MonthReport {
        look,
        recount,
        drift,
        counter,
        usage,
        differences,
    })
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
    months: &'a [MonthReport<'a>],
}

impl Report<'_> {
    fn human(&self) -> String {
        let by_status = open_by_status(&self.snapshot.open)
            .iter()
            .map(|(status, n)| format!("{status} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut fields = vec![
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
        ];
        for month in self.months {
            fields.extend(month.fields());
        }
        let mut text = record(&fields);
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
        for month in self.months {
            text.push_str(&month.differences_table());
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
            "months": self.months.iter()
                .map(|m| (m.look.month.clone(), m.json()))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

impl MonthReport<'_> {
    /// The month's lines of the mode's record.
    fn fields(&self) -> [(&'static str, String); 6] {
        [
            ("month", self.look.month.clone()),
            ("image counter", self.look.images.to_string()),
            (
                "images counted",
                format!(
                    "{} ({} reserved by open jobs, {} of SUCCEEDED jobs)",
                    self.recount.total(),
                    self.recount.reserved,
                    self.recount.succeeded
                ),
            ),
            ("image drift", format!("{:+}", self.drift)),
            ("month counter", self.counter.explain(self.recount.total())),
            ("daily usage", self.usage.explain(self.differences.len())),
        ]
    }

    /// The days whose usage differs, if it does.
    fn differences_table(&self) -> String {
        if self.usage != Usage::Differs {
            return String::new();
        }
        let rows: Vec<Vec<String>> = self
            .differences
            .iter()
            .map(|d| {
                vec![
                    d.date.clone(),
                    d.mode.as_str().to_string(),
                    format!("{} jobs, {} images", d.recorded.0, d.recorded.1),
                    format!("{} jobs, {} images", d.found.0, d.found.1),
                ]
            })
            .collect();
        table(&["DATE", "MODE", "USAGE", "SUCCEEDED JOBS"], &rows)
    }

    fn json(&self) -> Value {
        json!({
            "images": self.look.images,
            "counted": self.recount.total(),
            "reservedByOpenJobs": self.recount.reserved,
            "succeededImages": self.recount.succeeded,
            "drift": self.drift,
            "counter": self.counter.as_str(),
            "usage": self.usage.as_str(),
            "usageDifferences": self.differences.iter().map(|d| json!({
                "date": d.date,
                "mode": d.mode.as_str(),
                "usage": {"jobs": d.recorded.0, "images": d.recorded.1},
                "succeeded": {"jobs": d.found.0, "images": d.found.1},
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
            mode: Mode::Draft,
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

    fn reserving(id: &str, month: Option<&str>, images: u8) -> OpenJob {
        let mut open = job(id, JobStatus::Queued, 1, None);
        open.reservation = shared::domain::usage::Reservation {
            month: month.map(str::to_string),
            images,
        };
        open
    }

    fn succeeded(id: &str, at: &str, mode: Mode, month: Option<&str>, images: u8) -> SucceededJob {
        SucceededJob {
            id: id.into(),
            mode,
            created_at: time::parse_iso(at).unwrap(),
            quota_month: month.map(str::to_string),
            images,
        }
    }

    fn usage(date: &str, mode: Mode, jobs: u64, images: u64) -> UsageDay {
        UsageDay {
            date: date.into(),
            mode,
            jobs,
            images,
            cost_micro_usd: 0,
        }
    }

    #[test]
    fn a_month_counts_its_open_reservations_and_its_successes() {
        let look = MonthLook {
            month: "2026-03".into(),
            images: 9,
            succeeded: vec![
                succeeded(
                    "s1",
                    "2026-03-02T10:00:00.000Z",
                    Mode::Draft,
                    Some("2026-03"),
                    2,
                ),
                succeeded(
                    "s2",
                    "2026-03-02T11:00:00.000Z",
                    Mode::Final,
                    Some("2026-03"),
                    1,
                ),
                // Submitted before quotas: in no month's counter.
                succeeded("s3", "2026-03-03T00:00:00.000Z", Mode::Draft, None, 4),
            ],
            usage: Vec::new(),
        };
        let open = [
            reserving("o1", Some("2026-03"), 3),
            reserving("o2", Some("2026-02"), 4),
            reserving("o3", None, 1),
        ];
        assert_eq!(
            look.recount(&open),
            MonthRecount {
                reserved: 3,
                succeeded: 3
            }
        );
    }

    #[test]
    fn daily_usage_is_compared_with_the_successes_of_each_day_and_mode() {
        let mut look = MonthLook {
            month: "2026-03".into(),
            images: 0,
            succeeded: vec![
                succeeded(
                    "s1",
                    "2026-03-02T10:00:00.000Z",
                    Mode::Draft,
                    Some("2026-03"),
                    2,
                ),
                succeeded(
                    "s2",
                    "2026-03-02T23:59:59.999Z",
                    Mode::Draft,
                    Some("2026-03"),
                    1,
                ),
                succeeded(
                    "s3",
                    "2026-03-04T00:00:00.000Z",
                    Mode::Final,
                    Some("2026-03"),
                    4,
                ),
            ],
            usage: vec![
                usage("2026-03-02", Mode::Draft, 2, 3),
                usage("2026-03-04", Mode::Final, 1, 4),
            ],
        };
        assert_eq!(look.usage_differences(), []);
        look.usage = vec![
            usage("2026-03-02", Mode::Draft, 1, 2),
            usage("2026-03-03", Mode::Final, 1, 1),
            usage("2026-03-04", Mode::Final, 1, 4),
        ];
        let found: Vec<_> = look
            .usage_differences()
            .iter()
            .map(|d| (d.date.clone(), d.mode, d.recorded, d.found))
            .collect();
        assert_eq!(
            found,
            [
                ("2026-03-02".to_string(), Mode::Draft, (1, 2), (2, 3)),
                ("2026-03-03".to_string(), Mode::Final, (1, 1), (0, 0)),
            ]
        );
    }

    #[test]
    fn snapshots_agree_on_counter_and_open_set_not_on_status() {
        let a = Snapshot {
            active_jobs: 2,
            open: vec![
                job("a", JobStatus::Queued, 1, None),
                job("b", JobStatus::Queued, 1, None),
            ],
            months: Vec::new(),
        };
        let moved = Snapshot {
            active_jobs: 2,
            open: vec![
                job("a", JobStatus::Running, 0, Some(1000)),
                job("b", JobStatus::Queued, 1, None),
            ],
            months: Vec::new(),
        };
        let finished = Snapshot {
            active_jobs: 1,
            open: vec![job("b", JobStatus::Queued, 1, None)],
            months: Vec::new(),
        };
        assert!(a.agrees_with(&moved));
        assert!(!a.agrees_with(&finished));
    }
}
