//! The invariant checker: reads the whole table once the worker has had
//! time to finish, and holds it against what the clients were told.
//!
//! - every job a 202 announced exists, once, under its own tenant, and is
//!   terminal; a job whose cancel answered 200 is CANCELED;
//! - every job item is whole: all attributes `items.rs` writes, index keys
//!   that match its tenant, status and creation time, and what its status
//!   implies (results under its own tenant's prefix only when SUCCEEDED, an
//!   error code only when FAILED, a lease while RUNNING);
//! - each tenant's live `activeJobs` counter equals its jobs not yet
//!   terminal (the chaos tenants submit with live keys);
//! - each rate window counts exactly the jobs created in its minute, never
//!   more than the tenant's RPM, and a per-minute refusal came only once
//!   the minute had accepted exactly the RPM;
//! - no job was created or canceled without the client being told so
//!   (unless some answers were lost to an outage);
//! - idempotency records point at jobs of their own tenant, one job per
//!   key, and at the job the clients saw bound to the key;
//! - whatever a tenant listed was its own job;
//! - usage is counted exactly once: per day and generation mode, the usage
//!   item's jobs and images are those of the SUCCEEDED jobs submitted that
//!   day, and each month's quota counter holds the images of its open jobs
//!   plus those of its SUCCEEDED ones (every other end gave them back).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::{FailureCode, Job, JobStatus, KeyMode, Scope};
use shared::store::job_from_item;
use shared::store::{Item, schema};

use crate::known::Tenant;
use crate::traffic::result_prefix;
use system_tests::TestStack;

/// The table as the checker read it.
pub struct Snapshot {
    pub items: Vec<Item>,
    /// Every job item that parses, by tenant id.
    pub jobs: HashMap<String, Vec<Job>>,
    /// Per tenant id, jobs the stream shows written in its partition and
    /// then removed (see `taken_back`); empty unless given.
    pub taken_back: HashMap<String, HashSet<String>>,
}

impl Snapshot {
    pub fn jobs_of(&self, tenant_id: &str) -> &[Job] {
        self.jobs.get(tenant_id).map_or(&[], Vec::as_slice)
    }

    pub fn all_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values().flatten()
    }

    /// Jobs not terminal yet.
    pub fn open_jobs(&self) -> impl Iterator<Item = &Job> {
        self.all_jobs().filter(|j| !j.status.is_terminal())
    }

    /// The same table, knowing which jobs were taken back.
    pub fn with_taken_back(mut self, taken_back: HashMap<String, HashSet<String>>) -> Snapshot {
        self.taken_back = taken_back;
        self
    }

    fn was_taken_back(&self, tenant_id: &str, job_id: &str) -> bool {
        self.taken_back
            .get(tenant_id)
            .is_some_and(|jobs| jobs.contains(job_id))
    }
}

/// Reads the table until no job is left in flight, or `patience` is over
/// (the check then names the stuck jobs).
pub async fn settle(t: &TestStack, patience: Duration) -> Snapshot {
    settle_when(t, patience, |s| s.open_jobs().next().is_none()).await
}

