//! A worker killed between its claim and its completion: its jobs stay
//! RUNNING under a lease nobody renews; once the lease is over, the queue
//! redelivers their messages and another worker reclaims and finishes them.
//! Each job ends terminal once, with one provider call per attempt: the
//! killed one and the one that finished it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::domain::{JobStatus, KeyMode, Scope, TenantLimits};
use testkit::fake_gemini::{FakeGemini, Reply, tiny_png};

use crate::harness::{self, GEMINI_TIMEOUT, PATIENCE};
use crate::invariants::Answers;
use crate::known::Tenant;
use crate::summary::{Findings, Summary, counts, seconds};
use crate::{billing, deliveries, history, invariants};
use testkit::Receiver;

const JOBS: usize = 3;
/// The killed worker waits on the provider this long: far past the test,
/// so only the kill ends its run.
const STALLED: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_reclaimed_after_its_lease() {
    let turn = harness::exclusive().await;
    let started = Instant::now();
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    // The first call of each job hangs; the reclaiming run's answer at once.
    gemini.script((0..JOBS).map(|_| Reply::Slow(STALLED, Box::new(Reply::Image(tiny_png())))));
    let t = harness::chaos_stack(&system_tests::moto_endpoint(), &gemini).await;
    let tenant = Tenant::seed(
        &t,
        "crash",
        TenantLimits {
            rpm: 60,
            max_concurrency: 5,
            monthly_image_quota: None,
        },
    )
    .await;
    let receiver = Receiver::start([]).await;
    tenant
        .hook(&t, &receiver.url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .await;
    t.start_webhooks();

    // The doomed worker waits on the provider as long as it takes. One
    // poller per job: a poller runs one batch at a time, so a single one
    // could hold back messages behind its stalled batch.
    let doomed_worker = Arc::new(harness::worker_with_gemini_timeout(&t.stack, STALLED * 2));
    let doomed: Vec<_> = (0..JOBS)
        .map(|_| {
            tokio::spawn(devstack::drain::drain_queue(
                aws_sdk_sqs::Client::new(&t.stack.sdk),
                t.stack.queue_url.clone(),
                doomed_worker.clone(),
                1,
            ))
        })
        .collect();
    for i in 0..JOBS {
        tenant.submit(&t, &format!("crash {i}: a windmill")).await;
    }
    assert!(
        harness::eventually(PATIENCE, || gemini.call_count() >= JOBS).await,
        "the worker called Gemini for {} of {JOBS} jobs",
        gemini.call_count()
    );
    for poller in doomed {
        poller.abort();
        assert!(
            poller.await.is_err_and(|e| e.is_cancelled()),
            "the worker was killed"
        );
    }

    // Claimed, called, never completed.
    for job in tenant.accepted() {
        let row = t
            .stored_job(Scope::new(&tenant.id, KeyMode::Live), &job)
            .await;
        assert_eq!(
            (row.status, row.attempts),
            (JobStatus::Running, 1),
            "job {job} is held by the killed run"
        );
    }
    let killed_at = Instant::now();
    t.start_worker();
    let snapshot = invariants::settle(&t, PATIENCE).await;
    let recovered_in = killed_at.elapsed();

    let table = invariants::check(&snapshot, std::slice::from_ref(&tenant), Answers::AllSeen);
    let history = history::replay(&t, std::slice::from_ref(&tenant)).await;
    let bill = billing::check(&gemini.calls(), &snapshot, GEMINI_TIMEOUT, true);
    let webhooks = deliveries::check(&t, &[(&tenant, &receiver)], &snapshot, PATIENCE).await;
    let mut outcome = Vec::new();
    for job in snapshot.jobs_of(&tenant.id) {
        if (job.status, job.attempts) != (JobStatus::Succeeded, 2) {
            outcome.push(format!(
                "job {} ended {} after {} attempts, not SUCCEEDED after 2",
                job.id, job.status, job.attempts
            ));
        }
    }

    let mut summary = Summary::new(format!(
        "chaos worker crash: {JOBS} jobs, worker killed while RUNNING"
    ));
    summary.line(format!("cpu hogs: {}", turn.hogs.count()));
    summary.line(format!("jobs: {}", counts(&table.jobs_by_status)));
    summary.line(format!(
        "gemini: {} calls for {} attempts; webhooks: {} events, {} requests",
        bill.calls, bill.attempts, webhooks.events, webhooks.requests
    ));
    summary.line(format!(
        "reclaimed and finished {:.1} s after the kill (lease {} s, visibility {} s)",
        recovered_in.as_secs_f64(),
        harness::LEASE.as_secs(),
        harness::VISIBILITY.as_secs()
    ));
    let mut findings = Findings::default();
    findings.add("table", table.violations);
    findings.add("stream", history.violations);
    findings.add("gemini", bill.violations);
    findings.add("webhooks", webhooks.violations);
    findings.add("outcome", outcome);
    summary.finish(&findings, seconds(started.elapsed()));
    findings.assert_none();
}
