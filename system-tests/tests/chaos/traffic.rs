//! The chaos clients: per tenant, many concurrent clients that loop until a
//! deadline over a seeded mix of submits (without a key, with a new key,
//! repeating a key with the same request spelled differently, reusing a key
//! with another body), reads and cancels of their own and of other
//! tenants' jobs, and listings whose cursors are also tried by other
//! tenants. Each answer is checked against what the contract and the
//! clients' knowledge say it must be.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use testkit::seeded::SeededRng;
use tokio::sync::Semaphore;

use crate::duplicates::DuplicateDeliveries;
use crate::known::{IdempotencyKey, Tenant};
use crate::ledger::{Kind, Ledger, Limit, limit_named};
use system_tests::{Reply, TestStack, is_terminal};

const STATUSES: [&str; 6] = [
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "RETRYING",
    "CANCELED",
];

/// How much traffic (for how long is up to the caller of `run_until`).
#[derive(Clone, Debug)]
pub struct Plan {
    pub clients_per_tenant: usize,
    /// Each client pauses up to this long between requests.
    pub max_pause: Duration,
    /// Requests in flight at once, across all clients. The emulator applies
    /// DynamoDB calls one at a time (about 150 a second on this machine);
    /// more in flight would only queue into the SDK's 3 s attempt timeout
    /// and measure the emulator, not the service.
    pub max_in_flight: usize,
    pub seed: u64,
}

/// A submit body. Its prompt names tenant, client and sequence number, so
/// every job has its own and the fake Gemini's call log maps to jobs.
#[derive(Clone, Debug)]
pub struct Body {
    pub prompt: String,
    mode: &'static str,
    aspect_ratio: &'static str,
    /// Some bodies carry a deadline (1.1): short ones, so jobs stuck behind
    /// a busy worker or a failing provider end TIMEOUT.
    deadline_seconds: Option<u32>,
}

impl Body {
    fn new(prompt: String, rng: &mut SeededRng) -> Body {
        Body {
            prompt,
            mode: if rng.chance(50) { "draft" } else { "final" },
            aspect_ratio: rng.pick(&["1:1", "16:9", "3:4"]).copied().unwrap_or("1:1"),
            deadline_seconds: rng
                .chance(25)
                .then(|| rng.pick(&[10, 12, 20]).copied().unwrap_or(10)),
        }
    }

    fn json(&self) -> String {
        json!({
            "prompt": self.prompt,
            "mode": self.mode,
            "aspectRatio": self.aspect_ratio,
            "deadlineSeconds": self.deadline_seconds,
        })
        .to_string()
    }

    /// The same request in another key order and spacing: the same
    /// meaning, so the same idempotency fingerprint.
    fn respelled(&self) -> String {
        format!(
            "{{ \"aspectRatio\" : {},\n \"prompt\": {} , \"mode\":{}{} }}",
            Value::from(self.aspect_ratio),
            Value::from(self.prompt.as_str()),
            Value::from(self.mode),
            self.deadline_seconds
                .map_or(String::new(), |s| format!(", \"deadlineSeconds\": {s}"))
        )
    }
}

/// Relative weights of the actions.
const MIX: [(Kind, u64); 10] = [
    (Kind::Submit, 22),
    (Kind::SubmitNewKey, 12),
    (Kind::SubmitSameKey, 10),
    (Kind::SubmitKeyOtherBody, 4),
    (Kind::GetOwn, 18),
    (Kind::GetForeign, 5),
    (Kind::List, 12),
    (Kind::ListForeignCursor, 4),
    (Kind::CancelOwn, 9),
    (Kind::CancelForeign, 4),
];

/// A cursor a listing gave one tenant, with the query it continues.
struct ForeignCursor {
    tenant: usize,
    query: String,
    cursor: String,
}

