//! The 1.1 generation options, end to end: what reaches Gemini, what is
//! stored, what the job views say, and what is refused at submit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use testkit::FileServer;
use testkit::fake_gemini::{FakeGemini, Reply};

use system_tests::{TestStack, is_terminal, wait_for_job};

fn encoded(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .expect("encoding in memory");
    bytes
}

fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([shade, 100, 200]));
    encoded(&img, image::ImageFormat::Png)
}

/// A PNG of noise, which does not compress: about `3 × side²` bytes.
fn noisy_png(side: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    encoded(&img, image::ImageFormat::Png)
}

fn data_url(media_type: &str, bytes: &[u8]) -> String {
    format!("data:{media_type};base64,{}", STANDARD.encode(bytes))
}

/// The bytes of every result of a job, fetched from its URLs, with the
/// `Content-Type` each was served with.
async fn fetch_results(t: &TestStack, job: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for url in job["resultUrls"].as_array().expect("resultUrls") {
        let url = url.as_str().expect("a URL string");
        let resp = t
            .http
            .get(url)
            .send()
            .await
            .expect("the result URL answers");
        assert_eq!(resp.status(), 200);
        let content_type = resp.headers()["content-type"]
            .to_str()
            .expect("a Content-Type")
            .to_string();
        out.push((content_type, resp.bytes().await.expect("the body").to_vec()));
    }
    out
}

const PATHS: [&str; 14] = [
    "/0.png", "/1.png", "/2.png", "/3.png", "/4.png", "/5.png", "/6.png", "/7.png", "/8.png",
    "/9.png", "/10.png", "/11.png", "/12.png", "/13.png",
];

