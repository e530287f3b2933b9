//! Benchmark (not a test): the worker's cost for one 1K answer and one
//! 4-megapixel answer.
//!
//! A fake Gemini in a child process answers with a PNG (~1.5 MB or ~6 MB,
//! in base64); the worker, in this process, runs the job from claim to
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
    bench::discard_metrics();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-gemini") {
        // `--serve-gemini PORT [SIDE]`: the answer's side in pixels, 2048
        // by default (the 4-megapixel phases), 4096 for the 4K one.
        let side = args.get(3).map_or(Ok(2048), |s| s.parse())?;
        return serve_gemini(args[2].parse()?, side).await;
    }

    // The worker's own logs, when asked for (`RUST_LOG=info`).
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init();
    }
    let moto = Moto::start(free_port()?).await?;
    // A 1K answer (the default size) first, in a process that has run
    // nothing yet, then the 4-megapixel one; the latter's stack and fake
    // serve the worst inputs after it.
    let mut one_k = Box::pin(one_answer(&moto.endpoint, 1024)).await?;
    one_k.gemini.kill().await.ok();
    reset_peak_rss();
    let mut four_mp = Box::pin(one_answer(&moto.endpoint, 2048)).await?;
    let worst = worst_inputs(&four_mp.stack, four_mp.key, four_mp.gemini_port).await?;
    four_mp.gemini.kill().await.ok();
    let four_k = Box::pin(four_k(&moto.endpoint)).await?;
    moto.stop().await;

    let report = format!(
        "## Worker: one answer, 1K and 4 megapixels\n\n\
         Measured by `make bench-worker` (release build), median of {RUNS} jobs per row, on {machine}. The fake Gemini \
         runs in a child process and answers at once with a PNG of the side shown (base64 in the JSON, as the real API \
         sends it); AWS is moto. The 1K row runs first, in a fresh process; the 4-megapixel row's peak is reset to the \
         process's current RSS before it (`/proc/self/clear_refs`).\n\n\
         | answer | peak RSS of the worker process (before the jobs) | target | job time, claim to SUCCEEDED | of which the Gemini HTTP exchange (measured alone) | time outside Gemini (job − exchange) | target | parsing + base64-decoding the answer, in memory |\n\
         |---|---|---|---|---|---|---|---|\n{rows}\n\
         Targets: peak RSS < 128 MB and time outside Gemini < 150 ms, both **{met}**. Time outside Gemini includes the \
         job's DynamoDB writes and the S3 PUT of the image (counted in the cost section) against moto, which is far slower than the real services; parsing \
         the answer is the worker's own share.\n",
        machine = bench::machine(),
        rows = [&one_k, &four_mp].map(|a| a.row()).concat(),
        met = if one_k.meets_targets() && four_mp.meets_targets() {
            "met"
        } else {
            "missed"
        },
    );
    let report = format!("{report}\n{worst}\n{four_k}");
    println!("{report}");
    bench::write_section("worker", &report)?;
    Ok(())
}

/// One answer's phase: a fake Gemini answering `side`×`side`, a stack on
/// it, and its figures; the stack and the fake are kept for later phases.
struct OneAnswer {
    side: u32,
    png_bytes: usize,
    body_bytes: usize,
    before_kb: u64,
    peak_kb: u64,
    total_ms: f64,
    exchange_ms: f64,
    parse_ms: f64,
    stack: Stack,
    key: &'static str,
    gemini_port: u16,
    /// The fake's process, killed when dropped.
    gemini: tokio::process::Child,
}

impl OneAnswer {
    fn outside_gemini_ms(&self) -> f64 {
        self.total_ms - self.exchange_ms
    }

    fn meets_targets(&self) -> bool {
        self.peak_kb < 128 * 1024 && self.outside_gemini_ms() < 150.0
    }

