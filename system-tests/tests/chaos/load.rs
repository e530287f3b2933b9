//! Load with races: three live tenants, each with its own limits and
//! webhook receiver, 50 clients each for 30 s (`CHAOS_SECS`), while several
//! worker loops run with duplicate queue deliveries and a fake Gemini that
//! answers a seeded mix of images, 503s, 429s with RetryInfo, safety
//! blocks and slow answers on both sides of the worker's timeout. Then
//! every check: the answers, the table, the stream's history, the
//! provider's bill and the webhooks.

use std::time::{Duration, Instant};

use shared::domain::TenantLimits;
use testkit::fake_gemini::{FakeGemini, Mix, Reply, tiny_png};

use crate::duplicates::DuplicateDeliveries;
use crate::harness::{self, GEMINI_TIMEOUT, PATIENCE};
use crate::invariants::Answers;
use crate::known::Tenant;
use crate::ledger::{Ledger, Limit};
use crate::summary::{Findings, Summary, counts, latencies, seconds};
use crate::traffic::{Plan, Traffic};
use crate::{billing, deliveries, history, invariants, results};
use testkit::Receiver;

const CLIENTS_PER_TENANT: usize = 50;
/// See `Plan::max_in_flight`.
const MAX_IN_FLIGHT: usize = 12;
const DEFAULT_SECS: u64 = 30;
/// Concurrent queue pollers, as Lambda runs several worker instances.
const WORKER_LOOPS: usize = 4;
/// Result URLs fetched back.
const RESULTS_DOWNLOADED: usize = 20;
/// The tenants bound by one limit, and that limit: the load must reach it.
const BOUND_BY: [(&str, Limit); 2] = [
    ("rpm-bound", Limit::PerMinute),
    ("slot-bound", Limit::Concurrency),
];
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The provider's answers: mostly images, and every fault the worker
/// must survive.
fn provider_faults(seed: u64) -> Mix {
    let error = |status, retry_delay: Option<&str>| Reply::Error {
        status,
        retry_delay: retry_delay.map(str::to_string),
    };
    let slow = |delay, reply| Reply::Slow(delay, Box::new(reply));
    Mix::new(seed)
        .with(55, Reply::Image(tiny_png()))
        .with(10, error(503, None))
        .with(8, error(429, Some("1s")))
        .with(4, Reply::PromptBlocked("SAFETY".into()))
        .with(4, Reply::Finish("IMAGE_SAFETY".into()))
        .with(
            12,
            slow(Duration::from_millis(500), Reply::Image(tiny_png())),
        )
        .with(
            7,
            slow(
                GEMINI_TIMEOUT + Duration::from_secs(1),
                Reply::Image(tiny_png()),
            ),
        )
}