#[tokio::test]
async fn every_option_reaches_generation_config_and_14_references_arrive_in_order() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Image(png(64, 36, 1)));
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let inputs: Vec<Vec<u8>> = (0..14).map(|i| png(8 + i, 8, i as u8 * 10)).collect();
    let files = FileServer::start(
        PATHS
            .iter()
            .zip(&inputs)
            .map(|(path, bytes)| {
                (
                    *path,
                    200,
                    vec![("content-type", "image/png".into())],
                    bytes.clone(),
                )
            })
            .collect(),
    )
    .await;
    let urls: Vec<String> = PATHS.iter().map(|p| format!("{}{p}", files.base)).collect();
    let body = json!({
        "prompt": "A lighthouse, in the style of these",
        "mode": "final",
        "aspectRatio": "16:9",
        "imageSize": "4K",
        "numberOfImages": 2,
        "inputImageUrls": urls,
    });
    let job = t.run_job(&key, &body.to_string()).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let calls = gemini.calls();
    assert_eq!(calls.len(), 2, "one provider call per image");
    for call in &calls {
        assert!(
            call.path
                .ends_with("/models/gemini-3-pro-image:generateContent"),
            "{}",
            call.path
        );
        assert_eq!(
            call.body["generationConfig"],
            json!({"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9", "imageSize": "4K"}})
        );
        let parts = call.body["contents"][0]["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 15);
        assert_eq!(parts[0]["text"], "A lighthouse, in the style of these");
        for (part, input) in parts[1..].iter().zip(&inputs) {
            assert_eq!(part["inline_data"]["mime_type"], "image/png");
            assert_eq!(
                part["inline_data"]["data"],
                STANDARD.encode(input),
                "in order"
            );
        }
    }
    assert_eq!(
        job["request"],
        json!({"mode": "final", "aspectRatio": "16:9", "imageSize": "4K", "numberOfImages": 2,
               "outputFormat": "png", "outputQuality": null, "deadlineSeconds": null, "inputImages": 14})
    );

    // The draft default, sent when the request names no size.
    gemini.always(Reply::Image(png(8, 8, 1)));
    let job = t
        .run_job(&key, r#"{"prompt":"A boat","mode":"draft"}"#)
        .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let last = gemini.calls().pop().unwrap();
    assert_eq!(
        last.body["generationConfig"]["imageConfig"]["imageSize"],
        "1K"
    );
    assert_eq!(job["request"]["imageSize"], "1K");

    let mut fifteen = urls.clone();
    fifteen.push(format!("{}/0.png", files.base));
    let refused = t
        .submit(
            &key,
            &json!({"prompt": "a", "inputImageUrls": fifteen}).to_string(),
        )
        .await;
    refused.assert_error(400, "INVALID_REQUEST");
    assert!(
        refused
            .message()
            .contains("`inputImageUrls` must have 1 to 14 entries"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn three_webp_images_are_stored_and_described_as_they_are() {
    let t = TestStack::start().await;
    t.start_worker();
    let (tenant, key) = t.tenant(60, 5).await;
    let body = r#"{"prompt":"Three foxes","mode":"draft","aspectRatio":"3:2","numberOfImages":3,"outputFormat":"webp"}"#;
    let job = t.run_job(&key, body).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let id = job["jobId"].as_str().unwrap();
    let images = job["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    let fetched = fetch_results(&t, &job).await;
    let mut seen = Vec::new();
    for (i, ((content_type, bytes), entry)) in fetched.iter().zip(images).enumerate() {
        assert_eq!(content_type, "image/webp");
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WEBP");
        let decoded = image::load_from_memory_with_format(bytes, image::ImageFormat::WebP).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (1024, 682),
            "draft is 1K, shaped 3:2"
        );
        assert_eq!(entry["width"], decoded.width());
        assert_eq!(entry["height"], decoded.height());
        assert_eq!(entry["bytes"], bytes.len());
        assert_eq!(entry["contentType"], "image/webp");
        assert_eq!(entry["url"], job["resultUrls"][i]);
        assert!(
            entry["url"]
                .as_str()
                .unwrap()
                .contains(&format!("/results/{tenant}/{id}/{i}.webp")),
            "{entry}"
        );
        seen.push(decoded.to_rgb8());
    }
    assert!(
        seen[0] != seen[1] && seen[1] != seen[2],
        "test mode renders distinct images"
    );
    assert_eq!(
        job["request"],
        json!({"mode": "draft", "aspectRatio": "3:2", "imageSize": "1K", "numberOfImages": 3,
               "outputFormat": "webp", "outputQuality": 90, "deadlineSeconds": null, "inputImages": 0})
    );
    // The list item says the same.
    let listed = t.get(&key, "/v1/jobs").await;
    let item = &listed.body["items"][0];
    assert_eq!(item["images"], job["images"]);
    assert_eq!(item["request"], job["request"]);
}

#[tokio::test]
async fn jpeg_quality_trades_bytes_and_a_jpeg_answer_asked_as_png_is_stored_as_png() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, test_key) = t.tenant(60, 5).await;
    let sizes = {
        let mut sizes = Vec::new();
        for quality in [30, 95] {
            let body = json!({"prompt": "A detailed market street", "mode": "draft",
                              "outputFormat": "jpeg", "outputQuality": quality});
            let job = t.run_job(&test_key, &body.to_string()).await;
            assert_eq!(job["status"], "SUCCEEDED", "{job}");
            let (content_type, bytes) = fetch_results(&t, &job).await.remove(0);
            assert_eq!(content_type, "image/jpeg");
            assert_eq!(&bytes[..3], b"\xff\xd8\xff");
            assert!(job["resultUrls"][0].as_str().unwrap().contains("/0.jpg"));
            sizes.push(bytes.len());
        }
        sizes
    };
    assert!(
        sizes[0] < sizes[1],
        "quality 30 is smaller than 95: {sizes:?}"
    );

    let jpeg = encoded(
        &image::RgbImage::from_pixel(40, 30, image::Rgb([10, 200, 30])),
        image::ImageFormat::Jpeg,
    );
    gemini.script([Reply::ImageAs {
        mime: "image/jpeg".into(),
        bytes: jpeg,
    }]);
    let (_, live_key) = t.live_tenant(60, 5).await;
    let job = t
        .run_job(&live_key, r#"{"prompt":"A field","outputFormat":"png"}"#)
        .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let (content_type, bytes) = fetch_results(&t, &job).await.remove(0);
    assert_eq!(content_type, "image/png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (40, 30));
    assert_eq!(job["images"][0]["contentType"], "image/png");
}

#[tokio::test]
async fn one_of_four_calls_failing_once_retries_only_that_image() {
    let gemini = FakeGemini::start().await.unwrap();
    let image = png(16, 16, 3);
    gemini.script([
        Reply::Image(image.clone()),
        Reply::Error {
            status: 503,
            retry_delay: None,
        },
        Reply::Image(image.clone()),
        Reply::Image(image.clone()),
        Reply::Image(image.clone()),
    ]);
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let id = t
        .submit_job(&key, r#"{"prompt":"Four seasons","numberOfImages":4}"#)
        .await;
    let (seen, job) = wait_for_job(&t, &key, &id, is_terminal).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job} after {seen:?}");
    assert!(seen.contains(&"RETRYING".to_string()), "{seen:?}");
    assert_eq!(job["images"].as_array().unwrap().len(), 4);
    assert_eq!(
        gemini.call_count(),
        5,
        "4 calls, then 1 for the missing image"
    );
    let urls: Vec<&str> = job["resultUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for (i, url) in urls.iter().enumerate() {
        assert!(url.contains(&format!("/{i}.png")), "{url}");
    }
}

#[tokio::test]
async fn a_refusal_carries_the_models_own_words() {
    let gemini = FakeGemini::start().await.unwrap();
    let words = "I can't create that image because it depicts a real person. ".repeat(20);
    gemini.script([Reply::Refused {
        finish_reason: "IMAGE_SAFETY".into(),
        text: words.clone(),
    }]);
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t
        .run_job(&key, r#"{"prompt":"A portrait","numberOfImages":2}"#)
        .await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["error"]["code"], "CONTENT_BLOCKED");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(message.contains("IMAGE_SAFETY"), "{message}");
    assert!(
        message.contains("I can't create that image because it depicts a real person."),
        "{message}"
    );
    let theirs = message.split_once("IMAGE_SAFETY").unwrap().1;
    assert!(
        theirs.chars().count() <= 503,
        "the model's text is cut to 500 characters: {message}"
    );
}

#[tokio::test]
async fn a_2_mb_data_url_is_stored_under_inputs_and_the_job_succeeds() {
    let t = TestStack::start().await;
    t.start_worker();
    let (tenant, key) = t.tenant(60, 5).await;
    let input = noisy_png(820);
    assert!(
        (1_900_000..3_000_000).contains(&input.len()),
        "{}",
        input.len()
    );
    let body = json!({"prompt": "Make it a watercolour", "mode": "draft",
                      "inputImageUrl": data_url("image/png", &input)});
    let job = t.run_job(&key, &body.to_string()).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["request"]["inputImages"], 1);
    let id = job["jobId"].as_str().unwrap();
    let s3 = devstack::resources::local_s3(&t.stack.sdk);
    let stored = s3
        .get_object()
        .bucket(&t.stack.options.bucket)
        .key(format!("inputs/{tenant}/{id}/0.png"))
        .send()
        .await
        .expect("the input is stored under inputs/");
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().to_vec(),
        input
    );
    // Never the image itself in the job item or the views.
    let item = t.stored_job(system_tests::scope(&tenant, &key), id).await;
    assert_eq!(
        item.input_image_url.as_deref(),
        Some(format!("inputs/{tenant}/{id}/0.png").as_str())
    );
    let listed = t.get(&key, "/v1/jobs").await;
    assert_eq!(
        listed.body["items"][0]["inputImageUrl"],
        "data:image/png;base64,…"
    );
    assert!(listed.body.to_string().len() < 10_000);
}

#[tokio::test]
async fn bad_data_urls_and_oversized_bodies_are_refused_naming_the_field() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let small = png(4, 4, 9);
    let cases = [
        (
            json!({"prompt": "a", "inputImageUrl": "data:image/png;base64"}),
            "`inputImageUrl` is not a valid data URL",
        ),
        (
            json!({"prompt": "a", "inputImageUrls": [data_url("image/png", &small), "data:image/png;base64,%%%"]}),
            "`inputImageUrls[1]` is a data URL whose base64 does not decode",
        ),
        (
            json!({"prompt": "a", "inputImageUrl": data_url("image/svg+xml", b"<svg/>")}),
            "`inputImageUrl` is a data URL of type `image/svg+xml`",
        ),
        (
            json!({"prompt": "a", "inputImageUrl": data_url("image/jpeg", &small)}),
            "not a image/jpeg image",
        ),
        (
            json!({"prompt": "a", "inputImageUrl": data_url("image/png", &noisy_png(1020))}),
            "`inputImageUrl` is a data URL of",
        ),
    ];
    for (body, expected) in cases {
        let reply = t.submit(&key, &body.to_string()).await;
        reply.assert_error(400, "INVALID_REQUEST");
        assert!(
            reply.message().contains(expected),
            "{expected}: {}",
            reply.message()
        );
    }
    let six = json!({"prompt": "a", "inputImageUrls": [
        data_url("image/png", &noisy_png(800)), data_url("image/png", &noisy_png(800)), data_url("image/png", &noisy_png(800))]});
    let six = six.to_string();
    assert!(six.len() > 6_000_000, "{}", six.len());
    let reply = t.submit(&key, &six).await;
    reply.assert_error(400, "INVALID_REQUEST");
    assert!(
        reply.message().contains("larger than 5000000 bytes"),
        "{}",
        reply.message()
    );
}

