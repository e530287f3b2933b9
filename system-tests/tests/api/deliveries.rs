//! The delivery log, redelivery, per-job webhook URLs and the isolation of
//! tenants' deliveries, on real loopback receivers and the compressed
//! schedule (`webhooks::stack`).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use shared::netguard::UrlPolicy;
use system_tests::{TestStack, is_terminal, wait_for_job};
use testkit::Receiver;
use testkit::fake_gemini::FakeGemini;

use crate::webhooks::{SECRET, delivered, hooked_tenant, json, stack, stack_with, verify};

fn time(v: &Value) -> shared::time::Timestamp {
    shared::time::parse_iso(v.as_str().unwrap_or_default())
        .unwrap_or_else(|| panic!("an ISO time, not {v}"))
}

#[tokio::test]
async fn a_receiver_down_for_four_attempts_gets_the_event_once_and_the_log_shows_all_five() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([503, 503, 502, 500]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"a lighthouse"}"#).await;

    let log = delivered(&t, &key, &job).await;
    eprintln!("{}", serde_json::to_string_pretty(&log).unwrap());
    assert_eq!(log.len(), 5, "four failures, then the delivery: {log:?}");
    let attempts: Vec<u64> = log.iter().map(|i| i["attempt"].as_u64().unwrap()).collect();
    assert_eq!(attempts, [5, 4, 3, 2, 1], "newest first");
    let statuses: Vec<&str> = log.iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["delivered", "failed", "failed", "failed", "failed"]
    );
    let codes: Vec<&Value> = log.iter().map(|i| &i["httpStatus"]).collect();
    assert_eq!(codes, [200, 500, 502, 503, 503]);
    let event_id = log[0]["eventId"].as_str().unwrap();
    assert!(
        log.iter()
            .all(|i| i["eventId"] == event_id && i["url"] == receiver.url.as_str())
    );
    assert!(log[0]["nextAttemptAt"].is_null() && log[0]["error"].is_null());
    for pair in log.windows(2) {
        // Each failed attempt scheduled the next; the next came no earlier.
        let (later, failed) = (&pair[0], &pair[1]);
        let next = time(&failed["nextAttemptAt"]);
        assert!(next > time(&failed["at"]), "{failed}");
        assert!(
            time(&later["at"]).timestamp_millis() >= next.timestamp_millis() - 5,
            "{pair:?}"
        );
        assert!(
            failed["error"].as_str().unwrap().contains("HTTP"),
            "{failed}"
        );
        assert!(failed["durationMs"].is_u64());
    }

    let got = receiver.received();
    assert_eq!(got.len(), 5, "one request per logged attempt");
    assert!(got.iter().all(|r| r.headers["webhook-id"] == event_id));
    assert!(got.iter().all(|r| verify(SECRET, r)));
    assert_eq!(
        json(&got[4])["eventId"],
        event_id,
        "the original eventId arrived"
    );
}

#[tokio::test]
async fn a_hanging_tenant_neither_delays_nor_duplicates_another_tenants_events() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack_with(&gemini, |o| o.webhook_timeout = Duration::from_secs(4)).await;
    let healthy = Receiver::start([]).await;
    let hanging = Receiver::start([]).await;
    hanging.hang(Duration::from_secs(30));
    let (_, quiet_key) = hooked_tenant(&t, &healthy, false).await;
    let (_, noisy_key) = hooked_tenant(&t, &hanging, false).await;

    // Alone first: how long the healthy tenant's events take.
    let alone = deliver_all(&t, &quiet_key, &healthy, 5, 0).await;
    // Then with the other tenant's endpoint hanging past the timeout for
    // every request, its events submitted first.
    let noisy: Vec<String> = submit(&t, &noisy_key, 5).await;
    let beside = deliver_all(&t, &quiet_key, &healthy, 5, 5).await;
    eprintln!("healthy tenant's delivery lag: alone {alone:?}, beside a hanging tenant {beside:?}");

    // Order, not a figure: every healthy event arrived before any of the
    // hanging tenant's events got its second attempt (which waits for the
    // first to time out, then for the schedule).
    let last_healthy = healthy.received().iter().map(|r| r.at).max().unwrap();
    let hanging_got = hanging.received();
    let mut first_seen: Vec<String> = Vec::new();
    for r in &hanging_got {
        let id = r.headers["webhook-id"].to_str().unwrap().to_string();
        if first_seen.contains(&id) {
            assert!(
                r.at > last_healthy,
                "a retry of {id} came before the healthy events"
            );
        } else {
            first_seen.push(id);
        }
    }
    for job in &noisy {
        wait_for_job(&t, &noisy_key, job, is_terminal).await;
    }
}

