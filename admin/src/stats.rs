//! `stats [--minutes N]`: the figures the service's metrics give
//! (`shared::metrics::CATALOG`) for the last N minutes, read back from the
//! table and the queues, for when CloudWatch is not at hand (the local
//! stack) or to check the metrics against the data:
//!
//! | metric | read from |
//! |---|---|
//! | `JobsAdmitted` | jobs whose `createdAt` is in the window, by `mode` and `keyMode` |
//! | `JobsFinished` | SUCCEEDED, FAILED and CANCELED jobs whose `updatedAt` (a terminal job's last write is its terminal move) is in the window; FAILED by `errorCode` |
//! | `QueueWaitMs` | `startedAt − createdAt` of jobs claimed once (`attempts` 1) whose claim is in the window: every claim overwrites `startedAt` |
//! | `GenerationMs` | not stored; `updatedAt − startedAt` of the SUCCEEDED jobs (their last attempt, claim to finish, inputs and the finishing write included) stands in, at least as long |
//! | `WebhookAttempts`, `WebhookFailures` | delivery attempt items whose `at` is in the window; failures: `status` failed |
//! | `SubmitRefused`, `ProviderErrors`, `ProviderThrottled`, `SweeperRequeued` | nothing the table keeps: listed as not derivable |
//!
//! With the queues' approximate depths (`GetQueueAttributes`) and the
//! oldest QUEUED or RETRYING job.
//!
//! Both indexes are per (tenant, mode) and by creation time, and delivery
//! attempts are in no index, so reading every tenant is one paginated
//! Scan: eventually consistent (half the read units), projected to the
//! attributes above, filtered to the jobs written in the window or still
//! waiting and the attempts made in it. The filter does not lower the cost
//! (DynamoDB charges for every item it reads), so the scan stops after
//! `--max-items` items and the output says the figures are partial.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Duration;
use serde_json::{Map, Value, json};
use shared::domain::{FailureCode, JobStatus, KeyMode, Mode};
use shared::env::Env;
use shared::store::pages::{Page, StartKey};
use shared::store::{Item, ItemError, StoreError, schema};
use shared::time::{self, Timestamp};

use crate::Ctx;
use crate::cli::StatsArgs;
use crate::error::AdminError;
use crate::output::{Output, record, table};

pub async fn run(ctx: &Ctx, args: &StatsArgs) -> Result<Output, AdminError> {
    let to = time::now();
    let window = Window {
        minutes: args.minutes,
        from: to - Duration::minutes(i64::from(args.minutes)),
        to,
    };
    // The queues first: four cheap calls, and one that fails stops the
    // command before the scan has spent its read units.
    let queues = read_queues(ctx, args).await?;
    let scan = scan(ctx, window.from, args.max_items).await?;
    let figures = Figures {
        window,
        jobs: &scan.jobs,
        attempts: &scan.attempts,
    };
    Ok(Report {
        figures: &figures,
        scan: &scan,
        max_items: args.max_items,
        queues: &queues,
    }
    .output())
}

/// The minutes up to `to`; an item counts when its time is in `from..=to`.
#[derive(Clone, Copy, Debug)]
struct Window {
    minutes: u32,
    from: Timestamp,
    to: Timestamp,
}

impl Window {
    fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t <= self.to
    }
}

/// The attributes of a job item the figures need.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JobRow {
    id: String,
    tenant_id: String,
    key_mode: KeyMode,
    mode: Mode,
    status: JobStatus,
    failure: Option<FailureCode>,
    attempts: u32,
    created_at: Timestamp,
    updated_at: Timestamp,
    /// The latest claim (each claim overwrites it).
    started_at: Option<Timestamp>,
}

/// A delivery attempt item: when, and whether the receiver took it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AttemptRow {
    at: Timestamp,
    delivered: bool,
}

fn optional_time(item: &Item, name: &str) -> Result<Option<Timestamp>, ItemError> {
    match item.opt_str(name)? {
        None => Ok(None),
        Some(_) => item.time(name).map(Some),
    }
}

fn job_row(item: &Item) -> Result<JobRow, ItemError> {
    Ok(JobRow {
        id: item.str("jobId")?.to_string(),
        tenant_id: item.str("tenantId")?.to_string(),
        key_mode: item.parsed("keyMode", KeyMode::parse)?,
        mode: item.parsed("mode", Mode::parse)?,
        status: item.parsed("status", JobStatus::parse)?,
        failure: match item.opt_str("errorCode")? {
            None => None,
            Some(_) => Some(item.parsed("errorCode", FailureCode::parse)?),
        },
        attempts: item.opt_num("attempts")?.unwrap_or(0),
        created_at: item.time("createdAt")?,
        updated_at: item.time("updatedAt")?,
        started_at: optional_time(item, "startedAt")?,
    })
}

