//! Benchmark (not a test): what each operation costs in AWS requests and
//! DynamoDB units, and the AWS bill per 1,000 images at on-demand prices.
//!
//! The real handlers run in this process against moto, on clients whose HTTP
//! goes through a billing `Meter` (`bench::meter`): every request is
//! counted, and DynamoDB units are computed from the sizes of the items read
//! and written, by DynamoDB's published rules. The key look-up is warm
//! (cached), as in a warm Lambda.
//!
//! `cargo run --release -p bench --bin bench-cost` (or `make bench-cost`).

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::Event;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use bench::api::{ApiRequest, InProcessApi};
use bench::meter::items::{Sharing, classify};
use bench::meter::prices::{Prices, Tally, US_EAST_1};
use bench::meter::{Call, Meter, Service};
use bench::scale::{
    Attribution, Load, PARTITION_READ_UNITS, PARTITION_WRITE_UNITS, Target, Template,
};
use bench::{machine, write_section};
use devstack::moto::{Moto, free_port};
use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_tenant, test_job};
use devstack::resources::{local_s3, worker_config};
use devstack::{Stack, StackOptions};
use shared::domain::{Job, JobStatus, TenantLimits};
use shared::queue::JobMessage;
use shared::store::job_to_item;
use shared::{App, ids};
use testkit::fake_gemini::{FakeGemini, Reply};
use webhooks::Notifier;
use worker::{Worker, WorkerConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A typical prompt (82 characters); item sizes grow with it.
const PROMPT: &str =
    "A lighthouse on a rocky coast at dusk, oil painting, warm light and dramatic clouds";
/// Production serves results from the CDN (template.yaml sets
/// CDN_BASE_URL), so result URLs in items are short: the same here.
const CDN_BASE_URL: &str = "https://d111111abcdef8.cloudfront.net";
const TENANT_SIZES: [usize; 3] = [10, 1_000, 10_000];
/// Limits that never refuse a submit of this benchmark.
const LIMITS: TenantLimits = TenantLimits {
    rpm: 1_000_000,
    max_concurrency: 1_000_000,
    monthly_image_quota: None,
};

/// The measured operations the report refers to by name.
const SUBMIT: &str = "submit";
const SUBMIT_WITH_KEY: &str = "submit with Idempotency-Key";
const SUBMIT_WITH_QUOTA: &str = "submit (tenant with a monthly image quota)";
const SUBMIT_FOUR: &str = "submit with `numberOfImages: 4`";
/// The scoping rows: one tenant's test and live keys, each a plain submit.
const SUBMIT_TEST_SCOPE: &str = "submit, test key (`TENANT#<tid>#test`)";
const SUBMIT_LIVE_SCOPE: &str = "submit, live key (`TENANT#<tid>#live`)";
/// Tenant sizes of the usage query, and the ranges it is asked for.
const USAGE_SIZES: [usize; 3] = [10, 1_000, 10_000];
const USAGE_RANGES: [i64; 2] = [30, 92];
const REPLAY: &str = "replayed submit (same Idempotency-Key)";
const GET_QUEUED: &str = "get (QUEUED job)";
/// The long poll measured: this long on a job that stays open.
const LONG_POLL_SECS: u32 = 10;
const LONG_POLL: &str = "long poll (`?wait=10`, a QUEUED job that stays open)";
const GET_SUCCEEDED: &str = "get (SUCCEEDED job)";
const CANCEL: &str = "cancel";
const WORKER: &str = "worker job (test key, offline render)";
const WEBHOOK: &str = "webhook event queued (one terminal record)";
const DELIVERY: &str = "webhook delivery (one attempt, delivered)";

/// The flow of one image, for the bill: how often a client polls the job.
const POLLS_PER_IMAGE: u32 = 5;
/// Gemini's generation time, for the worker's billed duration (the worker
/// waits for it): an assumption, not a measurement.
const GEMINI_SECONDS: f64 = 15.0;
/// Requests the SQS event source makes per job (ReceiveMessage, then
/// DeleteMessage), with one message per batch: the upper bound.
const EVENT_SOURCE_SQS_REQUESTS: u32 = 2;
/// CloudWatch Logs ingestion, per GB (taken as 2^30 bytes): the list price
/// as we recall it; this machine reaches no web page to check it.
const LOGS_INGESTION_USD_PER_GB: f64 = 0.50;
/// Lambda's default concurrency per account and region (a quota AWS raises
/// on request).
const ACCOUNT_CONCURRENCY: f64 = 1_000.0;
/// A tenant rate the issue asks about: below it, say what lifts the ceiling.
const TENANT_TARGET_JOBS_PER_SECOND: f64 = 100.0;

/// Bytes and lines the functions wrote while an operation ran: their EMF
/// metric lines (through `shared::metrics`' sink) and their JSON log lines
/// (through the `tracing` subscriber Lambda's logging uses), both counted
/// here instead of printed.
static EMF_LINES: AtomicU64 = AtomicU64::new(0);
static EMF_BYTES: AtomicU64 = AtomicU64::new(0);
static LOG_LINES: AtomicU64 = AtomicU64::new(0);
static LOG_BYTES: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, Debug, Default)]
struct Output {
    emf_lines: u64,
    emf_bytes: u64,
    log_lines: u64,
    log_bytes: u64,
}

impl Output {
    fn now() -> Output {
        Output {
            emf_lines: EMF_LINES.load(Ordering::Relaxed),
            emf_bytes: EMF_BYTES.load(Ordering::Relaxed),
            log_lines: LOG_LINES.load(Ordering::Relaxed),
            log_bytes: LOG_BYTES.load(Ordering::Relaxed),
        }
    }

    fn since(self, start: Output) -> Output {
        Output {
            emf_lines: self.emf_lines - start.emf_lines,
            emf_bytes: self.emf_bytes - start.emf_bytes,
            log_lines: self.log_lines - start.log_lines,
            log_bytes: self.log_bytes - start.log_bytes,
        }
    }
}

/// Counts each EMF line as stdout would carry it (the line and its newline).
struct CountingMetrics;

impl shared::metrics::Sink for CountingMetrics {
    fn emit(&self, emitted: &shared::metrics::Emitted<'_>) {
        EMF_LINES.fetch_add(1, Ordering::Relaxed);
        EMF_BYTES.fetch_add(emitted.line.len() as u64 + 1, Ordering::Relaxed);
    }
}

/// Counts what the log subscriber writes.
struct CountingWriter;

