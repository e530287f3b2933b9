//! Rate and concurrency limits, exact under concurrency.

use std::time::Duration;

use system_tests::{TestStack, scope};
use testkit::away_from_minute_boundary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_one_parallel_submits_accept_exactly_sixty() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 1000).await;
    away_from_minute_boundary(Duration::from_secs(20)).await;
    let replies = t
        .submit_all(
            &key,
            (0..61).map(|i| format!(r#"{{"prompt":"burst {i}"}}"#)),
        )
        .await;
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        accepted,
        60,
        "statuses: {:?}",
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
    assert_eq!(limited.len(), 1);
    let r = limited[0];
    r.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(r.message().contains("per minute"), "{}", r.message());
    let retry_after: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert_eq!(reset % 60, 0, "resets on the minute");
    let list = t.list_all(&key, "limit=100").await;
    assert_eq!(list.iter().map(Vec::len).sum::<usize>(), 60);
}

#[tokio::test]
async fn the_sixth_concurrent_job_waits_for_a_free_slot() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = t.submit(&key, &format!(r#"{{"prompt":"{i}"}}"#)).await;
        assert_eq!(r.status, 202, "{}", r.body);
        ids.push(r.body["jobId"].as_str().unwrap().to_string());
    }
    let sixth = t.submit(&key, r#"{"prompt":"6"}"#).await;
    sixth.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(
        sixth.message().contains("Concurrency"),
        "{}",
        sixth.message()
    );
    assert!(sixth.header("retry-after").is_some());
    assert!(sixth.header("x-ratelimit-limit").is_some());

    assert_eq!(t.cancel(&key, &ids[0]).await.status, 200);
    let retry = t.submit(&key, r#"{"prompt":"6"}"#).await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_submits_never_exceed_the_concurrency_limit() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(1000, 7).await;
    let replies = t
        .submit_all(&key, (0..20).map(|i| format!(r#"{{"prompt":"{i}"}}"#)))
        .await;
    assert_eq!(replies.iter().filter(|r| r.status == 202).count(), 7);
    assert_eq!(replies.iter().filter(|r| r.status == 429).count(), 13);
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 7);
}