    fn row(&self) -> String {
        let mark = |met: bool| if met { "met" } else { "**missed**" };
        format!(
            "| {side}×{side} PNG, {png:.1} MB ({body:.1} MB of JSON) | {peak:.1} MB ({before:.1} MB) | < 128 MB: {rss_met} | {total:.1} ms | {exchange:.1} ms | {outside:.1} ms | < 150 ms: {time_met} | {parse:.1} ms |\n",
            side = self.side,
            png = mb(self.png_bytes),
            body = mb(self.body_bytes),
            peak = self.peak_kb as f64 / 1024.0,
            before = self.before_kb as f64 / 1024.0,
            rss_met = mark(self.peak_kb < 128 * 1024),
            total = self.total_ms,
            exchange = self.exchange_ms,
            outside = self.outside_gemini_ms(),
            time_met = mark(self.outside_gemini_ms() < 150.0),
            parse = self.parse_ms,
        )
    }
}

async fn one_answer(moto_endpoint: &str, side: u32) -> Result<OneAnswer, BoxError> {
    let png = answer_png(side);
    let body = answer_body(&png);
    println!(
        "answer: {side}x{side} PNG, {:.1} MB; JSON body {:.1} MB",
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
    let (png_bytes, body_bytes) = (png.len(), body.len());
    drop((png, body));

    // The fake Gemini runs in a child process, so its memory is not ours.
    let gemini_port = free_port()?;
    let gemini = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--serve-gemini",
            &gemini_port.to_string(),
            &side.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    bench::wait_for_port(gemini_port).await?;
    let mut options = StackOptions::named(&format!("bench{side}"));
    options.gemini = Some((
        format!("http://127.0.0.1:{gemini_port}"),
        "bench-key".into(),
    ));
    let stack = Stack::provision(moto_endpoint, options).await?;
    let key = "img_live_benchmark_key_0001";
    seed_tenant(
        &stack.app.store,
        TENANT,
        "bench",
        key,
        TenantLimits {
            rpm: 1000,
            max_concurrency: 100,
            monthly_image_quota: None,
        },
    )
    .await?;

    let before_kb = current_rss_kb();
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
    let peak_kb = peak_rss_kb();
    let median_ms = |v: &mut Vec<Duration>| bench::median_p90_ms(v).0;
    Ok(OneAnswer {
        side,
        png_bytes,
        body_bytes,
        before_kb,
        peak_kb,
        total_ms: median_ms(&mut total),
        exchange_ms: median_ms(&mut exchange),
        parse_ms: median_ms(&mut parse),
        stack,
        key,
        gemini_port,
        gemini,
    })
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
         **Worst peak: {worst:.1} MB** (target < 200 MB; the worker's Lambda has 1024 MB). The worst accepted input \
         is the 25-megapixel RGBA image: 100 MB of pixels, the most the 25-megapixel and 128 MB limits let through; \
         five of them in one batch still need one decoder's memory at a time. The refused bombs cost a header read.\n",
        baseline = baseline_kb as f64 / 1024.0,
        worst = worst_kb as f64 / 1024.0,
    ))
}

/// What the fake Gemini serves, in bytes: its answer's PNG and JSON body,
/// and each reference image.
#[derive(serde::Serialize, serde::Deserialize)]
struct AnswerSizes {
    png: usize,
    body: usize,
    references: Vec<usize>,
}

/// Jobs per 4K case.
const RUNS_4K: usize = 3;

/// One 4K case: output format, `numberOfImages`, reference images.
struct FourKCase {
    format: &'static str,
    images: u8,
    references: usize,
    /// Part of the target's figure, or a variant that tells where memory goes.
    headline: bool,
}

const FOUR_K_CASES: [FourKCase; 5] = [
    FourKCase {
        format: "png",
        images: 4,
        references: REFERENCES,
        headline: true,
    },
    FourKCase {
        format: "webp",
        images: 4,
        references: REFERENCES,
        headline: true,
    },
    FourKCase {
        format: "png",
        images: 1,
        references: REFERENCES,
        headline: false,
    },
    FourKCase {
        format: "png",
        images: 4,
        references: 0,
        headline: false,
    },
    FourKCase {
        format: "webp",
        images: 1,
        references: REFERENCES,
        headline: false,
    },
];