fn attempt_row(item: &Item) -> Result<AttemptRow, ItemError> {
    Ok(AttemptRow {
        at: item.time("at")?,
        delivered: item.parsed("status", shared::store::attempt_delivered)?,
    })
}

/// What the scan read.
struct Scan {
    jobs: Vec<JobRow>,
    attempts: Vec<AttemptRow>,
    /// Items DynamoDB read (and charged for), before the filter.
    scanned: u64,
    pages: u32,
    /// The read units DynamoDB reported consuming (`None`: it reported none).
    read_units: Option<f64>,
    /// Whether it reached the end of the table (not stopped by `--max-items`).
    complete: bool,
}

/// The attributes the scan returns, as `#name` placeholders.
const PROJECTED: [&str; 14] = [
    schema::PK,
    schema::SK,
    "type",
    "status",
    "mode",
    "keyMode",
    "tenantId",
    "jobId",
    "errorCode",
    "attempts",
    "createdAt",
    "updatedAt",
    "startedAt",
    "at",
];

/// The jobs written in the window (a job created in it was written in it)
/// or still waiting, and the delivery attempts made in it. Times are ISO
/// strings of one width, so they compare as strings.
const FILTER: &str = "(#type = :job AND (#updatedAt >= :from OR #status IN (:queued, :retrying))) \
                      OR (#type = :delivery AND #at >= :from)";

/// One paginated, eventually consistent Scan of the whole table, stopped
/// after `max_items` items read. Its own loop, not `pages::each_page`: it
/// must be able to stop before the last page.
async fn scan(ctx: &Ctx, from: Timestamp, max_items: u32) -> Result<Scan, AdminError> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let request = PROJECTED
        .iter()
        .fold(ctx.store.client().scan(), |r, name| {
            r.expression_attribute_names(format!("#{name}"), *name)
        })
        .table_name(ctx.store.table())
        .projection_expression(
            PROJECTED
                .iter()
                .map(|name| format!("#{name}"))
                .collect::<Vec<_>>()
                .join(", "),
        )
        .filter_expression(FILTER)
        .expression_attribute_values(":job", s("JOB"))
        .expression_attribute_values(":delivery", s("DELIVERY"))
        .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
        .expression_attribute_values(":retrying", s(JobStatus::Retrying.as_str()))
        .expression_attribute_values(":from", s(&time::iso_millis(&from)))
        .consistent_read(false)
        .return_consumed_capacity(ReturnConsumedCapacity::Total);
    let mut out = Scan {
        jobs: Vec::new(),
        attempts: Vec::new(),
        scanned: 0,
        pages: 0,
        read_units: None,
        complete: false,
    };
    let mut start: Option<StartKey> = None;
    loop {
        let left = u64::from(max_items).saturating_sub(out.scanned);
        let mut page = request
            .clone()
            .limit(i32::try_from(left).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::Aws {
                op: "Scan",
                message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            })?;
        out.pages += 1;
        out.scanned += u64::try_from(page.scanned_count).unwrap_or(0);
        if let Some(units) = page
            .consumed_capacity
            .as_ref()
            .and_then(|c| c.capacity_units)
        {
            *out.read_units.get_or_insert(0.0) += units;
        }
        start = page.take_next_start();
        for item in page.take_items() {
            match item.opt_str("type").map_err(StoreError::from)? {
                Some("JOB") => out.jobs.push(job_row(&item).map_err(StoreError::from)?),
                Some("DELIVERY") => out
                    .attempts
                    .push(attempt_row(&item).map_err(StoreError::from)?),
                _ => {}
            }
        }
        if start.is_none() {
            out.complete = true;
            return Ok(out);
        }
        if out.scanned >= u64::from(max_items) {
            return Ok(out);
        }
    }
}

/// One of the four queues and where its URL comes from.
struct QueueSpec {
    /// Its key in `--json`'s `queues`.
    key: &'static str,
    label: &'static str,
    flag: &'static str,
    env: &'static str,
}

