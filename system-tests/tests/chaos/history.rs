//! The table's stream replayed in commit order: how many of each tenant's
//! jobs were in flight (QUEUED, RUNNING, RETRYING) after every write,
//! whether the tenant's `activeJobs` counter moved in step with them, that
//! no terminal job was written again and that no attempt took over a job
//! whose lease was still running, nor started after the job's deadline.
//! The
//! emulator applies one DynamoDB request at a time, so a transaction's
//! records are adjacent in the stream and a counter change and its job's
//! change must follow each other directly.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::AttributeValue;
use devstack::streams::StreamSource;
use shared::store::schema;

use crate::known::Tenant;
use system_tests::{TestStack, is_terminal};

type Image = HashMap<String, AttributeValue>;

#[derive(Debug, Default)]
pub struct History {
    pub records: usize,
    /// Per tenant id, the most jobs in flight at once.
    pub max_in_flight: HashMap<String, i64>,
    pub violations: Vec<String>,
}

/// Replays every record of the stack's table stream against the tenants'
/// concurrency limits.
pub async fn replay(t: &TestStack, tenants: &[Tenant]) -> History {
    let max_concurrency: HashMap<String, i64> = tenants
        .iter()
        .map(|tn| (tn.id.clone(), i64::from(tn.limits.max_concurrency)))
        .collect();
    let mut replay = Replay::default();
    for record in read_stream(t).await {
        replay.apply(record, &max_concurrency);
    }
    for (tenant, pending) in &replay.pending {
        if *pending != 0 {
            replay.history.violations.push(format!(
                "tenant {tenant}: the stream ends with its counter {pending:+} off its jobs"
            ));
        }
    }
    replay.history
}

pub async fn read_stream(t: &TestStack) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let stack = &t.stack;
    StreamSource::new(
        &stack.sdk,
        stack.options.table.clone(),
        stack.webhook_failures_url.clone(),
        stack.options.webhook_retry_base,
    )
    .read_all()
    .await
    .expect("reading the table's stream")
}

#[derive(Default)]
struct Replay {
    history: History,
    in_flight: HashMap<String, i64>,
    /// Counter changes minus in-flight changes not yet matched, per tenant.
    pending: HashMap<String, i64>,
}

impl Replay {
    fn apply(
        &mut self,
        record: aws_sdk_dynamodbstreams::types::Record,
        max_concurrency: &HashMap<String, i64>,
    ) {
        self.history.records += 1;
        let Some(change) = record.dynamodb else {
            return;
        };
        let keys = change.keys.unwrap_or_default();
        let (Some(pk), Some(sk)) = (text(&keys, schema::PK), text(&keys, schema::SK)) else {
            return;
        };
        let Some(tenant) = live_tenant_of(pk) else {
            return;
        };
        let (old, new) = (change.old_image, change.new_image);
        if let Some(job) = sk.strip_prefix(schema::JOB_PREFIX) {
            self.job_changed(tenant, job, old.as_ref(), new.as_ref(), max_concurrency);
        } else if sk == schema::COUNTERS {
            self.counter_changed(tenant, old.as_ref(), new.as_ref());
        }
    }

    fn job_changed(
        &mut self,
        tenant: &str,
        job: &str,
        old: Option<&Image>,
        new: Option<&Image>,
        max_concurrency: &HashMap<String, i64>,
    ) {
        let status =
            |image: Option<&Image>| image.and_then(|i| text(i, "status").map(str::to_string));
        let (before, after) = (status(old), status(new));
        if let Some(before) = before.as_deref().filter(|s| is_terminal(s)) {
            self.history.violations.push(format!(
                "tenant {tenant} job {job}: written again after reaching {before} (now {after:?})"
            ));
        }
        if let (Some(old), Some(new)) = (old, new)
            && let Some(problem) = reclaimed_too_early(old, new).or_else(|| started_late(old, new))
        {
            self.history
                .violations
                .push(format!("tenant {tenant} job {job}: {problem}"));
        }
        let open = |s: &Option<String>| i64::from(s.as_deref().is_some_and(|s| !is_terminal(s)));
        let delta = open(&after) - open(&before);
        if delta == 0 {
            return;
        }
        let in_flight = self.in_flight.entry(tenant.to_string()).or_default();
        *in_flight += delta;
        let now = *in_flight;
        let max = self
            .history
            .max_in_flight
            .entry(tenant.to_string())
            .or_default();
        *max = (*max).max(now);
        if let Some(limit) = max_concurrency.get(tenant).filter(|limit| now > **limit) {
            self.history.violations.push(format!(
                "tenant {tenant}: {now} jobs in flight with job {job}, above its limit {limit}"
            ));
        }
        self.step(tenant, -delta);
    }