/// The issue's figure: `numberOfImages: 4, imageSize: "4K"` with 14
/// reference images of ~1 MB, live key, against a fake Gemini (a child
/// process) answering each call with a 4096×4096 PNG; then variants (one
/// image; no references) and the worker's structures measured alone, to
/// tell where the memory goes.
async fn four_k(moto_endpoint: &str) -> Result<String, BoxError> {
    let port = free_port()?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--serve-gemini", &port.to_string(), "4096"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    bench::wait_for_port(port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let sizes: AnswerSizes =
        serde_json::from_slice(&reqwest::get(format!("{base}/sizes")).await?.bytes().await?)?;
    let references: Vec<String> = (0..REFERENCES)
        .map(|i| format!("{base}/refs/{i}.png"))
        .collect();

    let mut options = StackOptions::named("bench4k");
    options.gemini = Some((base.clone(), "bench-key".into()));
    let stack = Stack::provision(moto_endpoint, options).await?;
    let key = "img_live_benchmark_key_0002";
    seed_tenant(
        &stack.app.store,
        TENANT,
        "bench",
        key,
        TenantLimits {
            rpm: 1000,
            max_concurrency: 100,
            monthly_image_quota: None,
        },
    )
    .await?;
    let api = bench::api::InProcessApi::new(&stack.app, key);
    let scope = Scope::new(TENANT, KeyMode::Live);

    let mut rows = String::new();
    let mut headline = Vec::new();
    let mut n = 0;
    for case in &FOUR_K_CASES {
        let (mut before, mut peak, mut time, mut stored) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for run in 0..RUNS_4K {
            n += 1;
            let mut body = serde_json::json!({
                "prompt": format!("4K bench {n}"),
                "mode": "final",
                "imageSize": "4K",
                "numberOfImages": case.images,
                "outputFormat": case.format,
            });
            if case.references > 0 {
                body["inputImageUrls"] = serde_json::json!(references[..case.references]);
            }
            let job_id = api.submit(&body.to_string(), None).await?;
            let message = JobMessage::new(scope, &job_id);
            let event = testkit::sqs::job_message_event(format!("k{n}"), &message)?;
            reset_peak_rss();
            before.push(current_rss_kb());
            let start = Instant::now();
            let response = stack.worker.process_batch(event).await;
            time.push(start.elapsed());
            peak.push(peak_rss_kb());
            let job = stack
                .app
                .store
                .get_job(scope, &job_id)
                .await?
                .ok_or("job missing")?;
            let content_type = format!("image/{}", case.format);
            assert!(
                response.batch_item_failures.is_empty()
                    && job.status.as_str() == "SUCCEEDED"
                    && job.images.len() == usize::from(case.images)
                    && job.images.iter().all(|i| i.width == 4096
                        && i.height == 4096
                        && i.content_type == content_type),
                "4K {} run {run}: {} {:?} {:?}",
                case.format,
                job.status.as_str(),
                job.error,
                job.images
            );
            stored = job.images.iter().map(|i| i.bytes as usize).sum::<usize>() / job.images.len();
        }
        let mut rise: Vec<u64> = peak
            .iter()
            .zip(&before)
            .map(|(p, b)| p.saturating_sub(*b))
            .collect();
        rise.sort_unstable();
        before.sort_unstable();
        peak.sort_unstable();
        let median_kb = |v: &[u64]| v[v.len() / 2] as f64 / 1024.0;
        let time_ms = bench::median_p90_ms(&mut time).0;
        if case.headline {
            headline.push((
                case.format,
                median_kb(&peak),
                peak[peak.len() - 1] as f64 / 1024.0,
                time_ms,
            ));
        }
        rows.push_str(&format!(
            "| {}{} | {} | {} | {:.1} MB | **{:.1} MB** (max {:.1}) | {:.1} MB | {:.0} ms | {} |\n",
            if case.headline { "" } else { "variant: " },
            case.format,
            case.images,
            case.references,
            median_kb(&before),
            median_kb(&peak),
            peak[peak.len() - 1] as f64 / 1024.0,
            rise[rise.len() / 2] as f64 / 1024.0,
            time_ms,
            size(stored),
        ));
    }

    // The structures alone, in this process: one call's request body, and
    // parsing one answer.
    let inputs: Vec<shared::images::Image> = (0..REFERENCES)
        .map(|i| shared::images::Image {
            mime_type: "image/png".into(),
            bytes: reference_png(i),
        })
        .collect();
    let request = gemini::request_body(
        shared::images::Prompt {
            text: "4K bench",
            mode: shared::domain::Mode::Final,
            aspect_ratio: shared::domain::AspectRatio::DEFAULT,
            image_size: Some(shared::domain::ImageSize::K4),
            inputs: &inputs,
        },
        "2K",
    );
    let (request_len, request_capacity) = (request.len(), request.capacity());
    drop((request, inputs));
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1beta/models/x:generateContent"))
        .body("{}")
        .send()
        .await?
        .bytes()
        .await?;
    reset_peak_rss();
    let rss = current_rss_kb();
    let outcome = gemini::interpret(200, &answer);
    let parse_kb = peak_rss_kb().saturating_sub(rss);
    drop(answer);
    let shared::images::Outcome::Images(mut images) = outcome else {
        return Err("the 4K answer did not parse".into());
    };
    let answer = images.remove(0);
    // Converting one answer alone: kept as PNG, and to WebP.
    let mut convert_kb = Vec::new();
    for format in [
        shared::domain::OutputFormat::Png,
        shared::domain::OutputFormat::Webp,
    ] {
        let answer = answer.clone();
        reset_peak_rss();
        let rss = current_rss_kb();
        let encoded = shared::images::output::convert(answer, format, 90)?;
        convert_kb.push(peak_rss_kb().saturating_sub(rss) as f64 / 1024.0);
        drop(encoded);
    }
    drop(answer);
    child.kill().await.ok();

    let references_total: usize = sizes.references.iter().sum();
    let (min, max) = (
        sizes.references.iter().min().copied().unwrap_or(0),
        sizes.references.iter().max().copied().unwrap_or(0),
    );
    let figures: String = headline
        .iter()
        .map(|(format, peak, max, ms)| {
            format!("| `{format}` | **{peak:.1} MB** (max {max:.1}) | < 256 MB | {ms:.0} ms |\n")
        })
        .collect();
    Ok(format!(
        "## Worker: four 4K images with 14 references\n\n\
         One live-key job with `numberOfImages: 4`, `imageSize: \"4K\"` and `inputImageUrls` naming {REFERENCES} \
         PNGs of RGB noise ({size_min} to {size_max} each, {total:.1} MB together; the worker takes at most \
         14,000,000 bytes of inputs per job), served by the fake Gemini's child process over loopback. The fake \
         answers each of the four calls at once with a 4096×4096 PNG of {png:.1} MB ({body:.1} MB of JSON, the \
         image in base64 as the real API sends it). `png` keeps each answer as it came; `webp` converts each \
         (decode to 4096×4096 RGB, libwebp at quality 90), one conversion at a time per process. Median of \
         {RUNS_4K} jobs per row, each handed to `process_batch` alone, on {machine}; AWS is moto.\n\n\
         Peak RSS is the worker process's high-water mark during the job, reset to its current RSS \
         (`/proc/self/clear_refs`) before it; the allocator keeps pages freed by earlier jobs, so \"before\" is \
         what a warm Lambda container carries into the job.\n\n\
         | outputFormat | peak RSS | target | job time, claim to SUCCEEDED |\n|---|---|---|---|\n{figures}\n\
         The fake answers at once, so the job time is all outside Gemini: fetching the {REFERENCES} inputs, \
         decoding each once (bounded), four uploads of the request and downloads of the answer over loopback, \
         parsing and base64-decoding the answers, the conversion (webp), four S3 PUTs and the DynamoDB writes \
         against moto.\n\n\
         | case | images | references | RSS before | peak RSS | rise (peak − before) | job time | each result |\n\
         |---|---|---|---|---|---|---|---|\n{rows}\n\
         Measured alone in this process: one call's request body (the text, then the {REFERENCES} references \
         in base64) is {request:.1} MB of JSON in a {capacity:.1} MB allocation, built once per job and shared by \
         its calls (`GeminiClient::prepare`); parsing one answer (`gemini::interpret`: the base64 borrowed from \
         the body, then decoded to the PNG; answers are read one at a time) raises peak RSS by {parse:.1} MB above the {body:.1} MB body it reads; converting one decoded \
         answer (`output::convert`, the answer's bytes already held) raises it by {keep:.1} MB when kept as PNG \
         and by {webp:.1} MB to WebP. These rises are lower bounds: the allocator reuses pages it kept from \
         earlier jobs before it asks the kernel for more.\n\n\
         The `webp` row misses the 256 MB target: one 4K conversion alone needs about as much as the target \
         leaves (libwebp's own buffers come on top of the 50 MB decoded picture), so the worker's function has \
         1024 MB in template.yaml rather than 512, which also doubles its CPU for the conversions.\n",
        size_min = size(min),
        size_max = size(max),
        total = mb(references_total),
        png = mb(sizes.png),
        body = mb(sizes.body),
        machine = bench::machine(),
        request = mb(request_len),
        capacity = mb(request_capacity),
        parse = parse_kb as f64 / 1024.0,
        keep = convert_kb[0],
        webp = convert_kb[1],
    ))
}