fn load_duration() -> Duration {
    let secs = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_load_keeps_every_invariant() {
    let turn = harness::exclusive().await;
    let started = Instant::now();
    let duration = load_duration();
    let plan = Plan {
        clients_per_tenant: CLIENTS_PER_TENANT,
        max_pause: Duration::from_millis(60),
        max_in_flight: MAX_IN_FLIGHT,
        seed: harness::seed(),
    };
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    gemini.mix(provider_faults(plan.seed));
    let t = harness::chaos_stack(&system_tests::moto_endpoint(), &gemini).await;
    let limits = |rpm, max_concurrency| TenantLimits {
        rpm,
        max_concurrency,
        monthly_image_quota: None,
    };
    let tenants = vec![
        Tenant::seed(&t, "rpm-bound", limits(40, 100)).await,
        Tenant::seed(&t, "slot-bound", limits(10_000, 3)).await,
        Tenant::seed(&t, "both", limits(120, 8)).await,
    ];
    let mut receivers = Vec::new();
    for tenant in &tenants {
        let receiver = Receiver::start([]).await;
        tenant.hook(&t, &receiver.url, SECRET).await;
        receivers.push(receiver);
    }
    for _ in 0..WORKER_LOOPS {
        t.start_worker();
    }
    t.start_webhooks();

    let ledger = Ledger::new(false);
    let duplicates = DuplicateDeliveries::new(&t.stack);
    let limits_met = || {
        let rejections = ledger.limit_rejections();
        BOUND_BY.iter().all(|bound| rejections.contains_key(bound))
    };
    // The load runs its duration, then on until each tenant bound by a
    // limit has met it, however slowly this machine serves it.
    let stop = async {
        tokio::time::sleep(duration).await;
        harness::eventually(PATIENCE, limits_met).await;
    };
    let load_started = Instant::now();
    Traffic::new(&t, &tenants, &ledger, Some(&duplicates), false)
        .run_until(&plan, stop)
        .await;
    let load_ran = load_started.elapsed();
    let load_took = started.elapsed();
    let (duplicated, duplicates_unsent) = duplicates.settle().await;
    let snapshot = invariants::settle(&t, PATIENCE).await;
    let drained = started.elapsed();

    let table = invariants::check(&snapshot, &tenants, Answers::AllSeen);
    let history = history::replay(&t, &tenants).await;
    let bill = billing::check(&gemini.calls(), &snapshot, GEMINI_TIMEOUT, true);
    let hooked: Vec<(&Tenant, &Receiver)> = tenants.iter().zip(&receivers).collect();
    let webhooks = deliveries::check(&t, &hooked, &snapshot, PATIENCE).await;

    let stored = results::check(&t, &snapshot, RESULTS_DOWNLOADED).await;

    let rejections = ledger.limit_rejections();
    let mut exercised = Vec::new();
    for (tenant, limit) in BOUND_BY {
        if !rejections.contains_key(&(tenant, limit)) {
            exercised.push(format!(
                "{tenant} was never refused for {limit:?}: the load did not reach its limit"
            ));
        }
    }
    if duplicates_unsent > 0 {
        exercised.push(format!(
            "{duplicates_unsent} duplicate messages could not be sent"
        ));
    }

    let mut summary = Summary::new(format!(
        "chaos load, seed {}: {} tenants × {} clients for {:.1} s (at least {} s, until each limit was met), {WORKER_LOOPS} worker loops",
        plan.seed,
        tenants.len(),
        plan.clients_per_tenant,
        load_ran.as_secs_f64(),
        duration.as_secs()
    ));
    summary.line(format!("cpu hogs: {}", turn.hogs.count()));
    summary.line(latencies(&ledger.exchanges()));
    summary.line(ledger.by_kind_and_status());
    summary.line(format!("limit rejections: {}", counts(&rejections)));
    summary.line(format!("jobs: {}", counts(&table.jobs_by_status)));
    let in_flight: Vec<String> = tenants
        .iter()
        .map(|tn| {
            let max = history.max_in_flight.get(&tn.id).copied().unwrap_or(0);
            format!("{} {max}/{}", tn.label, tn.limits.max_concurrency)
        })
        .collect();
    summary.line(format!(
        "most jobs in flight / limit: {}",
        in_flight.join(", ")
    ));
    summary.line(format!(
        "gemini: {} calls, {} attempts; answers {}",
        bill.calls,
        bill.attempts,
        counts(&bill.by_effect)
    ));
    summary.line(format!("duplicate deliveries injected: {duplicated}"));
    summary.line(format!(
        "webhooks: {} requests, {} events, {} repeats",
        webhooks.requests, webhooks.events, webhooks.repeats
    ));
    summary.line(format!(
        "results: {} objects stored, {} downloaded",
        stored.objects, stored.downloaded
    ));
    summary.line(format!(
        "table: {} items; stream: {} records",
        table.items, history.records
    ));
    let mut findings = Findings::default();
    findings.add("answers", ledger.violations());
    findings.add("table", table.violations);
    findings.add("stream", history.violations);
    findings.add("gemini", bill.violations);
    findings.add("webhooks", webhooks.violations);
    findings.add("results", stored.violations);
    findings.add("coverage", exercised);
    summary.finish(
        &findings,
        format!(
            "load {}, drained at {}, total {}",
            seconds(load_took),
            seconds(drained),
            seconds(started.elapsed())
        ),
    );
    findings.assert_none();
}
