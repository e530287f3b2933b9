//! Webhooks: one signed event per terminal transition, from the table's
//! stream through the delivery queue to the receiver; retried on the
//! (compressed) schedule, deduplicable, never to forbidden targets. The
//! delivery log, redelivery, per-job URLs and tenant isolation are in
//! `deliveries.rs`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use shared::netguard::UrlPolicy;
use shared::webhooks::{Outcome, RetrySchedule, WebhookEvent};
use testkit::fake_gemini::{FakeGemini, Reply};

use system_tests::{TestStack, is_terminal, scope, wait_for_job};
use testkit::{Received, Receiver};

/// The receiver's side of Standard Webhooks, written from the spec: HMAC-
/// SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" keyed with the
/// base64 secret after "whsec_", compared with each "v1,<base64>" entry.
pub fn verify(secret: &str, r: &Received) -> bool {
    let header = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a base64 secret");
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(
        format!(
            "{}.{}.{}",
            header("webhook-id"),
            header("webhook-timestamp"),
            r.body
        )
        .as_bytes(),
    );
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature")
        .split(' ')
        .any(|sig| sig.strip_prefix("v1,") == Some(expected.as_str()))
}

pub fn json(r: &Received) -> Value {
    serde_json::from_str(&r.body).expect("a JSON body")
}

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Every retry a second after the attempt before: the schedule's shape,
/// compressed. (SQS visibility is counted in whole seconds.)
pub fn compressed(retries: usize) -> RetrySchedule {
    RetrySchedule::from_seconds(vec![1; retries]).expect("a valid schedule")
}

/// A stack with the worker (Gemini for live keys) and the whole webhook
/// path running, on the Standard Webhooks schedule's 7 retries compressed.
pub async fn stack(gemini: &FakeGemini) -> TestStack {
    stack_with(gemini, |_| {}).await
}

pub async fn stack_with(
    gemini: &FakeGemini,
    adjust: impl FnOnce(&mut devstack::StackOptions),
) -> TestStack {
    let base = gemini.base_url.clone();
    let t = TestStack::start_with(|o| {
        o.gemini = Some((base, "k".into()));
        o.retry_base_delay = Duration::from_secs(1);
        o.webhook_retry_base = Duration::from_millis(50);
        o.webhook_schedule = compressed(7);
        o.webhook_timeout = Duration::from_secs(2);
        adjust(o);
    })
    .await;
    t.start_worker();
    t.start_webhooks();
    t
}

/// The log once it holds a delivered attempt.
pub async fn delivered(t: &TestStack, key: &str, job: &str) -> Vec<Value> {
    t.wait_for_deliveries(key, job, |items| {
        items.iter().any(|i| i["status"] == "delivered")
    })
    .await
}

/// The log once its newest attempt failed with nothing scheduled after it.
pub async fn failed_for_good(t: &TestStack, key: &str, job: &str) -> Vec<Value> {
    t.wait_for_deliveries(key, job, |items| {
        items
            .first()
            .is_some_and(|i| i["status"] == "failed" && i["nextAttemptAt"].is_null())
    })
    .await
}

pub async fn hooked_tenant(t: &TestStack, receiver: &Receiver, live: bool) -> (String, String) {
    let (tenant, key) = if live {
        t.live_tenant(60, 5).await
    } else {
        t.tenant(60, 5).await
    };
    t.stack
        .app
        .store
        .set_tenant_webhook(&tenant, Some((&receiver.url, SECRET)))
        .await
        .expect("setting the webhook");
    (tenant, key)
}

#[tokio::test]
async fn a_succeeded_job_is_delivered_once_signed() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([]).await;
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t
        .submit_job(
            &key,
            r#"{"prompt":"A cute cat sitting on a couch","mode":"draft"}"#,
        )
        .await;
    let (_, done) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert_eq!(done["status"], "SUCCEEDED");

    let log = delivered(&t, &key, &job).await;
    assert_eq!(
        log.len(),
        1,
        "QUEUED→RUNNING→SUCCEEDED is one event: {log:?}"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 1, "and the receiver saw one request");
    let r = &got[0];
    assert!(verify(SECRET, r), "signature verifies");
    assert!(
        !verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", r),
        "and not with another secret"
    );
    let body = json(r);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "error",
            "eventId",
            "images",
            "jobId",
            "livemode",
            "request",
            "resultUrls",
            "status",
            "tenantId",
            "timestamp",
            "usage"
        ]
    );
    assert_eq!(body["livemode"], false, "a test key's job is test data");
    assert_eq!(body["jobId"], job.as_str());
    assert_eq!(body["tenantId"], tenant.as_str());
    assert_eq!(body["status"], "SUCCEEDED");
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["resultUrls"], done["resultUrls"]);
    let updated = shared::time::parse_iso(done["updatedAt"].as_str().unwrap()).unwrap();
    assert_eq!(body["timestamp"], updated.timestamp_millis());
    assert!(body["eventId"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(
        r.headers["webhook-id"].to_str().unwrap(),
        body["eventId"].as_str().unwrap()
    );
    let ts: i64 = r.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (shared::time::now().timestamp() - ts).abs() < 60,
        "timestamp in seconds, now"
    );
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(
        r.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("ImageSaaS-Webhooks/")
    );
}

