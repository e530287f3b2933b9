//! Benchmark (not a test): each handler's own time, and the local stack
//! under load.
//!
//! 1. In-process: every route's handler is called through the local router
//!    on an `App` whose AWS clients are metered (`bench::meter`), one
//!    request at a time; a request's wall time less the time inside its AWS
//!    calls is the handler's own overhead.
//! 2. Over HTTP: the dev-server release binary (what `make dev` runs, its
//!    worker and stream reader included) against its own moto, loaded by
//!    `wrk` with 1, 8 and 32 connections per route; the CPU each process
//!    used during a run shows who bounds the throughput.
//!
//! `make bench-load` builds the binaries, installs wrk if missing and runs it.

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bench::api::{ApiCallError, ApiRequest, InProcessApi};
use bench::meter::Meter;
use bench::wrk::{self, Load, Summary};
use bench::{
    exited_children_cpu, load_average, machine, process_cpu, wait_for_port, write_section,
};
use devstack::moto::{Moto, free_port};
use devstack::provision::seed_tenant;
use devstack::{Stack, StackOptions};
use shared::App;
use shared::domain::TenantLimits;
use shared::store::Store;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TENANT_ID: &str = "cbenchload000000000000000";
const API_KEY: &str = "img_test_bench_load_0001";
/// Limits no run reaches, so every submit is admitted.
const LIMITS: TenantLimits = TenantLimits {
    rpm: 1_000_000,
    max_concurrency: 1_000_000,
    monthly_image_quota: None,
};
const SUBMIT_BODY: &str =
    r#"{"prompt":"A lighthouse on a rocky coast at dusk, oil painting","mode":"draft"}"#;
/// Requests per route in the in-process measurement.
const ITERATIONS: usize = 200;
/// Fewer for the list page: moto takes about 75 ms to serve one.
const LIST_ITERATIONS: usize = 50;
const CONNECTIONS: [u32; 3] = [1, 8, 32];
const RUN: Duration = Duration::from_secs(10);

#[tokio::main]
#[expect(
    clippy::large_futures,
    reason = "a benchmark's one-off future on the main stack"
)]
async fn main() -> Result<(), BoxError> {
    bench::discard_metrics();
    let dev_server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/dev-server");
    if !dev_server.exists() {
        return Err(
            "build the dev server first: cargo build --release -p devstack --bin dev-server (make bench-load does)"
                .into(),
        );
    }
    let started = Instant::now();
    let busy = load_average();
    let moto = Moto::start(free_port()?).await?;
    let routes = handler_overhead(&moto.endpoint).await?;
    for r in &routes {
        println!(
            "{:<26} own {:>6.0} µs median, AWS {:>5.1} ms median",
            r.route,
            r.own_us().0,
            r.aws_ms()
        );
    }
    let runs = load_test(&moto, &dev_server).await?;
    moto.stop().await;

    let report = report(&routes, &runs, busy, started.elapsed());
    println!("{report}");
    write_section("load", &report)?;
    Ok(())
}

/// One request's time, split.
#[derive(Clone, Copy)]
struct Sample {
    own: Duration,
    aws: Duration,
    calls: usize,
    round_trips: usize,
}

struct RouteTimes {
    route: &'static str,
    samples: Vec<Sample>,
}

impl RouteTimes {
    /// Median and 90th percentile of the handler's own time, in µs.
    fn own_us(&self) -> (f64, f64) {
        let mut own: Vec<Duration> = self.samples.iter().map(|s| s.own).collect();
        let (median, p90) = bench::median_p90_ms(&mut own);
        (median * 1e3, p90 * 1e3)
    }

    fn aws_ms(&self) -> f64 {
        let mut aws: Vec<Duration> = self.samples.iter().map(|s| s.aws).collect();
        bench::median_p90_ms(&mut aws).0
    }

    /// The share of the requests' total time spent inside AWS calls.
    fn aws_share(&self) -> f64 {
        let aws: Duration = self.samples.iter().map(|s| s.aws).sum();
        let own: Duration = self.samples.iter().map(|s| s.own).sum();
        aws.as_secs_f64() / (aws + own).as_secs_f64()
    }

