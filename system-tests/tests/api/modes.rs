//! Test and live data are separate (contract 1.1): a tenant's test key and
//! its live key share nothing but the tenant. Neither sees, lists, cancels
//! or replays the other's jobs, their cursors do not cross, and each mode
//! has its own RPM window and concurrency slots with the tenant's limits.

use system_tests::{TestStack, scope};
use testkit::away_from_minute_boundary;

const BODY: &str = r#"{"prompt":"A lighthouse at dusk"}"#;

#[tokio::test]
async fn a_test_key_never_sees_cancels_or_lists_the_live_jobs_of_its_tenant() {
    let t = TestStack::start().await;
    let (tenant, live) = t.live_tenant(60, 5).await;
    let test = t.add_key(&tenant, "img_test_").await;
    let accepted = t.submit(&live, BODY).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let live_job = accepted.body["jobId"].as_str().expect("jobId").to_string();
    let path = format!("/v1/jobs/{live_job}");

    t.get(&test, &path).await.assert_error(404, "JOB_NOT_FOUND");
    t.cancel(&test, &live_job)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    let listed = t.get(&test, "/v1/jobs").await;
    assert_eq!(
        listed.body["items"],
        serde_json::json!([]),
        "{:?}",
        listed.body
    );
    for status in ["QUEUED", "RUNNING", "SUCCEEDED"] {
        let listed = t.get(&test, &format!("/v1/jobs?status={status}")).await;
        assert_eq!(listed.body["items"], serde_json::json!([]), "{status}");
    }

    // The live key still sees its job, QUEUED: the test key's cancel did
    // not touch it. Views say which mode they belong to.
    let seen = t.get(&live, &path).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["status"], "QUEUED");
    assert_eq!(seen.body["livemode"], true);
    let listed = t.get(&live, "/v1/jobs").await;
    assert_eq!(listed.body["items"][0]["id"], live_job.as_str());
    assert_eq!(listed.body["items"][0]["livemode"], true);

    let own = t.submit(&test, BODY).await;
    let own_job = own.body["jobId"].as_str().expect("jobId");
    let seen = t.get(&test, &format!("/v1/jobs/{own_job}")).await;
    assert_eq!(seen.body["livemode"], false);
    t.get(&live, &format!("/v1/jobs/{own_job}"))
        .await
        .assert_error(404, "JOB_NOT_FOUND");
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_mode() {
    let t = TestStack::start().await;
    let (tenant, live) = t.live_tenant(60, 5).await;
    let test = t.add_key(&tenant, "img_test_").await;
    let first = t.submit_with_key(&live, BODY, "order-42").await;
    assert_eq!(first.status, 202);
    // The same key and body with the test key is a new job of its own, not
    // a replay of (and a window into) the live one.
    let other = t.submit_with_key(&test, BODY, "order-42").await;
    assert_eq!(other.status, 202, "{:?}", other.body);
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_ne!(other.body["jobId"], first.body["jobId"]);
    // A different body under that key is still the test mode's own business.
    let reused = t
        .submit_with_key(&test, r#"{"prompt":"another"}"#, "order-42")
        .await;
    reused.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    let replay = t.submit_with_key(&live, BODY, "order-42").await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["jobId"], first.body["jobId"]);
}

#[tokio::test]
async fn cursors_do_not_cross_modes() {
    let t = TestStack::start().await;
    let (tenant, live) = t.live_tenant(60, 5).await;
    let test = t.add_key(&tenant, "img_test_").await;
    for _ in 0..2 {
        assert_eq!(t.submit(&live, BODY).await.status, 202);
        assert_eq!(t.submit(&test, BODY).await.status, 202);
    }
    let page = t.get(&live, "/v1/jobs?limit=1").await;
    let cursor = page.body["nextCursor"].as_str().expect("a next page");
    t.get(&test, &format!("/v1/jobs?limit=1&cursor={cursor}"))
        .await
        .assert_error(400, "INVALID_REQUEST");
    let next = t
        .get(&live, &format!("/v1/jobs?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next.status, 200);
    assert_eq!(next.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn test_jobs_never_use_up_the_live_rate_or_concurrency() {
    let t = TestStack::start().await;
    // Concurrency: one slot per mode.
    let (tenant, live) = t.live_tenant(60, 1).await;
    let test = t.add_key(&tenant, "img_test_").await;
    assert_eq!(t.submit(&test, BODY).await.status, 202);
    let full = t.submit(&test, BODY).await;
    full.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(full.message().contains("Concurrency"), "{}", full.message());
    let admitted = t.submit(&live, BODY).await;
    assert_eq!(admitted.status, 202, "{:?}", admitted.body);
    assert_eq!(t.active_jobs(scope(&tenant, &test)).await, 1);
    assert_eq!(t.active_jobs(scope(&tenant, &live)).await, 1);

    // RPM: two submits a minute per mode, each with its own window and
    // its own rate-limit headers.
    let (tenant, live) = t.live_tenant(2, 10).await;
    let test = t.add_key(&tenant, "img_test_").await;
    away_from_minute_boundary(std::time::Duration::from_secs(10)).await;
    for _ in 0..2 {
        assert_eq!(t.submit(&test, BODY).await.status, 202);
    }
    t.submit(&test, BODY)
        .await
        .assert_error(429, "RATE_LIMIT_EXCEEDED");
    let admitted = t.submit(&live, BODY).await;
    assert_eq!(admitted.status, 202, "{:?}", admitted.body);
    assert_eq!(admitted.header("x-ratelimit-remaining"), Some("1"));
}
