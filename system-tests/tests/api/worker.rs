//! The generation pipeline: the worker on the jobs queue, against moto and
//! a fake Gemini that speaks the real wire format.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shared::netguard::UrlPolicy;
use testkit::fake_gemini::{FakeGemini, Reply};

use system_tests::{TestStack, is_terminal, scope, wait_for_job};
use testkit::FileServer;

/// A fake Gemini of its own (a PNG for every call until scripted) and a
/// pipeline calling it.
async fn new_pipeline() -> (FakeGemini, TestStack) {
    let gemini = FakeGemini::start().await.expect("a fake Gemini");
    let t = TestStack::pipeline(&gemini.base_url).await;
    (gemini, t)
}

fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([shade, 100, 200]));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .expect("encoding a PNG");
    bytes
}

#[tokio::test]
async fn a_live_job_stores_exactly_the_returned_image() {
    let gemini = FakeGemini::start().await.unwrap();
    let image = png(64, 48, 7);
    gemini.script([Reply::Image(image.clone())]);
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (tenant, key) = t.live_tenant(60, 1).await;

    let job = t
        .submit_job(
            &key,
            r#"{"prompt":"A lighthouse at dusk","mode":"final","aspectRatio":"16:9"}"#,
        )
        .await;
    let (seen, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(body["status"], "SUCCEEDED", "{body} after {seen:?}");
    let urls = body["resultUrls"].as_array().unwrap();
    assert_eq!(urls.len(), 1);
    let url = urls[0].as_str().unwrap();
    assert!(
        url.contains(&format!("/results/{tenant}/{job}/0.png")),
        "{url}"
    );
    let fetched = t.http.get(url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(
        fetched.bytes().await.unwrap().to_vec(),
        image,
        "exactly the bytes Gemini returned"
    );

    let calls = gemini.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].path,
        "/v1beta/models/gemini-3-pro-image:generateContent"
    );
    assert_eq!(calls[0].api_key.as_deref(), Some("fake-gemini-key"));
    assert_eq!(
        calls[0].body["contents"][0]["parts"][0]["text"],
        "A lighthouse at dusk"
    );
    assert_eq!(
        calls[0].body["generationConfig"]["responseModalities"],
        serde_json::json!(["IMAGE"])
    );
    assert_eq!(
        calls[0].body["generationConfig"]["imageConfig"]["aspectRatio"],
        "16:9"
    );
    assert_eq!(
        calls[0].body["generationConfig"]["imageConfig"]["imageSize"],
        "2K"
    );

    // The slot is free again: concurrency 1 admits the next job.
    let next = t
        .submit_job(&key, r#"{"prompt":"Another","mode":"draft"}"#)
        .await;
    wait_for_job(&t, &key, &next, is_terminal).await;
    assert_eq!(
        gemini.calls()[1].path,
        "/v1beta/models/gemini-3.1-flash-image:generateContent"
    );
    assert_eq!(
        gemini.calls()[1].body["generationConfig"]["imageConfig"]["imageSize"],
        "1K"
    );
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

#[tokio::test]
async fn refusals_and_empty_answers_fail_the_job() {
    let (gemini, t) = new_pipeline().await;
    let (tenant, key) = t.live_tenant(60, 5).await;
    let cases = [
        (Reply::PromptBlocked("SAFETY".into()), "CONTENT_BLOCKED"),
        (Reply::Finish("IMAGE_SAFETY".into()), "CONTENT_BLOCKED"),
        (
            Reply::Finish("PROHIBITED_CONTENT".into()),
            "CONTENT_BLOCKED",
        ),
        (Reply::Finish("NO_IMAGE".into()), "GENERATION_FAILED"),
        (Reply::Finish("IMAGE_OTHER".into()), "GENERATION_FAILED"),
        (
            Reply::Error {
                status: 400,
                retry_delay: None,
            },
            "GENERATION_FAILED",
        ),
    ];
    for (i, (reply, code)) in cases.into_iter().enumerate() {
        let before = gemini.call_count();
        gemini.script([reply]);
        let job = t
            .submit_job(&key, &format!(r#"{{"prompt":"case {i}"}}"#))
            .await;
        let (seen, body) = wait_for_job(&t, &key, &job, is_terminal).await;
        assert_eq!(body["status"], "FAILED", "case {i}: {body}");
        assert_eq!(body["error"]["code"], code, "case {i}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(
            !seen.contains(&"RETRYING".to_string()),
            "case {i} is final at once: {seen:?}"
        );
        assert_eq!(gemini.call_count(), before + 1, "case {i}: one call");
        let listed = t.get(&key, "/v1/jobs?status=FAILED&limit=1").await;
        assert_eq!(listed.body["items"][0]["errorCode"], code);
    }
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

#[tokio::test]
async fn transient_errors_retry_with_backoff_then_succeed() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.script([
        Reply::Error {
            status: 503,
            retry_delay: None,
        },
        Reply::Error {
            status: 503,
            retry_delay: None,
        },
        Reply::Image(png(8, 8, 1)),
    ]);
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"flaky"}"#).await;
    let (seen, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    assert!(
        seen.contains(&"RETRYING".to_string()),
        "RETRYING observed: {seen:?}"
    );
    assert_eq!(gemini.call_count(), 3);
}

#[tokio::test]
async fn a_provider_that_stays_down_fails_the_job_after_the_budget() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Error {
        status: 429,
        retry_delay: Some("1s".into()),
    });
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (tenant, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"never"}"#).await;
    let (seen, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(body["status"], "FAILED", "{body}");
    assert_eq!(body["error"]["code"], "PROVIDER_UNAVAILABLE");
    assert!(seen.contains(&"RETRYING".to_string()), "{seen:?}");
    assert_eq!(gemini.call_count(), 3, "the attempt budget is 3");
    let row = t.stored_job(scope(&tenant, &key), &job).await;
    assert_eq!(row.attempts, 3);
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

#[tokio::test]
async fn a_slow_provider_times_out_and_is_retried() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.script([Reply::Slow(
        Duration::from_secs(5),
        Box::new(Reply::Image(png(4, 4, 0))),
    )]);
    let t = TestStack::start_with(|o| {
        o.gemini = Some((gemini.base_url.clone(), "k".into()));
        o.retry_base_delay = Duration::from_secs(1);
    })
    .await;
    // The stack's worker allows 30 s per call; a dedicated worker with 1 s
    // shows the timeout path.
    let mut config = worker_config_for(&t, &gemini);
    if let Some(g) = config.gemini.as_mut() {
        g.request_timeout = Duration::from_secs(1);
    }
    let w = std::sync::Arc::new(
        worker::Worker::new(
            &t.stack.sdk,
            devstack::resources::local_s3(&t.stack.sdk),
            config,
        )
        .unwrap(),
    );
    let task = tokio::spawn(devstack::drain::drain_queue(
        aws_sdk_sqs::Client::new(&t.stack.sdk),
        t.stack.queue_url.clone(),
        w,
        1,
    ));
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"slow"}"#).await;
    let (seen, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    task.abort();
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    assert!(seen.contains(&"RETRYING".to_string()), "{seen:?}");
    assert_eq!(gemini.call_count(), 2);
}

fn worker_config_for(t: &TestStack, gemini: &FakeGemini) -> worker::WorkerConfig {
    worker::WorkerConfig {
        table_name: t.stack.options.table.clone(),
        queue_url: t.stack.queue_url.clone(),
        results_bucket: t.stack.options.bucket.clone(),
        cdn_base_url: None,
        gemini: Some(shared::images::gemini::GeminiConfig {
            base_url: gemini.base_url.clone(),
            api_key: "k".into(),
            models: shared::images::gemini::Models::default(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }),
        url_policy: UrlPolicy::Local,
        max_attempts: 3,
        retry_base_delay: Duration::from_secs(1),
        lease: Duration::from_secs(300),
        prices: shared::domain::PriceTable::default(),
    }
}

#[tokio::test]
async fn a_duplicate_delivery_generates_once() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Slow(
        Duration::from_millis(500),
        Box::new(Reply::Image(png(4, 4, 9))),
    ));
    let t = TestStack::start_with(|o| o.gemini = Some((gemini.base_url.clone(), "k".into()))).await;
    let (tenant, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"twice"}"#).await;
    // The queue delivers the job a second (and third) time.
    let sqs = aws_sdk_sqs::Client::new(&t.stack.sdk);
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&t.stack.queue_url)
            .message_body(serde_json::json!({"tenantId": tenant, "jobId": job}).to_string())
            .send()
            .await
            .unwrap();
    }
    t.start_worker();
    let (_, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(body["status"], "SUCCEEDED");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        gemini.call_count(),
        1,
        "one generation for three deliveries"
    );
}

