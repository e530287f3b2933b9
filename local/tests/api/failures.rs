//! Failures of the AWS side: nothing half-written, nothing internal leaked.

use std::sync::Arc;

use shared::{App, Config};

use crate::support::TestStack;

/// A stack whose App points at a queue that does not exist: every SQS send
/// fails after the job's transaction has committed.
async fn with_broken_queue(t: &TestStack) -> TestStack {
    let mut config: Config = t.stack.app.config.clone();
    config.queue_url = format!(
        "{}/123456789012/no-such-queue",
        crate::support::moto_endpoint()
    );
    let app = Arc::new(App::new(&t.stack.sdk, config));
    let stack = local::Stack {
        sdk: t.stack.sdk.clone(),
        options: t.stack.options.clone(),
        queue_url: t.stack.queue_url.clone(),
        app,
    };
    TestStack::serve(stack).await
}

#[tokio::test]
async fn a_failed_queue_send_leaves_no_job_behind() {
    let good = TestStack::start().await;
    let (tenant, key) = good.tenant(60, 5).await;
    let broken = with_broken_queue(&good).await;

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
    let row = good
        .stack
        .app
        .store
        .get_tenant(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.active_jobs, 0);

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
    let mut config: Config = good.stack.app.config.clone();
    config.table_name = "no-such-table".into();
    let stack = local::Stack {
        sdk: good.stack.sdk.clone(),
        options: good.stack.options.clone(),
        queue_url: good.stack.queue_url.clone(),
        app: Arc::new(App::new(&good.stack.sdk, config)),
    };
    let broken = TestStack::serve(stack).await;
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
