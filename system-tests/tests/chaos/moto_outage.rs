//! The AWS emulator frozen mid-load (SIGSTOP, then SIGCONT: killing it
//! would lose its in-memory state). Requests that need it meanwhile answer
//! `500 UNKNOWN_ERROR` in the contract's shape, without internals, once
//! the SDK's timeouts (3 s an attempt, 8 s in all) run out; nothing is
//! half-written; once it is back the service accepts jobs again and every
//! accepted job finishes.
//!
//! The freeze lasts until a request has failed for it: it outlasts the
//! SDK's operation timeout however slow the machine is (a shorter one
//! would be absorbed by the SDK's retries, and nothing would fail).
//! Requests the emulator had already received are applied when it
//! resumes, after their callers gave up: a submit answered 500 may have
//! written its job, with no queue message, and a job a submit took back
//! may have been listed before it was removed. The test counts those
//! stranded jobs, checks they are whole and counted in `activeJobs`, and
//! runs the sweeper, which must requeue exactly them; then every job ends.

use std::time::{Duration, Instant};

use devstack::moto::{Moto, free_port};
use shared::domain::{JobStatus, TenantLimits};
use testkit::fake_gemini::FakeGemini;

use crate::harness::{self, GEMINI_TIMEOUT, PATIENCE};
use crate::invariants::Answers;
use crate::known::Tenant;
use crate::ledger::{Exchange, Ledger};
use crate::summary::{Findings, Summary, counts, latencies, seconds};
use crate::traffic::{Plan, Traffic};
use crate::{billing, history, invariants, taken_back};
use system_tests::TestStack;

/// The sweeper's staleness for this test: the stranded jobs were written
/// during the freeze, at least `AFTER` before it runs (more on a slower
/// machine, never less).
const STALE_AFTER: Duration = Duration::from_secs(5);
/// Load before the freeze, and after it.
const BEFORE: Duration = Duration::from_secs(3);
const AFTER: Duration = Duration::from_secs(8);
const _: () = assert!(AFTER.as_millis() > STALE_AFTER.as_millis());
/// Words a 500's message must not contain: it leaks no internals.
const INTERNALS: [&str; 7] = [
    "DynamoDB",
    "SQS",
    "S3",
    "timeout",
    "timed out",
    "dispatch",
    "Transact",
];

/// A stopped process, continued when this is dropped (also when the test
/// fails while it is stopped).
struct Frozen(u32);