impl std::io::Write for CountingWriter {
    #[expect(
        clippy::naive_bytecount,
        reason = "a log line's few hundred bytes; the bytecount crate is not worth a dependency"
    )]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG_BYTES.fetch_add(buf.len() as u64, Ordering::Relaxed);
        let lines = buf.iter().filter(|b| **b == b'\n').count() as u64;
        LOG_LINES.fetch_add(lines, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The functions' output as in Lambda, counted: the metric lines through a
/// counting sink, and the JSON log lines as `shared::telemetry` formats
/// them there (`info`, the current span, no target, no time) into a
/// counting writer.
fn count_output() -> Result<(), BoxError> {
    if !shared::metrics::set_sink(std::sync::Arc::new(CountingMetrics)) {
        return Err("the metrics sink was set before the benchmark's".into());
    }
    bench::lambda_logging(|| CountingWriter)
}

/// In-region latency assumed per AWS call when estimating a function's
/// billed duration (moto's latency says nothing about AWS's).
fn assumed_aws_latency(call: &Call) -> Duration {
    match call.service {
        Service::DynamoDb => Duration::from_millis(5),
        Service::Sqs => Duration::from_millis(10),
        Service::S3 => Duration::from_millis(30),
        Service::Other => Duration::ZERO,
    }
}

/// The function an operation runs in, with its memory as template.yaml
/// declares it.
#[derive(Clone, Copy, Debug)]
enum Function {
    Generate,
    GetJob,
    ListJobs,
    Usage,
    CancelJob,
    Worker,
    Webhooks,
    WebhookSender,
}

impl Function {
    fn memory_gb(self) -> f64 {
        let mb = match self {
            Function::Generate | Function::ListJobs => 256,
            Function::Worker => 1024,
            Function::GetJob
            | Function::Usage
            | Function::CancelJob
            | Function::Webhooks
            | Function::WebhookSender => 128,
        };
        f64::from(mb) / 1024.0
    }

    fn behind_api_gateway(self) -> bool {
        !matches!(
            self,
            Function::Worker | Function::Webhooks | Function::WebhookSender
        )
    }
}

/// One measured operation.
struct Measured {
    name: String,
    function: Function,
    calls: Vec<Call>,
    /// The handler's own time in this process: wall time less the AWS calls
    /// (and the meter's own reads).
    own: Duration,
    /// The metric and log lines it wrote.
    output: Output,
}

impl Measured {
    fn tally(&self) -> Tally {
        Tally::of(&self.calls)
    }

    /// "TransactWriteItems 8 WRU, SendMessage, GetItem 1 RRU".
    fn breakdown(&self) -> String {
        self.calls
            .iter()
            .map(|c| match c.units {
                Some(u) if u.write > 0.0 => format!("{} {} WRU", c.operation, units(u.write)),
                Some(u) => format!("{} {} RRU", c.operation, units(u.read)),
                None => c.operation.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Lambda's price for one invocation: the request, and a duration of
    /// this handler's own time plus the assumed in-region latency of its
    /// calls plus any wait outside AWS (the worker's for Gemini).
    fn lambda_usd(&self, prices: &Prices, outside_wait: Duration) -> f64 {
        let latency: Duration = self.calls.iter().map(assumed_aws_latency).sum();
        let billed_ms = (self.own + latency + outside_wait).as_secs_f64() * 1e3;
        prices.lambda_request
            + billed_ms.ceil() / 1e3 * self.function.memory_gb() * prices.lambda_arm64_gb_second
    }
}

/// The metered handlers: the same `App`, `Worker` and `Notifier` the
/// functions build, on a metered `SdkConfig`.
struct Bench {
    stack: Stack,
    meter: Meter,
    app: App,
    worker: Worker,
    notifier: Notifier,
    sender: webhook_sender::Sender,
}

impl Bench {
    async fn start(endpoint: &str) -> Result<Bench, BoxError> {
        let stack = Stack::provision(endpoint, StackOptions::named("cost")).await?;
        let meter = Meter::billing(stack.app.store.client().clone())?;
        let metered = meter.instrument(&stack.sdk);
        let app = App::new(&metered, stack.app.config.clone());
        let worker = Worker::new(
            &metered,
            local_s3(&metered),
            WorkerConfig {
                cdn_base_url: Some(CDN_BASE_URL.into()),
                ..worker_config(&stack.options, &stack.queue_url)
            },
        )?;
        let notifier =
            devstack::stack::notifier(&metered, &stack.options, &stack.delivery_queue_url);
        let sender = devstack::stack::sender(
            &metered,
            &stack.options,
            &stack.delivery_queue_url,
            &stack.delivery_dlq_url,
        )?;
        Ok(Bench {
            stack,
            meter,
            app,
            worker,
            notifier,
            sender,
        })
    }

    async fn measure<T, E>(
        &self,
        name: impl Into<String>,
        function: Function,
        operation: impl Future<Output = Result<T, E>>,
    ) -> Result<(T, Measured), E> {
        let before = Output::now();
        let (out, m) = self.meter.measure(operation).await?;
        let measured = Measured {
            name: name.into(),
            function,
            own: m.own,
            calls: m.calls,
            output: Output::now().since(before),
        };
        println!(
            "{:<44} {} call(s): {}",
            measured.name,
            measured.calls.len(),
            measured.breakdown()
        );
        Ok((out, measured))
    }

    /// A tenant with `count` finished jobs, written outside the meter.
    async fn tenant_with_jobs(&self, count: usize) -> Result<String, BoxError> {
        let tenant_id = ids::new_id();
        let key = format!("img_test_cost_{}", ids::new_id());
        seed_tenant(&self.stack.app.store, &tenant_id, "list", &key, LIMITS).await?;
        let now = shared::time::now();
        let items = (0..count)
            .map(|i| {
                let created = now - chrono::Duration::seconds(i as i64 + 60);
                job_to_item(&finished_job(&tenant_id, created))
            })
            .collect();
        self.put_all(items).await?;
        Ok(key)
    }
}

impl Bench {
    /// A tenant with `count` SUCCEEDED jobs spread over the last 92 days,
    /// half draft and half final, and the usage items their successes
    /// counted, written outside the meter.
    async fn tenant_with_usage(&self, count: usize) -> Result<String, BoxError> {
        use shared::domain::{KeyMode, Mode, Scope};
        let tenant_id = ids::new_id();
        let key = format!("img_test_usage_{}", ids::new_id());
        seed_tenant(&self.stack.app.store, &tenant_id, "usage", &key, LIMITS).await?;
        let now = shared::time::now();
        let mut jobs = Vec::new();
        let mut days: HashMap<(String, &str), shared::store::UsageDay> = HashMap::new();
        for i in 0..count {
            let created = now
                - chrono::Duration::days((i % 92) as i64)
                - chrono::Duration::seconds(i as i64 % 3600 + 60);
            let mut job = finished_job(&tenant_id, created);
            job.mode = if i % 2 == 0 { Mode::Draft } else { Mode::Final };
            let date = shared::domain::usage::usage_day(created);
            let day = days
                .entry((date.clone(), job.mode.as_str()))
                .or_insert_with(|| shared::store::UsageDay {
                    date,
                    mode: job.mode,
                    jobs: 0,
                    images: 0,
                    cost_micro_usd: 0,
                });
            day.jobs += 1;
            day.images += 1;
            jobs.push(job_to_item(&job));
        }
        let scope = Scope::new(&tenant_id, KeyMode::Test);
        jobs.extend(
            days.values()
                .map(|day| shared::store::usage_to_item(scope, day)),
        );
        self.put_all(jobs).await?;
        Ok(key)
    }

    /// Writes every item, 25 at a time.
    async fn put_all(
        &self,
        items: Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
    ) -> Result<(), BoxError> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build()?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, aws_sdk_dynamodb::error::BuildError>>()?;
        let table = &self.stack.options.table;
        for chunk in requests.chunks(25) {
            let mut pending = HashMap::from([(table.clone(), chunk.to_vec())]);
            while !pending.is_empty() {
                let out = self
                    .stack
                    .app
                    .store
                    .client()
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await?;
                pending = out.unprocessed_items.unwrap_or_default();
                pending.retain(|_, requests| !requests.is_empty());
            }
        }
        Ok(())
    }
}

/// A job as the worker leaves it: SUCCEEDED, one image on the CDN.
fn finished_job(tenant_id: &str, created_at: shared::time::Timestamp) -> Job {
    let id = ids::new_id();
    let mut job = test_job(&id, tenant_id, JobStatus::Succeeded, PROMPT, created_at);
    job.result_urls = vec![format!("{CDN_BASE_URL}/results/{tenant_id}/{id}/0.png")];
    job.attempts = 1;
    job.updated_at = created_at + chrono::Duration::seconds(9);
    job
}

#[tokio::main]
#[expect(
    clippy::large_futures,
    reason = "a benchmark's one-off futures on the main stack; boxing them would add an allocation to what it measures"
)]
async fn main() -> Result<(), BoxError> {
    count_output()?;
    let started = Instant::now();
    let moto = Moto::start(free_port()?).await?;
    let bench = Bench::start(&moto.endpoint).await?;
    let body = serde_json::json!({"prompt": PROMPT, "mode": "draft"}).to_string();

    // The dev tenant: the sample stream event in events/ is one of its
    // jobs. Its webhook goes to a local receiver that answers 200.
    seed_tenant(
        &bench.stack.app.store,
        DEV_TENANT_ID,
        "Dev tenant",
        DEV_API_KEY,
        LIMITS,
    )
    .await?;
    let receiver = FakeGemini::start().await?;
    receiver.always(Reply::Finish("STOP".into()));
    bench
        .stack
        .app
        .store
        .set_tenant_webhook(
            DEV_TENANT_ID,
            Some((
                &format!("{}/webhook", receiver.base_url),
                &shared::webhooks::new_secret(),
            )),
        )
        .await?;
    let api = InProcessApi::new(&bench.app, DEV_API_KEY);
    // A warm function has the key cached.
    api.expect(ApiRequest::get("/v1/jobs/cwarmup0000000000000000000"), 404)
        .await?;

    let mut rows = Vec::new();
    let (job_id, m) = bench
        .measure(SUBMIT, Function::Generate, api.submit(&body, None))
        .await?;
    rows.push(m);
    let idempotency_key = ids::new_id();
    let (_, m) = bench
        .measure(
            SUBMIT_WITH_KEY,
            Function::Generate,
            api.submit(&body, Some(&idempotency_key)),
        )
        .await?;
    rows.push(m);
    let (_, m) = bench
        .measure(
            REPLAY,
            Function::Generate,
            api.submit(&body, Some(&idempotency_key)),
        )
        .await?;
    rows.push(m);
    // A tenant with a quota: the month counter is read beside the
    // rate window for the `X-Quota-*` headers.
    let quota_key = format!("img_test_quota_{}", ids::new_id());
    seed_tenant(
        &bench.stack.app.store,
        &ids::new_id(),
        "quota",
        &quota_key,
        TenantLimits {
            monthly_image_quota: Some(1_000_000),
            ..LIMITS
        },
    )
    .await?;
    let quota_api = InProcessApi::new(&bench.app, &quota_key);
    quota_api
        .expect(ApiRequest::get("/v1/jobs/cwarmup0000000000000000000"), 404)
        .await?;
    let (_, m) = bench
        .measure(
            SUBMIT_WITH_QUOTA,
            Function::Generate,
            quota_api.submit(&body, None),
        )
        .await?;
    rows.push(m);
    let four =
        serde_json::json!({"prompt": PROMPT, "mode": "draft", "numberOfImages": 4}).to_string();
    let (_, m) = bench
        .measure(SUBMIT_FOUR, Function::Generate, api.submit(&four, None))
        .await?;
    rows.push(m);
    // One tenant's two keys: every item a submit touches is under the
    // key's scope, `TENANT#<tid>#test` or `#live`.
    let scoped_tenant = ids::new_id();
    let mut scoped = Vec::new();
    for (name, prefix) in [
        (SUBMIT_TEST_SCOPE, shared::domain::api_key::TEST_PREFIX),
        (SUBMIT_LIVE_SCOPE, shared::domain::api_key::LIVE_PREFIX),
    ] {
        let key = format!("{prefix}scope_{}", ids::new_id());
        seed_tenant(
            &bench.stack.app.store,
            &scoped_tenant,
            "scoping",
            &key,
            LIMITS,
        )
        .await?;
        let scoped_api = InProcessApi::new(&bench.app, &key);
        scoped_api
            .expect(ApiRequest::get("/v1/jobs/cwarmup0000000000000000000"), 404)
            .await?;
        let (_, m) = bench
            .measure(name, Function::Generate, scoped_api.submit(&body, None))
            .await?;
        scoped.push(m);
    }
    let path = format!("/v1/jobs/{job_id}");
    let (_, m) = bench
        .measure(
            GET_QUEUED,
            Function::GetJob,
            api.expect(ApiRequest::get(&path), 200),
        )
        .await?;
    rows.push(m);
    let (_, m) = bench
        .measure(
            LONG_POLL,
            Function::GetJob,
            api.expect(
                ApiRequest::get(&format!("{path}?wait={LONG_POLL_SECS}")),
                200,
            ),
        )
        .await?;
    rows.push(m);
    let cancel_id = api.submit(&body, None).await?;
    let cancel_path = format!("/v1/jobs/{cancel_id}");
    let (_, m) = bench
        .measure(
            CANCEL,
            Function::CancelJob,
            api.expect(ApiRequest::delete(&cancel_path), 200),
        )
        .await?;
    rows.push(m);
    // The SQS event source's receive and delete are not the handler's
    // calls: they are added to the bill below.
    let message = JobMessage::new(
        shared::domain::Scope::new(DEV_TENANT_ID, shared::domain::KeyMode::Test),
        &job_id,
    );
    let event = testkit::sqs::job_message_event(ids::new_id(), &message)?;
    let (outcome, m) = bench
        .measure(WORKER, Function::Worker, async {
            Ok::<_, BoxError>(bench.worker.process_batch(event).await)
        })
        .await?;
    if !outcome.batch_item_failures.is_empty() {
        return Err("the worker failed the job".into());
    }
    rows.push(m);
    let (job, m) = bench
        .measure(
            GET_SUCCEEDED,
            Function::GetJob,
            api.expect(ApiRequest::get(&path), 200),
        )
        .await?;
    if job["status"] != "SUCCEEDED" {
        return Err(format!("the job did not succeed: {job}").into());
    }
    rows.push(m);
    let event: Event = serde_json::from_str(&std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/webhooks-terminal.json"),
    )?)?;
    // The sender reads the job the event names: store it as the record's
    // new image has it (outside the meter).
    if let Some(record) = event.records.first() {
        let item: HashMap<String, aws_sdk_dynamodb::types::AttributeValue> = record
            .change
            .new_image
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        bench
            .stack
            .app
            .store
            .client()
            .put_item()
            .table_name(&bench.stack.options.table)
            .set_item(Some(item))
            .send()
            .await?;
    }
    let (_, m) = bench
        .measure(WEBHOOK, Function::Webhooks, async {
            Ok::<_, BoxError>(bench.notifier.process(event).await)
        })
        .await?;
    rows.push(m);
    // The SQS event source's receive (and delete, below) are not the
    // sender's calls: they are added to the bill.
    let received = aws_sdk_sqs::Client::new(&bench.stack.sdk)
        .receive_message()
        .queue_url(&bench.stack.delivery_queue_url)
        .wait_time_seconds(5)
        .send()
        .await?
        .messages
        .unwrap_or_default();
    let [message] = received.as_slice() else {
        return Err(format!("{} delivery messages, not one", received.len()).into());
    };
    let event = testkit::sqs::message_event(
        message.message_id.clone().unwrap_or_default(),
        message.receipt_handle.clone(),
        message.body.clone().unwrap_or_default(),
    );
    let (outcome, m) = bench
        .measure(DELIVERY, Function::WebhookSender, async {
            Ok::<_, BoxError>(bench.sender.process_batch(event).await)
        })
        .await?;
    if receiver.call_count() != 1 || !outcome.batch_item_failures.is_empty() {
        return Err("the webhook was not delivered".into());
    }
    rows.push(m);

    let mut list_rows = Vec::new();
    for count in TENANT_SIZES {
        let seeding = Instant::now();
        let key = bench.tenant_with_jobs(count).await?;
        println!(
            "seeded {count} jobs in {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
        let tenant_api = InProcessApi::new(&bench.app, &key);
        tenant_api
            .expect(ApiRequest::get("/v1/jobs?limit=1"), 200)
            .await?;
        for (label, path) in [
            ("default, 50", "/v1/jobs"),
            ("limit=100", "/v1/jobs?limit=100"),
        ] {
            let (page, m) = bench
                .measure(
                    format!("list page ({label}) at {count} jobs"),
                    Function::ListJobs,
                    tenant_api.expect(ApiRequest::get(path), 200),
                )
                .await?;
            let items = page["items"].as_array().map_or(0, Vec::len);
            list_rows.push((label, count, items, m));
        }
    }
    let mut usage_rows = Vec::new();
    for count in USAGE_SIZES {
        let key = bench.tenant_with_usage(count).await?;
        let tenant_api = InProcessApi::new(&bench.app, &key);
        tenant_api
            .expect(ApiRequest::get("/v1/jobs?limit=1"), 200)
            .await?;
        let today = shared::time::now().date_naive();
        for days in USAGE_RANGES {
            let from = today - chrono::Duration::days(days - 1);
            let path = format!("/v1/usage?from={from}&to={today}");
            let (report, m) = bench
                .measure(
                    format!("usage query ({days} days) at {count} jobs"),
                    Function::Usage,
                    tenant_api.expect(ApiRequest::get(&path), 200),
                )
                .await?;
            let counted = report["total"]["jobs"].as_u64().unwrap_or(0);
            usage_rows.push((days, count, counted, m));
        }
    }
    moto.stop().await;

    let measured = Report {
        rows: &rows,
        scoped: &scoped,
        list_rows: &list_rows,
        usage_rows: &usage_rows,
        prices: &US_EAST_1,
    };
    let scale = scale_section(&measured)?;
    let cost = report(&measured, started.elapsed())?;
    println!("{cost}\n{scale}");
    write_section("cost", &cost)?;
    // Right after the cost section: `write_section` appends a section
    // it does not find at the end of the file, so the first run places it
    // there, after the cost section's end marker.
    write_scale_section(&scale)?;
    Ok(())
}

fn units(u: f64) -> String {
    if u.fract() == 0.0 {
        format!("{u:.0}")
    } else {
        format!("{u:.1}")
    }
}

fn usd(v: f64) -> String {
    if v >= 0.1 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

fn find<'a>(rows: &'a [Measured], name: &str) -> Result<&'a Measured, BoxError> {
    rows.iter()
        .find(|r| r.name == name)
        .ok_or_else(|| format!("no measured operation {name}").into())
}