#[tokio::test]
async fn a_job_canceled_before_the_worker_runs_is_never_generated() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::start_with(|o| o.gemini = Some((gemini.base_url.clone(), "k".into()))).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"changed my mind"}"#).await;
    assert_eq!(t.cancel(&key, &job).await.status, 200);
    t.start_worker();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gemini.call_count(), 0);
    assert_eq!(
        t.get(&key, &format!("/v1/jobs/{job}")).await.body["status"],
        "CANCELED"
    );
    let attrs = t.queue_attributes().await;
    let count =
        |a: aws_sdk_sqs::types::QueueAttributeName| attrs.get(&a).cloned().unwrap_or_default();
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
        "0"
    );
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        "0",
        "the message was deleted"
    );
}

#[tokio::test]
async fn img2img_sends_the_fetched_image_inline() {
    let (gemini, t) = new_pipeline().await;
    let input = png(32, 32, 200);
    let files = FileServer::start(vec![(
        "/cat.png",
        200,
        vec![("content-type", "image/png".into())],
        input.clone(),
    )])
    .await;
    let (_, key) = t.live_tenant(60, 5).await;
    let body = serde_json::json!({"prompt": "make it blue", "inputImageUrl": format!("{}/cat.png", files.base)});
    let body = t.run_job(&key, &body.to_string()).await;
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    let call = &gemini.calls()[0];
    let parts = &call.body["contents"][0]["parts"];
    assert_eq!(parts[0]["text"], "make it blue");
    assert_eq!(parts[1]["inline_data"]["mime_type"], "image/png");
    assert_eq!(parts[1]["inline_data"]["data"], STANDARD.encode(&input));
}