pub struct Traffic<'a> {
    t: &'a TestStack,
    tenants: &'a [Tenant],
    ledger: &'a Ledger,
    duplicates: Option<&'a DuplicateDeliveries>,
    cursors: Mutex<Vec<ForeignCursor>>,
    /// During an AWS outage the rate-limit headers may be missing (their
    /// read failed) and a submit's outcome may be unknown.
    outage_expected: bool,
}

impl<'a> Traffic<'a> {
    pub fn new(
        t: &'a TestStack,
        tenants: &'a [Tenant],
        ledger: &'a Ledger,
        duplicates: Option<&'a DuplicateDeliveries>,
        outage_expected: bool,
    ) -> Traffic<'a> {
        Traffic {
            t,
            tenants,
            ledger,
            duplicates,
            cursors: Mutex::default(),
            outage_expected,
        }
    }

    /// Every client of every tenant, concurrently, until `stop` is ready;
    /// then each finishes the request it is making.
    pub async fn run_until(&self, plan: &Plan, stop: impl Future<Output = ()>) {
        let in_flight = Semaphore::new(plan.max_in_flight);
        let stopped = AtomicBool::new(false);
        let clients = (0..self.tenants.len())
            .flat_map(|tenant| (0..plan.clients_per_tenant).map(move |client| (tenant, client)));
        let clients = join_all(clients.map(|(tenant, client)| {
            let seed = testkit::seeded::mix(plan.seed ^ ((tenant as u64) << 32 | client as u64));
            let rng = SeededRng::new(seed);
            self.client(tenant, client, rng, &in_flight, &stopped, plan.max_pause)
        }));
        let stop = async {
            stop.await;
            stopped.store(true, Ordering::Relaxed);
        };
        tokio::join!(stop, clients);
    }

    async fn client(
        &self,
        tenant: usize,
        client: usize,
        mut rng: SeededRng,
        in_flight: &Semaphore,
        stopped: &AtomicBool,
        max_pause: Duration,
    ) {
        let mut seq = 0u64;
        while !stopped.load(Ordering::Relaxed) {
            seq += 1;
            let prompt = format!(
                "chaos {} c{client} n{seq}: a lighthouse in a storm",
                self.tenants[tenant].label
            );
            let action = choose(&mut rng);
            let permit = in_flight.acquire().await;
            if stopped.load(Ordering::Relaxed) {
                break;
            }
            self.act(tenant, action, prompt, &mut rng).await;
            drop(permit);
            let pause = rng.below(max_pause.as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    async fn act(&self, tenant: usize, action: Kind, prompt: String, rng: &mut SeededRng) {
        let tn = &self.tenants[tenant];
        match action {
            Kind::SubmitNewKey => {
                let key = IdempotencyKey {
                    key: format!("chaos-{}", shared::ids::new_id()),
                    body: Body::new(prompt, rng),
                    job: None,
                };
                let index = tn.add_key(key.clone());
                let body = key.body.json();
                self.submit_keyed(tn, Kind::SubmitNewKey, index, key, body, rng)
                    .await;
            }
            Kind::SubmitSameKey if let Some((index, key)) = tn.pick_key(rng, false) => {
                let body = if rng.chance(50) {
                    key.body.respelled()
                } else {
                    key.body.json()
                };
                self.submit_keyed(tn, Kind::SubmitSameKey, index, key, body, rng)
                    .await;
            }
            Kind::SubmitKeyOtherBody if let Some((_, key)) = tn.pick_key(rng, true) => {
                self.reuse_key_with_other_body(tn, &key).await;
            }
            Kind::GetOwn if let Some(job) = tn.pick_accepted(rng) => {
                self.get_own(tn, &job).await;
            }
            Kind::GetForeign if let Some(job) = self.foreign_job(tenant, rng) => {
                self.expect_not_found(tn, Kind::GetForeign, reqwest::Method::GET, &job)
                    .await;
            }
            Kind::List => self.list(tenant, rng).await,
            Kind::ListForeignCursor if let Some(c) = self.foreign_cursor(tenant, rng) => {
                self.list_with_foreign_cursor(tn, &c.0, &c.1).await;
            }
            Kind::CancelOwn if let Some(job) = tn.pick_recent(rng, 4) => {
                self.cancel_own(tn, &job).await;
            }
            Kind::CancelForeign if let Some(job) = self.foreign_job(tenant, rng) => {
                self.expect_not_found(tn, Kind::CancelForeign, reqwest::Method::DELETE, &job)
                    .await;
            }
            // A plain submit, also whenever the chosen action has nothing
            // to act on yet.
            _ => self.submit(tn, &Body::new(prompt, rng), rng).await,
        }
    }

    async fn submit(&self, tn: &Tenant, body: &Body, rng: &mut SeededRng) {
        // A share of the submits waits for the result (1.1), briefly.
        let wait = rng
            .chance(20)
            .then(|| rng.pick(&[1u32, 2]).copied().unwrap_or(1));
        let sent = Instant::now();
        let reply = match wait {
            None => self.t.submit(&tn.key, &body.json()).await,
            Some(n) => {
                let prefer = format!("wait={n}");
                self.t
                    .send(
                        reqwest::Method::POST,
                        "/v1/images/generate",
                        Some(&tn.key),
                        Some(&body.json()),
                        &[("prefer", prefer.as_str())],
                    )
                    .await
            }
        };
        if !self.ledger.record(tn.label, Kind::Submit, sent, &reply) {
            return;
        }
        self.check_rate_headers(tn, &reply);
        match (reply.status.as_u16(), wait) {
            (202, None) => {
                if let Some(job) = self.created(tn, &reply) {
                    self.accept(tn, &job, rng);
                }
            }
            (200 | 202, Some(n)) => {
                if let Some(job) = self.waited(tn, &reply, n) {
                    self.accept(tn, &job, rng);
                }
            }
            (429, _) => {}
            _ => self.unexpected(tn, Kind::Submit, &reply),
        }
    }

    /// The answer of a submit that waited `n` seconds: the job view, 200
    /// when terminal, 202 with where to poll when not.
    fn waited(&self, tn: &Tenant, reply: &Reply, n: u32) -> Option<String> {
        let job = reply.body["jobId"].as_str().map(str::to_string);
        let status = reply.body["status"].as_str().unwrap_or_default();
        let terminal = is_terminal(status);
        let location = job.as_ref().map(|j| format!("/v1/jobs/{j}"));
        let shape_ok = job.as_deref().is_some_and(shared::ids::is_valid_id)
            && STATUSES.contains(&status)
            && reply.body["resultUrls"].is_array()
            && reply.header("preference-applied") == Some(format!("wait={n}").as_str())
            && (reply.status == 200) == terminal
            && (terminal || reply.header("location") == location.as_deref());
        if !shape_ok {
            self.ledger.violation(format!(
                "{}: a waited submit answered {} {} (location {:?}, preference-applied {:?})",
                tn.label,
                reply.status,
                reply.body,
                reply.header("location"),
                reply.header("preference-applied")
            ));
        }
        job
    }

    /// A submit with an idempotency key: a key bound to a job must replay
    /// that job (never be rate limited); an unbound one creates at most one
    /// job, however many clients race with it.
    async fn submit_keyed(
        &self,
        tn: &Tenant,
        kind: Kind,
        index: usize,
        key: IdempotencyKey,
        body: String,
        rng: &mut SeededRng,
    ) {
        let sent = Instant::now();
        let reply = self.t.submit_with_key(&tn.key, &body, &key.key).await;
        if !self.ledger.record(tn.label, kind, sent, &reply) {
            return;
        }
        self.check_rate_headers(tn, &reply);
        let replayed = reply.header("idempotent-replayed") == Some("true");
        match (reply.status.as_u16(), &key.job) {
            (202, _) => {
                let job = if replayed {
                    self.replayed(tn, &reply)
                } else {
                    self.created(tn, &reply)
                };
                let Some(job) = job else { return };
                if !replayed {
                    self.accept(tn, &job, rng);
                }
                if let Err(bound) = tn.bind_key(index, &job) {
                    self.ledger.violation(format!(
                        "{} key {} answered job {job} (replayed: {replayed}) but is bound to {bound}",
                        tn.label, key.key
                    ));
                }
            }
            (429, None) => {}
            _ => self.unexpected(tn, kind, &reply),
        }
    }

    async fn reuse_key_with_other_body(&self, tn: &Tenant, key: &IdempotencyKey) {
        let mut other = key.body.clone();
        other.prompt.push_str(" (changed)");
        let sent = Instant::now();
        let reply = self
            .t
            .submit_with_key(&tn.key, &other.json(), &key.key)
            .await;
        if !self
            .ledger
            .record(tn.label, Kind::SubmitKeyOtherBody, sent, &reply)
        {
            return;
        }
        self.check_rate_headers(tn, &reply);
        if error_code(&reply) != Some("IDEMPOTENCY_KEY_REUSED") {
            self.unexpected(tn, Kind::SubmitKeyOtherBody, &reply);
        }
    }

    /// The id of a new job: exactly `{jobId, status: QUEUED}`.
    fn created(&self, tn: &Tenant, reply: &Reply) -> Option<String> {
        let job = reply.body["jobId"].as_str().map(str::to_string);
        let shape_ok = reply.body.as_object().is_some_and(|o| o.len() == 2)
            && reply.body["status"] == "QUEUED"
            && job.as_deref().is_some_and(shared::ids::is_valid_id);
        if !shape_ok {
            self.ledger.violation(format!(
                "{}: a 202 that is not {{jobId, status: QUEUED}}: {}",
                tn.label, reply.body
            ));
        }
        job
    }

    /// The id a replay names, with the job's current status.
    fn replayed(&self, tn: &Tenant, reply: &Reply) -> Option<String> {
        let status = reply.body["status"].as_str().unwrap_or_default();
        if !STATUSES.contains(&status) {
            self.ledger.violation(format!(
                "{}: a replay with an unknown status: {}",
                tn.label, reply.body
            ));
        }
        reply.body["jobId"].as_str().map(str::to_string)
    }

    fn accept(&self, tn: &Tenant, job: &str, rng: &mut SeededRng) {
        tn.accept(job);
        if let Some(duplicates) = self.duplicates {
            duplicates.maybe_duplicate(&tn.id, job, rng);
        }
    }

    async fn get_own(&self, tn: &Tenant, job: &str) {
        let sent = Instant::now();
        let reply = self.t.get(&tn.key, &format!("/v1/jobs/{job}")).await;
        if !self.ledger.record(tn.label, Kind::GetOwn, sent, &reply) {
            return;
        }
        if reply.status != 200 {
            return self.unexpected(tn, Kind::GetOwn, &reply);
        }
        let body = &reply.body;
        let status = body["status"].as_str().unwrap_or_default();
        let fields = body.as_object().map_or(0, |o| o.len());
        // The chaos tenants' keys are live keys: every view says so.
        if body["jobId"] != job
            || !STATUSES.contains(&status)
            || fields != 11
            || body["usage"].is_object() != system_tests::is_terminal(status)
            || body["livemode"] != true
            || !body["request"].is_object()
            || body["images"].as_array().map(Vec::len)
                != body["resultUrls"].as_array().map(Vec::len)
            || !(body["deadlineAt"].is_null() || body["deadlineAt"].is_string())
        {
            return self
                .ledger
                .violation(format!("{}: GET of job {job} answered {body}", tn.label));
        }
        let foreign_url = body["resultUrls"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| {
                !u.as_str()
                    .is_some_and(|u| u.contains(&result_prefix(&tn.id, job)))
            });
        if let Some(url) = foreign_url {
            self.ledger.violation(format!(
                "{}: job {job} has a result URL outside its own prefix: {url}",
                tn.label
            ));
        }
        if is_terminal(status) {
            self.saw_terminal(tn, job, status);
        }
    }

    fn saw_terminal(&self, tn: &Tenant, job: &str, status: &str) {
        if let Err(first) = tn.saw_terminal(job, status) {
            self.ledger.violation(format!(
                "{}: job {job} was {first} and later {status}: a terminal status changed",
                tn.label
            ));
        }
    }

    async fn cancel_own(&self, tn: &Tenant, job: &str) {
        let sent = Instant::now();
        let reply = self.t.cancel(&tn.key, job).await;
        if !self.ledger.record(tn.label, Kind::CancelOwn, sent, &reply) {
            return;
        }
        match reply.status.as_u16() {
            200 if reply.body == json!({"jobId": job, "status": "CANCELED"}) => {
                tn.canceled(job);
                self.saw_terminal(tn, job, "CANCELED");
            }
            400 if error_code(&reply) == Some("INVALID_STATE") => {}
            _ => self.unexpected(tn, Kind::CancelOwn, &reply),
        }
    }

    /// Another tenant's job, read or canceled with this tenant's key.
    async fn expect_not_found(&self, tn: &Tenant, kind: Kind, method: reqwest::Method, job: &str) {
        let sent = Instant::now();
        let reply = self
            .t
            .send(method, &format!("/v1/jobs/{job}"), Some(&tn.key), None, &[])
            .await;
        if self.ledger.record(tn.label, kind, sent, &reply)
            && error_code(&reply) != Some("JOB_NOT_FOUND")
        {
            self.unexpected(tn, kind, &reply);
        }
    }

    /// One to three pages of a listing, with or without a status filter.
    async fn list(&self, tenant: usize, rng: &mut SeededRng) {
        let tn = &self.tenants[tenant];
        let status = if rng.chance(40) {
            None
        } else {
            rng.pick(&STATUSES).copied()
        };
        let limit = 1 + rng.below(25);
        let query = match status {
            Some(s) => format!("status={s}&limit={limit}"),
            None => format!("limit={limit}"),
        };
        let mut cursor: Option<String> = None;
        for _page in 0..3 {
            let path = match &cursor {
                Some(c) => format!("/v1/jobs?{query}&cursor={c}"),
                None => format!("/v1/jobs?{query}"),
            };
            let sent = Instant::now();
            let reply = self.t.get(&tn.key, &path).await;
            if !self.ledger.record(tn.label, Kind::List, sent, &reply) {
                return;
            }
            let Some(next) = self.check_page(tn, &reply, status, limit) else {
                return;
            };
            let Some(next) = next else { return };
            self.keep_cursor(tenant, &query, &next, rng);
            if !rng.chance(50) {
                return;
            }
            cursor = Some(next);
        }
    }

    /// `Some(next cursor)` for a well-formed page of this tenant's jobs.
    #[expect(
        clippy::option_option,
        reason = "None: a bad page (reported); Some(None): the last page"
    )]
    fn check_page(
        &self,
        tn: &Tenant,
        reply: &Reply,
        status: Option<&str>,
        limit: u64,
    ) -> Option<Option<String>> {
        if reply.status != 200 {
            self.unexpected(tn, Kind::List, reply);
            return None;
        }
        let items = reply.body["items"].as_array().cloned().unwrap_or_default();
        let next = reply.body["nextCursor"].as_str().map(str::to_string);
        let has_more = reply.body["hasMore"].as_bool();
        let wrong_status = items
            .iter()
            .any(|i| status.is_some_and(|s| i["status"] != s));
        if items.len() as u64 > limit || has_more != Some(next.is_some()) || wrong_status {
            self.ledger.violation(format!(
                "{}: a malformed page for status {status:?} limit {limit}: {}",
                tn.label, reply.body
            ));
            return None;
        }
        tn.listed(
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string)),
        );
        Some(next)
    }

    fn keep_cursor(&self, tenant: usize, query: &str, cursor: &str, rng: &mut SeededRng) {
        let mut cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
        let kept = ForeignCursor {
            tenant,
            query: query.to_string(),
            cursor: cursor.to_string(),
        };
        if cursors.len() < 64 {
            cursors.push(kept);
        } else {
            let slot = rng.below(64) as usize;
            cursors[slot] = kept;
        }
    }

    /// `(query, cursor)` another tenant's listing produced.
    fn foreign_cursor(&self, tenant: usize, rng: &mut SeededRng) -> Option<(String, String)> {
        let cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
        let theirs: Vec<&ForeignCursor> = cursors.iter().filter(|c| c.tenant != tenant).collect();
        rng.pick(&theirs)
            .map(|c| (c.query.clone(), c.cursor.clone()))
    }

    /// The same query another tenant continued, with its cursor: 400.
    async fn list_with_foreign_cursor(&self, tn: &Tenant, query: &str, cursor: &str) {
        let sent = Instant::now();
        let reply = self
            .t
            .get(&tn.key, &format!("/v1/jobs?{query}&cursor={cursor}"))
            .await;
        if self
            .ledger
            .record(tn.label, Kind::ListForeignCursor, sent, &reply)
            && error_code(&reply) != Some("INVALID_REQUEST")
        {
            self.unexpected(tn, Kind::ListForeignCursor, &reply);
        }
    }

    fn foreign_job(&self, tenant: usize, rng: &mut SeededRng) -> Option<String> {
        let others: Vec<&Tenant> = self
            .tenants
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != tenant)
            .map(|(_, t)| t)
            .collect();
        rng.pick(&others)?.pick_accepted(rng)
    }

    /// `X-RateLimit-*` on every generate answer to an authenticated caller.
    fn check_rate_headers(&self, tn: &Tenant, reply: &Reply) {
        if self.outage_expected {
            return;
        }
        let number = |name: &str| reply.header(name).and_then(|v| v.parse::<u64>().ok());
        let limit_ok = number("x-ratelimit-limit") == Some(u64::from(tn.limits.rpm));
        let remaining_ok = number("x-ratelimit-remaining").is_some();
        let reset_ok = number("x-ratelimit-reset").is_some_and(|r| r % 60 == 0);
        let retry_ok = reply.status != 429 || number("retry-after").is_some_and(|s| s >= 1);
        if !(limit_ok && remaining_ok && reset_ok && retry_ok) {
            self.ledger.violation(format!(
                "{}: generate answered {} without proper rate-limit headers: {:?}",
                tn.label, reply.status, reply.headers
            ));
        }
        // The minute a per-minute refusal was about ends at the reset.
        let rate_refused =
            reply.status == 429 && limit_named(reply.message()) == Some(Limit::PerMinute);
        if let Some(reset) = number("x-ratelimit-reset").filter(|_| rate_refused) {
            tn.refused_for_rate(reset as i64 / 60 - 1);
        }
    }

    fn unexpected(&self, tn: &Tenant, kind: Kind, reply: &Reply) {
        self.ledger.violation(format!(
            "{} {kind:?}: unexpected {} {}",
            tn.label, reply.status, reply.body
        ));
    }
}

fn choose(rng: &mut SeededRng) -> Kind {
    rng.weighted(&MIX).copied().unwrap_or(Kind::Submit)
}

fn error_code(reply: &Reply) -> Option<&str> {
    reply.body["error"].as_str()
}

/// Where a job's results live: `results/{tenantId}/{jobId}/`.
pub fn result_prefix(tenant_id: &str, job_id: &str) -> String {
    format!("/results/{tenant_id}/{job_id}/")
}