/// The item classes the prose names (`bench::meter::items`).
const WINDOW: &str = "rate window";
const IDEM: &str = "idempotency record";
const MONTH: &str = "month image counter";
/// DynamoDB's default on-demand throughput quota per table, write units a
/// second, as we recall it (not checked from this machine).
const TABLE_WRITE_QUOTA: f64 = 40_000.0;

/// Everything measured, for the report.
struct Report<'a> {
    rows: &'a [Measured],
    /// One tenant's test and live submits.
    scoped: &'a [Measured],
    list_rows: &'a [(&'a str, usize, usize, Measured)],
    usage_rows: &'a [(i64, usize, u64, Measured)],
    prices: &'a Prices,
}

/// The submits the round-trip target applies to.
const SUBMITS: [&str; 7] = [
    SUBMIT,
    SUBMIT_WITH_KEY,
    REPLAY,
    SUBMIT_WITH_QUOTA,
    SUBMIT_FOUR,
    SUBMIT_TEST_SCOPE,
    SUBMIT_LIVE_SCOPE,
];

/// Two operations made the same calls in the same number of round trips,
/// for the same units (calls made side by side may start in either order).
fn same_calls(a: &Measured, b: &Measured) -> bool {
    let calls = |m: &Measured| {
        let mut each: Vec<String> = m.calls.iter().map(describe_call).collect();
        each.sort();
        each
    };
    calls(a) == calls(b)
        && bench::meter::round_trips(&a.calls) == bench::meter::round_trips(&b.calls)
        && a.tally() == b.tally()
}

/// The short name of an item's class: "rate window, one a minute".
fn item_name(pk: &str, sk: &str) -> String {
    let label = classify(pk, sk).label;
    label
        .split(" (`")
        .next()
        .unwrap_or(label.as_str())
        .to_string()
}

/// "TransactWriteItems 10 WRU (rate window 2, …)", "GetItem of the rate
/// window 1 RRU", "SendMessage".
fn describe_call(call: &Call) -> String {
    match call.units {
        Some(u) if u.write > 0.0 => {
            let items: Vec<String> = call
                .items
                .iter()
                .map(|i| {
                    let indexed = i.write.total() - i.write.table;
                    if indexed > 0.0 {
                        format!(
                            "{} {} + {} in the indexes",
                            item_name(&i.pk, &i.sk),
                            units(i.write.table),
                            units(indexed)
                        )
                    } else {
                        format!("{} {}", item_name(&i.pk, &i.sk), units(i.write.table))
                    }
                })
                .collect();
            format!(
                "{} {} WRU ({})",
                call.operation,
                units(u.write),
                items.join(", ")
            )
        }
        Some(u) => {
            let items: Vec<String> = call
                .items
                .iter()
                .filter(|i| !i.sk.is_empty())
                .map(|i| item_name(&i.pk, &i.sk))
                .collect();
            if items.is_empty() {
                format!("{} {} RRU", call.operation, units(u.read))
            } else {
                format!(
                    "{} of the {} {} RRU",
                    call.operation,
                    items.join(", "),
                    units(u.read)
                )
            }
        }
        None => call.operation.clone(),
    }
}