    fn counter_changed(&mut self, tenant: &str, old: Option<&Image>, new: Option<&Image>) {
        let active =
            |image: Option<&Image>| image.and_then(|i| number(i, "activeJobs")).unwrap_or(0);
        let delta = active(new) - active(old);
        if delta != 0 {
            self.step(tenant, delta);
        }
    }

    /// One side of the counter/jobs pair moved by `delta` (counter
    /// positive, jobs negative). The other side must follow at once.
    fn step(&mut self, tenant: &str, delta: i64) {
        let pending = self.pending.entry(tenant.to_string()).or_default();
        let unmatched_before = *pending != 0;
        *pending += delta;
        if *pending != 0 && (unmatched_before || pending.abs() > 1) {
            self.history.violations.push(format!(
                "tenant {tenant}: its activeJobs counter and its jobs in flight diverged by {pending}"
            ));
            *pending = 0;
        }
    }
}

/// A new attempt may take a RUNNING job only once the running attempt's
/// lease is over; before that, the job would run twice at once.
fn reclaimed_too_early(old: &Image, new: &Image) -> Option<String> {
    let running = |i: &Image| text(i, "status") == Some("RUNNING");
    let attempts = |i: &Image| number(i, "attempts").unwrap_or(0);
    if !(running(old) && running(new) && attempts(new) > attempts(old)) {
        return None;
    }
    let lease_until = number(old, "leaseUntil").unwrap_or(i64::MAX);
    let claimed_at = text(new, "startedAt")
        .and_then(shared::time::parse_iso)
        .map_or(i64::MIN, |t| t.timestamp_millis());
    (claimed_at <= lease_until).then(|| {
        format!(
            "attempt {} claimed it at {claimed_at} while attempt {} held it until {lease_until}",
            attempts(new),
            attempts(old)
        )
    })
}

/// A write that starts an attempt (into RUNNING with more attempts) must
/// come before the job's deadline.
fn started_late(old: &Image, new: &Image) -> Option<String> {
    let attempts = |i: &Image| number(i, "attempts").unwrap_or(0);
    if text(new, "status") != Some("RUNNING") || attempts(new) <= attempts(old) {
        return None;
    }
    let deadline = text(new, "deadlineAt").and_then(shared::time::parse_iso)?;
    let started = text(new, "startedAt").and_then(shared::time::parse_iso)?;
    (started >= deadline).then(|| {
        format!(
            "attempt {} started at {} after its deadline {}",
            attempts(new),
            shared::time::iso_millis(&started),
            shared::time::iso_millis(&deadline)
        )
    })
}

fn text<'a>(image: &'a Image, name: &str) -> Option<&'a str> {
    match image.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

fn number(image: &Image, name: &str) -> Option<i64> {
    match image.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// The tenant whose live partition `TENANT#<tid>#live` is: the chaos
/// tenants submit with live keys, so their jobs and counters live there.
pub fn live_tenant_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(schema::TENANT_PREFIX)
        .and_then(|rest| rest.strip_suffix("#live"))
        .filter(|t| !t.contains('#'))
}

/// The replay itself, on hand-made records, so the load's clean result is
/// known to mean something.
mod tests {
    use aws_sdk_dynamodbstreams::types::{Record, StreamRecord};

    use super::*;

    const TENANT: &str = "t1";

    fn image(pairs: &[(&str, AttributeValue)]) -> Image {
        let mut image: Image = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        image.insert(
            "PK".into(),
            AttributeValue::S(format!("TENANT#{TENANT}#live")),
        );
        image
    }

