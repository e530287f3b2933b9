//! Benchmark (not a test): cold starts of every function binary under a
//! Lambda Runtime API implemented here, next to a minimal Node.js handler
//! started the same way.
//!
//! For each start: process spawn → first `GET …/invocation/next` (init), and
//! → first `POST …/response` (first response), over RUNS starts; median and
//! p90 go to BENCHMARKS.md. Functions that touch AWS run against moto with
//! the dev tenant and the sample jobs seeded, fed the files in `events/`.
//!
//! `make bench-coldstart` builds the release binaries first.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::{machine, median_p90_ms, write_section};
use devstack::moto::{Moto, free_port};
use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_sample_jobs, seed_tenant};
use devstack::{Stack, StackOptions};
use http_body_util::Full;
use hyper::body::Bytes;
use shared::domain::TenantLimits;
use testkit::Loopback;
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RUNS: usize = 20;
/// (binary, event file it is invoked with)
const FUNCTIONS: [(&str, &str); 10] = [
    ("health", "health.json"),
    ("generate", "generate.json"),
    ("list-jobs", "list-jobs.json"),
    ("get-job", "get-job.json"),
    ("cancel-job", "cancel-job.json"),
    ("deliveries", "deliveries-list.json"),
    ("worker", "worker-sqs.json"),
    ("webhooks", "webhooks-non-terminal.json"),
    ("webhook-sender", "webhook-sender-sqs.json"),
    ("sweeper", "sweeper-schedule.json"),
];

const NODE_HANDLER: &str = r"
const base = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;
(async () => {
  for (;;) {
    const next = await fetch(`${base}/next`);
    const id = next.headers.get('lambda-runtime-aws-request-id');
    await next.json();
    const body = JSON.stringify({ status: 'ok', timestamp: new Date().toISOString() });
    await fetch(`${base}/${id}/response`, {
      method: 'POST',
      body: JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body }),
    });
  }
})();
";

/// What the runtime API saw of one process.
#[derive(Debug)]
enum Seen {
    Next,
    Response,
    Error(String),
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    bench::discard_metrics();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release");
    for (name, _) in FUNCTIONS {
        if !release.join(name).exists() {
            return Err(format!("build the functions first: cargo build --release -p {name} (see make bench-coldstart)").into());
        }
    }

    let moto = Moto::start(free_port()?).await?;
    let stack = Stack::provision(&moto.endpoint, StackOptions::named("imagesaas")).await?;
    seed_tenant(
        &stack.app.store,
        DEV_TENANT_ID,
        "Dev tenant",
        DEV_API_KEY,
        TenantLimits {
            rpm: 100_000,
            max_concurrency: 10_000,
            monthly_image_quota: None,
        },
    )
    .await?;
    seed_sample_jobs(&stack.app.store).await?;
    let env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("TABLE_NAME", stack.options.table.clone()),
        ("QUEUE_URL", stack.queue_url.clone()),
        ("DELIVERY_QUEUE_URL", stack.delivery_queue_url.clone()),
        ("DELIVERY_DLQ_URL", stack.delivery_dlq_url.clone()),
        ("RESULTS_BUCKET", stack.options.bucket.clone()),
        // Given as the value, so no init here includes a Secrets Manager
        // call (in Lambda list-jobs makes one, the worker one if it has a
        // Gemini key).
        (
            "CURSOR_SECRET",
            devstack::provision::LOCAL_CURSOR_SECRET.into(),
        ),
        ("LOCAL_MODE", "1".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
    ];

    let node_script =
        std::env::temp_dir().join(format!("imagesaas-node-handler-{}.mjs", std::process::id()));
    std::fs::write(&node_script, NODE_HANDLER)?;

    let mut rows = Vec::new();
    for (name, event) in FUNCTIONS {
        let body = std::fs::read_to_string(root.join("events").join(event))?;
        let cmd = vec![release.join(name).to_string_lossy().into_owned()];
        let (init, first) = measure(name, &cmd, &body, &env).await?;
        let size = std::fs::metadata(release.join(name)).ok().map(|m| m.len());
        println!(
            "{name:<14} init median {:.1} ms, p90 {:.1} ms; first response median {:.1} ms, p90 {:.1} ms",
            init.0, init.1, first.0, first.1
        );
        rows.push((name.to_string(), init, first, size));
    }
    let health_event = std::fs::read_to_string(root.join("events/health.json"))?;
    let node = vec![
        "node".to_string(),
        node_script.to_string_lossy().into_owned(),
    ];
    let (node_init, node_first) = measure("node-baseline", &node, &health_event, &env).await?;
    let _ = std::fs::remove_file(&node_script);
    moto.stop().await;