    /// Calls per request, and round trips per request (calls made side by
    /// side count once).
    fn calls(&self) -> (f64, f64) {
        let mean = |f: fn(&Sample) -> usize| {
            self.samples.iter().map(f).sum::<usize>() as f64 / self.samples.len() as f64
        };
        (mean(|s| s.calls), mean(|s| s.round_trips))
    }
}

/// Times one request: its wall time, less the time inside its AWS calls.
async fn timed<T>(
    meter: &Meter,
    request: impl Future<Output = Result<T, ApiCallError>>,
) -> Result<(T, Sample), ApiCallError> {
    let (out, m) = meter.measure(request).await?;
    Ok((
        out,
        Sample {
            own: m.own,
            aws: m.aws,
            calls: m.calls.len(),
            round_trips: bench::meter::round_trips(&m.calls),
        },
    ))
}

#[expect(
    clippy::large_futures,
    reason = "a benchmark's futures on the main stack; boxing them would add an allocation to what it measures"
)]
async fn handler_overhead(endpoint: &str) -> Result<Vec<RouteTimes>, BoxError> {
    // Written to nowhere; set once per process.
    let _ = bench::lambda_logging(std::io::sink);
    let stack = Stack::provision(endpoint, StackOptions::named("overhead")).await?;
    seed_tenant(&stack.app.store, TENANT_ID, "bench", API_KEY, LIMITS).await?;
    let meter = Meter::timing();
    let app = App::new(&meter.instrument(&stack.sdk), stack.app.config.clone());
    let api = InProcessApi::new(&app, API_KEY);
    // Warm: the key is cached, connections are open.
    api.expect(ApiRequest::get("/v1/jobs/cwarmup0000000000000000000"), 404)
        .await?;

    let mut health = RouteTimes {
        route: "GET /health",
        samples: Vec::new(),
    };
    let mut submit = RouteTimes {
        route: "POST /v1/images/generate",
        samples: Vec::new(),
    };
    let mut get = RouteTimes {
        route: "GET /v1/jobs/{id}",
        samples: Vec::new(),
    };
    let mut list = RouteTimes {
        route: "GET /v1/jobs (50 items)",
        samples: Vec::new(),
    };
    let mut cancel = RouteTimes {
        route: "DELETE /v1/jobs/{id}",
        samples: Vec::new(),
    };
    let mut jobs = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let (_, s) = timed(&meter, api.expect(ApiRequest::get("/health"), 200)).await?;
        health.samples.push(s);
        let (id, s) = timed(&meter, api.submit(SUBMIT_BODY, None)).await?;
        submit.samples.push(s);
        jobs.push(format!("/v1/jobs/{id}"));
    }
    for path in &jobs {
        let (_, s) = timed(&meter, api.expect(ApiRequest::get(path), 200)).await?;
        get.samples.push(s);
    }
    for _ in 0..LIST_ITERATIONS {
        let (_, s) = timed(&meter, api.expect(ApiRequest::get("/v1/jobs"), 200)).await?;
        list.samples.push(s);
    }
    for path in &jobs {
        let (_, s) = timed(&meter, api.expect(ApiRequest::delete(path), 200)).await?;
        cancel.samples.push(s);
    }
    Ok(vec![health, submit, get, list, cancel])
}

/// One wrk run and the CPU each process used meanwhile.
struct LoadRun {
    route: &'static str,
    connections: u32,
    summary: Summary,
    server_cpu: Duration,
    moto_cpu: Duration,
    wrk_cpu: Duration,
}

/// The dev server, a child of this process that the kernel also stops if
/// this process dies.
fn spawn_dev_server(
    binary: &PathBuf,
    endpoint: &str,
    port: u16,
) -> std::io::Result<tokio::process::Child> {
    let mut command = tokio::process::Command::from(devstack::moto::dying_with_parent(binary));
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        // Lambda's default: a key look-up is trusted for 60 s.
        .env("AUTH_CACHE_TTL_SECONDS", "60")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command.spawn()
}

