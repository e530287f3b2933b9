//! Limits changed by `tenant update` apply to the very next submit.

use std::time::Duration;

use testkit::away_from_minute_boundary;

use crate::support::Env;

#[tokio::test]
async fn a_lowered_rpm_applies_to_the_next_submit() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (_, key) = env.create_key(tenant_id, "test").await;

    // Seen by the API at the default first, so the change is a change.
    let (status, headers, _) = env.submit(&key).await;
    assert_eq!(status, 202);
    assert_eq!(headers["x-ratelimit-limit"], "60");

    let updated = env
        .admin(&["tenant", "update", tenant_id, "--rpm", "1", "--json"])
        .await
        .json();
    assert_eq!(updated["rpm"], 1, "{updated}");
    assert_eq!(updated["maxConcurrency"], 5, "unchanged: {updated}");

    // Within one clock minute: one submit at most, whatever came before.
    away_from_minute_boundary(Duration::from_secs(5)).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let (status, headers, body) = env.submit(&key).await;
        if status != 202 {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["error"], "RATE_LIMIT_EXCEEDED");
            assert_eq!(headers["x-ratelimit-limit"], "1");
        }
        statuses.push(status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    // Raised again: accepted at once.
    env.admin(&["tenant", "update", tenant_id, "--rpm", "100"])
        .await
        .ok();
    let (status, headers, body) = env.submit(&key).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(headers["x-ratelimit-limit"], "100");
}

#[tokio::test]
async fn a_lowered_concurrency_limit_applies_to_the_next_submit() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&["--max-concurrency", "3"]).await;
    assert_eq!(tenant["maxConcurrency"], 3);
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (_, key) = env.create_key(tenant_id, "test").await;

    // No worker runs: the job stays QUEUED and holds its slot.
    assert_eq!(env.submit(&key).await.0, 202);
    env.admin(&["tenant", "update", tenant_id, "--max-concurrency", "1"])
        .await
        .ok();
    let (status, headers, body) = env.submit(&key).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(headers["retry-after"], "5");

    env.admin(&["tenant", "update", tenant_id, "--max-concurrency", "2"])
        .await
        .ok();
    assert_eq!(env.submit(&key).await.0, 202);
    let shown = env
        .admin(&["tenant", "show", tenant_id, "--json"])
        .await
        .json();
    assert_eq!(shown["maxConcurrency"], 2);
    assert_eq!(shown["activeJobs"]["test"], 2);
    assert_eq!(shown["activeJobs"]["live"], 0);
}

#[tokio::test]
async fn a_monthly_quota_applies_to_the_next_submit_and_counts_the_month_so_far() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (_, key) = env.create_key(tenant_id, "test").await;
    let two = r#"{"prompt":"A cat","mode":"draft","numberOfImages":2}"#;

    // Without a quota the month is counted all the same.
    env.submit_accepted(&key, two).await;
    env.admin(&["tenant", "update", tenant_id, "--monthly-image-quota", "3"])
        .await
        .ok();
    let (status, headers, body) = env.submit(&key).await;
    assert_eq!(status, 202, "the third image fits: {body}");
    assert_eq!(headers["x-quota-limit"], "3");
    assert_eq!(headers["x-quota-remaining"], "0");
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "QUOTA_EXCEEDED");

    env.admin(&["tenant", "update", tenant_id, "--no-quota"])
        .await
        .ok();
    let (status, headers, body) = env.submit(&key).await;
    assert_eq!(status, 202, "no quota, no refusal: {body}");
    assert!(headers.get("x-quota-limit").is_none(), "{headers:?}");

    env.admin(&["tenant", "update", tenant_id, "--monthly-image-quota", "0"])
        .await
        .ok();
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 429, "a quota of 0 refuses every submit: {body}");
    assert_eq!(body["error"], "QUOTA_EXCEEDED");
}