    fn record(sk: &str, old: Option<Image>, new: Option<Image>) -> Record {
        let keys = image(&[("SK", AttributeValue::S(sk.into()))]);
        Record::builder()
            .dynamodb(
                StreamRecord::builder()
                    .set_keys(Some(keys))
                    .set_old_image(old)
                    .set_new_image(new)
                    .build(),
            )
            .build()
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "an image of `record`, which takes None for none"
    )]
    fn job(status: &str) -> Option<Image> {
        Some(image(&[("status", AttributeValue::S(status.into()))]))
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "an image of `record`, which takes None for none"
    )]
    fn counter(active: i64) -> Option<Image> {
        Some(image(&[(
            "activeJobs",
            AttributeValue::N(active.to_string()),
        )]))
    }

    fn replay(records: Vec<Record>, limit: i64) -> History {
        let limits = HashMap::from([(TENANT.to_string(), limit)]);
        let mut replay = Replay::default();
        for r in records {
            replay.apply(r, &limits);
        }
        replay.history
    }

    /// Submit (counter, then job) and finish (job, then counter).
    fn submit_and_finish(id: &str, before: i64) -> Vec<Record> {
        let sk = format!("JOB#{id}");
        vec![
            record("COUNTERS", counter(before), counter(before + 1)),
            record(&sk, None, job("QUEUED")),
            record(&sk, job("QUEUED"), job("RUNNING")),
            record(&sk, job("RUNNING"), job("SUCCEEDED")),
            record("COUNTERS", counter(before + 1), counter(before)),
        ]
    }

    #[test]
    fn transactions_in_step_are_clean() {
        let history = replay(submit_and_finish("a", 0), 1);
        assert!(history.violations.is_empty(), "{:?}", history.violations);
        assert_eq!(history.max_in_flight[TENANT], 1);
    }

    #[test]
    fn a_counter_that_moves_alone_is_caught() {
        // Job a finishes without its slot back; then job b is submitted.
        let mut records = submit_and_finish("a", 0);
        records.remove(4);
        records.push(record("COUNTERS", counter(1), counter(2)));
        records.push(record("JOB#b", None, job("QUEUED")));
        let history = replay(records, 5);
        assert_eq!(history.violations.len(), 1, "{:?}", history.violations);
    }

    #[test]
    fn more_jobs_in_flight_than_the_limit_are_caught() {
        let records = vec![
            record("COUNTERS", counter(0), counter(1)),
            record("JOB#a", None, job("QUEUED")),
            record("COUNTERS", counter(1), counter(2)),
            record("JOB#b", None, job("QUEUED")),
        ];
        let history = replay(records, 1);
        assert_eq!(history.max_in_flight[TENANT], 2);
        assert_eq!(history.violations.len(), 1, "{:?}", history.violations);
    }

    #[test]
    fn a_live_lease_taken_over_is_caught() {
        let running = |attempt: i64, started: &str, lease_until: i64| {
            Some(image(&[
                ("status", AttributeValue::S("RUNNING".into())),
                ("attempts", AttributeValue::N(attempt.to_string())),
                ("startedAt", AttributeValue::S(started.into())),
                ("leaseUntil", AttributeValue::N(lease_until.to_string())),
            ]))
        };
        // 2026-01-26T09:36:16.288Z is 1769420176288 ms.
        let first = running(1, "2026-01-26T09:36:16.288Z", 1769420180288);
        let early = running(2, "2026-01-26T09:36:18.000Z", 1769420182000);
        let late = running(2, "2026-01-26T09:36:21.000Z", 1769420185000);
        let history = replay(vec![record("JOB#a", first.clone(), late)], 1);
        assert!(history.violations.is_empty(), "{:?}", history.violations);
        let history = replay(vec![record("JOB#a", first, early)], 1);
        assert_eq!(history.violations.len(), 1, "{:?}", history.violations);
    }

    #[test]
    fn a_terminal_job_written_again_is_caught() {
        let mut records = submit_and_finish("a", 0);
        records.push(record("JOB#a", job("SUCCEEDED"), job("FAILED")));
        let history = replay(records, 1);
        assert!(
            history
                .violations
                .iter()
                .any(|v| v.contains("written again")),
            "{:?}",
            history.violations
        );
    }
}
