//! The metrics the functions emit (`shared::metrics`, EMF lines) against a
//! mixed workload on the local stack: every line is valid EMF of the
//! catalog, and the counts are what happened.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use testkit::Receiver;
use testkit::fake_gemini::{FakeGemini, Reply};

use system_tests::{TestStack, all_metric_lines, is_terminal, metric_lines_of, wait_for_job};

/// The sum of `metric` (a count: whole numbers) over the tenants' lines,
/// by the value of `key` (`-` when the line has none).
fn sums(tenants: &[&str], metric: &str, key: &str) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for line in tenants.iter().flat_map(|t| metric_lines_of(t)) {
        if let Some(v) = line.get(metric).and_then(Value::as_f64) {
            let k = line
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string();
            *by.entry(k).or_insert(0) += v as u64;
        }
    }
    by
}

fn total(tenants: &[&str], metric: &str) -> u64 {
    sums(tenants, metric, "Function").values().sum()
}

/// How many of the tenants' lines carry `metric`.
fn lines_with(tenants: &[&str], metric: &str) -> u64 {
    tenants
        .iter()
        .flat_map(|t| metric_lines_of(t))
        .filter(|l| l.get(metric).is_some())
        .count() as u64
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// Waits (bounded) until `ready` holds for the tenants' lines.
async fn until_emitted(what: &str, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "never emitted: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_mixed_workload_emits_exactly_what_happened_as_valid_emf() {
    let gemini = FakeGemini::start().await.expect("a fake Gemini");
    let t = TestStack::pipeline(&gemini.base_url).await;
    t.start_webhooks();

    // Tenant A (test key, 4 submits a minute): four jobs, a fifth refused
    // by the rate, one refused for its body.
    let (a, key_a) = t.tenant(4, 10).await;
    let mut jobs_a = Vec::new();
    for mode in ["draft", "draft", "final", "draft"] {
        jobs_a.push(
            t.submit_job(&key_a, &format!(r#"{{"prompt":"a cat","mode":"{mode}"}}"#))
                .await,
        );
    }
    t.submit(&key_a, r#"{"prompt":""}"#)
        .await
        .assert_error(400, "INVALID_REQUEST");
    let over = t
        .submit(&key_a, r#"{"prompt":"a fifth","mode":"draft"}"#)
        .await;
    // Unless the clock minute turned after the fourth: then it is admitted
    // and a sixth is refused.
    if over.status == 202 {
        let job = over.body["jobId"].as_str().expect("a job id").to_string();
        jobs_a.push(job);
        t.submit(&key_a, r#"{"prompt":"a sixth"}"#)
            .await
            .assert_error(429, "RATE_LIMIT_EXCEEDED");
    } else {
        over.assert_error(429, "RATE_LIMIT_EXCEEDED");
    }

    // Tenant B: a monthly quota of one image, and a webhook that fails its
    // first attempt.
    let receiver = Receiver::start([500]).await;
    let (b, key_b) = t.tenant(60, 5).await;
    t.set_quota(&b, Some(1)).await;
    t.stack
        .app
        .store
        .set_tenant_webhook(
            &b,
            Some((&receiver.url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
        )
        .await
        .expect("setting the webhook");
    let job_b = t
        .submit_job(&key_b, r#"{"prompt":"the only one","mode":"draft"}"#)
        .await;
    t.submit(&key_b, r#"{"prompt":"one too many"}"#)
        .await
        .assert_error(429, "QUOTA_EXCEEDED");

    // Tenant C (live key, one job at a time): its first job meets a
    // throttled provider and waits two minutes to retry, holding the slot,
    // so the next submit is refused; canceled, it frees the slot for a job
    // the model refuses.
    gemini.script([
        Reply::Error {
            status: 429,
            retry_delay: Some("120s".into()),
        },
        Reply::Refused {
            finish_reason: "IMAGE_SAFETY".into(),
            text: "I can't draw that".into(),
        },
    ]);
    let (c, key_c) = t.live_tenant(60, 1).await;
    let throttled = t
        .submit_job(&key_c, r#"{"prompt":"held","mode":"final"}"#)
        .await;
    wait_for_job(&t, &key_c, &throttled, |s| s == "RETRYING").await;
    t.submit(&key_c, r#"{"prompt":"no slot"}"#)
        .await
        .assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(t.cancel(&key_c, &throttled).await.status, 200);
    let blocked = t
        .submit_job(&key_c, r#"{"prompt":"refused","mode":"draft"}"#)
        .await;

    for job in &jobs_a {
        assert_eq!(
            wait_for_job(&t, &key_a, job, is_terminal).await.1["status"],
            "SUCCEEDED"
        );
    }
    assert_eq!(
        wait_for_job(&t, &key_b, &job_b, is_terminal).await.1["status"],
        "SUCCEEDED"
    );
    let (_, refused) = wait_for_job(&t, &key_c, &blocked, is_terminal).await;
    assert_eq!(refused["error"]["code"], "CONTENT_BLOCKED");
    receiver.wait_for(2).await;

    let tenants = [a.as_str(), b.as_str(), c.as_str()];
    // The finishing line of a job follows its write; the webhook's follows
    // its logged attempt.
    until_emitted("the last job ends and the second webhook attempt", || {
        total(&tenants, "JobsFinished") >= jobs_a.len() as u64 + 3
            && total(&[b.as_str()], "WebhookAttempts") >= 2
    })
    .await;

    let admitted_a = jobs_a.len() as u64;
    assert_eq!(
        sums(&tenants, "JobsAdmitted", "Mode"),
        counts(&[("draft", admitted_a + 1), ("final", 2)]),
        "four or five of A (one final), B's one, C's two (one final)"
    );
    assert_eq!(
        sums(&tenants, "SubmitRefused", "Reason"),
        counts(&[("concurrency", 1), ("invalid", 1), ("quota", 1), ("rpm", 1)])
    );
    assert_eq!(
        sums(&tenants, "JobsFinished", "Status"),
        counts(&[
            ("CANCELED", 1),
            ("FAILED", 1),
            ("SUCCEEDED", admitted_a + 1)
        ])
    );
    assert_eq!(
        sums(&tenants, "JobsFinished", "FailureCode"),
        counts(&[("-", admitted_a + 2), ("CONTENT_BLOCKED", 1)])
    );
    assert_eq!(
        sums(&tenants, "JobsFinished", "Function"),
        counts(&[("cancel-job", 1), ("worker", admitted_a + 2)])
    );
    // Every job that was claimed waited once, and was generated once.
    let claimed = admitted_a + 1 + 2;
    assert_eq!(lines_with(&tenants, "QueueWaitMs"), claimed);
    assert_eq!(lines_with(&tenants, "GenerationMs"), claimed);
    assert_eq!(
        sums(&tenants, "ProviderErrors", "HttpStatus"),
        counts(&[("429", 1)])
    );
    assert_eq!(total(&tenants, "ProviderThrottled"), 1);
    assert_eq!(
        (
            total(&[b.as_str()], "WebhookAttempts"),
            total(&[b.as_str()], "WebhookFailures")
        ),
        (2, 1)
    );
    assert_eq!(total(&tenants, "SweeperRequeued"), 0);

    // The lines that join a request to its job: the admitted job's line
    // carries both ids.
    let admitted = metric_lines_of(&a)
        .into_iter()
        .find(|l| l.get("JobsAdmitted").is_some())
        .expect("an admitted line");
    assert!(
        admitted["requestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(jobs_a.iter().any(|j| admitted["jobId"] == j.as_str()));

    for line in all_metric_lines() {
        assert_eq!(
            shared::metrics::check_line(&line),
            Vec::<String>::new(),
            "{line}"
        );
    }
}