    let node_version = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut table = String::from(
        "| function | init median | init p90 | first response median | first response p90 | binary |\n|---|---|---|---|---|---|\n",
    );
    for (name, init, first, size) in &rows {
        table.push_str(&format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MB |\n",
            init.0,
            init.1,
            first.0,
            first.1,
            size.unwrap_or(0) as f64 / 1048576.0
        ));
    }
    table.push_str(&format!(
        "| Node.js {node_version} minimal handler | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | – |\n",
        node_init.0, node_init.1, node_first.0, node_first.1
    ));
    let health = &rows[0];
    let report = format!(
        "## Cold start\n\n\
         `make bench-coldstart`: each release binary is started {RUNS} times against a Lambda Runtime API \
         implemented in the benchmark (`/2018-06-01/runtime/invocation/next`, `/response`, `/error`, \
         `/init/error`) and given the matching file from `events/`; **init** is process start → first \
         `next` request, **first response** is process start → first `/response`. Functions that read or \
         write AWS do so against moto on loopback (so their first response includes moto's latency). \
         The binaries are the host's (x86_64) release builds of the same code as the arm64 Lambda \
         artifacts: an arm64 binary cannot run natively here, and timing it under emulation would say \
         nothing about Lambda. Machine: {machine}.\n\n{table}\n\
         Targets: init under 25 ms (every function), first response under 40 ms (health). \
         health vs the Node.js handler started the same way: init {init_ratio:.1}× faster, \
         first response {first_ratio:.1}× faster.\n",
        machine = machine(),
        init_ratio = node_init.0 / health.1.0,
        first_ratio = node_first.0 / health.2.0,
    );
    println!("{report}");
    write_section("coldstart", &report)?;
    Ok(())
}

type Stats = (f64, f64);

/// Starts `cmd` RUNS times under a fresh runtime API and returns (init,
/// first response) median/p90.
async fn measure(
    name: &str,
    cmd: &[String],
    event: &str,
    env: &[(&str, String)],
) -> Result<(Stats, Stats), BoxError> {
    let mut inits = Vec::with_capacity(RUNS);
    let mut firsts = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let port = free_port()?;
        let api = runtime_api(port, event.to_string(), format!("req-{run}"), tx).await?;
        let start = Instant::now();
        let mut child = tokio::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut init = None;
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                seen = rx.recv() => match seen {
                    Some(Seen::Next) if init.is_none() => init = Some(start.elapsed()),
                    Some(Seen::Next) => {}
                    Some(Seen::Response) => { firsts.push(start.elapsed()); break; }
                    Some(Seen::Error(e)) => return Err(format!("{name}: the function reported an error: {e}").into()),
                    None => return Err(format!("{name}: the runtime API stopped").into()),
                },
                () = &mut deadline => return Err(format!("{name}: no response within 30 s").into()),
            }
        }
        inits.push(init.ok_or("a response before any next")?);
        let _ = child.kill().await;
        drop(api);
    }
    Ok((median_p90_ms(&mut inits), median_p90_ms(&mut firsts)))
}

/// One invocation's worth of the Lambda Runtime API: the first `next` gets
/// the event, later ones wait forever (the process is killed after its
/// first response).
async fn runtime_api(
    port: u16,
    event: String,
    request_id: String,
    seen: mpsc::UnboundedSender<Seen>,
) -> std::io::Result<Loopback> {
    let served = Arc::new(Mutex::new(false));
    Loopback::http_on(port, move |req: hyper::Request<hyper::body::Incoming>| {
        let (event, request_id, seen, served) = (
            event.clone(),
            request_id.clone(),
            seen.clone(),
            served.clone(),
        );
        async move {
            let path = req.uri().path().to_string();
            let body = testkit::loopback::body_of(req).await;
            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
            if path.ends_with("/invocation/next") {
                let _ = seen.send(Seen::Next);
                let first = {
                    let mut s = served.lock().unwrap_or_else(|p| p.into_inner());
                    !std::mem::replace(&mut *s, true)
                };
                if !first {
                    std::future::pending::<()>().await;
                }
                *resp.body_mut() = Full::new(Bytes::from(event));
                let deadline = (std::time::SystemTime::now() + Duration::from_secs(60))
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let h = resp.headers_mut();
                h.insert(
                    "lambda-runtime-aws-request-id",
                    request_id.parse().expect("ascii"),
                );
                h.insert(
                    "lambda-runtime-deadline-ms",
                    deadline.to_string().parse().expect("digits"),
                );
                h.insert(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench"
                        .parse()
                        .expect("ascii"),
                );
                h.insert(
                    "lambda-runtime-trace-id",
                    "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                        .parse()
                        .expect("ascii"),
                );
                h.insert("content-type", "application/json".parse().expect("ascii"));
            } else if path.ends_with("/response") {
                let _ = seen.send(Seen::Response);
                *resp.status_mut() = hyper::StatusCode::ACCEPTED;
            } else if path.ends_with("/error") {
                let _ = seen.send(Seen::Error(String::from_utf8_lossy(&body).into_owned()));
                *resp.status_mut() = hyper::StatusCode::ACCEPTED;
            } else {
                *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
            }
            resp
        }
    })
    .await
}
