//! Webhooks from the table's stream: one signed delivery per terminal
//! transition, retried, deduplicable, never to forbidden targets.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use shared::netguard::UrlPolicy;
use shared::webhooks::{Delivery, WebhookEvent};
use testkit::fake_gemini::{FakeGemini, Reply};

use system_tests::{TestStack, is_terminal, scope, wait_for_job};
use testkit::{Received, Receiver};

/// The receiver's side of Standard Webhooks, written from the spec: HMAC-
/// SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" keyed with the
/// base64 secret after "whsec_", compared with each "v1,<base64>" entry.
fn verify(secret: &str, r: &Received) -> bool {
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

fn json(r: &Received) -> Value {
    serde_json::from_str(&r.body).expect("a JSON body")
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn stack(gemini: &FakeGemini) -> TestStack {
    let base = gemini.base_url.clone();
    let t = TestStack::start_with(|o| {
        o.gemini = Some((base, "k".into()));
        o.retry_base_delay = Duration::from_secs(1);
        o.webhook_retry_base = Duration::from_millis(50);
    })
    .await;
    t.start_worker();
    t.start_webhooks();
    t
}

async fn hooked_tenant(t: &TestStack, receiver: &Receiver, live: bool) -> (String, String) {
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

    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "QUEUED→RUNNING→SUCCEEDED is one event"
    );
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
            "jobId",
            "livemode",
            "resultUrls",
            "status",
            "tenantId",
            "timestamp"
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
    let t = TestStack::start_with(|o| o.webhook_retry_base = Duration::from_millis(50)).await;
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
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "RUNNING and RETRYING send nothing");
    assert_eq!(json(&got[0])["status"], "SUCCEEDED");
}

#[tokio::test]
async fn a_flaky_receiver_gets_the_same_event_id_until_it_accepts() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([500, 500]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    t.submit_job(&key, r#"{"prompt":"retry me"}"#).await;
    let got = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "delivered on the third try, then no more"
    );
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
async fn a_receiver_that_keeps_failing_ends_in_the_failure_queue() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([]).await;
    receiver.always(503);
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"nobody home"}"#).await;
    let sqs = aws_sdk_sqs::Client::new(&t.stack.sdk);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let message = loop {
        let got = sqs
            .receive_message()
            .queue_url(&t.stack.webhook_failures_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = got.messages.unwrap_or_default().into_iter().next() {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing reached the failure queue"
        );
    };
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    let new_image = &body["record"]["dynamodb"]["NewImage"];
    assert_eq!(new_image["jobId"]["S"], job.as_str());
    let attempts =
        shared::webhooks::QUICK_ATTEMPTS as usize * (devstack::streams::MAX_RETRIES as usize + 1);
    assert_eq!(
        receiver.received().len(),
        attempts,
        "bounded: quick retries × stream retries"
    );
}

#[tokio::test]
async fn a_gone_receiver_is_not_retried() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = stack(&gemini).await;
    let receiver = Receiver::start([410]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    t.submit_job(&key, r#"{"prompt":"gone"}"#).await;
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn forbidden_targets_are_refused() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::start_with(|o| {
        o.gemini = Some((gemini.base_url.clone(), "k".into()));
        o.webhook_url_policy = UrlPolicy::Production;
        o.webhook_retry_base = Duration::from_millis(50);
    })
    .await;
    t.start_worker();
    t.start_webhooks();
    // Loopback is refused outside local mode: the receiver hears nothing.
    let receiver = Receiver::start([]).await;
    let (_, key) = hooked_tenant(&t, &receiver, false).await;
    let job = t.submit_job(&key, r#"{"prompt":"to loopback"}"#).await;
    wait_for_job(&t, &key, &job, is_terminal).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty());

    let deliverer = shared::webhooks::Deliverer::new(
        UrlPolicy::Production,
        Duration::from_secs(1),
        Duration::from_millis(10),
    )
    .unwrap();
    let event = WebhookEvent {
        event_id: "evt_x".into(),
        job_id: "cjob".into(),
        tenant_id: "ctenant".into(),
        status: shared::domain::JobStatus::Succeeded,
        result_urls: vec![],
        error: None,
        livemode: false,
        timestamp: 0,
    };
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
        assert!(
            matches!(
                deliverer.deliver(url, SECRET, &event).await,
                Delivery::Refused(_)
            ),
            "{url}"
        );
    }
}

#[tokio::test]
async fn replaying_a_stream_record_sends_the_same_event_id() {
    let gemini = FakeGemini::start().await.unwrap();
    let t = TestStack::start_with(|o| o.gemini = Some((gemini.base_url.clone(), "k".into()))).await;
    let receiver = Receiver::start([]).await;
    let (tenant, key) = hooked_tenant(&t, &receiver, false).await;
    let job_id = t.submit_job(&key, r#"{"prompt":"replay"}"#).await;
    let mut job = t.stored_job(scope(&tenant, &key), &job_id).await;
    job.status = shared::domain::JobStatus::Running;
    let old = image_of(&job);
    job.status = shared::domain::JobStatus::Succeeded;
    job.result_urls = vec!["https://cdn.example.com/x/0.png".into()];
    let new = image_of(&job);
    let mut record = aws_lambda_events::event::dynamodb::EventRecord::default();
    record.event_name = "MODIFY".into();
    record.change.sequence_number = Some("100".into());
    record.change.old_image = old;
    record.change.new_image = new;
    let mut event = aws_lambda_events::event::dynamodb::Event::default();
    event.records = vec![record];

    for _ in 0..2 {
        let resp = t.stack.notifier.process(event.clone()).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    assert_eq!(json(&got[0])["eventId"], json(&got[1])["eventId"]);

    // A change that is not a terminal transition sends nothing.
    let mut not_terminal = event.clone();
    not_terminal.records[0].change.new_image = not_terminal.records[0].change.old_image.clone();
    t.stack.notifier.process(not_terminal).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2);
}

/// The job as its stream image: the store's item, in serde_dynamo's type.
fn image_of(job: &shared::domain::Job) -> serde_dynamo::Item {
    serde_dynamo::Item::from(shared::store::job_to_item(job))
}
