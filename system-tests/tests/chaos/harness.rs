//! Chaos stacks: the local stack scaled down in time, so leases, retries
//! and redeliveries play out within seconds, and the scenarios taken one at
//! a time, so a fault injected in one is never load seen by another on this
//! two-core machine. Each runs beside CPU hogs (see `hogs`), and waits for
//! what it needs with `eventually`, never for a fixed time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use devstack::{Stack, StackOptions};
use shared::ids;
use testkit::fake_gemini::FakeGemini;
use worker::Worker;

use crate::hogs::CpuHogs;
use system_tests::TestStack;

/// How long a claim is exclusive. Above the Gemini timeout plus upload and
/// finish, as production's 300 s are above the function's 180 s.
pub const LEASE: Duration = Duration::from_secs(4);
/// The worker's whole Gemini call. Slow answers below it succeed, slower
/// ones time out and are retried.
pub const GEMINI_TIMEOUT: Duration = Duration::from_millis(1500);
/// First retry backoff (then ×2), instead of 10 s.
pub const RETRY_BASE: Duration = Duration::from_millis(100);
/// Attempts per job, the production default.
pub const MAX_ATTEMPTS: u32 = 3;
/// The jobs queue's visibility timeout. Above the lease, as in production
/// (1080 s against 300 s): a message whose run crashed, or whose receive
/// was lost, comes back once the lease has ended.
pub const VISIBILITY: Duration = Duration::from_secs(6);
/// First webhook retry backoff: the handler's quick retries and the
/// stream's retries together then span at least 13 × this (6.5 s).
pub const WEBHOOK_RETRY_BASE: Duration = Duration::from_millis(500);
/// The Standard Webhooks schedule's seven retries, a second apart.
pub const WEBHOOK_SCHEDULE_SECS: [u32; 7] = [1; 7];
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(2);
/// The API key the worker sends to the fake Gemini.
pub const GEMINI_KEY: &str = "fake-gemini-key";

/// The bound of every wait for an event (a condition polled until it
/// holds): far beyond what an idle machine needs, so only a broken
/// service or a machine slower than any CI reaches it. A wait ends as
/// soon as its event happens, so the bound costs nothing when all is well.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `done` until it holds (true) or `bound` has passed (false).
pub async fn eventually(bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A scenario's turn: the machine to itself but for the CPU hogs, which
/// run as long as the turn is held (see `hogs`).
pub struct Turn {
    pub hogs: CpuHogs,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

/// Held for the whole of a scenario.
pub async fn exclusive() -> Turn {
    let guard = ONE_AT_A_TIME.lock().await;
    Turn {
        hogs: CpuHogs::from_env(),
        _one_at_a_time: guard,
    }
}

/// A stack on `endpoint` whose live keys call `gemini`, with the settings
/// above, served on a free port. Its `start_worker` runs the chaos worker.
pub async fn chaos_stack(endpoint: &str, gemini: &FakeGemini) -> TestStack {
    if std::env::var_os("TEST_LOG").is_some() {
        shared::telemetry::init();
    }
    let mut options = StackOptions::named(&format!("chaos{}", &ids::new_id()[1..11]));
    options.gemini = Some((gemini.base_url.clone(), GEMINI_KEY.into()));
    options.max_attempts = MAX_ATTEMPTS;
    options.retry_base_delay = RETRY_BASE;
    options.lease = LEASE;
    options.webhook_retry_base = WEBHOOK_RETRY_BASE;
    options.webhook_schedule =
        shared::webhooks::RetrySchedule::from_seconds(WEBHOOK_SCHEDULE_SECS.to_vec())
            .expect("a valid schedule");
    options.webhook_timeout = WEBHOOK_TIMEOUT;
    let mut stack = Stack::provision(endpoint, options)
        .await
        .expect("provisioning a chaos stack");
    stack.worker = Arc::new(worker_with_gemini_timeout(&stack, GEMINI_TIMEOUT));
    set_visibility(&stack).await;
    TestStack::serve(stack).await
}

/// A worker on the stack's resources and settings with this Gemini
/// timeout. The stacks' own allows 30 s, far beyond a 4 s lease.
pub fn worker_with_gemini_timeout(stack: &Stack, timeout: Duration) -> Worker {
    let mut config = devstack::resources::worker_config(&stack.options, &stack.queue_url);
    if let Some(gemini) = config.gemini.as_mut() {
        gemini.connect_timeout = Duration::from_secs(1);
        gemini.request_timeout = timeout;
    }
    Worker::new(
        &stack.sdk,
        devstack::resources::local_s3(&stack.sdk),
        config,
    )
    .expect("building the chaos worker")
}

async fn set_visibility(stack: &Stack) {
    aws_sdk_sqs::Client::new(&stack.sdk)
        .set_queue_attributes()
        .queue_url(&stack.queue_url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            VISIBILITY.as_secs().to_string(),
        )
        .send()
        .await
        .expect("shortening the queue's visibility timeout");
}

/// `CHAOS_SEED` if set (to replay a run), else a fresh one.
pub fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            ids::fill_random(&mut bytes);
            u64::from_le_bytes(bytes)
        })
}