#[tokio::test]
async fn a_gif_input_reaches_gemini_as_the_png_of_its_first_frame() {
    let (gemini, t) = new_pipeline().await;
    let mut gif = Vec::new();
    image::RgbImage::from_pixel(6, 4, image::Rgb([10, 200, 30]))
        .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap();
    let files = FileServer::start(vec![("/anim.gif", 200, vec![], gif)]).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let body = serde_json::json!({"prompt": "make it blue", "inputImageUrl": format!("{}/anim.gif", files.base)});
    let done = t.run_job(&key, &body.to_string()).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let parts = &gemini.calls()[0].body["contents"][0]["parts"];
    // Gemini takes PNG, JPEG, WebP, HEIC and HEIF: never image/gif.
    assert_eq!(parts[1]["inline_data"]["mime_type"], "image/png");
    let sent = STANDARD
        .decode(parts[1]["inline_data"]["data"].as_str().unwrap())
        .unwrap();
    let frame = image::load_from_memory_with_format(&sent, image::ImageFormat::Png)
        .expect("a PNG")
        .to_rgb8();
    assert_eq!(frame.dimensions(), (6, 4));
    assert_eq!(frame.get_pixel(0, 0), &image::Rgb([10, 200, 30]));
}

#[test]
fn a_canvas_over_25_megapixels_is_refused_from_its_header() {
    use shared::images::input::{InputImageError, decode};
    let err = decode(testkit::pictures::png_claiming(8192, 8192), false).unwrap_err();
    assert!(
        matches!(
            err,
            InputImageError::TooManyPixels {
                width: 8192,
                height: 8192,
                megapixels: 68
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("at most 25 megapixels"), "{err}");
}

#[test]
fn a_canvas_needing_over_128_mb_is_refused_before_decoding() {
    use shared::images::input::{InputImageError, decode};
    // 24 megapixels of 16-bit RGBA: 192 MB of samples.
    let err = decode(testkit::pictures::png_claiming(6000, 4000), false).unwrap_err();
    assert!(
        matches!(err, InputImageError::TooMuchMemory { megabytes: 184 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("at most 128 MB"), "{err}");
}

#[tokio::test]
async fn a_bomb_in_a_batch_fails_alone_and_its_batch_mates_finish() {
    // No worker loop: the batch is handed to the worker as the Lambda
    // event source would, all three messages at once.
    let t = TestStack::start().await;
    let mut bomb = Vec::new();
    // 5,001 × 5,001 grey: a real PNG of a few KB, just over 25 megapixels.
    image::GrayImage::new(5_001, 5_001)
        .write_to(
            &mut std::io::Cursor::new(&mut bomb),
            image::ImageFormat::Png,
        )
        .unwrap();
    let files = FileServer::start(vec![
        ("/bomb.png", 200, vec![], bomb),
        ("/fine.png", 200, vec![], png(64, 48, 10)),
    ])
    .await;
    let (tenant, key) = t.tenant(60, 5).await;
    let mut records = Vec::new();
    let mut jobs = Vec::new();
    for (i, input) in [None, Some("/bomb.png"), Some("/fine.png")]
        .into_iter()
        .enumerate()
    {
        let mut body = serde_json::json!({"prompt": format!("batch mate {i}"), "mode": "draft"});
        if let Some(path) = input {
            body["inputImageUrl"] = format!("{}{path}", files.base).into();
        }
        let job = t.submit_job(&key, &body.to_string()).await;
        let message = shared::queue::JobMessage::new(scope(&tenant, &key), &job);
        let event = testkit::sqs::job_message_event(format!("m{i}"), &message).unwrap();
        records.extend(event.records);
        jobs.push(job);
    }
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records = records;
    let response = t.stack.worker.process_batch(event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "every message is done with: {response:?}"
    );
    let status = |i: usize| {
        let t = &t;
        let (key, job) = (&key, jobs[i].clone());
        async move { t.get(key, &format!("/v1/jobs/{job}")).await.body }
    };
    let refused = status(1).await;
    assert_eq!(refused["status"], "FAILED", "{refused}");
    assert_eq!(refused["error"]["code"], "INPUT_IMAGE_INVALID");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("5001×5001") && message.contains("at most 25 megapixels"),
        "{message}"
    );
    for i in [0, 2] {
        assert_eq!(status(i).await["status"], "SUCCEEDED", "batch mate {i}");
    }
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

#[tokio::test]
async fn test_keys_render_offline_through_the_same_pipeline() {
    let (gemini, t) = new_pipeline().await;
    let (_, key) = t.tenant(60, 5).await;
    let input = png(16, 16, 255);
    let files = FileServer::start(vec![("/in.png", 200, vec![], input)]).await;
    let mut pictures = Vec::new();
    for body in [
        serde_json::json!({"prompt": "A cute cat", "mode": "draft"}),
        serde_json::json!({"prompt": "A loyal dog", "mode": "draft"}),
        serde_json::json!({"prompt": "A cute cat", "mode": "final", "aspectRatio": "16:9"}),
        serde_json::json!({"prompt": "A cute cat", "mode": "draft", "inputImageUrl": format!("{}/in.png", files.base)}),
    ] {
        let done = t.run_job(&key, &body.to_string()).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        let url = done["resultUrls"][0].as_str().unwrap().to_string();
        let bytes = t
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        pictures.push(image::load_from_memory(&bytes).expect("a real PNG"));
    }
    assert_eq!(gemini.call_count(), 0, "test keys never call Gemini");
    // Draft is 1K, final 2K (1.1 `imageSize` defaults), shaped by the ratio.
    assert_eq!((pictures[0].width(), pictures[0].height()), (1024, 1024));
    assert_eq!((pictures[2].width(), pictures[2].height()), (2048, 1152));
    assert_ne!(
        pictures[0].to_rgb8().into_raw(),
        pictures[1].to_rgb8().into_raw(),
        "other prompt, other picture"
    );
    assert_ne!(
        pictures[0].to_rgb8().into_raw(),
        pictures[3].to_rgb8().into_raw(),
        "the input image shows"
    );
}

#[tokio::test]
async fn unusable_input_images_fail_the_job() {
    let (gemini, t) = new_pipeline().await;
    let big = vec![0u8; 11 * 1024 * 1024];
    let files = FileServer::start(vec![
        (
            "/page.html",
            200,
            vec![("content-type", "image/png".into())],
            b"<html>hi</html>".to_vec(),
        ),
        ("/huge.png", 200, vec![], big),
        (
            "/to-metadata",
            302,
            vec![(
                "location",
                "http://169.254.169.254/latest/meta-data/".into(),
            )],
            vec![],
        ),
        (
            "/to-private",
            301,
            vec![("location", "http://10.0.0.1/x.png".into())],
            vec![],
        ),
        ("/missing", 404, vec![], vec![]),
    ])
    .await;
    let (_, key) = t.live_tenant(60, 10).await;
    for path in [
        "/page.html",
        "/huge.png",
        "/to-metadata",
        "/to-private",
        "/missing",
    ] {
        input_is_refused(&t, &key, &format!("{}{path}", files.base)).await;
    }
    assert_eq!(gemini.call_count(), 0);
}

/// A live job whose input image is at `url` fails as INPUT_IMAGE_INVALID.
async fn input_is_refused(t: &TestStack, key: &str, url: &str) {
    let body = serde_json::json!({"prompt": "x", "inputImageUrl": url});
    let done = t.run_job(key, &body.to_string()).await;
    assert_eq!(done["status"], "FAILED", "{url}: {done}");
    assert_eq!(
        done["error"]["code"], "INPUT_IMAGE_INVALID",
        "{url}: {done}"
    );
}

#[tokio::test]
async fn the_production_guard_refuses_internal_addresses() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::pipeline_with(&gemini.base_url, |o| {
        o.worker_url_policy = UrlPolicy::Production
    })
    .await;
    let (_, key) = t.live_tenant(60, 10).await;
    // The local API accepts these (http, loopback); the worker, under the
    // production policy, must refuse them before connecting.
    for url in [
        "https://127.0.0.1/a.png",
        "http://127.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://localhost/a.png",
    ] {
        input_is_refused(&t, &key, url).await;
    }
    assert_eq!(gemini.call_count(), 0);
}

#[tokio::test]
async fn a_crashed_run_is_reclaimed_after_its_lease() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::start_with(|o| o.gemini = Some((gemini.base_url.clone(), "k".into()))).await;
    let (tenant, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"crash"}"#).await;
    // A worker claims the job and dies: RUNNING, lease of 2 s, message kept.
    let claimed = t
        .stack
        .app
        .store
        .claim_job(
            scope(&tenant, &key),
            &job,
            shared::time::now(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert!(matches!(claimed, shared::store::ClaimOutcome::Claimed(_)));
    assert_eq!(
        t.get(&key, &format!("/v1/jobs/{job}")).await.body["status"],
        "RUNNING"
    );
    t.start_worker();
    let (_, body) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    assert_eq!(gemini.call_count(), 1);
    let row = t.stored_job(scope(&tenant, &key), &job).await;
    assert_eq!(row.attempts, 2, "the crashed attempt and the reclaim");
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

/// A claim whose write landed but whose answer was lost: the SDK sends the
/// same request again, which fails its condition. The worker must see its
/// own claim, not a job busy under someone else's lease.
#[tokio::test]
async fn a_retried_claim_is_recognised_as_ours() {
    use shared::store::ClaimOutcome;
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"retry"}"#).await;
    let store = &t.stack.app.store;
    let lease = Duration::from_secs(60);
    let now = shared::time::now();
    let first = store
        .claim_job_as(scope(&tenant, &key), &job, now, lease, "token-a")
        .await
        .unwrap();
    assert!(matches!(first, ClaimOutcome::Claimed(_)), "{first:?}");
    let resent = store
        .claim_job_as(scope(&tenant, &key), &job, now, lease, "token-a")
        .await
        .unwrap();
    match resent {
        ClaimOutcome::Claimed(job) => assert_eq!(job.attempts, 1, "one attempt, not two"),
        other => panic!("the resent claim is ours: {other:?}"),
    }
    let other = store
        .claim_job_as(
            scope(&tenant, &key),
            &job,
            shared::time::now(),
            lease,
            "token-b",
        )
        .await
        .unwrap();
    assert!(
        matches!(other, ClaimOutcome::Busy { .. }),
        "another worker's claim waits for the lease: {other:?}"
    );
}

#[tokio::test]
async fn poison_messages_reach_the_dead_letter_queue() {
    let (_gemini, t) = new_pipeline().await;
    let sqs = aws_sdk_sqs::Client::new(&t.stack.sdk);
    sqs.send_message()
        .queue_url(&t.stack.queue_url)
        .message_body("{not a job")
        .send()
        .await
        .unwrap();
    let dlq_url = sqs
        .get_queue_url()
        .queue_name(format!("{}-dlq", t.stack.options.queue))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = got.messages.unwrap_or_default().first() {
            assert_eq!(m.body.as_deref(), Some("{not a job"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the poison message never reached the DLQ"
        );
    }
}

#[tokio::test]
async fn each_job_message_is_grouped_by_its_tenant_for_fair_queueing() {
    // No worker: the messages stay in the queue to be looked at.
    let t = TestStack::start().await;
    let (first, first_key) = t.tenant(60, 5).await;
    let (second, second_key) = t.live_tenant(60, 5).await;
    t.submit_job(&first_key, r#"{"prompt":"a"}"#).await;
    t.submit_job(&second_key, r#"{"prompt":"b"}"#).await;
    let sqs = aws_sdk_sqs::Client::new(&t.stack.sdk);
    let mut groups = std::collections::BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while groups.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "{groups:?}");
        let out = sqs
            .receive_message()
            .queue_url(&t.stack.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            let body = shared::queue::JobMessage::from_body(m.body().unwrap()).unwrap();
            let group = m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned();
            groups.insert(body.tenant_id.clone(), (group, body.livemode));
        }
    }
    assert_eq!(groups[&first], (Some(first.clone()), false));
    assert_eq!(groups[&second], (Some(second.clone()), true));
}