/// Reads the table until `done` holds for it, or `patience` is over.
pub async fn settle_when(
    t: &TestStack,
    patience: Duration,
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let deadline = Instant::now() + patience;
    loop {
        let snapshot = read(t).await;
        if done(&snapshot) || Instant::now() >= deadline {
            return snapshot;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A strongly consistent scan of the whole table.
pub async fn read(t: &TestStack) -> Snapshot {
    let store = &t.stack.app.store;
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scanning the table");
        items.extend(page.items.unwrap_or_default().into_iter().map(Item));
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Snapshot::from_items(items)
}

impl Snapshot {
    /// The items, and the job items among them parsed and grouped by
    /// tenant.
    fn from_items(items: Vec<Item>) -> Snapshot {
        let mut jobs: HashMap<String, Vec<Job>> = HashMap::new();
        for item in items.iter().filter(|i| is_job_item(i)) {
            if let Ok(job) = job_from_item(item) {
                jobs.entry(job.tenant_id.clone()).or_default().push(job);
            }
        }
        Snapshot {
            items,
            jobs,
            taken_back: HashMap::new(),
        }
    }
}

fn is_job_item(item: &Item) -> bool {
    item.str(schema::SK)
        .is_ok_and(|sk| sk.starts_with(schema::JOB_PREFIX))
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Report {
    pub items: usize,
    /// Per tenant label and status.
    pub jobs_by_status: BTreeMap<(&'static str, String), usize>,
    /// Jobs in the table no 202 announced (a submit answered 500 whose
    /// write still landed).
    pub unacknowledged: Vec<String>,
    /// Jobs a tenant listed that a submit then took back: written in its
    /// own partition, so its own, and removed since.
    pub listed_then_taken_back: Vec<String>,
    pub violations: Vec<String>,
}

impl Report {
    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }
}

/// Whether the clients saw every answer. During an outage a request
/// answered 500 may still have landed later: a job no 202 announced, a
/// cancel no 200 announced, a rate window given back. Those are then
/// counted, not failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    AllSeen,
    SomeLost,
}

pub fn check(snapshot: &Snapshot, tenants: &[Tenant], answers: Answers) -> Report {
    let mut report = Report {
        items: snapshot.items.len(),
        ..Report::default()
    };
    for item in &snapshot.items {
        check_item(item, &mut report);
    }
    for tenant in tenants {
        check_tenant(snapshot, tenant, answers, &mut report);
    }
    check_job_ids_unique(snapshot, &mut report);
    report
}

/// Whole items, of the shapes this code writes.
fn check_item(item: &Item, report: &mut Report) {
    let (Ok(pk), Ok(sk)) = (item.str(schema::PK), item.str(schema::SK)) else {
        return report.violation(format!("an item without keys: {:?}", item.0));
    };
    if let Some(job_id) = sk.strip_prefix(schema::JOB_PREFIX) {
        if let Err(problem) = check_job_item(item, pk, job_id) {
            report.violation(format!("job item {pk}/{sk}: {problem}"));
        }
    } else if sk.starts_with(schema::IDEMPOTENCY_PREFIX) {
        let whole = item.str("jobId").is_ok()
            && item.str("fingerprint").is_ok()
            && item.num::<i64>(schema::TTL_ATTRIBUTE).is_ok();
        if !whole {
            report.violation(format!("half-written idempotency record {pk}/{sk}"));
        }
    } else if sk.starts_with(schema::RATE_WINDOW_PREFIX) && item.num::<i64>("count").is_err() {
        report.violation(format!("a rate window without a count: {pk}/{sk}"));
    }
}

fn check_job_item(item: &Item, pk: &str, job_id: &str) -> Result<(), String> {
    let job = job_from_item(item).map_err(|e| format!("half-written: {e}"))?;
    let created = shared::time::iso_millis(&job.created_at);
    let index_keys = [
        (schema::BY_TENANT_PK, schema::scope_pk(job.scope())),
        (schema::BY_TENANT_SK, schema::created_sk(&created, &job.id)),
        (
            schema::BY_TENANT_STATUS_PK,
            schema::status_pk(job.scope(), job.status),
        ),
        (
            schema::BY_TENANT_STATUS_SK,
            schema::created_sk(&created, &job.id),
        ),
    ];
    if pk != schema::scope_pk(job.scope()) || job_id != job.id {
        return Err(format!(
            "keys do not match tenant {} and job {}",
            job.tenant_id, job.id
        ));
    }
    if item.str("type").ok() != Some("JOB") {
        return Err("type is not JOB".into());
    }
    for (name, expected) in index_keys {
        if item.str(name).ok() != Some(expected.as_str()) {
            return Err(format!("index key {name} is not {expected}"));
        }
    }
    let error_code = job.error.as_ref().map(|e| e.code.as_str());
    let consistent = match job.status {
        JobStatus::Succeeded => {
            !job.result_urls.is_empty()
                && error_code.is_none()
                && job
                    .result_urls
                    .iter()
                    .all(|u| u.contains(&result_prefix(&job.tenant_id, &job.id)))
        }
        JobStatus::Failed => {
            job.result_urls.is_empty()
                && error_code.is_some_and(|c| FailureCode::parse(c).is_some())
                && job.error.as_ref().is_some_and(|e| !e.message.is_empty())
        }
        JobStatus::Running => {
            item.num::<i64>("leaseUntil").is_ok() && job.attempts >= 1 && error_code.is_none()
        }
        JobStatus::Queued => {
            job.attempts == 0 && job.result_urls.is_empty() && error_code.is_none()
        }
        JobStatus::Retrying | JobStatus::Canceled => {
            job.result_urls.is_empty() && error_code.is_none()
        }
    };
    if !consistent {
        return Err(format!(
            "{} with attempts {}, error {error_code:?} and results {:?}",
            job.status, job.attempts, job.result_urls
        ));
    }
    Ok(())
}

fn check_tenant(snapshot: &Snapshot, tenant: &Tenant, answers: Answers, report: &mut Report) {
    let jobs = snapshot.jobs_of(&tenant.id);
    let by_id: HashMap<&str, &Job> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    for job in jobs {
        *report
            .jobs_by_status
            .entry((tenant.label, job.status.to_string()))
            .or_default() += 1;
        if !job.status.is_terminal() {
            report.violation(format!(
                "{} job {} is stuck in {} (attempts {}, updated {})",
                tenant.label, job.id, job.status, job.attempts, job.updated_at
            ));
        }
    }
    let accepted: HashSet<String> = tenant.accepted().into_iter().collect();
    for id in &accepted {
        if !by_id.contains_key(id.as_str()) {
            report.violation(format!(
                "{} job {id} was accepted and is lost",
                tenant.label
            ));
        }
    }
    let canceled = tenant.canceled_ids();
    for job in jobs {
        if !accepted.contains(&job.id) {
            report.unacknowledged.push(job.id.clone());
            if answers == Answers::AllSeen {
                report.violation(format!(
                    "{} job {} was never announced by a 202",
                    tenant.label, job.id
                ));
            }
        }
        if job.status == JobStatus::Canceled
            && !canceled.contains(&job.id)
            && answers == Answers::AllSeen
        {
            report.violation(format!(
                "{} job {} is CANCELED, and no cancel of it answered 200",
                tenant.label, job.id
            ));
        }
    }
    for id in canceled {
        match by_id.get(id.as_str()) {
            Some(job) if job.status == JobStatus::Canceled => {}
            other => report.violation(format!(
                "{} job {id}: its cancel answered 200, and it is {:?}",
                tenant.label,
                other.map(|j| j.status)
            )),
        }
    }
    for id in tenant.listed_ids() {
        if by_id.contains_key(id.as_str()) {
            continue;
        }
        if snapshot.was_taken_back(&tenant.id, &id) {
            report.listed_then_taken_back.push(id);
        } else {
            report.violation(format!("{} listed job {id}, not its own", tenant.label));
        }
    }
    check_counter(snapshot, tenant, jobs, report);
    check_usage(snapshot, tenant, jobs, report);
    check_rate_windows(snapshot, tenant, jobs, answers, report);
    check_idempotency(snapshot, tenant, &by_id, report);
    check_prompts_unique(tenant, jobs, report);
}

fn tenant_items<'a>(
    snapshot: &'a Snapshot,
    tenant: &Tenant,
) -> impl Iterator<Item = (&'a str, &'a Item)> {
    let pk = schema::scope_pk(Scope::new(&tenant.id, KeyMode::Live));
    snapshot.items.iter().filter_map(move |item| {
        (item.str(schema::PK).ok() == Some(pk.as_str()))
            .then(|| item.str(schema::SK).ok().map(|sk| (sk, item)))
            .flatten()
    })
}

fn check_counter(snapshot: &Snapshot, tenant: &Tenant, jobs: &[Job], report: &mut Report) {
    let open = jobs.iter().filter(|j| !j.status.is_terminal()).count() as i64;
    let counter = tenant_items(snapshot, tenant)
        .find(|(sk, _)| *sk == schema::COUNTERS)
        .and_then(|(_, item)| item.num::<i64>("activeJobs").ok());
    if counter != Some(open) {
        report.violation(format!(
            "{}: activeJobs is {counter:?}, {open} jobs are not terminal",
            tenant.label
        ));
    }
}

/// Usage items and month counters against the jobs: what a retried
/// transaction, a redelivered message or a reclaimed job counted twice, or
/// an end that kept (or gave back twice) its reservation, shows here.
fn check_usage(snapshot: &Snapshot, tenant: &Tenant, jobs: &[Job], report: &mut Report) {
    use shared::domain::usage::usage_day;
    // (day, mode) → (jobs, images), from the jobs.
    let mut succeeded: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    // month → images held, from the jobs.
    let mut held: BTreeMap<String, i64> = BTreeMap::new();
    for job in jobs {
        let images = u64::from(job.options.number_of_images);
        if job.status == JobStatus::Succeeded {
            let day = (usage_day(job.created_at), job.mode.as_str().to_string());
            let entry = succeeded.entry(day).or_default();
            entry.0 += 1;
            entry.1 += images;
        }
        if let Some(month) = &job.quota_month
            && (job.status == JobStatus::Succeeded || !job.status.is_terminal())
        {
            *held.entry(month.clone()).or_default() += images as i64;
        }
    }
    let mut counted: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut counters: BTreeMap<String, i64> = BTreeMap::new();
    for (sk, item) in tenant_items(snapshot, tenant) {
        if sk.starts_with(schema::USAGE_PREFIX) {
            let (Ok(day), Ok(mode)) = (item.str("date"), item.str("jobMode")) else {
                report.violation(format!(
                    "{}: a usage item without its day: {sk}",
                    tenant.label
                ));
                continue;
            };
            let jobs = item.opt_num("jobs").ok().flatten().unwrap_or(0);
            let images = item.opt_num("images").ok().flatten().unwrap_or(0);
            counted.insert((day.to_string(), mode.to_string()), (jobs, images));
        } else if let Some(month) = sk.strip_prefix(schema::QUOTA_PREFIX) {
            let images = item.opt_num("images").ok().flatten().unwrap_or(0);
            counters.insert(month.to_string(), images);
        }
    }
    // A day whose jobs were all counted and none succeeded has no item.
    counted.retain(|_, c| *c != (0, 0));
    if counted != succeeded {
        report.violation(format!(
            "{}: usage items count {counted:?}, the SUCCEEDED jobs are {succeeded:?}",
            tenant.label
        ));
    }
    counters.retain(|_, images| *images != 0);
    if counters != held {
        report.violation(format!(
            "{}: month counters hold {counters:?}, open and SUCCEEDED jobs {held:?}",
            tenant.label
        ));
    }
}

/// At most RPM jobs a minute, each window counting exactly its jobs, and
/// (when every answer was seen) a per-minute refusal only in a minute that
/// had accepted exactly RPM jobs.
fn check_rate_windows(
    snapshot: &Snapshot,
    tenant: &Tenant,
    jobs: &[Job],
    answers: Answers,
    report: &mut Report,
) {
    let mut created_per_minute: BTreeMap<i64, u32> = BTreeMap::new();
    for job in jobs {
        *created_per_minute
            .entry(job.created_at.timestamp().div_euclid(60))
            .or_default() += 1;
    }
    for (minute, created) in &created_per_minute {
        if *created > tenant.limits.rpm {
            report.violation(format!(
                "{}: {created} jobs created in minute {minute}, above its RPM {}",
                tenant.label, tenant.limits.rpm
            ));
        }
    }
    if answers == Answers::AllSeen {
        for minute in tenant.rate_refused_minutes() {
            let created = created_per_minute.get(&minute).copied().unwrap_or(0);
            if created != tenant.limits.rpm {
                report.violation(format!(
                    "{}: refused for its RPM in minute {minute}, which accepted {created} of {}",
                    tenant.label, tenant.limits.rpm
                ));
            }
        }
    }
    for (sk, item) in tenant_items(snapshot, tenant) {
        let Some(minute) = sk
            .strip_prefix(schema::RATE_WINDOW_PREFIX)
            .and_then(|m| m.parse::<i64>().ok())
        else {
            continue;
        };
        let counted = item.num::<u32>("count").unwrap_or(u32::MAX);
        let created = created_per_minute.get(&minute).copied().unwrap_or(0);
        if counted != created {
            report.violation(format!(
                "{}: rate window {minute} counts {counted}, {created} jobs were created in it",
                tenant.label
            ));
        }
    }
}

fn check_idempotency(
    snapshot: &Snapshot,
    tenant: &Tenant,
    by_id: &HashMap<&str, &Job>,
    report: &mut Report,
) {
    let mut records: HashMap<&str, &str> = HashMap::new();
    for (sk, item) in tenant_items(snapshot, tenant) {
        let Some(key) = sk.strip_prefix(schema::IDEMPOTENCY_PREFIX) else {
            continue;
        };
        let job = item.str("jobId").unwrap_or_default();
        if !by_id.contains_key(job) {
            report.violation(format!(
                "{}: idempotency key {key} points at {job}, not one of its jobs",
                tenant.label
            ));
        }
        records.insert(key, job);
    }
    for key in tenant.keys() {
        let recorded = records.get(key.key.as_str()).copied();
        match (&key.job, recorded) {
            (Some(bound), Some(job)) if bound == job => {}
            (None, None) => {}
            (None, Some(job)) if !tenant.has_accepted(job) => {}
            (bound, recorded) => report.violation(format!(
                "{}: key {} was seen bound to {bound:?}, its record says {recorded:?}",
                tenant.label, key.key
            )),
        }
    }
}

/// Every prompt is sent by one client once (bar idempotent repeats), so two
/// jobs with one prompt mean one key created two jobs.
fn check_prompts_unique(tenant: &Tenant, jobs: &[Job], report: &mut Report) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for job in jobs {
        if let Some(first) = seen.insert(job.prompt.as_str(), job.id.as_str()) {
            report.violation(format!(
                "{}: jobs {first} and {} share the prompt {:?}",
                tenant.label, job.id, job.prompt
            ));
        }
    }
}

fn check_job_ids_unique(snapshot: &Snapshot, report: &mut Report) {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for job in snapshot.all_jobs() {
        if let Some(first) = owner.insert(job.id.as_str(), job.tenant_id.as_str()) {
            report.violation(format!(
                "job {} exists under tenants {first} and {}",
                job.id, job.tenant_id
            ));
        }
    }
}

/// The checker on hand-made tables, so a clean report is known to mean
/// something.
mod tests {
    use shared::domain::{AspectRatio, Mode, TenantLimits};
    use shared::store::items::{n, s};
    use shared::store::job_to_item;

    use super::*;

    const TENANT: &str = "t1";

    fn job(id: &str, status: JobStatus) -> Job {
        let now = shared::time::parse_iso("2026-01-26T09:36:16.288Z").expect("a time");
        Job {
            id: id.into(),
            tenant_id: TENANT.into(),
            status,
            prompt: format!("prompt of {id}"),
            mode: Mode::Draft,
            input_image_url: None,
            input_image_urls: Vec::new(),
            options: shared::domain::GenerationOptions::default(),
            aspect_ratio: AspectRatio::DEFAULT,
            key_mode: KeyMode::Live,
            result_urls: Vec::new(),
            images: Vec::new(),
            error: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
            webhook_url: None,
            deadline_at: None,
            quota_month: None,
            metering: shared::domain::Metering::default(),
            cost_micro_usd: 0,
        }
    }

    fn counters(active: i64) -> Item {
        Item(HashMap::from([
            (
                schema::PK.to_string(),
                s(schema::scope_pk(Scope::new(TENANT, KeyMode::Live))),
            ),
            (schema::SK.to_string(), s(schema::COUNTERS)),
            ("activeJobs".to_string(), n(active)),
        ]))
    }

    fn snapshot(items: Vec<Item>) -> Snapshot {
        Snapshot::from_items(items)
    }

    fn tenant() -> Tenant {
        let limits = TenantLimits {
            rpm: 60,
            max_concurrency: 5,
            monthly_image_quota: None,
        };
        Tenant::new("t", TENANT.into(), "key".into(), limits)
    }

    #[test]
    fn a_whole_queued_job_counted_once_is_clean_but_stuck() {
        let tenant = tenant();
        tenant.accept("ca");
        let report = check(
            &snapshot(vec![
                Item(job_to_item(&job("ca", JobStatus::Queued))),
                counters(1),
            ]),
            std::slice::from_ref(&tenant),
            Answers::AllSeen,
        );
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("stuck in QUEUED"));
    }

    #[test]
    fn half_written_items_and_a_drifted_counter_are_caught() {
        let mut no_prompt = job_to_item(&job("ca", JobStatus::Canceled));
        no_prompt.remove("prompt");
        let mut stale_index = job_to_item(&job("cb", JobStatus::Canceled));
        stale_index.insert(
            schema::BY_TENANT_STATUS_PK.into(),
            s(schema::status_pk(
                Scope::new(TENANT, KeyMode::Live),
                JobStatus::Queued,
            )),
        );
        let tenant = tenant();
        tenant.accept("cb");
        tenant.canceled("cb");
        let report = check(
            &snapshot(vec![Item(no_prompt), Item(stale_index), counters(1)]),
            std::slice::from_ref(&tenant),
            Answers::AllSeen,
        );
        let found = |what: &str| report.violations.iter().any(|v| v.contains(what));
        assert!(found("half-written"), "{:?}", report.violations);
        assert!(found("index key GSI2PK"), "{:?}", report.violations);
        assert!(
            found("activeJobs is Some(1), 0 jobs"),
            "{:?}",
            report.violations
        );
    }

    #[test]
    fn a_listed_job_gone_from_the_table_is_its_own_only_if_taken_back_from_its_partition() {
        let tenant = tenant();
        tenant.listed(["cgone".to_string()]);
        let taken_back_from = |owner: &str| {
            snapshot(vec![counters(0)]).with_taken_back(HashMap::from([(
                owner.to_string(),
                HashSet::from(["cgone".to_string()]),
            )]))
        };
        for table in [snapshot(vec![counters(0)]), taken_back_from("t2")] {
            let report = check(&table, std::slice::from_ref(&tenant), Answers::SomeLost);
            assert_eq!(
                report.violations,
                ["t listed job cgone, not its own"],
                "{:?}",
                report.violations
            );
        }
        let report = check(
            &taken_back_from(TENANT),
            std::slice::from_ref(&tenant),
            Answers::SomeLost,
        );
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.listed_then_taken_back, ["cgone"]);
    }

    #[test]
    fn jobs_nobody_was_told_about_fail_only_when_every_answer_was_seen() {
        let items = vec![
            Item(job_to_item(&job("ca", JobStatus::Canceled))),
            counters(0),
        ];
        let strict = check(&snapshot(items.clone()), &[tenant()], Answers::AllSeen);
        assert_eq!(strict.violations.len(), 2, "{:?}", strict.violations);
        let lenient = check(&snapshot(items), &[tenant()], Answers::SomeLost);
        assert!(lenient.violations.is_empty(), "{:?}", lenient.violations);
        assert_eq!(lenient.unacknowledged, ["ca"]);
    }

    fn usage_item(day: &str, jobs: i64, images: i64) -> Item {
        Item(HashMap::from([
            (
                schema::PK.to_string(),
                s(schema::scope_pk(Scope::new(TENANT, KeyMode::Live))),
            ),
            (
                schema::SK.to_string(),
                s(schema::usage_sk(day, Mode::Draft)),
            ),
            ("date".to_string(), s(day)),
            ("jobMode".to_string(), s("draft")),
            ("jobs".to_string(), n(jobs)),
            ("images".to_string(), n(images)),
        ]))
    }

    fn month_counter(month: &str, images: i64) -> Item {
        Item(HashMap::from([
            (
                schema::PK.to_string(),
                s(schema::scope_pk(Scope::new(TENANT, KeyMode::Live))),
            ),
            (schema::SK.to_string(), s(schema::quota_sk(month))),
            ("images".to_string(), n(images)),
        ]))
    }

    #[test]
    fn a_success_counted_twice_or_a_reservation_kept_is_caught() {
        let tenant = tenant();
        tenant.accept("ca");
        tenant.accept("cb");
        let mut succeeded = job("ca", JobStatus::Succeeded);
        succeeded.result_urls = vec![format!("http://cdn{}0.png", result_prefix(TENANT, "ca"))];
        succeeded.quota_month = Some("2026-01".into());
        let mut failed = job("cb", JobStatus::Failed);
        failed.error = Some(shared::domain::JobError::new(
            FailureCode::GenerationFailed,
            "no",
        ));
        failed.quota_month = Some("2026-01".into());
        let jobs = || {
            vec![
                Item(job_to_item(&succeeded)),
                Item(job_to_item(&failed)),
                counters(0),
            ]
        };
        let usage_of = |extra: Vec<Item>| {
            let mut items = jobs();
            items.extend(extra);
            check(
                &snapshot(items),
                std::slice::from_ref(&tenant),
                Answers::AllSeen,
            )
            .violations
            .into_iter()
            .filter(|v| v.contains("usage items") || v.contains("month counters"))
            .collect::<Vec<_>>()
        };
        let clean = usage_of(vec![
            usage_item("2026-01-26", 1, 1),
            month_counter("2026-01", 1),
        ]);
        assert!(clean.is_empty(), "{clean:?}");
        let twice = usage_of(vec![
            usage_item("2026-01-26", 2, 2),
            month_counter("2026-01", 1),
        ]);
        assert_eq!(twice.len(), 1, "{twice:?}");
        let kept = usage_of(vec![
            usage_item("2026-01-26", 1, 1),
            month_counter("2026-01", 2),
        ]);
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].contains("month counters"), "{kept:?}");
    }
}
