//! Idempotency-Key: replays, reuse with another body, concurrent first use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::join_all;

use system_tests::{TestStack, scope};

#[tokio::test]
async fn a_replay_returns_the_same_job_and_creates_nothing() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    let first = t
        .submit_with_key(&key, r#"{"prompt":"A cat"}"#, "order-42")
        .await;
    assert_eq!(first.status, 202);
    assert_eq!(first.header("idempotent-replayed"), None);
    let job = first.body["jobId"].as_str().unwrap().to_string();
    let remaining = first.header("x-ratelimit-remaining").unwrap().to_string();

    // Same meaning, other spelling: a replay.
    let again = t
        .submit_with_key(
            &key,
            r#"{ "mode": "final", "prompt": "A cat" }"#,
            "order-42",
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.body,
        serde_json::json!({"jobId": job, "status": "QUEUED"})
    );
    assert_eq!(
        again.header("x-ratelimit-remaining"),
        Some(remaining.as_str()),
        "a replay is not counted"
    );

    // The replay reports the job's current status.
    assert_eq!(t.cancel(&key, &job).await.status, 200);
    let after_cancel = t
        .submit_with_key(&key, r#"{"prompt":"A cat"}"#, "order-42")
        .await;
    assert_eq!(after_cancel.body["status"], "CANCELED");

    let other = t
        .submit_with_key(&key, r#"{"prompt":"A dog"}"#, "order-42")
        .await;
    other.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    assert!(other.header("x-ratelimit-limit").is_some());

    // Keys are per tenant: another tenant may use the same key.
    let (_, bob) = t.tenant(60, 5).await;
    let bobs = t
        .submit_with_key(&bob, r#"{"prompt":"A cat"}"#, "order-42")
        .await;
    assert_eq!(bobs.status, 202);
    assert_ne!(bobs.body["jobId"], job.as_str());
    assert_eq!(bobs.header("idempotent-replayed"), None);

    let list = t.get(&key, "/v1/jobs").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
}

#[tokio::test]
async fn a_replay_needs_no_free_slot() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 1).await;
    let first = t.submit_with_key(&key, r#"{"prompt":"A cat"}"#, "k1").await;
    assert_eq!(first.status, 202);
    // The only slot is taken, yet the replay answers 202.
    let replay = t.submit_with_key(&key, r#"{"prompt":"A cat"}"#, "k1").await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.body["jobId"], first.body["jobId"]);
    t.submit(&key, r#"{"prompt":"another"}"#)
        .await
        .assert_error(429, "RATE_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn a_replay_is_answered_when_the_minute_and_the_month_are_used_up() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(1, 5).await;
    t.set_quota(&tenant, Some(2)).await;
    let body = r#"{"prompt":"A cat","numberOfImages":2}"#;
    let first = t.submit_with_key(&key, body, "k-full").await;
    assert_eq!(first.status, 202, "{}", first.body);
    // The one submit of the minute and both images of the month are used,
    // so a new submit is refused for either reason; the retry is not new.
    let replay = t.submit_with_key(&key, body, "k-full").await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["jobId"], first.body["jobId"]);
    assert_eq!(replay.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(replay.header("x-quota-remaining"), Some("0"));
    let new = t
        .submit_with_key(&key, r#"{"prompt":"A dog"}"#, "k-other")
        .await;
    assert_eq!(new.status, 429, "{}", new.body);
    // Another body under the used key is still the client's mistake.
    t.submit_with_key(&key, r#"{"prompt":"A dog"}"#, "k-full")
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test]
async fn a_replay_of_a_submit_with_a_data_input_returns_its_job() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    let body = serde_json::json!({
        "prompt": "this picture, warmer",
        "inputImageUrls": [format!("data:image/png;base64,{}", STANDARD.encode(png()))],
    })
    .to_string();
    let first = t.submit_with_key(&key, &body, "k-data").await;
    assert_eq!(first.status, 202, "{}", first.body);
    let replay = t.submit_with_key(&key, &body, "k-data").await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["jobId"], first.body["jobId"]);
    let list = t.get(&key, "/v1/jobs").await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 1);
}

/// A small PNG, as a client's `data:` input.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 120, 40]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .expect("a 4×4 PNG encodes");
    bytes.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_first_requests_make_one_job() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(100, 100).await;
    let replies =
        join_all((0..10).map(|_| t.submit_with_key(&key, r#"{"prompt":"only once"}"#, "same-key")))
            .await;
    let mut ids = std::collections::HashSet::new();
    let mut replayed = 0;
    for r in &replies {
        assert_eq!(r.status, 202, "{}", r.body);
        ids.insert(r.body["jobId"].as_str().unwrap().to_string());
        if r.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
    }
    assert_eq!(ids.len(), 1, "one job id for all ten");
    assert_eq!(replayed, 9);
    let list = t.get(&key, "/v1/jobs").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.active_jobs(scope(&tenant, &key)).await,
        1,
        "one slot used"
    );
}