#[tokio::test]
async fn a_flood_of_hanging_events_ties_up_the_senders_once_not_per_event() {
    // Two batches of ten at once: twenty attempts in flight at most.
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack_with(&gemini, |o| {
        o.webhook_timeout = Duration::from_secs(3);
        o.sender_batches = 2;
    })
    .await;
    let healthy = Receiver::start([]).await;
    let hanging = Receiver::start([]).await;
    hanging.hang(Duration::from_secs(60));
    let (_, quiet_key) = hooked_tenant(&t, &healthy, false).await;
    let (noisy_tenant, noisy_key) = t.tenant(100, 100).await;
    t.stack
        .app
        .store
        .set_tenant_webhook(&noisy_tenant, Some((&hanging.url, SECRET)))
        .await
        .expect("setting the webhook");

    // Twice as many hanging events as the senders hold, all queued first.
    let noisy = submit(&t, &noisy_key, 40).await;
    for job in &noisy {
        wait_for_job(&t, &noisy_key, job, is_terminal).await;
    }
    let lags = deliver_all(&t, &quiet_key, &healthy, 5, 0).await;
    let hanging_seen = hanging.received().len();
    eprintln!(
        "healthy lags beside 40 hanging events: {lags:?}; the hanging endpoint saw {hanging_seen}"
    );
    // The first timeout held the endpoint's other events: they wait
    // instead of taking the senders in a second wave before the healthy
    // tenant's turn.
    assert!(
        hanging_seen <= 20,
        "{hanging_seen} requests reached the hanging endpoint: more than one wave of senders"
    );
    let log = t.deliveries(&noisy_key, &noisy[0]).await;
    assert_eq!(log.status, 200);
    assert!(
        log.body["items"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out")),
        "{}",
        log.body
    );
}

/// Submits `n` jobs.
async fn submit(t: &TestStack, key: &str, n: usize) -> Vec<String> {
    let mut jobs = Vec::new();
    for i in 0..n {
        jobs.push(
            t.submit_job(key, &format!(r#"{{"prompt":"job {i}"}}"#))
                .await,
        );
    }
    jobs
}

/// Submits `n` jobs and waits until each event arrived at `receiver`, once
/// (beyond the `before` it had): the lags from each job's terminal write to
/// its arrival, sorted.
async fn deliver_all(
    t: &TestStack,
    key: &str,
    receiver: &Receiver,
    n: usize,
    before: usize,
) -> Vec<Duration> {
    let jobs = submit(t, key, n).await;
    let mut lags = Vec::new();
    for job in &jobs {
        let (_, done) = wait_for_job(t, key, job, is_terminal).await;
        let log = delivered(t, key, job).await;
        assert_eq!(log.len(), 1, "one attempt, no duplicate: {log:?}");
        let ended: SystemTime = time(&done["updatedAt"]).into();
        let arrived = receiver
            .received()
            .iter()
            .find(|r| json(r)["jobId"] == job.as_str())
            .map(|r| r.at)
            .expect("the event arrived");
        lags.push(arrived.duration_since(ended).unwrap_or_default());
    }
    let got = receiver.received();
    assert_eq!(got.len(), before + n, "no event twice");
    let ids: HashSet<String> = got.iter().map(|r| json(r)["eventId"].to_string()).collect();
    assert_eq!(ids.len(), before + n, "one eventId per event");
    lags.sort();
    lags
}

#[tokio::test]
async fn redelivery_sends_the_same_event_again_and_logs_a_new_attempt() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"again"}"#).await;
    let first = delivered(&t, &key, &job).await;
    let event_id = first[0]["eventId"].as_str().unwrap().to_string();

    let r = t.redeliver(&key, &job).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body,
        serde_json::json!({"eventId": event_id, "status": "pending"})
    );
    let log = t.wait_for_deliveries(&key, &job, |i| i.len() == 2).await;
    assert_eq!(log[0]["attempt"], 2);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["eventId"], event_id.as_str());
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].headers["webhook-id"], event_id.as_str());
    assert_eq!(
        json(&got[0]),
        json(&got[1]),
        "the same event, byte for byte"
    );

    // `{}` counts as no body; anything else is refused.
    let r = t
        .send(
            reqwest::Method::POST,
            &format!("/v1/jobs/{job}/deliveries"),
            Some(&key),
            Some("{}"),
            &[],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = t
        .send(
            reqwest::Method::POST,
            &format!("/v1/jobs/{job}/deliveries"),
            Some(&key),
            Some(r#"{"url":"x"}"#),
            &[],
        )
        .await;
    r.assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn redelivery_refuses_open_jobs_jobs_without_a_target_and_other_scopes_jobs() {
    // No worker: jobs stay QUEUED.
    let t = TestStack::start().await;
    let receiver = Receiver::start([]).await;
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let queued = t.submit_job(&key, r#"{"prompt":"not yet"}"#).await;
    t.redeliver(&key, &queued)
        .await
        .assert_error(400, "INVALID_STATE");
    let r = t.deliveries(&key, &queued).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, serde_json::json!({"items": []}));

    // Another tenant's job, and the same tenant's job seen with a live key.
    let (_, other_key) = t.tenant(60, 5).await;
    t.redeliver(&other_key, &queued)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.deliveries(&other_key, &queued)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    let live_key = t.add_key(&tenant, "img_live_").await;
    t.redeliver(&live_key, &queued)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.deliveries(&live_key, &queued)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.deliveries(&key, "not-a-job")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.deliveries("img_test_nope", &queued)
        .await
        .assert_error(401, "INVALID_API_KEY");

    // A terminal job of a tenant with no webhook has nothing to redeliver.
    let canceled = t.submit_job(&other_key, r#"{"prompt":"no hook"}"#).await;
    assert_eq!(t.cancel(&other_key, &canceled).await.status, 200);
    let r = t.redeliver(&other_key, &canceled).await;
    r.assert_error(400, "INVALID_REQUEST");
    assert!(r.message().contains("webhook"), "{}", r.message());
}

#[tokio::test]
async fn a_jobs_own_webhook_url_gets_its_event_and_the_tenants_does_not() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let tenant_receiver = Receiver::start([]).await;
    let job_receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &tenant_receiver, false).await;
    let body = serde_json::json!({"prompt": "to my own URL", "webhookUrl": job_receiver.url});
    let job = t.submit_job(&key, &body.to_string()).await;
    let log = delivered(&t, &key, &job).await;
    assert_eq!(log[0]["url"], job_receiver.url.as_str());
    let got = job_receiver.received();
    assert_eq!(got.len(), 1);
    assert!(verify(SECRET, &got[0]), "signed with the tenant's secret");
    assert_eq!(json(&got[0])["jobId"], job.as_str());

    // A later job without one goes to the tenant's URL as before; once it
    // arrived, the earlier one would have too.
    let other = t.submit_job(&key, r#"{"prompt":"to the tenant"}"#).await;
    delivered(&t, &key, &other).await;
    let at_tenant = tenant_receiver.received();
    assert_eq!(at_tenant.len(), 1);
    assert_eq!(json(&at_tenant[0])["jobId"], other.as_str());
}

#[tokio::test]
async fn a_per_job_webhook_url_is_checked_at_submit() {
    let t = TestStack::start().await;
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let production = t.variant(|c| c.url_policy = UrlPolicy::Production).await;
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hook",
        "http://example.com/hook",
        receiver.url.as_str(),
    ] {
        let body = serde_json::json!({"prompt": "x", "webhookUrl": url});
        let r = production.submit(&key, &body.to_string()).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains("webhookUrl"), "{url}: {}", r.message());
    }
    for bad in [
        r#"{"prompt":"x","webhookUrl":42}"#,
        r#"{"prompt":"x","webhookUrl":"not a url"}"#,
    ] {
        let r = t.submit(&key, bad).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains("webhookUrl"), "{bad}: {}", r.message());
    }

    // A tenant without a webhook secret has nothing to sign with.
    let (_, bare_key) = t.tenant(60, 5).await;
    let body = serde_json::json!({"prompt": "x", "webhookUrl": receiver.url});
    let r = t.submit(&bare_key, &body.to_string()).await;
    r.assert_error(400, "INVALID_REQUEST");
    assert!(r.message().contains("webhookUrl"), "{}", r.message());

    // Part of the idempotency fingerprint.
    let first = t.submit_with_key(&key, &body.to_string(), "hook-key").await;
    assert_eq!(first.status, 202, "{}", first.body);
    let other = serde_json::json!({"prompt": "x", "webhookUrl": format!("{}/other", receiver.url)});
    t.submit_with_key(&key, &other.to_string(), "hook-key")
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    let again = t.submit_with_key(&key, &body.to_string(), "hook-key").await;
    assert_eq!(again.body["jobId"], first.body["jobId"]);
}
