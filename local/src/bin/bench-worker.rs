//! Benchmark (not a test): the worker's cost for a 4-megapixel answer.
//!
//! A fake Gemini in a child process answers with a ~6 MB PNG (~8 MB of
//! base64); the worker, in this process, runs the job from claim to
//! SUCCEEDED against moto. Prints peak RSS of the worker process and the
//! time spent outside the Gemini exchange, and writes them to BENCHMARKS.md.
//!
//! `cargo run --release -p local --bin bench-worker` (or `make bench-worker`).

use std::time::{Duration, Instant};

use local::moto::{Moto, free_port};
use local::provision::seed_tenant;
use local::{Stack, StackOptions};
use shared::domain::{KeyMode, Scope, TenantLimits};
use shared::images::gemini;
use shared::queue::JobMessage;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RUNS: usize = 5;
const TENANT: &str = "cbenchtenant0000000000000";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-gemini") {
        return serve_gemini(args[2].parse()?).await;
    }

    let png = four_megapixel_png();
    let body = answer_body(&png);
    println!(
        "answer: {}x{} PNG, {:.1} MB; JSON body {:.1} MB",
        2048,
        2048,
        mb(png.len()),
        mb(body.len())
    );

    // Parsing alone, in memory: the floor of the worker's own work.
    let mut parse = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let outcome = gemini::interpret(200, &body);
        parse.push(start.elapsed());
        assert!(matches!(outcome, shared::images::Outcome::Images(_)));
    }
    drop(body);

    // The fake Gemini runs in a child process, so its memory is not ours.
    let gemini_port = free_port()?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--serve-gemini", &gemini_port.to_string()])
        .kill_on_drop(true)
        .spawn()?;
    let moto = Moto::start(free_port()?).await?;
    local::bench::wait_for_port(gemini_port).await?;

    let mut options = StackOptions::named("bench");
    options.gemini = Some((
        format!("http://127.0.0.1:{gemini_port}"),
        "bench-key".into(),
    ));
    let stack = Stack::provision(&moto.endpoint, options).await?;
    let key = "img_live_benchmark_key_0001";
    seed_tenant(
        &stack.app.store,
        TENANT,
        "bench",
        key,
        TenantLimits {
            rpm: 1000,
            max_concurrency: 100,
        },
    )
    .await?;

    let rss_before = peak_rss_kb();
    let mut total = Vec::new();
    let mut exchange = Vec::new();
    let api = local::bench::api::InProcessApi::new(&stack.app, key);
    for i in 0..RUNS {
        // Through the real generate handler, so the job is exactly what the
        // API writes.
        let job_id = api
            .submit(&format!(r#"{{"prompt":"bench {i}","mode":"final"}}"#), None)
            .await?;
        let message = JobMessage {
            tenant_id: TENANT.into(),
            livemode: true,
            job_id: job_id.clone(),
        };
        let event = local::bench::job_message_event(format!("m{i}"), &message)?;
        // The Gemini exchange alone (request, transfer, no parsing), to
        // subtract from the job's time.
        let t0 = Instant::now();
        let raw = reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{gemini_port}/v1beta/models/x:generateContent"
            ))
            .body("{}")
            .send()
            .await?
            .bytes()
            .await?;
        exchange.push(t0.elapsed());
        drop(raw);
        let start = Instant::now();
        let response = stack.worker.process_batch(event).await;
        total.push(start.elapsed());
        assert!(response.batch_item_failures.is_empty());
        let job = stack
            .app
            .store
            .get_job(Scope::new(TENANT, KeyMode::Live), &job_id)
            .await?
            .ok_or("job missing")?;
        assert_eq!(job.status.as_str(), "SUCCEEDED");
    }
    let rss_peak = peak_rss_kb();
    child.kill().await.ok();
    moto.stop().await;

    let median_ms = |v: &mut Vec<Duration>| local::bench::median_p90_ms(v).0;
    let (total_ms, exchange_ms, parse_ms) = (
        median_ms(&mut total),
        median_ms(&mut exchange),
        median_ms(&mut parse),
    );
    let overhead_ms = total_ms - exchange_ms;
    let report = format!(
        "## Worker: one 4-megapixel answer\n\n\
         Measured by `make bench-worker` (release build), median of {RUNS} jobs, on {machine}. The fake Gemini runs in a child process and answers at once with a \
         2048×2048 PNG of {png_mb:.1} MB ({b64_mb:.1} MB of base64 in the JSON); AWS is moto.\n\n\
         | figure | value | target |\n|---|---|---|\n\
         | peak RSS of the worker process | {peak:.1} MB (before the jobs: {before:.1} MB) | < 128 MB |\n\
         | job time, claim to SUCCEEDED | {total_ms:.1} ms | |\n\
         | of which the Gemini HTTP exchange (measured alone) | {exchange_ms:.1} ms | |\n\
         | time outside Gemini (job − exchange) | {overhead_ms:.1} ms | < 150 ms |\n\
         | parsing + base64-decoding the answer, in memory | {parse_ms:.1} ms | |\n\n\
         Time outside Gemini includes four DynamoDB calls and one S3 PUT of the image against moto, which \
         is far slower than the real services; parsing the answer is the worker's own share.\n",
        machine = local::bench::machine(),
        png_mb = mb(png.len()),
        b64_mb = mb(png.len().div_ceil(3) * 4),
        peak = rss_peak as f64 / 1024.0,
        before = rss_before as f64 / 1024.0,
    );
    println!("{report}");
    local::bench::write_section("worker", &report)?;
    Ok(())
}

/// A 4-megapixel PNG that compresses like a photo: ~1.5 bytes per pixel.
fn four_megapixel_png() -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let img = image::RgbImage::from_fn(2048, 2048, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & 0x07) as u8;
        image::Rgb([
            (x / 8) as u8 ^ noise,
            (y / 8) as u8 ^ noise,
            ((x + y) / 16) as u8 ^ noise,
        ])
    });
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .expect("encoding a PNG into memory");
    bytes
}

fn answer_body(png: &[u8]) -> Vec<u8> {
    use base64::Engine;
    serde_json::json!({"candidates": [{"content": {"role": "model", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(png)}}
    ]}, "finishReason": "STOP"}]})
    .to_string()
    .into_bytes()
}

async fn serve_gemini(port: u16) -> Result<(), BoxError> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let body = Bytes::from(answer_body(&four_megapixel_png()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req| {
                let body = body.clone();
                async move { Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(body))) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