/// The round trips of an operation, in order: "A, then B beside C".
fn describe_trips(m: &Measured) -> String {
    bench::meter::trips(&m.calls)
        .iter()
        .map(|trip| {
            trip.iter()
                .map(|c| describe_call(c))
                .collect::<Vec<_>>()
                .join(" beside ")
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

/// Which round trip (0-based) holds a read of an item whose class
/// contains `what`, and how many calls share that trip.
fn read_trip(m: &Measured, what: &str) -> Option<(usize, usize)> {
    bench::meter::trips(&m.calls)
        .iter()
        .enumerate()
        .find_map(|(i, trip)| {
            trip.iter()
                .any(|c| {
                    c.units.is_some_and(|u| u.write <= 0.0)
                        && c.items
                            .iter()
                            .any(|it| !it.sk.is_empty() && item_name(&it.pk, &it.sk).contains(what))
                })
                .then_some((i, trip.len()))
        })
}

/// The round trip (0-based) of the first call of this operation.
fn trip_of(m: &Measured, operation: &str) -> Option<usize> {
    bench::meter::trips(&m.calls)
        .iter()
        .position(|trip| trip.iter().any(|c| c.operation == operation))
}

/// Read units of the items whose class contains `what`.
fn reads_of(m: &Measured, what: &str) -> f64 {
    m.calls
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| !i.sk.is_empty() && item_name(&i.pk, &i.sk).contains(what))
        .map(|i| i.read)
        .sum()
}

fn transaction_units(m: &Measured) -> f64 {
    m.calls
        .iter()
        .filter(|c| c.operation == "TransactWriteItems")
        .filter_map(|c| c.units)
        .map(|u| u.write)
        .sum()
}

fn report(r: &Report<'_>, took: Duration) -> Result<String, BoxError> {
    let (rows, prices) = (r.rows, r.prices);
    let [test_scope, live_scope] = r.scoped else {
        return Err("the scoping submits were not measured".into());
    };
    let scoping_differs = !same_calls(test_scope, live_scope);
    // The targets: at most two sequential round trips for a submit,
    // at most two calls for a get and a cancel, at most 2 read units a
    // waited second.
    let target = |row: &Measured| -> String {
        let verdict = |met: bool| if met { "met" } else { "**missed**" };
        if SUBMITS.contains(&row.name.as_str()) {
            let trips = bench::meter::round_trips(&row.calls);
            format!("≤ 2 round trips: {}", verdict(trips <= 2))
        } else if [GET_QUEUED, GET_SUCCEEDED, CANCEL].contains(&row.name.as_str()) {
            format!("≤ 2 calls: {}", verdict(row.tally().calls() <= 2))
        } else if row.name == LONG_POLL {
            let per_second = find(rows, GET_QUEUED).map_or(f64::NAN, |get| {
                (row.tally().units.read - get.tally().units.read) / f64::from(LONG_POLL_SECS)
            });
            format!(
                "≤ 2 RRU a waited second: {} ({})",
                verdict(per_second <= 2.0),
                units(per_second)
            )
        } else {
            String::new()
        }
    };
    let mut out = String::from(
        "## Cost per request\n\n\
         `make bench-cost`: every handler runs in-process (release build) against moto, on AWS \
         clients whose HTTP goes through a meter (`bench/src/meter/`): an HTTP client given to the \
         SDK in the `SdkConfig`, so it sees every request of every client the functions build \
         (the worker builds its own), retries included. It sits where an SDK interceptor would \
         see the same requests, one layer lower, because an interceptor belongs to one client's \
         own config (an `SdkConfig` carries none) and the functions build their clients \
         themselves: metering there would mean changing their code. **Calls** are HTTP requests \
         to AWS; **round trips** are the calls one after another (calls whose times overlap \
         count once). \
         DynamoDB **read/write units** (RRU/WRU: on-demand request units, sized like RCU/WCU) are \
         computed from the items by DynamoDB's published rules, not taken from the emulator \
         (moto 5.2.1's `ReturnConsumedCapacity` is an empty list for `TransactWriteItems` and 1 \
         unit for a 3 KB `PutItem`, which DynamoDB bills 3): item size = \
         attribute names + values; reads per started 4 KB, halved when eventually consistent (all \
         index queries), a query page's items summed before rounding; writes per started 1 KB of \
         the larger of the item before and after (the meter reads both around each write with a \
         client of its own); a transaction bills its items twice; each global secondary index \
         whose entry a write puts, changes or removes is one more write, two when the index key \
         changes (a status change moves the `ByTenantStatus` entry), billed once even inside a \
         transaction. The meter also keeps each unit's item and index partition (Scale on paper, \
         below). Rules and sources: `bench/src/meter/capacity.rs`. The key look-up is \
         cached (warm function); jobs have an 82-character prompt and, once finished, one CDN \
         result URL, as in production.\n\n\
         | operation | AWS calls | round trips | calls and their units | RRU | WRU | DynamoDB + SQS + S3 per 1,000 | target |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let shown = rows
        .iter()
        .chain(r.scoped.iter().filter(|_| scoping_differs));
    for row in shown {
        let t = row.tally();
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            t.calls(),
            bench::meter::round_trips(&row.calls),
            row.breakdown(),
            units(t.units.read),
            units(t.units.write),
            usd(t.usd(prices) * 1000.0),
            target(row),
        );
    }
    out += &if scoping_differs {
        format!(
            "\nTest and live keys: the last two rows, one tenant's two keys, differ: a live key's \
             submit makes {} calls in {} round trips ({}), a test key's {} in {} ({}).\n",
            live_scope.tally().calls(),
            bench::meter::round_trips(&live_scope.calls),
            describe_trips(live_scope),
            test_scope.tally().calls(),
            bench::meter::round_trips(&test_scope.calls),
            describe_trips(test_scope),
        )
    } else {
        format!(
            "\nTest and live keys: one tenant's live key and test key submit with the same calls, \
             round trips and units ({} calls, {} round trips, {} WRU, {} RRU, measured for each): \
             scoping changes only the partition the items live in (`TENANT#<tid>#test` or \
             `TENANT#<tid>#live`), so each mode has its own counters and rate window.\n",
            live_scope.tally().calls(),
            bench::meter::round_trips(&live_scope.calls),
            units(live_scope.tally().units.write),
            units(live_scope.tally().units.read),
        )
    };

    out += "\n**List page** (`GET /v1/jobs`, one index query of `limit + 1` items) by the \
            tenant's total number of jobs:\n\n\
            | page | jobs in tenant | items returned | AWS calls | RRU | DynamoDB per 1,000 |\n\
            |---|---|---|---|---|---|\n";
    for (label, count, items, m) in r.list_rows {
        let t = m.tally();
        out += &format!(
            "| {label} | {count} | {items} | {} | {} | {} |\n",
            t.calls(),
            units(t.units.read),
            usd(t.usd(prices) * 1000.0)
        );
    }
    let flat = ["default, 50", "limit=100"].iter().all(|label| {
        let read = |count: usize| {
            r.list_rows
                .iter()
                .find(|(l, c, _, _)| l == label && *c == count)
                .map(|(_, _, _, m)| m.tally().units.read)
        };
        read(1_000) == read(10_000)
    });
    out += &format!(
        "\nTarget: a page's read units independent of the tenant's size: **{}** (1,000 and 10,000 \
         jobs read the same units; at 10 jobs the page holds only 10).\n",
        if flat { "met" } else { "missed" }
    );

    out += "\n**Usage query** (`GET /v1/usage`, one query of the range's daily usage items, at \
            most two a day) by the tenant's number of SUCCEEDED jobs, spread over the last 92 \
            days:\n\n\
            | range | jobs in tenant | jobs counted in the range | AWS calls | RRU | DynamoDB per 1,000 |\n\
            |---|---|---|---|---|---|\n";
    for (days, count, counted, m) in r.usage_rows {
        let t = m.tally();
        out += &format!(
            "| {days} days | {count} | {counted} | {} | {} | {} |\n",
            t.calls(),
            units(t.units.read),
            usd(t.usd(prices) * 1000.0)
        );
    }
    let usage_read = |days: i64, count: usize| {
        r.usage_rows
            .iter()
            .find(|(d, c, _, _)| *d == days && *c == count)
            .map(|(_, _, _, m)| m.tally().units.read)
    };
    out += &format!(
        "\nTarget: a usage query's cost independent of the number of jobs: **{}** (1,000 and \
         10,000 jobs read the same units: every day of the range holds both modes' items, the \
         most a day can hold, so the 92-day row is the ceiling at any size; at 10 jobs most \
         days have no item).\n",
        if USAGE_RANGES
            .iter()
            .all(|d| usage_read(*d, 1_000) == usage_read(*d, 10_000))
        {
            "met"
        } else {
            "missed"
        }
    );
    out += &submit_gap(rows, prices)?;
    out += &waiting(rows, prices)?;
    out += &flow(rows, prices)?;
    let unbilled: Vec<String> = rows
        .iter()
        .chain(r.list_rows.iter().map(|(_, _, _, m)| m))
        .flat_map(|m| m.tally().unbilled)
        .collect();
    if !unbilled.is_empty() {
        out += &format!(
            "\nNot billed (operations the rules do not model): {}.\n",
            unbilled.join(", ")
        );
    }
    out += &format!(
        "\nMeasured on {}; the benchmark took {:.0} s (most of it seeding 22,030 jobs into moto). \
         Call counts and units do not depend on the machine.\n",
        machine(),
        took.as_secs_f64()
    );
    Ok(out)
}

/// What the submits' calls are, each said from the measured calls: what
/// the target leaves out, what a key, a quota and four images add.
fn submit_gap(rows: &[Measured], prices: &Prices) -> Result<String, BoxError> {
    let submit = find(rows, SUBMIT)?;
    let keyed = find(rows, SUBMIT_WITH_KEY)?;
    let replayed = find(rows, REPLAY)?;
    let quota = find(rows, SUBMIT_WITH_QUOTA)?;
    let four = find(rows, SUBMIT_FOUR)?;
    let calls = submit.tally().calls();
    let trips = bench::meter::round_trips(&submit.calls);
    let mut out = format!(
        "\n**Submit: {calls} calls in {trips} round trips; the target of 2 round trips is \
         {verdict}.** In order: {sequence}.",
        verdict = if trips <= 2 { "met" } else { "missed" },
        sequence = describe_trips(submit),
    );
    if let Some((trip, shared_with)) = read_trip(submit, WINDOW) {
        let window_read = reads_of(submit, WINDOW);
        out += &format!(
            " The strongly consistent `GetItem` of the rate window is there because every \
             generate response carries an exact `X-RateLimit-Remaining` and \
             `TransactWriteItems` returns no values: the count this submit left can only be read \
             back. {placement} It costs {rru} RRU, {read_usd} per 1,000 submits. Alternatives \
             considered: moving the window out of the transaction into an `UpdateItem` that \
             returns the new count makes as many calls and gives up the all-or-nothing \
             admission; conditioning the transaction on the count a warm function last saw \
             (`count = n`, so that success means exactly n + 1) saves the read only while one \
             function instance submits for the tenant, and concurrent submits, the case the \
             limits exist for, would cancel each other and retry; an inexact header (or none) \
             would break the contract.",
            placement = if shared_with > 1 {
                format!(
                    "It is sent in round trip {} beside {} other call(s), so it adds no round trip.",
                    trip + 1,
                    shared_with - 1
                )
            } else {
                format!(
                    "It runs alone, in round trip {}: one round trip more.",
                    trip + 1
                )
            },
            rru = units(window_read),
            read_usd = usd(window_read * prices.dynamodb_read_unit * 1000.0),
        );
    }
    out += "\n\n";

    let keyed_trips = bench::meter::round_trips(&keyed.calls);
    let record_read = read_trip(keyed, IDEM);
    let tx_trip = trip_of(keyed, "TransactWriteItems");
    out += &format!(
        "A first submit with an `Idempotency-Key` makes {keyed_calls} calls in {keyed_trips} \
         round trips ({sequence}). {record} The transaction grows by the idempotency record \
         from {tx} to {keyed_tx} WRU. A replay makes {replay_calls} calls in {replay_trips} round \
         trips ({replay_sequence}){replay_writes}.\n\n",
        keyed_calls = keyed.tally().calls(),
        sequence = describe_trips(keyed),
        record = match (record_read, tx_trip) {
            (Some((read, _)), Some(tx)) if read < tx => format!(
                "The key's record is read before the transaction, in a round trip of its own \
                 ({} RRU), so that a replay is answered without a transaction: {} round trip(s) \
                 more than a plain submit.",
                units(reads_of(keyed, IDEM)),
                keyed_trips.saturating_sub(trips)
            ),
            (Some((read, _)), Some(tx)) if read == tx => format!(
                "The key's record is read in the same round trip as the transaction ({} RRU), so \
                 the key costs {} more round trip(s) than a plain submit.",
                units(reads_of(keyed, IDEM)),
                keyed_trips.saturating_sub(trips)
            ),
            (Some(_), _) => format!(
                "The key's record is read after the transaction ({} RRU).",
                units(reads_of(keyed, IDEM))
            ),
            (None, _) => "The key's record is not read: the transaction's condition on it \
                          decides whether the key is new."
                .to_string(),
        },
        tx = units(transaction_units(submit)),
        keyed_tx = units(transaction_units(keyed)),
        replay_calls = replayed.tally().calls(),
        replay_trips = bench::meter::round_trips(&replayed.calls),
        replay_sequence = describe_trips(replayed),
        replay_writes = if replayed.tally().units.write > 0.0 {
            format!(
                ": its transaction is canceled by the record's condition and changes nothing, \
                 but DynamoDB bills a canceled transaction's items ({} WRU)",
                units(replayed.tally().units.write)
            )
        } else {
            " and writes nothing".to_string()
        },
    );

    let month_read = reads_of(quota, MONTH);
    out += &format!(
        "**With a monthly image quota** a submit makes {quota_calls} calls in {quota_trips} round \
         trips ({quota_sequence}): the transaction's month-counter update is then conditioned on \
         the quota (so the quota holds exactly under concurrent submits){month}. A tenant \
         without a quota reads no counter; its transaction still counts the month's images (so a \
         quota set mid-month counts the month so far).\n\n",
        quota_calls = quota.tally().calls(),
        quota_trips = bench::meter::round_trips(&quota.calls),
        quota_sequence = describe_trips(quota),
        month = match read_trip(quota, MONTH) {
            Some((trip, shared_with)) => format!(
                ", and the month counter is read for `X-Quota-Remaining` ({} RRU, {} more per \
                 1,000 submits) in round trip {}{}",
                units(month_read),
                usd(month_read * prices.dynamodb_read_unit * 1000.0),
                trip + 1,
                if shared_with > 1 {
                    format!(" beside {} other call(s)", shared_with - 1)
                } else {
                    " alone".to_string()
                }
            ),
            None => String::new(),
        },
    );

    let four_t = four.tally();
    out += &format!(
        "**With `numberOfImages: 4`** a submit makes {} calls in {} round trips ({}): {}\n",
        four_t.calls(),
        bench::meter::round_trips(&four.calls),
        describe_trips(four),
        if same_calls(four, submit) {
            format!(
                "the same calls and units as one image (the month counter adds 4 instead of 1, \
                 an item of the same size), so per image it costs a quarter of a one-image \
                 submit ({} per 1,000 images against {}).",
                usd(four_t.usd(prices) * 1000.0 / 4.0),
                usd(submit.tally().usd(prices) * 1000.0)
            )
        } else {
            format!(
                "{} WRU and {} RRU against a one-image submit's {} and {}.",
                units(four_t.units.write),
                units(four_t.units.read),
                units(submit.tally().units.write),
                units(submit.tally().units.read)
            )
        }
    );
    Ok(out)
}

/// What a waited second costs: the long poll's reads and its Lambda time,
/// beyond the plain get.
fn waiting(rows: &[Measured], prices: &Prices) -> Result<String, BoxError> {
    let poll = find(rows, LONG_POLL)?;
    let get = find(rows, GET_QUEUED)?;
    let seconds = f64::from(LONG_POLL_SECS);
    let extra_reads = poll.tally().units.read - get.tally().units.read;
    let extra_calls = poll.tally().calls() - get.tally().calls();
    let lambda_second = poll.function.memory_gb() * prices.lambda_arm64_gb_second;
    let submit_second = Function::Generate.memory_gb() * prices.lambda_arm64_gb_second;
    Ok(format!(
        "\n**Waiting** (`Prefer: wait` on submit, `?wait=N` on get): the long poll above read the \
         job {extra_calls} more times than a plain get in its {LONG_POLL_SECS} s, eventually \
         consistent (100 ms after the start, then doubling gaps to one a second): {per_second} \
         read units per waited second (target ≤ 2: {verdict}), {read_usd} per 1,000 waited \
         seconds; the function's time while it waits is {lambda_usd} per 1,000 waited seconds at \
         {mb} MB (get-job; a `Prefer: wait` submit waits in generate, {submit_mb} MB: \
         {submit_usd}). A waiting request holds no concurrency slot and writes nothing.\n",
        per_second = units(extra_reads / seconds),
        verdict = if extra_reads / seconds <= 2.0 {
            "met"
        } else {
            "missed"
        },
        read_usd = usd(extra_reads / seconds * prices.dynamodb_read_unit * 1000.0),
        lambda_usd = usd(lambda_second * 1000.0),
        mb = (poll.function.memory_gb() * 1024.0).round(),
        submit_mb = (Function::Generate.memory_gb() * 1024.0).round(),
        submit_usd = usd(submit_second * 1000.0),
    ))
}

/// What one waiting request (`?wait=`) over the whole generation costs, in
/// place of the polls: the long poll's measured reads a second, over the
/// assumed generation time.
struct WaitingRequest {
    reads: f64,
    dynamodb_usd: f64,
    lambda_usd: f64,
    output: Output,
}

fn waiting_request(rows: &[Measured], prices: &Prices) -> Result<WaitingRequest, BoxError> {
    let poll = find(rows, LONG_POLL)?;
    let get = find(rows, GET_QUEUED)?;
    let per_second = (poll.tally().units.read - get.tally().units.read) / f64::from(LONG_POLL_SECS);
    let calls_per_second =
        f64::from(poll.tally().calls() - get.tally().calls()) / f64::from(LONG_POLL_SECS);
    let reads = get.tally().units.read + per_second * GEMINI_SECONDS;
    let calls = 1.0 + calls_per_second * GEMINI_SECONDS;
    // Billed: the get's own time, each read's assumed latency and the wait.
    let latency = get
        .calls
        .first()
        .map_or(Duration::ZERO, assumed_aws_latency);
    let billed = get.own.as_secs_f64() + calls * latency.as_secs_f64() + GEMINI_SECONDS;
    Ok(WaitingRequest {
        reads,
        dynamodb_usd: reads * prices.dynamodb_read_unit,
        lambda_usd: prices.lambda_request
            + (billed * 1e3).ceil() / 1e3
                * get.function.memory_gb()
                * prices.lambda_arm64_gb_second,
        output: poll.output,
    })
}

fn logs_usd(output: Output) -> f64 {
    (output.emf_bytes + output.log_bytes) as f64 / f64::from(1u32 << 30) * LOGS_INGESTION_USD_PER_GB
}

/// The bill of one image as a client drives it, per 1,000 images.
fn flow(rows: &[Measured], prices: &Prices) -> Result<String, BoxError> {
    let submit = find(rows, SUBMIT)?;
    let poll = find(rows, GET_SUCCEEDED)?;
    let worker = find(rows, WORKER)?;
    let webhook = find(rows, WEBHOOK)?;
    let delivery = find(rows, DELIVERY)?;
    let api_gateway = |m: &Measured| {
        if m.function.behind_api_gateway() {
            prices.http_api_request
        } else {
            0.0
        }
    };
    let cells = |label: &str, per_image: f64, aws: f64, lambda: f64, api: f64, logs: f64| {
        let total = per_image * (aws + lambda + api + logs) * 1000.0;
        (
            format!(
                "| {label} | {per_image:.0} | {} | {} | {} | {} | {} |\n",
                usd(per_image * aws * 1000.0),
                usd(per_image * lambda * 1000.0),
                usd(per_image * api * 1000.0),
                usd(per_image * logs * 1000.0),
                usd(total)
            ),
            total,
        )
    };
    let step = |label: &str, m: &Measured, per_image: f64, lambda: f64, extra_aws: f64| {
        cells(
            label,
            per_image,
            m.tally().usd(prices) + extra_aws,
            lambda,
            api_gateway(m),
            logs_usd(m.output),
        )
    };
    let polls = step(
        "poll (get), as today",
        poll,
        f64::from(POLLS_PER_IMAGE),
        poll.lambda_usd(prices, Duration::ZERO),
        0.0,
    );
    let steps = [
        step(
            "submit",
            submit,
            1.0,
            submit.lambda_usd(prices, Duration::ZERO),
            0.0,
        ),
        step(
            "worker job (+ the SQS event source's receive and delete)",
            worker,
            1.0,
            worker.lambda_usd(prices, Duration::from_secs_f64(GEMINI_SECONDS)),
            f64::from(EVENT_SOURCE_SQS_REQUESTS) * prices.sqs_request,
        ),
        step(
            "webhook event (stream → delivery queue)",
            webhook,
            1.0,
            webhook.lambda_usd(prices, Duration::ZERO),
            0.0,
        ),
        step(
            "webhook delivery, its attempt logged (+ the SQS event source's receive and delete)",
            delivery,
            1.0,
            delivery.lambda_usd(prices, Duration::ZERO),
            f64::from(EVENT_SOURCE_SQS_REQUESTS) * prices.sqs_request,
        ),
    ];
    let wait = waiting_request(rows, prices)?;
    let waited = cells(
        &format!("or instead: one waiting request (`?wait=`) over the {GEMINI_SECONDS:.0} s"),
        1.0,
        wait.dynamodb_usd,
        wait.lambda_usd,
        prices.http_api_request,
        logs_usd(wait.output),
    );
    let rest: f64 = steps.iter().map(|(_, t)| t).sum();
    let (total_polls, total_waiting) = (rest + polls.1, rest + waited.1);
    let worker_per_second = worker.function.memory_gb() * prices.lambda_arm64_gb_second * 1000.0;
    let mut out = format!(
        "\n### Per 1,000 images\n\n\
         One image: a submit, {POLLS_PER_IMAGE} polls (or one waiting request instead), the \
         worker's job and the webhook. Prices \
         ({region}, on-demand, first tier): DynamoDB ${wru:.3} per million write and ${rru:.3} per \
         million read request units (the prices since the 1 November 2024 cut, half the earlier \
         ones); SQS ${sqs:.2} per million requests (64 KB chunks); S3 ${s3put:.3} per 1,000 PUT and \
         ${s3get:.4} per 1,000 GET requests; Lambda arm64 ${gbs} per GB-second and ${lreq:.2} per \
         million requests; API Gateway HTTP API ${api:.2} per million requests; CloudWatch Logs \
         ingestion ${logs:.2} per GB (2^30 bytes here; the list price as we recall it, not \
         checked from this machine).\n\n\
         | step | per image | DynamoDB + SQS + S3 | Lambda | API Gateway | CloudWatch Logs | per 1,000 images |\n\
         |---|---|---|---|---|---|---|\n",
        region = prices.region,
        wru = prices.dynamodb_write_unit * 1e6,
        rru = prices.dynamodb_read_unit * 1e6,
        sqs = prices.sqs_request * 1e6,
        s3put = prices.s3_put_request * 1e3,
        s3get = prices.s3_get_request * 1e3,
        gbs = prices.lambda_arm64_gb_second,
        lreq = prices.lambda_request * 1e6,
        api = prices.http_api_request * 1e6,
        logs = LOGS_INGESTION_USD_PER_GB,
    );
    out += &steps[0].0;
    out += &polls.0;
    out += &waited.0;
    for (line, _) in &steps[1..] {
        out += line;
    }
    let bytes = |m: &Measured, times: f64| {
        (
            m.output.emf_bytes as f64 * times,
            m.output.log_bytes as f64 * times,
        )
    };
    let parts = [
        bytes(submit, 1.0),
        bytes(poll, f64::from(POLLS_PER_IMAGE)),
        bytes(worker, 1.0),
        bytes(webhook, 1.0),
        bytes(delivery, 1.0),
    ];
    let (emf, log): (f64, f64) = parts
        .iter()
        .fold((0.0, 0.0), |(e, l), (pe, pl)| (e + pe, l + pl));
    let emf_lines = [submit, worker, webhook, delivery]
        .iter()
        .map(|m| m.output.emf_lines)
        .sum::<u64>()
        + poll.output.emf_lines * u64::from(POLLS_PER_IMAGE);
    let log_lines = [submit, worker, webhook, delivery]
        .iter()
        .map(|m| m.output.log_lines)
        .sum::<u64>()
        + poll.output.log_lines * u64::from(POLLS_PER_IMAGE);
    let usage_wru = worker_usage_writes(worker);
    let (attempt_wru, event_wru) = delivery_writes(delivery);
    out += &format!(
        "| **total, with {POLLS_PER_IMAGE} polls** | | | | | | **{}** |\n\
         | **total, with one waiting request instead** | | | | | | **{}** |\n\n\
         Every 1.1 step is in: the waiting request's row is the long poll's measured reads a \
         waited second ({wait_reads} RRU over {GEMINI_SECONDS:.0} s) and its function's time for \
         the whole wait; the delivery's {delivery_wru} WRU include {attempt_wru} WRU for its \
         attempt record (the delivery log, `DELIVERY#<jobId>#<n>`) and {event_wru} for the \
         event's state (`WEBHOOK#<jobId>`); the worker's {worker_wru} WRU include {usage_wru} WRU \
         for the daily usage item (`USAGE#<day>#<mode>`, the success counted in the finishing \
         transaction){usage_note}. CloudWatch Logs: one image's functions write {emf_lines} EMF \
         metric lines ({emf_bytes} bytes, measured through a counting `shared::metrics` sink) and \
         {log_lines} JSON log lines ({log_bytes} bytes, `tracing` formatted as in Lambda into a \
         counting writer), {logs_usd} per 1,000 images together. Not counted there: Lambda's own \
         platform lines (start, end and report of each invocation) and the request id and \
         timestamp Lambda's JSON log format adds to each line, which this in-process run does \
         not produce. The custom metrics themselves are billed per metric (name and dimension \
         combination) per month, a fixed cost whatever the number of images, so they are not in \
         this table.\n\n\
         Lambda durations are estimates: the handler's own time measured here (in-process, release \
         build) plus an assumed in-region latency of 5 ms per DynamoDB call, 10 ms per SQS call and \
         30 ms per S3 PUT, at the memory template.yaml gives each function; the worker's is \
         dominated by the wait for Gemini, assumed {GEMINI_SECONDS:.0} s ({} per 1,000 images per \
         second of generation at 1024 MB; a batch of several jobs shares one wait). Not included: \
         the SQS event source's empty polls and the sweeper's run every 5 minutes (fixed costs \
         per hour, not per image), S3 storage \
         ($0.023 per GB-month) and transfer out ($0.09 per GB beyond the CDN's free tier), which \
         depend on image size and retention. DynamoDB Streams reads by Lambda are free.\n\n\
         Gemini, separately (the dominant cost; Google's list prices as we recall them from \
         ai.google.dev/gemini-api/docs/pricing: not checked from this machine, which reaches no \
         web page; check them before quoting): about $0.134 per \
         1K/2K image from `gemini-3-pro-image` (final mode) and about $0.067 per 1K image from \
         `gemini-3.1-flash-image` (draft mode), i.e. $134 and $67 per 1,000 images: the AWS bill \
         above is {:.2}% of the draft-mode price (with polls).\n",
        usd(total_polls),
        usd(total_waiting),
        usd(worker_per_second),
        total_polls / 67.0 * 100.0,
        wait_reads = units(wait.reads),
        delivery_wru = units(delivery.tally().units.write),
        attempt_wru = units(attempt_wru),
        event_wru = units(event_wru),
        worker_wru = units(worker.tally().units.write),
        usage_wru = units(usage_wru),
        usage_note = if usage_wru > 0.0 {
            ""
        } else {
            ": none measured, so this run's finishing write reached no usage item"
        },
        emf_bytes = emf.round(),
        log_bytes = log.round(),
        logs_usd = usd((emf + log) / f64::from(1u32 << 30) * LOGS_INGESTION_USD_PER_GB * 1000.0),
    );
    Ok(out)
}

/// Write units (table and indexes) a step put on items whose class
/// contains `what`.
fn writes_on(m: &Measured, what: &str) -> f64 {
    m.calls
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| item_name(&i.pk, &i.sk).contains(what))
        .map(|i| i.write.total())
        .sum()
}

fn worker_usage_writes(worker: &Measured) -> f64 {
    writes_on(worker, "daily usage")
}

/// The delivery's writes on its attempt record and on the event's state.
fn delivery_writes(delivery: &Measured) -> (f64, f64) {
    (
        writes_on(delivery, "delivery attempt"),
        writes_on(delivery, "webhook event state"),
    )
}

/// Writes the scale section right after the cost section: `write_section`
/// appends a section it cannot find at the end of the file, so the first
/// time its empty markers are put after the cost section's end.
fn write_scale_section(text: &str) -> Result<(), BoxError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let current = std::fs::read_to_string(&path)?;
    if !current.contains("<!-- scale:start -->") {
        let end = "<!-- cost:end -->";
        let placed = current.replacen(
            end,
            &format!("{end}\n<!-- scale:start -->\n<!-- scale:end -->"),
            1,
        );
        std::fs::write(&path, placed)?;
    }
    write_section("scale", text)?;
    Ok(())
}