const QUEUES: [QueueSpec; 4] = [
    QueueSpec {
        key: "jobs",
        label: "jobs",
        flag: "--queue-url",
        env: "QUEUE_URL",
    },
    QueueSpec {
        key: "jobsDeadLetter",
        label: "jobs DLQ",
        flag: "--jobs-dlq-url",
        env: "JOBS_DLQ_URL",
    },
    QueueSpec {
        key: "delivery",
        label: "delivery",
        flag: "--delivery-queue-url",
        env: "DELIVERY_QUEUE_URL",
    },
    QueueSpec {
        key: "deliveryDeadLetter",
        label: "delivery DLQ",
        flag: "--delivery-dlq-url",
        env: "DELIVERY_DLQ_URL",
    },
];

/// A queue's approximate depths, as SQS reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Depth {
    /// `ApproximateNumberOfMessages`: visible, waiting to be received.
    messages: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted
    /// (in flight, or waiting out a retry's visibility timeout).
    not_visible: u64,
    /// `ApproximateNumberOfMessagesDelayed`: sent with a delay not yet over.
    delayed: u64,
}

/// A queue as `stats` found it: its URL and depths, or not configured.
struct QueueLook {
    spec: &'static QueueSpec,
    url: Option<String>,
    depth: Option<Depth>,
}

async fn read_queues(ctx: &Ctx, args: &StatsArgs) -> Result<Vec<QueueLook>, AdminError> {
    let env = Env::process();
    let given = [
        &args.queue_url,
        &args.jobs_dlq_url,
        &args.delivery_queue_url,
        &args.delivery_dlq_url,
    ];
    let sqs = aws_sdk_sqs::Client::new(&ctx.sdk);
    let mut looks = Vec::with_capacity(QUEUES.len());
    for (spec, flag) in QUEUES.iter().zip(given) {
        let url = flag
            .clone()
            .or_else(|| env.optional(spec.env))
            .filter(|u| !u.is_empty());
        let depth = match &url {
            Some(url) => Some(depth(&sqs, spec, url).await?),
            None => None,
        };
        looks.push(QueueLook { spec, url, depth });
    }
    Ok(looks)
}

async fn depth(
    sqs: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
    url: &str,
) -> Result<Depth, AdminError> {
    let failed = |message: String| AdminError::QueueAttributes {
        queue: spec.label,
        url: url.to_string(),
        message,
    };
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    let attributes = out.attributes.unwrap_or_default();
    let count = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| failed(format!("no {} in its answer", name.as_str())))
    };
    Ok(Depth {
        messages: count(QueueAttributeName::ApproximateNumberOfMessages)?,
        not_visible: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
        delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?,
    })
}

const MODES: [Mode; 2] = [Mode::Draft, Mode::Final];
const FINISHED: [JobStatus; 3] = [JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled];
const WAITING: [JobStatus; 2] = [JobStatus::Queued, JobStatus::Retrying];

/// What the table says about the window: every figure is a count or a
/// spread over the rows the scan returned.
struct Figures<'a> {
    window: Window,
    jobs: &'a [JobRow],
    attempts: &'a [AttemptRow],
}

