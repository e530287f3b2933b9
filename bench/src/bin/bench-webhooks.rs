//! Benchmark (not a test): how long a webhook takes from the job's terminal
//! write to the receiver, on the local stack (moto, the dev stack's stream
//! reader and delivery-queue drain, release build), p50 and p99: for a
//! healthy tenant alone, then beside a second tenant whose endpoint hangs
//! past the sender's timeout on every request, first with fewer of its
//! events than the senders run at once, then with more (which the
//! endpoint's hold keeps from tying them all up). Also checks that no
//! event arrives twice.
//!
//! `cargo run --release -p bench --bin bench-webhooks` (or `make
//! bench-webhooks`). The local event sources poll (the stream every 100 ms
//! and more, the queue by long polls), so the figures are the local stack's,
//! an upper bound on Lambda's event sources' own latency.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use devstack::moto::{Moto, free_port};
use devstack::provision::seed_tenant;
use devstack::{Stack, StackOptions};
use shared::domain::TenantLimits;
use shared::ids;
use shared::webhooks::RetrySchedule;
use testkit::Receiver;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Jobs per tenant and phase.
const JOBS: usize = 40;
/// Batches the local sender runs at once, of up to 10 messages: 80 attempts.
const SENDER_BATCHES: usize = 8;
/// The hanging tenant's events in the last phase: more than the sender
/// holds at once.
const FLOOD: usize = 200;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LIMITS: TenantLimits = TenantLimits {
    rpm: 100_000,
    max_concurrency: 1_000,
    monthly_image_quota: None,
};
const TIMEOUT: Duration = Duration::from_secs(2);
/// Longer than anything here takes: the hanging endpoint never answers.
const HANG: Duration = Duration::from_secs(600);

struct Hooked {
    key: String,
    receiver: Receiver,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    bench::discard_metrics();
    let started = Instant::now();
    let moto = Moto::start(free_port()?).await?;
    let mut options = StackOptions::named("hooks");
    options.webhook_schedule = RetrySchedule::from_seconds(vec![1; 7])?;
    options.webhook_timeout = TIMEOUT;
    options.sender_batches = SENDER_BATCHES;
    let stack = Stack::provision(&moto.endpoint, options).await?;
    let worker = stack.spawn_worker();
    let webhooks = stack.spawn_webhooks();

    let healthy = hooked(&stack, "healthy").await?;
    let alone = lags(&stack, &healthy, 0).await?;
    let faulty = hooked(&stack, "faulty").await?;
    faulty.receiver.hang(HANG);
    for i in 0..JOBS {
        submit(&stack, &faulty.key, i).await?;
    }
    let beside = lags(&stack, &healthy, JOBS).await?;
    let faulty_seen = faulty.receiver.received().len();
    for i in 0..FLOOD {
        submit(&stack, &faulty.key, i).await?;
    }
    let flooded = lags(&stack, &healthy, 2 * JOBS).await?;
    let flood_seen = faulty.receiver.received().len() - faulty_seen;
    worker.abort();
    webhooks.abort();
    moto.stop().await;

    let report = format!(
        "## Webhook latency (local stack)\n\n\
         `make bench-webhooks`, {machine}; {secs:.0} s. From a job's terminal write (its \
         `updatedAt`) to the signed POST reaching a loopback receiver: the stream reader, the \
         webhooks function queueing the event, the delivery-queue drain and the webhook sender, \
         all on moto. {JOBS} test-mode jobs per phase, submitted back to back. \"Beside a hanging \
         tenant\": a second tenant's jobs submitted first, its endpoint never answering, so \
         each of its attempts runs into the {timeout} s timeout and is rescheduled (the schedule \
         compressed to 1 s steps); its receiver saw {faulty_seen} requests meanwhile.\n\n\
         | healthy tenant | events | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n\
         {alone_row}{beside_row}{flooded_row}\n\
         Every healthy event arrived exactly once in every phase (checked). The sender here runs \
         {SENDER_BATCHES} batches of up to 10 messages at once (80 attempts), as Lambda runs up to \
         `WebhookSenderMaxConcurrency` (default 20) invocations. Two things keep the hanging \
         tenant from holding them: the stream function never calls a receiver, and once one of \
         its attempts has timed out, its other events wait on the endpoint's hold (30 s and a \
         random spread, `WEBHOOK_HOLD_SECONDS`) instead of each tying up a sender for the \
         timeout, so a flood of its events costs at most the first wave (the attempts that \
         started before the first timeout came back). Its receiver saw {flood_seen} requests \
         during the {FLOOD}-event phase.\n",
        machine = bench::machine(),
        secs = started.elapsed().as_secs_f64(),
        timeout = TIMEOUT.as_secs(),
        alone_row = bench::latency_row("alone", &alone),
        beside_row =
            bench::latency_row(&format!("beside a hanging tenant ({JOBS} events)"), &beside),
        flooded_row = bench::latency_row(
            &format!("beside a hanging tenant ({FLOOD} more events)"),
            &flooded
        ),
    );
    println!("{report}");
    bench::write_section("webhooks", &report)?;
    Ok(())
}

async fn hooked(stack: &Stack, name: &str) -> Result<Hooked, BoxError> {
    let tenant = ids::new_id();
    let key = format!("img_test_{}", ids::new_id());
    seed_tenant(&stack.app.store, &tenant, name, &key, LIMITS).await?;
    let receiver = Receiver::start([]).await;
    stack
        .app
        .store
        .set_tenant_webhook(&tenant, Some((&receiver.url, SECRET)))
        .await?;
    Ok(Hooked { key, receiver })
}

async fn submit(stack: &Stack, key: &str, i: usize) -> Result<String, BoxError> {
    let api = bench::api::InProcessApi::new(&stack.app, key);
    let body = serde_json::json!({"prompt": format!("a harbour at dawn, {i}"), "mode": "draft"});
    Ok(api.submit(&body.to_string(), None).await?)
}

/// Submits `JOBS` jobs of `tenant` and waits for each event: the lags from
/// terminal write to arrival. `before` events had arrived already.
async fn lags(stack: &Stack, tenant: &Hooked, before: usize) -> Result<Vec<Duration>, BoxError> {
    let mut jobs = Vec::new();
    for i in 0..JOBS {
        jobs.push(submit(stack, &tenant.key, i).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while tenant.receiver.received().len() < before + JOBS {
        if Instant::now() > deadline {
            return Err("the healthy tenant's events did not all arrive".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals: HashMap<String, Vec<SystemTime>> =
        tenant
            .receiver
            .received()
            .iter()
            .fold(HashMap::new(), |mut by_job, r| {
                let job = serde_json::from_str::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|b| b["jobId"].as_str().map(str::to_string))
                    .unwrap_or_default();
                by_job.entry(job).or_default().push(r.at);
                by_job
            });
    let caller = stack
        .app
        .auth
        .authenticate(&stack.app.store, &bearer(&tenant.key)?)
        .await?;
    let mut lags = Vec::new();
    for job in &jobs {
        let arrived = arrivals.get(job).map(Vec::as_slice).unwrap_or_default();
        let [at] = arrived else {
            return Err(format!("job {job}: {} deliveries, not one", arrived.len()).into());
        };
        let stored = stack
            .app
            .store
            .get_job(caller.scope(), job)
            .await?
            .ok_or("a job vanished")?;
        let ended: SystemTime = stored.updated_at.into();
        lags.push(at.duration_since(ended).unwrap_or_default());
    }
    lags.sort();
    Ok(lags)
}

fn bearer(key: &str) -> Result<lambda_http::http::HeaderMap, BoxError> {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {key}").parse()?);
    Ok(headers)
}