/// A target, its units over one job, and the jobs a second it takes
/// (and whether writes are what stop it).
type Ceiling<'a> = (&'a Target, Load, Option<(f64, bool)>);

/// "2 WRU, 1 RRU" (empty for nothing).
fn load_cell(load: &Load) -> String {
    match (load.write > 0.0, load.read > 0.0) {
        (true, true) => format!("{} WRU, {} RRU", units(load.write), units(load.read)),
        (true, false) => format!("{} WRU", units(load.write)),
        (false, true) => format!("{} RRU", units(load.read)),
        (false, false) => String::new(),
    }
}

fn sharing(target: &Target) -> &'static str {
    match target {
        Target::Item(class) => match class.sharing {
            Sharing::Scope if class.label.contains("minute") => {
                "every job of the (tenant, mode) submitted that minute"
            }
            Sharing::Scope if class.label.contains("month") => {
                "every job of the (tenant, mode) submitted that month"
            }
            Sharing::Scope if class.label.contains("daily") => {
                "every job of the (tenant, mode) submitted that day, per mode"
            }
            Sharing::Scope => "every job of the (tenant, mode)",
            Sharing::Tenant => "every job of the tenant, both modes",
            Sharing::Job => "one job",
            Sharing::Other => "none of the tenant's",
        },
        Target::TablePartition(pk) if pk.contains("<mode>") => "every item of the (tenant, mode)",
        Target::TablePartition(_) => "every item of the tenant",
        Target::IndexPartition { partition, .. } if partition.contains("#STATUS#") => {
            "every job of the (tenant, mode) while in that status"
        }
        Target::IndexPartition { .. } => "every job of the (tenant, mode)",
    }
}

