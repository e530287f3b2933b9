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
use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::Event;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use bench::api::{ApiRequest, InProcessApi};
use bench::meter::prices::{Prices, Tally, US_EAST_1};
use bench::meter::{Call, Meter, Service};
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
        let (out, m) = self.meter.measure(operation).await?;
        let measured = Measured {
            name: name.into(),
            function,
            own: m.own,
            calls: m.calls,
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
    bench::discard_metrics();
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

    let report = report(
        &rows,
        &list_rows,
        &usage_rows,
        &US_EAST_1,
        started.elapsed(),
    )?;
    println!("{report}");
    write_section("cost", &report)?;
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

fn report(
    rows: &[Measured],
    list_rows: &[(&str, usize, usize, Measured)],
    usage_rows: &[(i64, usize, u64, Measured)],
    prices: &Prices,
    took: Duration,
) -> Result<String, BoxError> {
    // The targets: at most two calls for a (warm) submit, a get and
    // a cancel.
    let target = |name: &str, calls: u32| -> &str {
        let targeted = [SUBMIT, GET_QUEUED, GET_SUCCEEDED, CANCEL].contains(&name);
        match (targeted, calls <= 2) {
            (false, _) => "",
            (true, true) => "≤ 2 calls: met",
            (true, false) => "≤ 2 calls: **missed**",
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
         to AWS. \
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
         transaction. Rules and sources: `bench/src/meter/capacity.rs`. The key look-up is \
         cached (warm function); jobs have an 82-character prompt and, once finished, one CDN \
         result URL, as in production.\n\n\
         | operation | AWS calls | round trips | calls and their units | RRU | WRU | DynamoDB + SQS + S3 per 1,000 | target |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
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
            target(&row.name, t.calls()),
        );
    }

    out += "\n**List page** (`GET /v1/jobs`, one index query of `limit + 1` items) by the \
            tenant's total number of jobs:\n\n\
            | page | jobs in tenant | items returned | AWS calls | RRU | DynamoDB per 1,000 |\n\
            |---|---|---|---|---|---|\n";
    for (label, count, items, m) in list_rows {
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
            list_rows
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
    for (days, count, counted, m) in usage_rows {
        let t = m.tally();
        out += &format!(
            "| {days} days | {count} | {counted} | {} | {} | {} |\n",
            t.calls(),
            units(t.units.read),
            usd(t.usd(prices) * 1000.0)
        );
    }
    let usage_read = |days: i64, count: usize| {
        usage_rows
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
        .chain(list_rows.iter().map(|(_, _, _, m)| m))
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

/// Why a submit makes three calls, and what a first submit with an
/// `Idempotency-Key` adds.
fn submit_gap(rows: &[Measured], prices: &Prices) -> Result<String, BoxError> {
    let submit = find(rows, SUBMIT)?;
    let keyed = find(rows, SUBMIT_WITH_KEY)?;
    let replayed = find(rows, REPLAY)?;
    let quota = find(rows, SUBMIT_WITH_QUOTA)?;
    let read_units = |m: &Measured| -> f64 {
        m.calls
            .iter()
            .filter(|c| c.operation == "GetItem")
            .filter_map(|c| c.units)
            .map(|u| u.read)
            .sum()
    };
    let write_units = |m: &Measured| -> f64 {
        m.calls
            .iter()
            .filter(|c| c.operation == "TransactWriteItems")
            .filter_map(|c| c.units)
            .map(|u| u.write)
            .sum()
    };
    let calls = submit.tally().calls();
    let window_read = read_units(submit);
    Ok(format!(
        "\n**Submit: {calls} calls in {trips} round trips; the target of 2 calls is {verdict}.** \
         The transaction (rate window, tenant counter, job, the month's image counter: {tx} WRU, \
         the table writes doubled by the transaction and the job entered in both listing \
         indexes) and the queue send are the \
         two the target allows. The third is a strongly consistent `GetItem` of the tenant's rate \
         window: every generate response must carry an exact `X-RateLimit-Remaining`, and \
         `TransactWriteItems` returns no values, so the count this submit left can only be read \
         back; the generate handler reads it while the message is sent, so it adds no round trip. \
         Alternatives considered: moving the window out of the transaction into an `UpdateItem` \
         that returns the new count is still three calls, and gives up the all-or-nothing \
         admission. Conditioning the transaction on the count a warm function last saw \
         (`count = n`, so that success means exactly n + 1) makes two calls only while one \
         function instance submits for the tenant; concurrent submits, the case the limits exist \
         for, would cancel each other and retry, more calls and more latency than one read. An \
         inexact header (or none) would break the contract. The read costs {window_read} RRU, \
         {read_usd} per 1,000 submits, and no latency: the gap is explained, not fixed.\n\n\
         A first submit with an `Idempotency-Key` makes {keyed_calls} calls ({keyed_trips} round \
         trips): the handler first reads the key's record, so that a replay is answered without a \
         transaction; the transaction's own condition on that record would catch a reused key \
         anyway, so a first submit could skip the read ({read_usd} per 1,000 and one round trip) \
         at the price of a canceled transaction on every replay. The transaction grows by the \
         idempotency record to {keyed_tx} WRU. A replay reads three items: the key's record, then \
         the job and the rate window side by side ({replay_trips} round trips).\n\n\
         **With a monthly image quota** a submit makes {quota_calls} calls in {quota_trips} round \
         trips ({quota_breakdown}): the same transaction, whose month-counter update is then \
         conditioned on the quota (so the quota holds exactly under concurrent submits), and a \
         second strongly consistent `GetItem`, of the month counter, for `X-Quota-Remaining`, \
         sent beside the rate window's read and the queue send: no extra round trip, \
         {quota_read_usd} more per 1,000 submits. A tenant without a quota reads no counter; its \
         transaction still counts the month's images (so a quota set mid-month counts the month \
         so far).\n",
        trips = bench::meter::round_trips(&submit.calls),
        verdict = if calls <= 2 { "met" } else { "missed" },
        tx = units(write_units(submit)),
        window_read = units(window_read),
        read_usd = usd(window_read * prices.dynamodb_read_unit * 1000.0),
        keyed_calls = keyed.tally().calls(),
        keyed_trips = bench::meter::round_trips(&keyed.calls),
        keyed_tx = units(write_units(keyed)),
        replay_trips = bench::meter::round_trips(&replayed.calls),
        quota_calls = quota.tally().calls(),
        quota_trips = bench::meter::round_trips(&quota.calls),
        quota_breakdown = quota.breakdown(),
        quota_read_usd =
            usd((read_units(quota) - window_read) * prices.dynamodb_read_unit * 1000.0),
    ))
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
    Ok(format!(
        "\n**Waiting** (`Prefer: wait` on submit, `?wait=N` on get): the long poll above read the \
         job {extra_calls} more times than a plain get in its {LONG_POLL_SECS} s, eventually \
         consistent (100 ms after the start, then doubling gaps to one a second): {per_second} \
         read units per waited second (target ≤ 2: {verdict}), {read_usd} per 1,000 waited \
         seconds; the function's time while it waits is {lambda_usd} per 1,000 waited seconds at \
         {mb} MB. A waiting request holds no concurrency slot and writes nothing.\n",
        per_second = units(extra_reads / seconds),
        verdict = if extra_reads / seconds <= 2.0 {
            "met"
        } else {
            "missed"
        },
        read_usd = usd(extra_reads / seconds * prices.dynamodb_read_unit * 1000.0),
        lambda_usd = usd(lambda_second * 1000.0),
        mb = (poll.function.memory_gb() * 1024.0).round(),
    ))
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
    let step = |label: &str, m: &Measured, per_image: f64, lambda: f64, extra_aws: f64| {
        let aws = m.tally().usd(prices) + extra_aws;
        let total = per_image * (aws + lambda + api_gateway(m)) * 1000.0;
        (
            format!(
                "| {label} | {per_image:.0} | {} | {} | {} | {} |\n",
                usd(per_image * aws * 1000.0),
                usd(per_image * lambda * 1000.0),
                usd(per_image * api_gateway(m) * 1000.0),
                usd(total)
            ),
            total,
        )
    };
    let steps = [
        step(
            "submit",
            submit,
            1.0,
            submit.lambda_usd(prices, Duration::ZERO),
            0.0,
        ),
        step(
            "poll (get)",
            poll,
            f64::from(POLLS_PER_IMAGE),
            poll.lambda_usd(prices, Duration::ZERO),
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
            "webhook delivery (+ the SQS event source's receive and delete)",
            delivery,
            1.0,
            delivery.lambda_usd(prices, Duration::ZERO),
            f64::from(EVENT_SOURCE_SQS_REQUESTS) * prices.sqs_request,
        ),
    ];
    let total: f64 = steps.iter().map(|(_, t)| t).sum();
    let worker_per_second = worker.function.memory_gb() * prices.lambda_arm64_gb_second * 1000.0;
    let mut out = format!(
        "\n### Per 1,000 images\n\n\
         One image: a submit, {POLLS_PER_IMAGE} polls, the worker's job and the webhook. Prices \
         ({region}, on-demand, first tier): DynamoDB ${wru:.3} per million write and ${rru:.3} per \
         million read request units (the prices since the 1 November 2024 cut, half the earlier \
         ones); SQS ${sqs:.2} per million requests (64 KB chunks); S3 ${s3put:.3} per 1,000 PUT and \
         ${s3get:.4} per 1,000 GET requests; Lambda arm64 ${gbs} per GB-second and ${lreq:.2} per \
         million requests; API Gateway HTTP API ${api:.2} per million requests.\n\n\
         | step | per image | DynamoDB + SQS + S3 | Lambda | API Gateway | per 1,000 images |\n\
         |---|---|---|---|---|---|\n",
        region = prices.region,
        wru = prices.dynamodb_write_unit * 1e6,
        rru = prices.dynamodb_read_unit * 1e6,
        sqs = prices.sqs_request * 1e6,
        s3put = prices.s3_put_request * 1e3,
        s3get = prices.s3_get_request * 1e3,
        gbs = prices.lambda_arm64_gb_second,
        lreq = prices.lambda_request * 1e6,
        api = prices.http_api_request * 1e6,
    );
    for (line, _) in &steps {
        out += line;
    }
    out += &format!(
        "| **total** | | | | | **{}** |\n\n\
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
         above is {:.2}% of the draft-mode price.\n",
        usd(total),
        usd(worker_per_second),
        total / 67.0 * 100.0,
    );
    Ok(out)
}
