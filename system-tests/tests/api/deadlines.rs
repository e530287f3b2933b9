//! `deadlineSeconds`: no attempt of a job starts after its deadline. A job
//! still waiting then (QUEUED, or RETRYING when its next attempt would
//! begin) ends FAILED `TIMEOUT` without a provider call; one already
//! running may finish. With the real worker, fake Gemini and the sweeper.

use std::time::Duration;

use serde_json::Value;
use system_tests::{TestStack, is_terminal, scope, wait_for_job};
use testkit::fake_gemini::{FakeGemini, Reply, tiny_png};

async fn stack(gemini: &FakeGemini) -> TestStack {
    let base = gemini.base_url.clone();
    TestStack::start_with(|o| {
        o.gemini = Some((base, "k".into()));
        o.retry_base_delay = Duration::from_secs(1);
    })
    .await
}

fn at(v: &Value) -> shared::time::Timestamp {
    shared::time::parse_iso(v.as_str().unwrap_or_default())
        .unwrap_or_else(|| panic!("a time, not {v}"))
}

#[tokio::test]
async fn deadline_seconds_is_an_integer_from_10_to_86400_shown_as_deadline_at() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 10).await;
    for bad in ["9", "86401", "\"10\"", "10.5", "-1", "true", "[10]"] {
        let r = t
            .submit(
                &key,
                &format!(r#"{{"prompt":"a","deadlineSeconds":{bad}}}"#),
            )
            .await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(
            r.message().contains("`deadlineSeconds`"),
            "{bad}: {}",
            r.message()
        );
    }
    for (seconds, body) in [
        (Some(10), r#"{"prompt":"a","deadlineSeconds":10}"#),
        (Some(86_400), r#"{"prompt":"a","deadlineSeconds":86400}"#),
        (Some(600), r#"{"prompt":"a","deadlineSeconds":600.0}"#),
        (None, r#"{"prompt":"a","deadlineSeconds":null}"#),
        (None, r#"{"prompt":"a"}"#),
    ] {
        let job = t.submit_job(&key, body).await;
        let view = t.get(&key, &format!("/v1/jobs/{job}")).await.body;
        match seconds {
            Some(s) => assert_eq!(
                (at(&view["deadlineAt"]) - at(&view["createdAt"])).num_seconds(),
                s,
                "{view}"
            ),
            None => assert_eq!(view["deadlineAt"], Value::Null, "{view}"),
        }
        let listed = t.get(&key, "/v1/jobs?limit=1").await.body;
        assert_eq!(
            listed["items"][0]["deadlineAt"], view["deadlineAt"],
            "the list item too"
        );
    }
    // Part of the idempotency comparison.
    let first = t
        .submit_with_key(&key, r#"{"prompt":"b","deadlineSeconds":60}"#, "dl")
        .await;
    assert_eq!(first.status, 202);
    t.submit_with_key(&key, r#"{"prompt":"b","deadlineSeconds":61}"#, "dl")
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test]
async fn a_retry_that_would_start_after_the_deadline_ends_the_job_with_timeout() {
    let gemini = FakeGemini::start().await.unwrap();
    // Unavailable, come back in 30 s: past a 10 s deadline.
    gemini.always(Reply::Error {
        status: 503,
        retry_delay: Some("30s".into()),
    });
    let t = stack(&gemini).await;
    t.start_worker();
    let (tenant, key) = t.live_tenant(60, 5).await;
    let job = t
        .submit_job(&key, r#"{"prompt":"busy provider","deadlineSeconds":10}"#)
        .await;
    let (seen, done) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["error"]["code"], "TIMEOUT");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deadline"),
        "{done}"
    );
    assert!(
        !seen.contains(&"RETRYING".to_string()),
        "never requeued: {seen:?}"
    );
    assert_eq!(
        gemini.call_count(),
        1,
        "the one call made before the deadline, none after"
    );
    assert_eq!(
        t.active_jobs(scope(&tenant, &key)).await,
        0,
        "the slot came back"
    );
}

#[tokio::test]
async fn a_queued_job_past_its_deadline_is_ended_by_the_sweeper_without_a_provider_call() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    // No worker: the job stays QUEUED.
    let (tenant, key) = t.live_tenant(60, 5).await;
    let job = t
        .submit_job(&key, r#"{"prompt":"never run","deadlineSeconds":10}"#)
        .await;
    let sweeper = t.stack.sweeper(sweeper::DEFAULT_STALE_AFTER);
    // Before the deadline: nothing to do.
    let early = sweeper.sweep(shared::time::now()).await.unwrap();
    assert!(early.expired.is_empty(), "{early:?}");
    // The sweep as it runs 11 s from now (its clock is a parameter).
    let later = shared::time::now() + Duration::from_secs(11);
    let report = sweeper.sweep(later).await.unwrap();
    assert_eq!(report.expired, [format!("{tenant}/{job}")], "{report:?}");
    let view = t.get(&key, &format!("/v1/jobs/{job}")).await.body;
    assert_eq!(view["status"], "FAILED");
    assert_eq!(view["error"]["code"], "TIMEOUT");
    assert_eq!(t.active_jobs(scope(&tenant, &key)).await, 0);
    // The worker, started now, finds the job finished: no call.
    t.start_worker();
    let again = sweeper.sweep(later).await.unwrap();
    assert!(again.expired.is_empty(), "ended once: {again:?}");
    assert_eq!(gemini.call_count(), 0);
}

#[tokio::test]
async fn a_worker_never_starts_an_attempt_after_the_deadline() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t
        .submit_job(&key, r#"{"prompt":"late","deadlineSeconds":10}"#)
        .await;
    let deadline = at(&t.get(&key, &format!("/v1/jobs/{job}")).await.body["deadlineAt"]);
    // The worker comes up only after the deadline (waiting for that moment).
    let left = (deadline - shared::time::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(200)).await;
    t.start_worker();
    let (_, done) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["error"]["code"], "TIMEOUT");
    assert_eq!(
        gemini.call_count(),
        0,
        "no provider call after the deadline"
    );
}

#[tokio::test]
async fn an_attempt_running_at_the_deadline_may_finish() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.always(Reply::Slow(
        Duration::from_secs(12),
        Box::new(Reply::Image(tiny_png())),
    ));
    let t = stack(&gemini).await;
    t.start_worker();
    let (_, key) = t.live_tenant(60, 5).await;
    let job = t
        .submit_job(
            &key,
            r#"{"prompt":"slow but started","deadlineSeconds":10}"#,
        )
        .await;
    let (_, done) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(
        at(&done["updatedAt"]) > at(&done["deadlineAt"]),
        "it finished after the deadline"
    );
}