#[tokio::test]
async fn idempotency_tells_options_apart() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let first = t
        .submit_with_key(&key, r#"{"prompt":"A cat","numberOfImages":2}"#, "opts-1")
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let again = t
        .submit_with_key(
            &key,
            r#"{"numberOfImages":2.0,"prompt":"A cat","outputFormat":"png"}"#,
            "opts-1",
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["jobId"], first.body["jobId"]);
    for other in [
        r#"{"prompt":"A cat","numberOfImages":3}"#,
        r#"{"prompt":"A cat","numberOfImages":2,"imageSize":"4K"}"#,
        r#"{"prompt":"A cat","numberOfImages":2,"outputFormat":"webp"}"#,
    ] {
        t.submit_with_key(&key, other, "opts-1")
            .await
            .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    }
}

#[tokio::test]
async fn inputs_over_14_mb_together_fail_the_job_before_any_call() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, key) = t.live_tenant(60, 5).await;
    // 14 references of ~1.04 MB each: every one acceptable, 14.6 MB together.
    let one = noisy_png(590);
    assert!(
        one.len() * 14 > 14_000_000 && one.len() < 3_000_000,
        "{}",
        one.len()
    );
    let files = FileServer::start(
        PATHS
            .iter()
            .map(|path| {
                (
                    *path,
                    200,
                    vec![("content-type", "image/png".into())],
                    one.clone(),
                )
            })
            .collect(),
    )
    .await;
    let urls: Vec<String> = PATHS.iter().map(|p| format!("{}{p}", files.base)).collect();
    let body = json!({"prompt": "A collage", "inputImageUrls": urls});
    let job = t.run_job(&key, &body.to_string()).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["error"]["code"], "INPUT_IMAGE_INVALID");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 14000000 bytes together"),
        "{job}"
    );
    assert_eq!(
        gemini.call_count(),
        0,
        "no provider call for a job whose inputs are refused"
    );
}