impl Figures<'_> {
    /// `JobsAdmitted`: jobs created in the window.
    fn admitted(&self, mode: Option<Mode>, key_mode: Option<KeyMode>) -> usize {
        self.jobs
            .iter()
            .filter(|j| self.window.contains(j.created_at))
            .filter(|j| mode.is_none_or(|m| j.mode == m))
            .filter(|j| key_mode.is_none_or(|k| j.key_mode == k))
            .count()
    }

    /// Jobs whose terminal move is in the window.
    fn finished_jobs(&self) -> impl Iterator<Item = &JobRow> {
        self.jobs
            .iter()
            .filter(|j| j.status.is_terminal() && self.window.contains(j.updated_at))
    }

    /// `JobsFinished` by status (`None`: all of them).
    fn finished(&self, status: Option<JobStatus>) -> usize {
        self.finished_jobs()
            .filter(|j| status.is_none_or(|s| j.status == s))
            .count()
    }

    /// `JobsFinished` of FAILED jobs by failure code.
    fn failed_with(&self, code: FailureCode) -> usize {
        self.finished_jobs()
            .filter(|j| j.status == JobStatus::Failed && j.failure == Some(code))
            .count()
    }

    /// FAILED / finished (`None` when nothing finished).
    fn failure_rate(&self) -> Option<f64> {
        let finished = self.finished(None);
        (finished > 0).then(|| self.finished(Some(JobStatus::Failed)) as f64 / finished as f64)
    }

    /// Jobs whose only claim is in the window: the ones whose wait is known.
    fn claimed_once(&self) -> impl Iterator<Item = (&JobRow, Timestamp)> {
        self.jobs.iter().filter_map(|j| {
            let started = j.started_at?;
            (j.attempts == 1 && self.window.contains(started)).then_some((j, started))
        })
    }

    /// `QueueWaitMs`: creation to (first and only) claim.
    fn queue_wait(&self, mode: Option<Mode>) -> Option<Spread> {
        spread(
            self.claimed_once()
                .filter(|(j, _)| mode.is_none_or(|m| j.mode == m))
                .map(|(j, started)| millis(j.created_at, started))
                .collect(),
        )
    }

    /// Jobs last claimed in the window after an earlier claim: their first
    /// claim's time is gone, so their queue wait is not derivable.
    fn claimed_more_than_once(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.attempts > 1 && j.started_at.is_some_and(|t| self.window.contains(t)))
            .count()
    }

    /// Claim to finish of the last attempt of the jobs that SUCCEEDED in
    /// the window (a success is always the move of the attempt that made
    /// the last claim).
    fn attempt_time(&self, mode: Option<Mode>) -> Option<Spread> {
        spread(
            self.finished_jobs()
                .filter(|j| j.status == JobStatus::Succeeded)
                .filter(|j| mode.is_none_or(|m| j.mode == m))
                .filter_map(|j| Some(millis(j.started_at?, j.updated_at)))
                .collect(),
        )
    }

    /// `WebhookAttempts` and `WebhookFailures`.
    fn webhook_attempts(&self) -> (usize, usize) {
        let made: Vec<&AttemptRow> = self
            .attempts
            .iter()
            .filter(|a| self.window.contains(a.at))
            .collect();
        let failed = made.iter().filter(|a| !a.delivered).count();
        (made.len(), failed)
    }

    /// Jobs waiting for a worker now, whenever created.
    fn waiting(&self, status: JobStatus) -> usize {
        self.jobs.iter().filter(|j| j.status == status).count()
    }

    fn oldest_waiting(&self) -> Option<&JobRow> {
        self.jobs
            .iter()
            .filter(|j| WAITING.contains(&j.status))
            .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
    }
}

fn millis(from: Timestamp, to: Timestamp) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

/// How many values, and their 50th and 90th percentiles (nearest rank:
/// the smallest value with at least that share of the values at or below
/// it) and maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spread {
    count: usize,
    p50: u64,
    p90: u64,
    max: u64,
}

fn spread(mut values: Vec<u64>) -> Option<Spread> {
    values.sort_unstable();
    let rank = |percent: usize| {
        let at = (values.len() * percent).div_ceil(100).max(1) - 1;
        values.get(at).copied()
    };
    Some(Spread {
        count: values.len(),
        p50: rank(50)?,
        p90: rank(90)?,
        max: *values.last()?,
    })
}

fn spread_json(s: Option<Spread>) -> Value {
    match s {
        Some(s) => json!({"jobs": s.count, "p50": s.p50, "p90": s.p90, "max": s.max}),
        None => json!({"jobs": 0, "p50": null, "p90": null, "max": null}),
    }
}

/// The metrics the table holds nothing for, and why.
const NOT_DERIVABLE: [(&str, &str); 6] = [
    ("SubmitRefused", "a refused submit writes nothing"),
    (
        "ProviderErrors",
        "provider answers are not stored; a job keeps only its final failure code",
    ),
    (
        "ProviderThrottled",
        "provider answers are not stored; a job keeps only its final failure code",
    ),
    (
        "SweeperRequeued",
        "the sweeper only sends messages; the job item does not change",
    ),
    (
        "GenerationMs",
        "the worker's time after loading the inputs is not stored; attemptMs (claim to finish) includes it",
    ),
    (
        "QueueWaitMs",
        "not for jobs claimed more than once (claimedMoreThanOnce): each claim overwrites startedAt",
    ),
];

/// Everything `stats` prints, in both forms.
struct Report<'a> {
    figures: &'a Figures<'a>,
    scan: &'a Scan,
    max_items: u32,
    queues: &'a [QueueLook],
}

