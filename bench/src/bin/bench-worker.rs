//! Benchmark (not a test): the worker's cost for a 4-megapixel answer.
//!
//! A fake Gemini in a child process answers with a ~6 MB PNG (~8 MB of
//! base64); the worker, in this process, runs the job from claim to
//! SUCCEEDED against moto. Prints peak RSS of the worker process and the
//! time spent outside the Gemini exchange, and writes them to BENCHMARKS.md.
//!
//! Then the worst inputs: batches of five img2img jobs whose inputs are the
//! largest images the worker accepts (25 megapixels of 8-bit RGBA, 100 MB
//! decoded; 16-bit RGB just under the 128 MB decoder budget) and the bombs
//! it refuses (a PNG claiming 8192×8192 16-bit RGBA, a real 5001×5001 one),
//! in test mode (decode, preview, offline render) and live mode (decode,
//! send inline). Peak RSS is measured per phase, the high-water mark reset
//! in between (`/proc/self/clear_refs`).
//!
//! `cargo run --release -p bench --bin bench-worker` (or `make bench-worker`).

use std::time::{Duration, Instant};

use devstack::moto::{Moto, free_port};
use devstack::provision::seed_tenant;
use devstack::{Stack, StackOptions};
use shared::domain::{KeyMode, Scope, TenantLimits};
use shared::images::gemini;
use shared::queue::JobMessage;
use testkit::Loopback;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RUNS: usize = 5;
const TENANT: &str = "cbenchtenant0000000000000";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-gemini") {
        return serve_gemini(args[2].parse()?).await;
    }

    // The worker's own logs, when asked for (`RUST_LOG=info`).
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
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
    bench::wait_for_port(gemini_port).await?;

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
    let api = bench::api::InProcessApi::new(&stack.app, key);
    for i in 0..RUNS {
        // Through the real generate handler, so the job is exactly what the
        // API writes.
        let job_id = api
            .submit(&format!(r#"{{"prompt":"bench {i}","mode":"final"}}"#), None)
            .await?;
        let message = JobMessage::new(Scope::new(TENANT, KeyMode::Live), &job_id);
        let event = testkit::sqs::job_message_event(format!("m{i}"), &message)?;
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
    let worst = worst_inputs(&stack, key, gemini_port).await?;
    child.kill().await.ok();
    moto.stop().await;

    let median_ms = |v: &mut Vec<Duration>| bench::median_p90_ms(v).0;
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
        machine = bench::machine(),
        png_mb = mb(png.len()),
        b64_mb = mb(png.len().div_ceil(3) * 4),
        peak = rss_peak as f64 / 1024.0,
        before = rss_before as f64 / 1024.0,
    );
    let report = format!("{report}\n{worst}");
    println!("{report}");
    bench::write_section("worker", &report)?;
    Ok(())
}

/// The inputs the child process serves at `/inputs/<name>`: (name, what it
/// is, PNG bytes, whether the worker must accept it).
fn worst_input_files() -> Vec<(&'static str, &'static str, Vec<u8>, bool)> {
    use testkit::pictures::{png, png_claiming};
    vec![
        (
            "rgba-25mp.png",
            "5000×5000 8-bit RGBA (25 MP, 100 MB decoded): the largest accepted",
            png(image::RgbaImage::new(5000, 5000)),
            true,
        ),
        (
            "rgb16-13mp.png",
            "3650×3650 16-bit RGB (13.3 MP, 80 MB decoded)",
            png(image::DynamicImage::ImageRgb16(image::ImageBuffer::new(
                3650, 3650,
            ))),
            true,
        ),
        (
            "claims-8192-16bit.png",
            "a 1×1 PNG whose header claims 8192×8192 16-bit RGBA: refused",
            png_claiming(8192, 8192),
            false,
        ),
        (
            "gray-5001.png",
            "a real 5001×5001 grey PNG (25.01 MP): refused",
            png(image::GrayImage::new(5001, 5001)),
            false,
        ),
    ]
}

/// One batch of five jobs per input and mode, as the SQS event source hands
/// them over; peak RSS of each batch alone.
async fn worst_inputs(stack: &Stack, live_key: &str, port: u16) -> Result<String, BoxError> {
    let test_key = "img_test_benchmark_key_0001";
    let new_key = shared::store::NewApiKey::for_raw_key(TENANT, test_key).ok_or("a key")?;
    stack.app.store.create_api_key(&new_key).await?;
    let mut rows = String::new();
    let mut worst_kb = 0;
    let baseline_kb = current_rss_kb();
    for (name, what, bytes, accepted) in worst_input_files() {
        for (mode, key) in [(KeyMode::Test, test_key), (KeyMode::Live, live_key)] {
            let scope = Scope::new(TENANT, mode);
            let mode = mode.as_str();
            let api = bench::api::InProcessApi::new(&stack.app, key);
            let mut records = Vec::new();
            let mut jobs = Vec::new();
            for i in 0..5 {
                let body = serde_json::json!({
                    "prompt": format!("worst {name} {i}"),
                    "mode": "draft",
                    "inputImageUrl": format!("http://127.0.0.1:{port}/inputs/{name}"),
                });
                let job_id = api.submit(&body.to_string(), None).await?;
                let message = JobMessage::new(scope, &job_id);
                records.extend(testkit::sqs::job_message_event(format!("w{i}"), &message)?.records);
                jobs.push(job_id);
            }
            let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
            event.records = records;
            reset_peak_rss();
            let start = Instant::now();
            let response = stack.worker.process_batch(event).await;
            let elapsed = start.elapsed();
            let peak = peak_rss_kb();
            worst_kb = worst_kb.max(peak);
            let mut outcomes = Vec::new();
            for job in &jobs {
                let job = stack
                    .app
                    .store
                    .get_job(scope, job)
                    .await?
                    .ok_or("job missing")?;
                outcomes.push(job.status.as_str());
            }
            let expected = if accepted { "SUCCEEDED" } else { "FAILED" };
            assert!(
                response.batch_item_failures.is_empty() && outcomes.iter().all(|s| *s == expected),
                "{name} {mode}: {outcomes:?}, to run again: {:?}",
                response.batch_item_failures
            );
            rows.push_str(&format!(
                "| {what} ({}) | {mode} | {} | {:.1} MB | {:.0} ms |\n",
                size(bytes.len()),
                if accepted {
                    "5 SUCCEEDED"
                } else {
                    "5 FAILED INPUT_IMAGE_INVALID"
                },
                peak as f64 / 1024.0,
                elapsed.as_secs_f64() * 1000.0,
            ));
        }
    }
    Ok(format!(
        "## Worker: the worst inputs\n\n\
         Each row is one batch of five img2img jobs with the same input, handed to the worker at once as the \
         SQS event source does (`process_batch`). Peak RSS is the worker process's high-water mark during that \
         batch, reset with `/proc/self/clear_refs` before it to the process's current RSS ({baseline:.1} MB before \
         the first batch); the allocator keeps freed pages, so a batch's figure never falls below what earlier ones \
         left resident. Inputs are decoded once, on a blocking thread, one decode at a time per process; test mode \
         blends a preview of at most 1024 px into the offline rendering, live mode sends the bytes inline to the \
         (fake) Gemini.\n\n\
         | input | mode | outcome | peak RSS | batch time |\n|---|---|---|---|---|\n{rows}\n\
         **Worst peak: {worst:.1} MB** (target < 200 MB; the worker's Lambda has 512 MB). The worst accepted input \
         is the 25-megapixel RGBA image: 100 MB of pixels, the most the 25-megapixel and 128 MB limits let through; \
         five of them in one batch still need one decoder's memory at a time. The refused bombs cost a header read.\n",
        baseline = baseline_kb as f64 / 1024.0,
        worst = worst_kb as f64 / 1024.0,
    ))
}

/// Resets this process's peak RSS to its current RSS (Linux 4.0+).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn current_rss_kb() -> u64 {
    proc_status_kb("VmRSS:")
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
    testkit::pictures::png(img)
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
    // The worst inputs, served at `/inputs/<name>` from this process too.
    let inputs: std::sync::Arc<Vec<(&'static str, Bytes)>> = std::sync::Arc::new(
        worst_input_files()
            .into_iter()
            .map(|(name, _, bytes, _)| (name, Bytes::from(bytes)))
            .collect(),
    );
    let _server = Loopback::http_on(port, move |req: hyper::Request<hyper::body::Incoming>| {
        let input = req
            .uri()
            .path()
            .strip_prefix("/inputs/")
            .and_then(|name| inputs.iter().find(|(n, _)| *n == name))
            .map(|(_, bytes)| bytes.clone());
        let body = input.unwrap_or_else(|| body.clone());
        async move {
            // Read the request to its end (an img2img request carries its
            // input inline): answering before it would reset the
            // connection under the client.
            use http_body_util::BodyExt;
            let _ = req.into_body().collect().await;
            hyper::Response::new(Full::new(body))
        }
    })
    .await?;
    // This process exists to serve; the benchmark kills it.
    std::future::pending().await
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    proc_status_kb("VmHWM:")
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// A file size as people read it: bytes, KB or MB.
fn size(bytes: usize) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{} KB", bytes / 1024),
        _ => format!("{:.1} MB", mb(bytes)),
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