impl Frozen {
    fn stop(pid: u32) -> Frozen {
        assert!(signal(pid, "STOP"), "SIGSTOP moto");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

/// Sends `SIG<name>` to a process with kill(1); true if it was sent.
fn signal(pid: u32, name: &str) -> bool {
    std::process::Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_outage_answers_500_and_leaves_nothing_half_written() {
    let turn = harness::exclusive().await;
    let started = Instant::now();
    let moto = Moto::start(free_port().expect("a free port"))
        .await
        .expect("a moto of its own");
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    let t = harness::chaos_stack(&moto.endpoint, &gemini).await;
    let limits = TenantLimits {
        rpm: 1000,
        max_concurrency: 50,
        monthly_image_quota: None,
    };
    let tenants = vec![
        Tenant::seed(&t, "first", limits).await,
        Tenant::seed(&t, "second", limits).await,
    ];
    t.start_worker();
    t.start_worker();

    let ledger = Ledger::new(true);
    let plan = Plan {
        clients_per_tenant: 10,
        max_pause: Duration::from_millis(100),
        max_in_flight: 8,
        seed: harness::seed(),
    };
    let traffic = Traffic::new(&t, &tenants, &ledger, None, true);
    let pid = moto.pid().expect("moto runs");
    let (resumed, on_resume) = tokio::sync::oneshot::channel();
    let outage = async {
        tokio::time::sleep(BEFORE).await;
        // The service worked before the outage: a job was accepted.
        harness::eventually(PATIENCE, || ledger.count_status(202) > 0).await;
        let errors_before = ledger.count_status(500);
        let frozen_at = ledger.since_start(Instant::now());
        let frozen = Frozen::stop(pid);
        // Frozen until a request has failed for it: the SDK's timeouts
        // have run out, however long that takes on this machine.
        harness::eventually(PATIENCE, || ledger.count_status(500) > errors_before).await;
        drop(frozen);
        let _ = resumed.send(());
        (frozen_at, ledger.since_start(Instant::now()))
    };
    let stop = async {
        let _ = on_resume.await;
        tokio::time::sleep(AFTER).await;
    };
    let ((frozen_at, resumed_at), ()) = tokio::join!(outage, traffic.run_until(&plan, stop));
    let recovered = accepts_again(&t, &tenants).await;

    // Acknowledged jobs finish on their own; stranded ones wait for the
    // sweeper.
    let first = invariants::settle_when(&t, PATIENCE, |s| {
        s.open_jobs().all(|j| is_stranded(j, &tenants))
    })
    .await;
    let stranded: Vec<shared::domain::Job> = first
        .open_jobs()
        .filter(|j| is_stranded(j, &tenants))
        .cloned()
        .collect();
    let swept = t
        .stack
        .sweeper(STALE_AFTER)
        .sweep(shared::time::now())
        .await
        .expect("a sweep");
    let snapshot = invariants::settle(&t, PATIENCE).await;
    // Whose jobs a listing showed before their submit took them back.
    let taken_back = taken_back::jobs(&t).await;
    let snapshot = snapshot.with_taken_back(taken_back.clone());
    let first = first.with_taken_back(taken_back);
    let whole_when_stranded = invariants::check(&first, &tenants, Answers::SomeLost)
        .violations
        .into_iter()
        .filter(|v| !v.contains("is stuck in QUEUED"))
        .collect::<Vec<_>>();

    let table = invariants::check(&snapshot, &tenants, Answers::SomeLost);
    let history = history::replay(&t, &tenants).await;
    // A claim that timed out may still have landed: attempts without a
    // call are possible here, more calls than attempts never.
    let bill = billing::check(&gemini.calls(), &snapshot, GEMINI_TIMEOUT, false);
    let exchanges = ledger.exchanges();
    let mut outage_findings = check_outage(&exchanges, frozen_at, &recovered);
    let mut requeued = swept.requeued.clone();
    let mut expected: Vec<String> = stranded
        .iter()
        .map(|j| format!("{}/{}", j.tenant_id, j.id))
        .collect();
    requeued.sort_unstable();
    expected.sort_unstable();
    if requeued != expected {
        outage_findings.push(format!(
            "the sweeper requeued {requeued:?}, the stranded jobs are {expected:?}"
        ));
    }

    let mut summary = Summary::new(format!(
        "chaos emulator outage, seed {}: moto stopped {:.1}–{:.1} s into the load (until a request failed)",
        plan.seed,
        frozen_at.as_secs_f64(),
        resumed_at.as_secs_f64()
    ));
    summary.line(format!("cpu hogs: {}", turn.hogs.count()));
    summary.line(latencies(&exchanges));
    summary.line(ledger.by_kind_and_status());
    let phase = |e: &Exchange| {
        if e.sent + e.latency < frozen_at {
            "before"
        } else if e.sent < resumed_at {
            "during"
        } else {
            "after"
        }
    };
    let mut server_errors = std::collections::BTreeMap::new();
    for e in exchanges.iter().filter(|e| e.status >= 500) {
        *server_errors.entry(phase(e)).or_insert(0) += 1;
    }
    summary.line(format!("500s by phase: {}", counts(&server_errors)));
    summary.line(format!(
        "max latency of a request: {} ms",
        exchanges
            .iter()
            .map(|e| e.latency.as_millis())
            .max()
            .unwrap_or(0)
    ));
    summary.line(format!(
        "slowest answer before the freeze: {} ms",
        exchanges
            .iter()
            .filter(|e| e.sent + e.latency < frozen_at)
            .map(|e| e.latency.as_millis())
            .max()
            .unwrap_or(0)
    ));
    let mut messages = std::collections::BTreeMap::new();
    for e in exchanges.iter().filter(|e| e.status >= 500) {
        *messages
            .entry(e.message.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    summary.line(format!("500 messages: {}", counts(&messages)));
    summary.line(format!("recovery: {recovered:?}"));
    summary.line(format!(
        "jobs: {}; stranded by a 500 whose write landed late: {}, requeued by the sweeper: {}; listed, then taken back: {}",
        counts(&table.jobs_by_status),
        stranded.len(),
        swept.requeued.len(),
        table.listed_then_taken_back.len()
    ));
    summary.line(format!(
        "gemini: {} calls for {} attempts",
        bill.calls, bill.attempts
    ));
    let mut findings = Findings::default();
    findings.add("answers", ledger.violations());
    findings.add("outage", outage_findings);
    findings.add("table while stranded", whole_when_stranded);
    findings.add("table", table.violations);
    findings.add("stream", history.violations);
    findings.add("gemini", bill.violations);
    summary.finish(&findings, seconds(started.elapsed()));
    drop(t);
    moto.stop().await;
    findings.assert_none();
}

/// A job a 500 never announced, left QUEUED without a message.
fn is_stranded(job: &shared::domain::Job, tenants: &[Tenant]) -> bool {
    job.status == JobStatus::Queued
        && job.attempts == 0
        && tenants
            .iter()
            .filter(|tn| tn.id == job.tenant_id)
            .all(|tn| !tn.has_accepted(&job.id))
}

/// Each tenant's submits are accepted again; `Ok(after how long)`.
async fn accepts_again(t: &TestStack, tenants: &[Tenant]) -> Result<Duration, String> {
    let since = Instant::now();
    for tenant in tenants {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let body = serde_json::json!({"prompt": format!("{}: after the outage, a calm sea", tenant.label)});
            let reply = t.submit(&tenant.key, &body.to_string()).await;
            if reply.status == 202 {
                tenant.accept(reply.body["jobId"].as_str().unwrap_or_default());
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} still gets {} {}",
                    tenant.label, reply.status, reply.body
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(since.elapsed())
}

/// The outage was felt (some 500s), no request that ended before it was
/// a 500, no 500 leaks internals, and the service took jobs again.
fn check_outage(
    exchanges: &[Exchange],
    frozen_at: Duration,
    recovered: &Result<Duration, String>,
) -> Vec<String> {
    let mut findings = Vec::new();
    let server_errors: Vec<&Exchange> = exchanges.iter().filter(|e| e.status == 500).collect();
    if server_errors.is_empty() {
        findings.push("no request failed: the outage was not felt".into());
    }
    for e in &server_errors {
        if e.sent + e.latency < frozen_at {
            findings.push(format!("{e:?}: a 500 before the outage"));
        }
        let message = e.message.as_deref().unwrap_or_default();
        if let Some(word) = INTERNALS.iter().find(|w| message.contains(*w)) {
            findings.push(format!("a 500 whose message mentions {word}: {message}"));
        }
    }
    if let Err(still) = recovered {
        findings.push(format!("the service did not accept jobs again: {still}"));
    }
    findings
}