impl Report<'_> {
    fn output(&self) -> Output {
        Output::new(self.human(), self.json())
    }

    fn warnings(&self) -> Vec<String> {
        if self.scan.complete {
            Vec::new()
        } else {
            vec![format!(
                "the scan stopped at --max-items {} before the end of the table: the figures from the table cover only the {} items read; raise --max-items for all of it",
                self.max_items, self.scan.scanned
            )]
        }
    }

    fn json(&self) -> Value {
        let f = self.figures;
        let w = f.window;
        let by_key_mode = |mode: Option<Mode>| {
            json!({
                "test": f.admitted(mode, Some(KeyMode::Test)),
                "live": f.admitted(mode, Some(KeyMode::Live)),
                "total": f.admitted(mode, None),
            })
        };
        let mut admitted = Map::from_iter([("total".to_string(), json!(f.admitted(None, None)))]);
        for mode in MODES {
            admitted.insert(mode.as_str().into(), by_key_mode(Some(mode)));
        }
        admitted.insert("test".into(), json!(f.admitted(None, Some(KeyMode::Test))));
        admitted.insert("live".into(), json!(f.admitted(None, Some(KeyMode::Live))));
        let mut finished = Map::from_iter([("total".to_string(), json!(f.finished(None)))]);
        for status in FINISHED {
            finished.insert(status.as_str().into(), json!(f.finished(Some(status))));
        }
        finished.insert(
            "failureCodes".into(),
            FailureCode::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), json!(f.failed_with(*c))))
                .collect::<Map<_, _>>()
                .into(),
        );
        finished.insert("failureRate".into(), json!(f.failure_rate()));
        let by_mode = |of: &dyn Fn(Option<Mode>) -> Option<Spread>| {
            let mut m = Map::from_iter([("all".to_string(), spread_json(of(None)))]);
            for mode in MODES {
                m.insert(mode.as_str().into(), spread_json(of(Some(mode))));
            }
            m
        };
        let mut queue_wait = by_mode(&|m| f.queue_wait(m));
        queue_wait.insert(
            "claimedMoreThanOnce".into(),
            json!(f.claimed_more_than_once()),
        );
        let (attempts, failures) = f.webhook_attempts();
        let queues: Map<String, Value> = self
            .queues
            .iter()
            .map(|q| {
                let entry = json!({
                    "configured": q.url.is_some(),
                    "url": q.url,
                    "messages": q.depth.map(|d| d.messages),
                    "notVisible": q.depth.map(|d| d.not_visible),
                    "delayed": q.depth.map(|d| d.delayed),
                });
                (q.spec.key.to_string(), entry)
            })
            .collect();
        let mut waiting = Map::new();
        for status in WAITING {
            waiting.insert(status.as_str().into(), json!(f.waiting(status)));
        }
        waiting.insert(
            "oldest".into(),
            f.oldest_waiting().map_or(Value::Null, |j| {
                json!({
                    "jobId": j.id,
                    "tenantId": j.tenant_id,
                    "livemode": j.key_mode == KeyMode::Live,
                    "status": j.status,
                    "createdAt": time::iso_millis(&j.created_at),
                    "ageSeconds": (w.to - j.created_at).num_seconds().max(0),
                })
            }),
        );
        json!({
            "window": {
                "minutes": w.minutes,
                "from": time::iso_millis(&w.from),
                "to": time::iso_millis(&w.to),
            },
            "scan": {
                "itemsRead": self.scan.scanned,
                "itemsKept": self.scan.jobs.len() + self.scan.attempts.len(),
                "pages": self.scan.pages,
                "readUnits": self.scan.read_units,
                "consistentRead": false,
                "maxItems": self.max_items,
                "complete": self.scan.complete,
            },
            "warnings": self.warnings(),
            "jobsAdmitted": admitted,
            "jobsFinished": finished,
            "queueWaitMs": queue_wait,
            "attemptMs": by_mode(&|m| f.attempt_time(m)),
            "webhooks": {"attempts": attempts, "failures": failures},
            "queues": queues,
            "waitingJobs": waiting,
            "notDerivable": NOT_DERIVABLE
                .iter()
                .map(|(metric, why)| json!({"metric": metric, "why": why}))
                .collect::<Vec<_>>(),
        })
    }

    fn human(&self) -> String {
        let f = self.figures;
        let w = f.window;
        let mut text = String::new();
        for warning in self.warnings() {
            text.push_str(&format!("warning: {warning}\n"));
        }
        let units = self.scan.read_units.map_or_else(
            || "read units not reported".to_string(),
            |u| {
                format!(
                    "{u} read unit{}",
                    if (u - 1.0).abs() < f64::EPSILON {
                        ""
                    } else {
                        "s"
                    }
                )
            },
        );
        text.push_str(&record(&[
            (
                "window",
                format!(
                    "last {} minutes, {} to {}",
                    w.minutes,
                    time::iso_millis(&w.from),
                    time::iso_millis(&w.to)
                ),
            ),
            (
                "table scan",
                format!(
                    "{} items read in {} page{}, {} kept, {units} (eventually consistent){}",
                    self.scan.scanned,
                    self.scan.pages,
                    if self.scan.pages == 1 { "" } else { "s" },
                    self.scan.jobs.len() + self.scan.attempts.len(),
                    if self.scan.complete { "" } else { ", partial" },
                ),
            ),
        ]));

        text.push_str("\njobs admitted (JobsAdmitted), created in the window:\n");
        let admitted_row = |label: &str, mode: Option<Mode>| {
            vec![
                label.to_string(),
                f.admitted(mode, Some(KeyMode::Test)).to_string(),
                f.admitted(mode, Some(KeyMode::Live)).to_string(),
                f.admitted(mode, None).to_string(),
            ]
        };
        let mut rows: Vec<Vec<String>> = MODES
            .iter()
            .map(|m| admitted_row(m.as_str(), Some(*m)))
            .collect();
        rows.push(admitted_row("total", None));
        text.push_str(&table(&["MODE", "TEST", "LIVE", "TOTAL"], &rows));

        text.push_str("\njobs finished (JobsFinished), terminal move in the window:\n");
        let mut rows = Vec::new();
        for status in FINISHED {
            rows.push(vec![
                status.as_str().to_string(),
                f.finished(Some(status)).to_string(),
            ]);
            if status == JobStatus::Failed {
                for code in FailureCode::ALL {
                    let n = f.failed_with(code);
                    if n > 0 {
                        rows.push(vec![format!("  {code}"), n.to_string()]);
                    }
                }
            }
        }
        rows.push(vec!["total".into(), f.finished(None).to_string()]);
        text.push_str(&table(&["STATUS", "JOBS"], &rows));
        text.push_str(&match f.failure_rate() {
            Some(rate) => format!(
                "failure rate: {:.1}% ({} FAILED of {} finished)\n",
                rate * 100.0,
                f.finished(Some(JobStatus::Failed)),
                f.finished(None)
            ),
            None => "failure rate: - (no job finished)\n".to_string(),
        });

        text.push_str("\ntimes in milliseconds:\n");
        let mut rows = Vec::new();
        let mut spread_rows = |label: &str, of: &dyn Fn(Option<Mode>) -> Option<Spread>| {
            for (i, mode) in [None, Some(Mode::Draft), Some(Mode::Final)]
                .into_iter()
                .enumerate()
            {
                let s = of(mode);
                let cell =
                    |v: fn(&Spread) -> u64| s.as_ref().map_or("-".into(), |s| v(s).to_string());
                rows.push(vec![
                    if i == 0 {
                        label.to_string()
                    } else {
                        String::new()
                    },
                    mode.map_or("all", Mode::as_str).to_string(),
                    s.map_or(0, |s| s.count).to_string(),
                    cell(|s| s.p50),
                    cell(|s| s.p90),
                    cell(|s| s.max),
                ]);
            }
        };
        spread_rows("queue wait (QueueWaitMs)", &|m| f.queue_wait(m));
        spread_rows("attempt, claim to finish", &|m| f.attempt_time(m));
        text.push_str(&table(
            &["TIME", "MODE", "JOBS", "P50", "P90", "MAX"],
            &rows,
        ));
        text.push_str(&format!(
            "queue wait: creation to claim of the jobs claimed once, the claim in the window; {} claimed more than once (the last claim in the window) left out: not derivable\n\
             attempt: claim to finish of the last attempt of the jobs that SUCCEEDED in the window; it includes loading the inputs and the finishing write, so it is at least that attempt's GenerationMs\n",
            f.claimed_more_than_once()
        ));

        let (attempts, failures) = f.webhook_attempts();
        text.push('\n');
        text.push_str(&record(&[(
            "webhook attempts",
            format!(
                "{attempts} in the window (WebhookAttempts), {failures} failed (WebhookFailures)"
            ),
        )]));

        text.push_str("\nqueues (approximate, from SQS):\n");
        let rows: Vec<Vec<String>> = self
            .queues
            .iter()
            .map(|q| match (&q.url, q.depth) {
                (Some(url), Some(d)) => vec![
                    q.spec.label.to_string(),
                    d.messages.to_string(),
                    d.not_visible.to_string(),
                    d.delayed.to_string(),
                    url.clone(),
                ],
                _ => vec![
                    q.spec.label.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("not configured: pass {} or set {}", q.spec.flag, q.spec.env),
                ],
            })
            .collect();
        text.push_str(&table(
            &["QUEUE", "MESSAGES", "NOT VISIBLE", "DELAYED", "URL"],
            &rows,
        ));

        text.push('\n');
        let counts = WAITING
            .iter()
            .map(|s| format!("{} {s}", f.waiting(*s)))
            .collect::<Vec<_>>()
            .join(", ");
        let oldest = f.oldest_waiting().map_or_else(
            || "none".to_string(),
            |j| {
                format!(
                    "{} of tenant {} ({}, {}), created {}, {} ago",
                    j.id,
                    j.tenant_id,
                    j.key_mode.as_str(),
                    j.status,
                    time::iso_millis(&j.created_at),
                    age_text((w.to - j.created_at).num_seconds())
                )
            },
        );
        text.push_str(&record(&[
            ("waiting jobs", counts),
            ("oldest waiting job", oldest),
        ]));

        text.push_str("\nnot derivable from the table (read these metrics in CloudWatch):\n");
        let rows: Vec<Vec<String>> = NOT_DERIVABLE
            .iter()
            .map(|(metric, why)| vec![format!("  {metric}"), (*why).to_string()])
            .collect();
        text.extend(
            table(&["", ""], &rows)
                .lines()
                .skip(1)
                .map(|l| format!("{l}\n")),
        );
        text
    }
}