async fn load_test(moto: &Moto, dev_server: &PathBuf) -> Result<Vec<LoadRun>, BoxError> {
    let port = free_port()?;
    let mut server = spawn_dev_server(dev_server, &moto.endpoint, port)?;
    wait_for_port(port).await?;
    let (server_pid, moto_pid) = (
        server.id().ok_or("the dev server exited")?,
        moto.pid().ok_or("moto exited")?,
    );
    // The bench tenant, in the dev server's table.
    let sdk = devstack::resources::sdk_for(&moto.endpoint).await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        StackOptions::named("imagesaas").table,
    );
    seed_tenant(&store, TENANT_ID, "load", API_KEY, LIMITS).await?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().no_proxy().build()?;
    let created = http
        .post(format!("{base}/v1/images/generate"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(SUBMIT_BODY)
        .send()
        .await?
        .text()
        .await?;
    let job: serde_json::Value = serde_json::from_str(&created)?;
    let job_id = job["jobId"]
        .as_str()
        .ok_or("the submit returned no jobId")?;

    let authorization = Some(format!("Bearer {API_KEY}"));
    // The submits run last: the dev server's worker renders every job they
    // create, and would weigh on the other routes' runs.
    let scenarios = [
        ("GET /health", "GET", "/health".to_string(), None),
        (
            "GET /v1/jobs/{id}",
            "GET",
            format!("/v1/jobs/{job_id}"),
            None,
        ),
        (
            "POST /v1/images/generate",
            "POST",
            "/v1/images/generate".to_string(),
            Some(SUBMIT_BODY.to_string()),
        ),
    ];
    let mut runs = Vec::new();
    for (route, method, path, body) in scenarios {
        for connections in CONNECTIONS {
            let load = Load {
                url: format!("{base}{path}"),
                method,
                body: body.clone(),
                authorization: authorization.clone(),
                connections,
                duration: RUN,
            };
            let cpu = || {
                (
                    process_cpu(server_pid).unwrap_or_default(),
                    process_cpu(moto_pid).unwrap_or_default(),
                    exited_children_cpu(),
                )
            };
            let before = cpu();
            let summary = wrk::run(&load).await?;
            let after = cpu();
            println!(
                "{route:<26} c={connections:<3} {:>7.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                summary.requests_per_second(),
                summary.p50_us as f64 / 1e3,
                summary.p99_us as f64 / 1e3,
                summary.errors()
            );
            runs.push(LoadRun {
                route,
                connections,
                summary,
                server_cpu: after.0.saturating_sub(before.0),
                moto_cpu: after.1.saturating_sub(before.1),
                wrk_cpu: after.2.saturating_sub(before.2),
            });
        }
    }
    stop(&mut server).await;
    Ok(runs)
}

/// SIGTERM (the dev server stops its tasks and exits), then SIGKILL if it
/// lingers.
async fn stop(server: &mut tokio::process::Child) {
    if let Some(pid) = server.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(5), server.wait())
        .await
        .is_err()
    {
        let _ = server.kill().await;
    }
}