#[tokio::test]
async fn a_failed_job_is_delivered_with_its_error() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.script([Reply::PromptBlocked("SAFETY".into())]);
    let t = stack(&gemini).await;
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, true).await;

    let failed = t.submit_job(&key, r#"{"prompt":"blocked"}"#).await;
    let got = receiver.wait_for(1).await;
    let body = json(&got[0]);
    assert_eq!(body["livemode"], true, "a live key's job is live data");
    assert_eq!(body["jobId"], failed.as_str());
    assert_eq!(body["status"], "FAILED");
    assert_eq!(body["error"]["code"], "CONTENT_BLOCKED");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(body["resultUrls"], serde_json::json!([]));

    assert!(verify(SECRET, &got[0]));
}

#[tokio::test]
async fn a_canceled_job_is_delivered_with_a_null_error() {
    // No worker: the job stays QUEUED until the client cancels it.
    let t = TestStack::start_with(|o| o.webhook_schedule = compressed(7)).await;
    t.start_webhooks();
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"cancel me"}"#).await;
    assert_eq!(t.cancel(&key, &job).await.status, 200);
    let got = receiver.wait_for(1).await;
    let body = json(&got[0]);
    assert_eq!(body["jobId"], job.as_str());
    assert_eq!(body["status"], "CANCELED");
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["resultUrls"], serde_json::json!([]));
    assert!(verify(SECRET, &got[0]));
}

#[tokio::test]
async fn retried_attempts_deliver_only_the_terminal_event() {
    let gemini = FakeGemini::start().await.unwrap();
    gemini.script([Reply::Error {
        status: 503,
        retry_delay: None,
    }]);
    let t = stack(&gemini).await;
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, true).await;
    let job = t.submit_job(&key, r#"{"prompt":"flaky"}"#).await;
    let (seen, _) = wait_for_job(&t, &key, &job, is_terminal).await;
    assert!(seen.contains(&"RETRYING".to_string()), "{seen:?}");
    let log = delivered(&t, &key, &job).await;
    assert_eq!(log.len(), 1, "RUNNING and RETRYING send nothing: {log:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(json(&got[0])["status"], "SUCCEEDED");
}

#[tokio::test]
async fn a_flaky_receiver_gets_the_same_event_id_until_it_accepts() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([500, 408]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"retry me"}"#).await;
    let log = delivered(&t, &key, &job).await;
    let statuses: Vec<&Value> = log.iter().map(|i| &i["httpStatus"]).collect();
    assert_eq!(statuses, [200, 408, 500], "newest first: {log:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 3, "delivered on the third try, then no more");
    let ids: Vec<&str> = got
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let bodies: Vec<Value> = got.iter().map(json).collect();
    assert!(bodies.iter().all(|b| b["eventId"] == bodies[0]["eventId"]));
    assert!(got.iter().all(|r| verify(SECRET, r)));
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_failed_listed_and_dead_lettered() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack_with(&gemini, |o| o.webhook_schedule = compressed(2)).await;
    let receiver = Receiver::start([]).await;
    receiver.always(503);
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"nobody home"}"#).await;

    let log = failed_for_good(&t, &key, &job).await;
    assert_eq!(log.len(), 3, "the first attempt and one per retry: {log:?}");
    assert!(log.iter().all(|i| i["httpStatus"] == 503));
    assert_eq!(receiver.received().len(), 3, "bounded by the schedule");

    let failed = failed_events(&t, &tenant, &key).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].job_id, job);
    assert_eq!(failed[0].event_id, log[0]["eventId"].as_str().unwrap());
    assert!(failed[0].exhausted, "the schedule ran out");
    assert_eq!(failed[0].attempts, 3);

    let message = dead_letter(&t)
        .await
        .expect("the event's message is dead-lettered");
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(body["jobId"], job.as_str());
    assert_eq!(body["tenantId"], tenant.as_str());
}

/// The scope's events that failed for good, as `webhook failed` lists them.
async fn failed_events(t: &TestStack, tenant: &str, key: &str) -> Vec<shared::store::FailedEvent> {
    t.stack
        .app
        .store
        .failed_deliveries(scope(tenant, key), None)
        .await
        .expect("reading the failed events")
}