/// `2h 05m 09s`, `5m 09s`, `9s`.
fn age_text(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes_ago: i64, seconds: i64) -> Timestamp {
        now() - Duration::minutes(minutes_ago) + Duration::seconds(seconds)
    }

    fn now() -> Timestamp {
        time::parse_iso("2026-03-02T12:00:00.000Z").expect("a time")
    }

    fn window() -> Window {
        Window {
            minutes: 15,
            from: now() - Duration::minutes(15),
            to: now(),
        }
    }

    /// A job created `created` minutes ago, in `status`, last written
    /// `updated` minutes ago.
    fn job(id: &str, status: JobStatus, created: i64, updated: i64) -> JobRow {
        JobRow {
            id: id.into(),
            tenant_id: "ctenant".into(),
            key_mode: KeyMode::Test,
            mode: Mode::Draft,
            status,
            failure: None,
            attempts: 0,
            created_at: at(created, 0),
            updated_at: at(updated, 0),
            started_at: None,
        }
    }

    fn claimed(mut j: JobRow, attempts: u32, started: Timestamp) -> JobRow {
        j.attempts = attempts;
        j.started_at = Some(started);
        j
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(spread(vec![]), None);
        assert_eq!(
            spread(vec![7]),
            Some(Spread {
                count: 1,
                p50: 7,
                p90: 7,
                max: 7
            })
        );
        assert_eq!(
            spread(vec![30, 90, 60]),
            Some(Spread {
                count: 3,
                p50: 60,
                p90: 90,
                max: 90
            })
        );
        let hundred: Vec<u64> = (1..=100).rev().collect();
        let s = spread(hundred).expect("values");
        assert_eq!((s.p50, s.p90, s.max), (50, 90, 100));
        let ten: Vec<u64> = (1..=10).collect();
        let s = spread(ten).expect("values");
        assert_eq!((s.p50, s.p90), (5, 9));
    }

    #[test]
    fn each_figure_counts_what_its_metric_counts() {
        let mut failed = claimed(job("f", JobStatus::Failed, 20, 5), 1, at(19, 0));
        failed.failure = Some(FailureCode::Timeout);
        let mut live_final = claimed(job("l", JobStatus::Succeeded, 10, 8), 1, at(10, 30));
        live_final.key_mode = KeyMode::Live;
        live_final.mode = Mode::Final;
        let jobs = vec![
            // Admitted and finished in the window; waited 60 s, ran 120 s.
            claimed(job("a", JobStatus::Succeeded, 10, 7), 1, at(9, 0)),
            live_final,
            // Finished in the window, admitted before it; its claim is
            // before the window too.
            failed,
            // Admitted, canceled before any claim.
            job("c", JobStatus::Canceled, 4, 3),
            // Claimed twice: its first claim is gone.
            claimed(job("r", JobStatus::Succeeded, 12, 2), 2, at(3, 0)),
            // Outside the window altogether.
            claimed(job("old", JobStatus::Succeeded, 60, 50), 1, at(59, 0)),
            // Waiting.
            job("q", JobStatus::Queued, 40, 40),
            job("t", JobStatus::Retrying, 14, 13),
            job("q2", JobStatus::Queued, 1, 1),
        ];
        let attempts = [
            AttemptRow {
                at: at(5, 0),
                delivered: true,
            },
            AttemptRow {
                at: at(6, 0),
                delivered: false,
            },
            AttemptRow {
                at: at(16, 0),
                delivered: false,
            },
        ];
        let f = Figures {
            window: window(),
            jobs: &jobs,
            attempts: &attempts,
        };
        assert_eq!(f.admitted(None, None), 6, "a l c r t q2");
        assert_eq!(f.admitted(Some(Mode::Final), Some(KeyMode::Live)), 1);
        assert_eq!(f.admitted(Some(Mode::Draft), Some(KeyMode::Live)), 0);
        assert_eq!(f.admitted(None, Some(KeyMode::Test)), 5);
        assert_eq!(f.finished(None), 5, "a l f c r");
        assert_eq!(f.finished(Some(JobStatus::Succeeded)), 3);
        assert_eq!(f.finished(Some(JobStatus::Failed)), 1);
        assert_eq!(f.failed_with(FailureCode::Timeout), 1);
        assert_eq!(f.failed_with(FailureCode::ContentBlocked), 0);
        assert_eq!(f.failure_rate(), Some(0.2));
        let wait = f.queue_wait(None).expect("waits");
        assert_eq!((wait.count, wait.p50, wait.max), (2, 30_000, 60_000));
        assert_eq!(f.queue_wait(Some(Mode::Final)).map(|s| s.max), Some(30_000));
        assert_eq!(f.claimed_more_than_once(), 1);
        let ran = f.attempt_time(None).expect("attempts");
        // a: 9 → 7 min, l: 9.5 → 8 min, r: 3 → 2 min.
        assert_eq!(
            (ran.count, ran.p50, ran.max),
            (3, 90_000, 120_000),
            "{ran:?}"
        );
        assert_eq!(f.webhook_attempts(), (2, 1));
        assert_eq!(f.waiting(JobStatus::Queued), 2);
        assert_eq!(f.waiting(JobStatus::Retrying), 1);
        assert_eq!(f.oldest_waiting().map(|j| j.id.as_str()), Some("q"));

        let none = Figures {
            window: window(),
            jobs: &[],
            attempts: &[],
        };
        assert_eq!(none.failure_rate(), None);
        assert_eq!(none.oldest_waiting(), None);
    }

    #[test]
    fn the_report_says_what_is_missing_and_what_is_partial() {
        let jobs = vec![job("q", JobStatus::Queued, 125, 125)];
        let f = Figures {
            window: window(),
            jobs: &jobs,
            attempts: &[],
        };
        let scan = Scan {
            jobs: jobs.clone(),
            attempts: Vec::new(),
            scanned: 10,
            pages: 1,
            read_units: None,
            complete: false,
        };
        let queues = [
            QueueLook {
                spec: &QUEUES[0],
                url: Some("http://sqs/jobs".into()),
                depth: Some(Depth {
                    messages: 4,
                    not_visible: 2,
                    delayed: 1,
                }),
            },
            QueueLook {
                spec: &QUEUES[1],
                url: None,
                depth: None,
            },
        ];
        let report = Report {
            figures: &f,
            scan: &scan,
            max_items: 10,
            queues: &queues,
        };
        let out = report.output();
        assert!(
            out.human
                .starts_with("warning: the scan stopped at --max-items 10"),
            "{}",
            out.human
        );
        assert!(
            out.human
                .contains("jobs DLQ  -         -            -        not configured: pass --jobs-dlq-url or set JOBS_DLQ_URL"),
            "{}",
            out.human
        );
        assert!(
            out.human
                .contains("jobs      4         2            1        http://sqs/jobs"),
            "{}",
            out.human
        );
        assert!(out.human.contains("2h 05m 00s ago"), "{}", out.human);
        assert!(out.human.contains("failure rate: - (no job finished)"));
        for (metric, _) in NOT_DERIVABLE {
            assert!(out.human.contains(&format!("  {metric}  ")), "{metric}");
        }
        let json = out.json;
        assert_eq!(json["scan"]["complete"], false);
        assert_eq!(json["warnings"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            json["queues"]["jobsDeadLetter"],
            json!({"configured": false, "url": null, "messages": null, "notVisible": null, "delayed": null})
        );
        assert_eq!(json["queues"]["jobs"]["notVisible"], 2);
        assert_eq!(json["waitingJobs"]["oldest"]["ageSeconds"], 7500);
        assert_eq!(
            json["queueWaitMs"]["all"],
            json!({"jobs": 0, "p50": null, "p90": null, "max": null})
        );
        assert_eq!(json["jobsFinished"]["failureRate"], Value::Null);
    }

    #[test]
    fn ages_read_as_hours_minutes_and_seconds() {
        assert_eq!(age_text(9), "9s");
        assert_eq!(age_text(309), "5m 09s");
        assert_eq!(age_text(7509), "2h 05m 09s");
        assert_eq!(age_text(-3), "0s");
    }
}