/// Resets this process's peak RSS to its current RSS (Linux 4.0+).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn current_rss_kb() -> u64 {
    proc_status_kb("VmRSS:")
}

/// The fake's answer: up to 4 megapixels, a PNG that compresses like a
/// photo (~1.5 bytes per pixel); at 4K, like a model's 4K answer.
fn answer_png(side: u32) -> Vec<u8> {
    if side <= 2048 {
        photo_png(side, 0x07)
    } else {
        photo_png(side, 0x03)
    }
}

/// A `side`×`side` PNG of gradients with `noise` (a mask of low bits)
/// flipped at random: 0x07 compresses like a photo (~1.5 bytes a pixel),
/// 0x03 like a model's 4K answer (~1.2 bytes a pixel, 19.8 MB at 4096).
fn photo_png(side: u32, noise: u32) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & noise) as u8;
        image::Rgb([
            (x / 8) as u8 ^ noise,
            (y / 8) as u8 ^ noise,
            ((x + y) / 16) as u8 ^ noise,
        ])
    });
    testkit::pictures::png(img)
}

/// The 4K phase's reference images: side of each, in pixels. RGB noise
/// does not compress, so each PNG is ~975 KB: the 14 of a job stay under
/// the 14,000,000 bytes the worker takes for all inputs of a job.
const REFERENCE_SIDE: u32 = 570;
const REFERENCES: usize = 14;