fn report(routes: &[RouteTimes], runs: &[LoadRun], busy: Option<f64>, took: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut out = format!(
        "## Latency and throughput of the local stack\n\n\
         `make bench-load` (release builds). Machine: {machine}, shared with other engineers' \
         work (1-minute load average {busy} when the benchmark started), so the figures are \
         indicative.\n\n\
         ### Handler overhead\n\n\
         Each route's handler, called in-process through the local router (the request shaped as \
         API Gateway hands it to the function), {ITERATIONS} times one after another ({LIST_ITERATIONS} \
         for the list page), with the \
         key look-up cached (warm function) and Lambda's JSON logging on (written to a sink). \
         **Own time** is a request's wall time less the time inside its AWS calls, measured by the \
         call meter around each HTTP exchange with moto: it is routing, parsing, validation, \
         serialization and signing of the SDK requests, response building and logging. The list \
         page holds 50 jobs.\n\n\
         | route | own time, median | own time, p90 | AWS calls (round trips) | waiting on moto, median | share of time waiting on moto |\n\
         |---|---|---|---|---|---|\n",
        machine = machine(),
        busy = busy.map_or("unknown".to_string(), |l| format!("{l:.1}")),
    );
    for r in routes {
        let (median, p90) = r.own_us();
        let (calls, trips) = r.calls();
        out += &format!(
            "| {} | {median:.0} µs | {p90:.0} µs | {calls:.0} ({trips:.0}) | {:.2} ms | {:.0}% |\n",
            r.route,
            r.aws_ms(),
            r.aws_share() * 100.0
        );
    }
    out += &format!(
        "\n### Under load\n\n\
         The dev-server release binary (what `make dev` runs: every route on one port, the worker \
         draining the queue and the stream reader feeding webhooks, all in one process) against \
         its own moto, loaded by `wrk` (Debian's 4.1.0; `bench/wrk.lua`) for {run} s per \
         row with keep-alive connections; one tenant, key cached for 60 s as in Lambda, limits \
         high enough that nothing is refused. **CPU** is each process's CPU time during the run, \
         as a share of the machine's {cores:.0} cores.\n\n\
         | route | connections | requests/s | p50 | p99 | errors | CPU: server | CPU: moto | CPU: wrk |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        run = RUN.as_secs(),
    );
    for run in runs {
        let seconds = run.summary.duration_us as f64 / 1e6;
        let share = |d: Duration| d.as_secs_f64() / (seconds * cores) * 100.0;
        out += &format!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.0}% | {:.0}% | {:.0}% |\n",
            run.route,
            run.connections,
            run.summary.requests_per_second(),
            run.summary.p50_us as f64 / 1e3,
            run.summary.p99_us as f64 / 1e3,
            run.summary.errors(),
            share(run.server_cpu),
            share(run.moto_cpu),
            share(run.wrk_cpu),
        );
    }
    out += &bounds(routes, runs);
    out += &format!("\nThe benchmark took {:.0} s.\n", took.as_secs_f64());
    out
}

/// What the figures say bounds the local stack.
fn bounds(routes: &[RouteTimes], runs: &[LoadRun]) -> String {
    let cores_used =
        |run: &LoadRun, cpu: Duration| cpu.as_secs_f64() / (run.summary.duration_us as f64 / 1e6);
    let aws_runs = || runs.iter().filter(|r| r.route != "GET /health");
    let max = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0_f64, f64::max);
    let moto = max(&mut aws_runs().map(|r| cores_used(r, r.moto_cpu)));
    let server = max(&mut aws_runs().map(|r| cores_used(r, r.server_cpu)));
    let health = runs
        .iter()
        .filter(|r| r.route == "GET /health")
        .max_by(|a, b| {
            a.summary
                .requests_per_second()
                .total_cmp(&b.summary.requests_per_second())
        });
    let route = |name: &str| routes.iter().find(|r| r.route == name);
    let submit_over_http = runs
        .iter()
        .find(|r| r.route == "POST /v1/images/generate" && r.connections == 1);
    let mut out = format!(
        "\nWhat bounds it: moto. During the runs that touch AWS, moto used up to {moto:.2} of a \
         core and the server at most {server:.2}: moto is one Python process, and \
         `devstack/moto_server.py` serializes its DynamoDB calls behind one lock, so about one core's \
         worth of emulator is all any number of connections gets; more connections only queue \
         (p50 grows with them, requests/s barely does). "
    );
    if let Some(get) = route("GET /v1/jobs/{id}") {
        out += &format!(
            "In-process, {:.0}% of a get's time is the wait for moto. ",
            get.aws_share() * 100.0
        );
    }
    if let Some(h) = health {
        out += &format!(
            "`/health`, which calls nothing, shows the server's own ceiling on this machine: \
             {:.0} requests/s at {} connections, with wrk itself taking {:.2} of a core. ",
            h.summary.requests_per_second(),
            h.connections,
            cores_used(h, h.wrk_cpu)
        );
    }
    if let (Some(http), Some(inproc)) = (submit_over_http, route("POST /v1/images/generate")) {
        out += &format!(
            "A submit over HTTP at one connection ({:.1} ms median) takes longer than in-process \
             ({:.1} ms in moto): meanwhile the dev server's worker runs every submitted job (claim, \
             upload, finish: more calls to the same moto) and its stream reader polls moto ten \
             times a second. ",
            http.summary.p50_us as f64 / 1e3,
            inproc.aws_ms()
        );
    }
    out += "None of this predicts Lambda, where each request has its own execution environment \
            and DynamoDB answers in single-digit milliseconds: the handler overhead above is the \
            part that carries over.\n";
    out
}
