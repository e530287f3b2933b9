//! Benchmark (not a test): how soon a waiting client hears that its job
//! ended, on the local stack (moto, the dev stack's queue drain and worker,
//! release build): from the job's terminal write (its `updatedAt`) to the
//! answer of a `Prefer: wait` submit and of a `?wait=25` long poll, p50 and
//! p99. The poll gaps (100 ms doubling to 1 s) bound it; test-mode jobs end
//! within the first gaps.
//!
//! `cargo run --release -p bench --bin bench-waiting` (or `make
//! bench-waiting`).

use std::time::{Duration, Instant, SystemTime};

use devstack::moto::{Moto, free_port};
use devstack::provision::seed_tenant;
use devstack::{Stack, StackOptions};
use shared::domain::TenantLimits;
use shared::ids;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const JOBS: usize = 30;
const LIMITS: TenantLimits = TenantLimits {
    rpm: 100_000,
    max_concurrency: 1_000,
    monthly_image_quota: None,
};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    bench::discard_metrics();
    let started = Instant::now();
    let moto = Moto::start(free_port()?).await?;
    let stack = Stack::provision(&moto.endpoint, StackOptions::named("wait")).await?;
    let worker = stack.spawn_worker();
    let key = format!("img_test_{}", ids::new_id());
    seed_tenant(&stack.app.store, &ids::new_id(), "waiting", &key, LIMITS).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(devstack::server::serve(listener, stack.app.clone()));
    let http = reqwest::Client::builder().no_proxy().build()?;
    let submit = |prefer: Option<&'static str>, i: usize| {
        let mut req = http
            .post(format!("{base}/v1/images/generate"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"prompt":"a lighthouse, {i}","mode":"draft"}}"#
            ));
        if let Some(prefer) = prefer {
            req = req.header("prefer", prefer);
        }
        req.send()
    };

    let mut on_submit = Vec::new();
    let mut on_poll = Vec::new();
    for i in 0..JOBS {
        let answer = submit(Some("wait"), i).await?;
        let heard = SystemTime::now();
        let status = answer.status().as_u16();
        let body: serde_json::Value = serde_json::from_slice(&answer.bytes().await?)?;
        if status != 200 {
            return Err(format!("a waited submit answered {status}: {body}").into());
        }
        on_submit.push(lag(&body, heard)?);

        let queued: serde_json::Value =
            serde_json::from_slice(&submit(None, i).await?.bytes().await?)?;
        let job = queued["jobId"].as_str().ok_or("no jobId")?;
        let answer = http
            .get(format!("{base}/v1/jobs/{job}?wait=25"))
            .bearer_auth(&key)
            .send()
            .await?;
        let heard = SystemTime::now();
        let body: serde_json::Value = serde_json::from_slice(&answer.bytes().await?)?;
        if body["status"] != "SUCCEEDED" {
            return Err(format!("a long poll answered {body}").into());
        }
        on_poll.push(lag(&body, heard)?);
    }
    server.abort();
    worker.abort();
    moto.stop().await;

    on_submit.sort();
    on_poll.sort();
    let report = format!(
        "## Waiting latency (local stack)\n\n\
         `make bench-waiting`, {machine}; {secs:.0} s. From a job's terminal write (its \
         `updatedAt`) to the waiting client's answer, over HTTP to the dev server (release), \
         test-mode jobs run by the worker on moto, one at a time. The waiting request reads the \
         job 100 ms after it starts waiting, then at doubling gaps up to one a second, so a job \
         that ends within the first second is heard within about the gap it ended in. Reads per \
         waited second and their cost are in the cost section above.\n\n\
         | waiting client | jobs | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n\
         {submit_row}{poll_row}",
        machine = bench::machine(),
        secs = started.elapsed().as_secs_f64(),
        submit_row = bench::latency_row("`Prefer: wait` submit", &on_submit),
        poll_row = bench::latency_row("`?wait=25` long poll", &on_poll),
    );
    println!("{report}");
    bench::write_section("waiting", &report)?;
    Ok(())
}

/// How long after the job's terminal write the client heard of it.
fn lag(body: &serde_json::Value, heard: SystemTime) -> Result<Duration, BoxError> {
    let ended = body["updatedAt"]
        .as_str()
        .and_then(shared::time::parse_iso)
        .ok_or("no updatedAt")?;
    let ended: SystemTime = ended.into();
    Ok(heard.duration_since(ended).unwrap_or_default())
}