/// Reference image `index`: noise, distinct per index.
fn reference_png(index: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491 ^ (index as u32 + 1).wrapping_mul(0x9e37_79b9);
    let img = image::RgbImage::from_fn(REFERENCE_SIDE, REFERENCE_SIDE, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        image::Rgb([r, g, b])
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

/// The fake Gemini: answers every call at once with a `side`×`side` PNG in
/// base64 (as the real API does), and serves the worst inputs at
/// `/inputs/<name>` and the 4K phase's references at `/refs/<n>.png`.
/// `/sizes` tells what it serves ([`AnswerSizes`]).
async fn serve_gemini(port: u16, side: u32) -> Result<(), BoxError> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let png = answer_png(side);
    let body = Bytes::from(answer_body(&png));
    let mut files: Vec<(String, Bytes)> = worst_input_files()
        .into_iter()
        .map(|(name, _, bytes, _)| (format!("/inputs/{name}"), Bytes::from(bytes)))
        .collect();
    let references: Vec<usize> = (0..REFERENCES)
        .map(|i| {
            let bytes = reference_png(i);
            let len = bytes.len();
            files.push((format!("/refs/{i}.png"), Bytes::from(bytes)));
            len
        })
        .collect();
    let sizes = AnswerSizes {
        png: png.len(),
        body: body.len(),
        references,
    };
    files.push(("/sizes".into(), Bytes::from(serde_json::to_vec(&sizes)?)));
    drop(png);
    let files = std::sync::Arc::new(files);
    let _server = Loopback::http_on(port, move |req: hyper::Request<hyper::body::Incoming>| {
        let file = files
            .iter()
            .find(|(path, _)| path == req.uri().path())
            .map(|(_, bytes)| bytes.clone());
        let body = file.unwrap_or_else(|| body.clone());
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
