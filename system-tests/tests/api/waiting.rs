//! Waiting for the result: `Prefer: wait` on submit and the long poll of
//! `GET /v1/jobs/{jobId}?wait=N`, with the real worker and fake Gemini.
//! Bounds on elapsed time are generous (a busy machine), and each test
//! waits for events, never for a fixed time.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use system_tests::{TestStack, is_terminal, wait_for_job};
use testkit::fake_gemini::{FakeGemini, Reply, tiny_png};

async fn stack(gemini: &FakeGemini) -> TestStack {
    let base = gemini.base_url.clone();
    let t = TestStack::start_with(|o| o.gemini = Some((base, "k".into()))).await;
    t.start_worker();
    t
}

async fn submit_preferring(
    t: &TestStack,
    key: &str,
    prefer: &str,
    body: &str,
) -> system_tests::Reply {
    t.send(
        Method::POST,
        "/v1/images/generate",
        Some(key),
        Some(body),
        &[("prefer", prefer)],
    )
    .await
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_waited_test_submit_answers_200_with_the_finished_job() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let (_, key) = t.tenant(60, 5).await;
    let r = submit_preferring(
        &t,
        &key,
        "wait",
        r#"{"prompt":"A cute cat","mode":"draft"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "SUCCEEDED");
    assert_eq!(r.body["resultUrls"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.header("preference-applied"), Some("wait=25"));
    assert!(
        r.header("x-ratelimit-remaining").is_some(),
        "rate-limit headers as always"
    );
    assert_eq!(r.header("location"), None, "only a 202 says where to poll");
    let job = r.body["jobId"].as_str().unwrap();
    let view = t.get(&key, &format!("/v1/jobs/{job}")).await;
    assert_eq!(keys(&r.body), keys(&view.body), "exactly the job view");
    assert_eq!(r.body, view.body);
}

#[tokio::test]
async fn a_wait_shorter_than_the_job_answers_202_with_its_state_and_where_to_poll() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Slow(
        Duration::from_secs(4),
        Box::new(Reply::Image(tiny_png())),
    ));
    let t = stack(&gemini).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let started = Instant::now();
    let r = submit_preferring(&t, &key, "wait=1", r#"{"prompt":"slow"}"#).await;
    let took = started.elapsed();
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "answered after {took:?}"
    );
    assert!(
        matches!(r.body["status"].as_str(), Some("QUEUED" | "RUNNING")),
        "{}",
        r.body
    );
    let job = r.body["jobId"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/jobs/{job}").as_str())
    );
    assert_eq!(r.header("preference-applied"), Some("wait=1"));
    assert!(
        r.body["resultUrls"].is_array(),
        "the job view, not the 1.0 answer"
    );
    wait_for_job(&t, &key, job, is_terminal).await;
}

#[tokio::test]
async fn a_prefer_it_cannot_use_is_ignored_and_the_submit_is_as_in_1_0() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    for prefer in [
        "wait=0",
        "wait=abc",
        "wait=1.5",
        "respond-async",
        "wait=2, wait=3",
    ] {
        let r = submit_preferring(&t, &key, prefer, r#"{"prompt":"a"}"#).await;
        assert_eq!(r.status, 202, "{prefer}: {}", r.body);
        assert_eq!(keys(&r.body), ["jobId", "status"], "{prefer}");
        assert_eq!(r.header("preference-applied"), None, "{prefer}");
    }
}

#[tokio::test]
async fn a_replayed_submit_waits_too_and_says_it_is_a_replay() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let (_, key) = t.tenant(60, 5).await;
    let body = r#"{"prompt":"once"}"#;
    let first = t.submit_with_key(&key, body, "wait-key").await;
    assert_eq!(first.status, 202);
    let again = t
        .send(
            Method::POST,
            "/v1/images/generate",
            Some(&key),
            Some(body),
            &[("idempotency-key", "wait-key"), ("prefer", "wait=20")],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["jobId"], first.body["jobId"]);
    assert_eq!(again.body["status"], "SUCCEEDED");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("preference-applied"), Some("wait=20"));
}

#[tokio::test]
async fn a_long_poll_answers_when_the_job_ends_not_when_the_wait_does() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Slow(
        Duration::from_secs(2),
        Box::new(Reply::Image(tiny_png())),
    ));
    let t = stack(&gemini).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"two seconds"}"#).await;
    let started = Instant::now();
    let r = t.get(&key, &format!("/v1/jobs/{job}?wait=25")).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "SUCCEEDED");
    assert!(
        took < Duration::from_secs(20),
        "held {took:?}: past the job's end"
    );
    assert_eq!(r.header("preference-applied"), None);
    // Terminal already: at once.
    let started = Instant::now();
    let r = t.get(&key, &format!("/v1/jobs/{job}?wait=25")).await;
    assert_eq!(r.body["status"], "SUCCEEDED");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_long_poll_of_an_open_job_answers_its_state_after_the_wait() {
    // No worker: the job stays QUEUED.
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"waiting"}"#).await;
    let started = Instant::now();
    let r = t.get(&key, &format!("/v1/jobs/{job}?wait=1")).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "QUEUED");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_long_poll_refuses_bad_waits_and_finds_no_foreign_job() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let (_, other) = t.tenant(60, 5).await;
    let job = t.submit_job(&key, r#"{"prompt":"mine"}"#).await;
    for bad in ["0", "26", "abc", "1.5", "", "-1"] {
        let r = t.get(&key, &format!("/v1/jobs/{job}?wait={bad}")).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains("`wait`"), "{bad}: {}", r.message());
    }
    t.get(&key, &format!("/v1/jobs/{job}?wait=2&wait=3"))
        .await
        .assert_error(400, "INVALID_REQUEST");
    let started = Instant::now();
    t.get(&other, &format!("/v1/jobs/{job}?wait=25"))
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.get(&key, "/v1/jobs/cnosuchjob00000000000000?wait=25")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "404s are at once"
    );
    // Other parameters are ignored, as in 1.0.
    assert_eq!(
        t.get(&key, &format!("/v1/jobs/{job}?x=1")).await.status,
        200
    );
}
