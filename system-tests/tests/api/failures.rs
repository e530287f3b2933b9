//! Failures of the AWS side: nothing half-written, nothing internal leaked.

use system_tests::{TestStack, scope};

#[tokio::test]
async fn a_failed_queue_send_leaves_no_job_behind() {
    let good = TestStack::start().await;
    let (tenant, key) = good.tenant(60, 5).await;
    // The queue URL names no queue: every send fails after the job's
    // transaction has committed.
    let broken = good
        .variant(|c| {
            c.queue_url = format!(
                "{}/123456789012/no-such-queue",
                system_tests::moto_endpoint()
            )
        })
        .await;

    let r = broken
        .submit_with_key(&key, r#"{"prompt":"lost?"}"#, "retry-me")
        .await;
    r.assert_error(500, "UNKNOWN_ERROR");
    assert!(r.message().contains("not created"), "{}", r.message());
    assert!(
        !r.message().contains("queue") || !r.message().contains("no-such"),
        "{}",
        r.message()
    );

    // No job at all, in any status; the slot and the rate count are back.
    let list = good.get(&key, "/v1/jobs").await;
    assert_eq!(list.body["items"], serde_json::json!([]));
    assert_eq!(good.active_jobs(scope(&tenant, &key)).await, 0);

    // The same idempotency key works once the queue does.
    let retry = good
        .submit_with_key(&key, r#"{"prompt":"lost?"}"#, "retry-me")
        .await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(
        retry.header("x-ratelimit-remaining"),
        Some("59"),
        "the failed submit was not counted"
    );
}

#[tokio::test]
async fn a_failing_table_gives_500_that_leaks_nothing() {
    let good = TestStack::start().await;
    let key = good.dev_tenant().await;
    let broken = good
        .variant(|c| c.table_name = "no-such-table".into())
        .await;
    for r in [
        broken.get(&key, "/v1/jobs").await,
        broken.get(&key, "/v1/jobs/cmkuz35wf00034rk15ycgzvce").await,
        broken.submit(&key, r#"{"prompt":"a"}"#).await,
        broken.cancel(&key, "cmkuz35wf00034rk15ycgzvce").await,
    ] {
        r.assert_error(500, "UNKNOWN_ERROR");
        let m = r.message().to_lowercase();
        for secret in [
            "no-such-table",
            "dynamodb",
            "resource",
            "127.0.0.1",
            "exception",
        ] {
            assert!(!m.contains(secret), "{m:?} leaks {secret}");
        }
    }
}