fn jobs_per_second(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Scale on paper: one tenant's ceiling from the units each job puts on
/// its shared items and index partitions, and the service's from the
/// template's settings.
fn scale_section(r: &Report<'_>) -> Result<String, BoxError> {
    let rows = r.rows;
    let submit = find(rows, SUBMIT)?;
    let four = find(rows, SUBMIT_FOUR)?;
    let worker = find(rows, WORKER)?;
    let webhook = find(rows, WEBHOOK)?;
    let delivery = find(rows, DELIVERY)?;
    let life = Attribution::of(&[
        ("submit", submit.calls.as_slice(), 1.0),
        ("worker (claim, finish)", worker.calls.as_slice(), 1.0),
        ("webhook event", webhook.calls.as_slice(), 1.0),
        ("webhook delivery", delivery.calls.as_slice(), 1.0),
    ]);
    let template = Template::read()?;
    let lsi = template.has_local_secondary_indexes();
    let indexes = template.global_secondary_indexes();

    let mut out = format!(
        "## Scale on paper\n\n\
         Written by `make bench-cost` from the units its meter attributes to each item and \
         index partition (`bench/src/meter/items.rs`, by the key formats of \
         `shared/src/store/schema.rs`), summed over one job's life: the plain submit, the \
         worker's claim and finish, the webhook event and one delivered attempt, as measured \
         above (a test-key job, one image, one CDN URL). The polls read only the job's own item \
         and are left out; a list page or usage query is a request, not a job's share.\n\n\
         **The model.** DynamoDB limits each partition to {w:.0} write units and {rd:.0} read units \
         a second (on-demand tables too; past it, `KeyRangeThroughputExceeded`). An item is never \
         split, so one item takes at most that. The table has {lsi_text}, so DynamoDB can split a \
         base-table partition key's items across partitions by sort key (\"split for heat\"): \
         the scope's partition key `TENANT#<tid>#<mode>` is not a limit by itself (its row below \
         is shown for completeness), its items are. For the global secondary indexes ({idx}) \
         the model is the issue's: one index partition key value takes at most {w:.0} write units \
         a second (DynamoDB may split an index partition by sort key too; this does not count \
         on it). Every item of a tenant's jobs is under `TENANT#<tid>#<mode>`: test and live are \
         two scopes with their own counters, windows and index partitions, so each mode has the \
         ceiling below on its own; only the tenant item (`TENANT#<tid>`) is shared by both.\n\n\
         | item or index partition | shared by | {steps} | WRU per job | RRU per job | ceiling, jobs/s |\n\
         |---|---|{dashes}---|---|---|\n",
        w = PARTITION_WRITE_UNITS,
        rd = PARTITION_READ_UNITS,
        lsi_text = if lsi {
            "local secondary indexes (template.yaml): an item collection with an LSI stays on one partition and cannot be split"
        } else {
            "no local secondary index (template.yaml declares none)"
        },
        idx = indexes
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", "),
        steps = life.steps.join(" | "),
        dashes = "---|".repeat(life.steps.len()),
    );
    // Shared targets first, hottest first; then one job's own items.
    let mut targets: Vec<Ceiling<'_>> = life
        .by_target
        .keys()
        .map(|t| {
            let total = life.total(t);
            let ceiling = total.ceiling();
            (t, total, ceiling)
        })
        .collect();
    targets.sort_by(|a, b| {
        let key = |x: &Ceiling<'_>| {
            (
                !x.0.shared(),
                matches!(x.0, Target::TablePartition(_)),
                x.2.map_or(f64::INFINITY, |c| c.0),
            )
        };
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (target, total, ceiling) in &targets {
        let cells: Vec<String> = life.by_target[*target].iter().map(load_cell).collect();
        let ceiling_text = match (target.shared(), ceiling) {
            (false, _) => "— (one job's own item)".to_string(),
            (true, None) => String::new(),
            (true, Some((c, writes))) => {
                let bound = if *writes { "writes" } else { "reads" };
                match target {
                    Target::TablePartition(_) if !lsi => {
                        format!(
                            "({} on {bound}; split for heat: not a limit)",
                            jobs_per_second(*c)
                        )
                    }
                    _ => format!("**{}** ({bound})", jobs_per_second(*c)),
                }
            }
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            target.label(),
            sharing(target),
            cells.join(" | "),
            units(total.write),
            units(total.read),
            ceiling_text,
        );
    }
    // The limits that bind: shared items and index partitions (the base
    // table's partition key only if it cannot be split).
    let binding: Vec<&Ceiling<'_>> = targets
        .iter()
        .filter(|(t, _, c)| {
            t.shared() && c.is_some() && (lsi || !matches!(t, Target::TablePartition(_)))
        })
        .collect();
    let Some(&&(first, ref first_load, Some((ceiling, by_writes)))) = binding.first() else {
        return Err("no shared item took units".into());
    };
    let next: Vec<String> = binding
        .iter()
        .skip(1)
        .take(3)
        .filter_map(|(t, _, c)| c.map(|(c, _)| format!("{} at {}", t.label(), jobs_per_second(c))))
        .collect();
    let images = if same_calls(four, submit) {
        format!(
            " A job of `numberOfImages: 4` writes the same units (measured: its submit is the \
             plain one's), so in images a second the ceiling is 4 × {} = {}.",
            jobs_per_second(ceiling),
            jobs_per_second(4.0 * ceiling)
        )
    } else {
        String::new()
    };
    out += &format!(
        "\n**One tenant's ceiling: {} jobs a second per (tenant, mode)**, set by the {} ({} {} \
         per job against {:.0} a second): it throttles first. Next: {}.{images} The tenant's own \
         `rpm` limit (submits a minute, set by the operator) caps it earlier when lower: {:.0} \
         jobs/s needs `rpm` ≥ {:.0}.\n",
        jobs_per_second(ceiling),
        first.label(),
        units(if by_writes {
            first_load.write
        } else {
            first_load.read
        }),
        if by_writes { "WRU" } else { "RRU" },
        if by_writes {
            PARTITION_WRITE_UNITS
        } else {
            PARTITION_READ_UNITS
        },
        next.join("; "),
        ceiling.floor(),
        (ceiling.floor() * 60.0),
    );
    out += &lifting(r, &binding, ceiling)?;
    out += &service(r, &template, &life)?;
    Ok(out)
}

/// What sharding the hot items would cost, for the rates the tenant's
/// ceiling does not reach.
fn lifting(r: &Report<'_>, binding: &[&Ceiling<'_>], ceiling: f64) -> Result<String, BoxError> {
    let submit = find(r.rows, SUBMIT)?;
    let window_read = reads_of(submit, "rate window");
    let quota = find(r.rows, SUBMIT_WITH_QUOTA)?;
    let month_read = reads_of(quota, "month image counter");
    let page_reads = r
        .list_rows
        .iter()
        .filter(|(label, count, _, _)| *label == "default, 50" && *count == 10_000)
        .map(|(_, _, _, m)| m.tally().units.read)
        .next()
        .unwrap_or(0.0);
    let usage_reads = r
        .usage_rows
        .iter()
        .filter(|(days, count, _, _)| *days == 92 && *count == 10_000)
        .map(|(_, _, _, m)| m.tally().units.read)
        .next()
        .unwrap_or(0.0);
    let mut out = if ceiling < TENANT_TARGET_JOBS_PER_SECOND {
        format!(
            "\nThe ceiling is below {TENANT_TARGET_JOBS_PER_SECOND:.0} jobs/s. What lifts it, \
             item by item (N shards: each of N copies of a counter takes 1/N of the writes; the \
             figures are computed from the measured units, nothing here is built):\n\n"
        )
    } else {
        format!(
            "\nThe ceiling is above the {TENANT_TARGET_JOBS_PER_SECOND:.0} jobs/s the issue asks \
             about: nothing needs lifting for it. For {:.0} jobs/s, what would lift each item below \
             that (N shards: each of N copies takes 1/N of the writes; computed from the measured \
             units, nothing here is built):\n\n",
            TENANT_TARGET_JOBS_PER_SECOND * 10.0
        )
    };
    let goal = if ceiling < TENANT_TARGET_JOBS_PER_SECOND {
        TENANT_TARGET_JOBS_PER_SECOND
    } else {
        TENANT_TARGET_JOBS_PER_SECOND * 10.0
    };
    out += "| item or index partition | ceiling now | shards for the goal | the change | what it costs |\n\
            |---|---|---|---|---|\n";
    for (target, _, c) in binding {
        let Some((now, _)) = c else { continue };
        if *now >= goal {
            continue;
        }
        let n = (goal / now).ceil();
        let label = target.label();
        let (change, cost) = match target {
            Target::Item(class) if class.label.contains("rate window") => (
                format!("`RPM#<minute>#<k>`, k of {n:.0} at random, each counting to `rpm`/{n:.0}"),
                format!(
                    "writes unchanged (one shard a submit); the header's read becomes one \
                     `BatchGetItem` of the {n:.0} shards, strongly consistent: same calls and \
                     round trips, {} RRU instead of {} a submit; `X-RateLimit-Remaining` stays \
                     exact, the limit is enforced per shard (a submit may be refused while \
                     another shard has room)",
                    units(n * window_read),
                    units(window_read)
                ),
            ),
            Target::Item(class) if class.label.contains("concurrency") => (
                format!(
                    "`COUNTERS#<k>`, k of {n:.0} at random, each holding `maxConcurrency`/{n:.0} \
                     slots; the job records its k so the worker gives the slot back there"
                ),
                "writes and calls unchanged; a full shard refuses while another has room, and \
                 a retry on the next shard is another transaction (its WRU again); the audit's \
                 recount reads N items"
                    .to_string(),
            ),
            Target::Item(class) if class.label.contains("month") => (
                format!("`QUOTA#<YYYY-MM>#<k>`, k of {n:.0}, each `quota`/{n:.0}"),
                format!(
                    "writes unchanged; with a quota the header's read becomes a `BatchGetItem` \
                     of {n:.0}: {} RRU instead of {} (same calls and round trips)",
                    units(n * month_read),
                    units(month_read)
                ),
            ),
            Target::Item(class) if class.label.contains("daily usage") => (
                format!("`USAGE#<day>#<mode>#<k>`, k of {n:.0}"),
                format!(
                    "nothing on the submit; the finishing write unchanged; a usage query reads \
                     {n:.0}× the items: at most {} RRU for 92 days instead of {}",
                    units(n * usage_reads),
                    units(usage_reads)
                ),
            ),
            Target::IndexPartition { index, .. } => (
                format!(
                    "a shard suffix on `{index}`'s partition key (`…#<k>`, k of {n:.0}, from \
                     the job id)"
                ),
                format!(
                    "nothing on the submit (same item, same WRU); a list page becomes {n:.0} \
                     queries side by side ({n:.0} calls, one round trip), merged: up to {} RRU \
                     instead of {} for a 50-job page",
                    units(n * page_reads),
                    units(page_reads)
                ),
            ),
            _ => (
                "an item of its own per shard".to_string(),
                "computed for the items above only".to_string(),
            ),
        };
        out += &format!(
            "| {label} | {} | {n:.0} | {change} | {cost} |\n",
            jobs_per_second(*now)
        );
    }
    Ok(out)
}