/// The first message on the delivery dead-letter queue, waiting up to 60 s.
pub async fn dead_letter(t: &TestStack) -> Option<aws_sdk_sqs::types::Message> {
    let sqs = aws_sdk_sqs::Client::new(&t.stack.sdk);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(&t.stack.delivery_dlq_url)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("reading the dead-letter queue");
        if let Some(m) = got.messages.unwrap_or_default().into_iter().next() {
            return Some(m);
        }
    }
    None
}

#[tokio::test]
async fn a_gone_receiver_gets_one_attempt_and_the_event_fails() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([410]).await;
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"gone"}"#).await;
    let log = failed_for_good(&t, &key, &job).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["httpStatus"], 410);
    assert_eq!(receiver.received().len(), 1);
    let failed = failed_events(&t, &tenant, &key).await;
    assert_eq!(failed.len(), 1);
    assert!(
        !failed[0].exhausted,
        "410 is the receiver's answer, not an outage"
    );
}

#[tokio::test]
async fn forbidden_targets_are_refused() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack_with(&gemini, |o| o.webhook_url_policy = UrlPolicy::Production).await;
    // Loopback is refused outside local mode: the receiver hears nothing,
    // and the log says why.
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"to loopback"}"#).await;
    wait_for_job(&t, &key, &job, is_terminal).await;
    let log = failed_for_good(&t, &key, &job).await;
    assert_eq!(log.len(), 1, "not retried: {log:?}");
    assert_eq!(log[0]["httpStatus"], Value::Null);
    assert!(
        log[0]["error"].as_str().unwrap().contains("webhook URL"),
        "{log:?}"
    );
    assert!(receiver.received().is_empty());

    let deliverer =
        shared::webhooks::Deliverer::new(UrlPolicy::Production, Duration::from_secs(1)).unwrap();
    let event = WebhookEvent::of(&devstack::provision::test_job(
        "cjob",
        "ctenant",
        shared::domain::JobStatus::Succeeded,
        "a cat",
        shared::time::now(),
    ))
    .expect("a terminal job's event");
    for url in [
        receiver.url.as_str(),
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/x",
        "https://localhost/hook",
        "http://example.com/hook",
    ] {
        let attempted = deliverer.attempt(url, SECRET, &event).await;
        assert_eq!(attempted.outcome, Outcome::Final, "{url}");
        assert_eq!(attempted.http_status, None, "{url}: no request made");
    }
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_replayed_stream_record_is_delivered_once_with_one_event_id() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::start_with(|o| o.gemini = Some((gemini.base_url.clone(), "k".into()))).await;
    let receiver = Receiver::start([]).await;
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let job_id = t.submit_job(&key, r#"{"prompt":"replay"}"#).await;
    let mut job = t.stored_job(scope(&tenant, &key), &job_id).await;
    job.status = shared::domain::JobStatus::Running;
    let old = image_of(&job);
    job.status = shared::domain::JobStatus::Canceled;
    let new = image_of(&job);
    let mut record = aws_lambda_events::event::dynamodb::EventRecord::default();
    record.event_name = "MODIFY".into();
    record.change.sequence_number = Some("100".into());
    record.change.old_image = old;
    record.change.new_image = new;
    let mut event = aws_lambda_events::event::dynamodb::Event::default();
    event.records = vec![record];

    // The stream hands the function the same record twice (its retries do):
    // two messages, one delivery.
    for _ in 0..2 {
        let resp = t.stack.notifier.process(event.clone()).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    // A change that is not a terminal transition queues nothing.
    let mut not_terminal = event.clone();
    not_terminal.records[0].change.new_image = not_terminal.records[0].change.old_image.clone();
    t.stack.notifier.process(not_terminal).await;
    assert_eq!(
        t.messages_on(&t.stack.delivery_queue_url).await,
        2,
        "two messages queued"
    );

    // Only now is the job terminal in the table, as the sender reads it.
    cancel_in_table(&t, &key, &job_id).await;
    t.start_webhooks();
    let log = delivered(&t, &key, &job_id).await;
    // The second message finds the event delivered and is dropped; wait
    // until the queue is empty to know it was handled.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while t.messages_on(&t.stack.delivery_queue_url).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "messages left on the queue"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        t.deliveries(&key, &job_id).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(receiver.received().len(), 1, "delivered once");
}

async fn cancel_in_table(t: &TestStack, key: &str, job_id: &str) {
    assert_eq!(t.cancel(key, job_id).await.status, 200);
}

/// The job as its stream image: the store's item, in serde_dynamo's type.
fn image_of(job: &shared::domain::Job) -> serde_dynamo::Item {
    serde_dynamo::Item::from(shared::store::job_to_item(job))
}