/// The whole service's bounds, from template.yaml's settings and the
/// measured units and durations.
fn service(r: &Report<'_>, template: &Template, life: &Attribution) -> Result<String, BoxError> {
    let rows = r.rows;
    let prices = r.prices;
    let worker = find(rows, WORKER)?;
    let delivery = find(rows, DELIVERY)?;
    let submit = find(rows, SUBMIT)?;
    let number = |v: Option<String>, what: &str| -> Result<f64, BoxError> {
        v.and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("template.yaml: no {what}").into())
    };
    let worker_param = template
        .resource_parameter("WorkerFunction", "MaximumConcurrency")
        .ok_or("template.yaml: the worker's MaximumConcurrency names no parameter")?;
    let worker_max = number(
        template.resource_field("WorkerFunction", "MaximumConcurrency"),
        "worker MaximumConcurrency",
    )?;
    let worker_max_allowed = number(
        template.parameter(&worker_param, "MaxValue"),
        "the worker's MaxValue",
    )?;
    let worker_batch = number(
        template.resource_field("WorkerFunction", "BatchSize"),
        "worker BatchSize",
    )?;
    let sender_max = number(
        template.resource_field("WebhookSenderFunction", "MaximumConcurrency"),
        "sender MaximumConcurrency",
    )?;
    let sender_batch = number(
        template.resource_field("WebhookSenderFunction", "BatchSize"),
        "sender BatchSize",
    )?;
    let sender_timeout = number(
        template.resource_field("WebhookSenderFunction", "WEBHOOK_TIMEOUT_SECONDS"),
        "WEBHOOK_TIMEOUT_SECONDS",
    )?;
    let submit_rate = number(
        template.parameter("SubmitThrottleRateLimit", "Default"),
        "SubmitThrottleRateLimit",
    )?;
    let submit_burst = number(
        template.parameter("SubmitThrottleBurstLimit", "Default"),
        "SubmitThrottleBurstLimit",
    )?;
    let reserved: Vec<String> = [
        "WorkerReservedConcurrency",
        "WebhooksReservedConcurrency",
        "WebhookSenderReservedConcurrency",
        "HttpFunctionReservedConcurrency",
    ]
    .iter()
    .map(|p| {
        format!(
            "`{p}` {}",
            template
                .parameter(p, "Default")
                .unwrap_or_else(|| "?".into())
        )
    })
    .collect();

    // Seconds one invocation is billed, as the cost table estimates them.
    let billed = |m: &Measured, outside: f64| -> f64 {
        let latency: Duration = m.calls.iter().map(assumed_aws_latency).sum();
        m.own.as_secs_f64() + latency.as_secs_f64() + outside
    };
    let worker_seconds = billed(worker, GEMINI_SECONDS);
    let in_flight = worker_max * worker_batch;
    let worker_jobs = in_flight / worker_seconds;
    let worker_jobs_max = worker_max_allowed * worker_batch / worker_seconds;
    let delivery_seconds = billed(delivery, 0.0);
    let sender_in_flight = sender_max * sender_batch;
    // Concurrency one job a second holds: each function's billed seconds
    // per job (the worker's shared by a full batch, or not).
    let http_seconds =
        billed(submit, 0.0) + f64::from(POLLS_PER_IMAGE) * billed(find(rows, GET_SUCCEEDED)?, 0.0);
    let pipeline_seconds = billed(find(rows, WEBHOOK)?, 0.0) + delivery_seconds;
    let per_job_full = http_seconds + pipeline_seconds + worker_seconds / worker_batch;
    let per_job_single = http_seconds + pipeline_seconds + worker_seconds;
    let wru_per_job: f64 = life
        .by_target
        .iter()
        .filter(|(t, _)| matches!(t, Target::TablePartition(_) | Target::IndexPartition { .. }))
        .map(|(t, _)| life.total(t).write)
        .sum();
    let bounds = [
        (
            format!(
                "the worker's SQS event source: `MaximumConcurrency` {worker_max:.0} \
                 (`{worker_param}`'s default; at most {worker_max_allowed:.0}) × `BatchSize` \
                 {worker_batch:.0} (a batch's jobs run at once) = {in_flight:.0} jobs in flight, \
                 each {worker_seconds:.1} s (the assumed {GEMINI_SECONDS:.0} s of Gemini and the \
                 measured rest)"
            ),
            worker_jobs,
        ),
        (
            format!(
                "API Gateway's submit route: `SubmitThrottleRateLimit` {submit_rate:.0}/s (burst \
                 {submit_burst:.0}), the template's default"
            ),
            submit_rate,
        ),
        (
            format!(
                "the webhook sender: `MaximumConcurrency` {sender_max:.0} × `BatchSize` \
                 {sender_batch:.0} = {sender_in_flight:.0} deliveries in flight, each \
                 {delivery_seconds:.3} s as measured against a receiver that answers at once \
                 (a receiver taking the whole {sender_timeout:.0} s timeout: {:.0} deliveries/s)",
                sender_in_flight / sender_timeout
            ),
            sender_in_flight / delivery_seconds,
        ),
        (
            format!(
                "Lambda's account concurrency, {ACCOUNT_CONCURRENCY:.0} by default (a quota AWS \
                 raises on request; reserved concurrency in the template: {}, i.e. none by \
                 default): one job a second holds {per_job_full:.1} concurrent executions with \
                 full worker batches ({per_job_single:.1} with one job a batch)",
                reserved.join(", ")
            ),
            ACCOUNT_CONCURRENCY / per_job_full,
        ),
        (
            format!(
                "DynamoDB's default on-demand throughput per table, {TABLE_WRITE_QUOTA:.0} write \
                 units a second (as we recall AWS's default quota; not checked from this \
                 machine), at {} WRU per job (table and indexes)",
                units(wru_per_job)
            ),
            TABLE_WRITE_QUOTA / wru_per_job,
        ),
    ];
    let mut out = String::from(
        "\n### The service\n\n\
         Bounds of the whole service at the template's defaults (template.yaml, read by the \
         benchmark) and the assumed generation time:\n\n\
         | bound | jobs/s |\n|---|---|\n",
    );
    for (what, jobs) in &bounds {
        out += &format!("| {what} | {} |\n", jobs_per_second(*jobs));
    }
    out += "| SQS standard queues (jobs, deliveries): AWS documents a nearly unlimited number of \
            API calls a second per action | — |\n\
            | Gemini: the Google Cloud project's quota per model (images or requests a minute, by \
            tier), which must be looked up for the project (this machine reaches no web page); a \
            job of `numberOfImages` n makes n calls at once, so jobs/s = the quota a minute / 60 / n \
            | look up |\n";
    let Some((what, lowest)) = bounds
        .iter()
        .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
    else {
        return Err("no service bound".into());
    };
    let cost_at = |jobs: f64| {
        usd(jobs * 3600.0 * worker.lambda_usd(prices, Duration::from_secs_f64(GEMINI_SECONDS)))
    };
    out += &format!(
        "\n**The service's ceiling at the defaults: {} jobs/s**, set by {}; Gemini's quota may \
         be lower and must be checked. Raising `{worker_param}` to its maximum, \
         {worker_max_allowed:.0}, allows {} jobs/s through the worker, where Lambda's default \
         account concurrency ({:.0} jobs/s) and the submit route's throttle ({submit_rate:.0}/s) \
         bind next (worker time at {} jobs/s: {} an hour). The tenant's ceiling above is per \
         (tenant, mode); the service's is for all tenants together.\n",
        jobs_per_second(*lowest),
        what.split(':').next().unwrap_or(what),
        jobs_per_second(worker_jobs_max),
        ACCOUNT_CONCURRENCY / per_job_full,
        jobs_per_second(*lowest),
        cost_at(*lowest),
    );
    Ok(out)
}
