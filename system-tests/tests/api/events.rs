//! Every sample event in `events/` replayed through the handler its Lambda
//! runs, against moto with the dev tenant seeded: a sample that drifts from
//! the code fails here, not in someone's `sam local invoke`.

use std::path::Path;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::Body;
use serde_json::Value;
use shared::domain::{JobStatus, KeyMode, Scope};

use system_tests::TestStack;
use testkit::Receiver;

const GET_ID: &str = devstack::provision::SAMPLE_JOB_IDS[0];
const CANCEL_ID: &str = devstack::provision::SAMPLE_JOB_IDS[1];
const ORDER: [&str; 13] = [
    "health.json",
    "generate.json",
    "list-jobs.json",
    "usage.json",
    "get-job.json",
    "cancel-job.json",
    "worker-sqs.json",
    "webhooks-non-terminal.json",
    "webhooks-terminal.json",
    "webhook-sender-sqs.json",
    "deliveries-list.json",
    "deliveries-redeliver.json",
    "sweeper-schedule.json",
];

/// Messages waiting on the delivery queue (nothing drains it here).
async fn queued_deliveries(t: &TestStack) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attrs = aws_sdk_sqs::Client::new(&t.stack.sdk)
        .get_queue_attributes()
        .queue_url(&t.stack.delivery_queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("the delivery queue's attributes")
        .attributes
        .unwrap_or_default();
    attrs[&QueueAttributeName::ApproximateNumberOfMessages]
        .parse()
        .expect("a count")
}

fn body(resp: &lambda_http::Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON"),
        other => panic!("unexpected body {other:?}"),
    }
}

#[tokio::test]
async fn every_sample_event_replays_through_its_handler() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut expected: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(files, expected, "every file in events/ has a replay below");

    let t = TestStack::start().await;
    let key = t.dev_tenant().await;
    let receiver = Receiver::start([]).await;
    let secret = shared::webhooks::new_secret();
    t.stack
        .app
        .store
        .set_tenant_webhook(
            devstack::provision::DEV_TENANT_ID,
            Some((&receiver.url, &secret)),
        )
        .await
        .unwrap();
    devstack::provision::seed_sample_jobs(&t.stack.app.store)
        .await
        .unwrap();
    let app = &t.stack.app;
    // The event the sender delivered: the redelivery must carry the same id.
    let mut event_id = String::new();

    for name in ORDER {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        match name {
            "worker-sqs.json" => {
                let event: SqsEvent = serde_json::from_str(&text).unwrap();
                let resp = t.stack.worker.process_batch(event).await;
                assert!(resp.batch_item_failures.is_empty(), "{name}: {resp:?}");
                let job = app
                    .store
                    .get_job(
                        Scope::new(devstack::provision::DEV_TENANT_ID, KeyMode::Test),
                        GET_ID,
                    )
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(job.status, JobStatus::Succeeded, "{name}");
            }
            "webhooks-terminal.json" | "webhooks-non-terminal.json" => {
                // The stream function queues the terminal event and calls
                // no receiver.
                let event: StreamEvent = serde_json::from_str(&text).unwrap();
                let before = queued_deliveries(&t).await;
                let resp = t.stack.notifier.process(event).await;
                assert!(resp.batch_item_failures.is_empty(), "{name}");
                assert_eq!(
                    queued_deliveries(&t).await - before,
                    u64::from(name == "webhooks-terminal.json"),
                    "{name}"
                );
                assert!(receiver.received().is_empty(), "{name}");
            }
            "webhook-sender-sqs.json" => {
                // One signed POST of the sample job's event to the tenant's
                // receiver.
                let event: SqsEvent = serde_json::from_str(&text).unwrap();
                let resp = t.stack.sender.process_batch(event).await;
                assert!(resp.batch_item_failures.is_empty(), "{name}: {resp:?}");
                let received = receiver.received();
                assert_eq!(received.len(), 1, "{name}");
                let header = |h: &str| {
                    received[0]
                        .headers
                        .get(h)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                event_id = header("webhook-id");
                assert!(event_id.starts_with("evt_"), "{name}: {event_id}");
                assert!(!header("webhook-signature").is_empty(), "{name}");
                let payload: Value = serde_json::from_str(&received[0].body).unwrap();
                assert_eq!(payload["jobId"], GET_ID, "{name}");
                assert_eq!(payload["eventId"], event_id.as_str(), "{name}");
            }
            "sweeper-schedule.json" => {
                let event: Value = serde_json::from_str(&text).unwrap();
                let sweeper = t.stack.sweeper(sweeper::DEFAULT_STALE_AFTER);
                let ctx = lambda_runtime::Context::default();
                let report =
                    sweeper::handle(&sweeper, lambda_runtime::LambdaEvent::new(event, ctx))
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                // The samples are fresh: nothing is stuck.
                assert!(report.requeued.is_empty(), "{name}: {report:?}");
                assert!(report.tenants >= 1, "{name}: {report:?}");
            }
            http => {
                let req =
                    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                let resp = match http {
                    "health.json" => health::handle(app, req).await,
                    "generate.json" => generate::handle(app, req).await,
                    "list-jobs.json" => list_jobs::handle(app, req).await,
                    "usage.json" => usage::handle(app, req).await,
                    "get-job.json" => get_job::handle(app, req).await,
                    "cancel-job.json" => cancel_job::handle(app, req).await,
                    "deliveries-list.json" | "deliveries-redeliver.json" => {
                        deliveries::handle(app, req).await
                    }
                    other => panic!("no handler for {other}"),
                };
                let b = body(&resp);
                let expected = match http {
                    "generate.json" | "deliveries-redeliver.json" => 202,
                    _ => 200,
                };
                assert_eq!(resp.status().as_u16(), expected, "{name}: {b}");
                assert_eq!(resp.headers()["x-request-id"], "Ns7yHjNlIAMEVzQ=", "{name}");
                match http {
                    "usage.json" => {
                        assert_eq!(b["from"], "2026-11-01", "{b}");
                        assert_eq!(b["days"].as_array().map(Vec::len), Some(30), "{b}");
                        assert_eq!(b["livemode"], false, "{b}");
                    }
                    "list-jobs.json" => {
                        let ids: Vec<&str> = b["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|j| j["id"].as_str().unwrap())
                            .collect();
                        assert!(ids.contains(&GET_ID) && ids.contains(&CANCEL_ID), "{b}");
                    }
                    "get-job.json" => assert_eq!(b["jobId"], GET_ID),
                    "cancel-job.json" => assert_eq!(b["status"], "CANCELED"),
                    "deliveries-list.json" => {
                        let items = b["items"].as_array().unwrap();
                        assert_eq!(items.len(), 1, "{b}");
                        assert_eq!(items[0]["eventId"], event_id.as_str(), "{b}");
                        assert_eq!(items[0]["attempt"], 1, "{b}");
                        assert_eq!(items[0]["status"], "delivered", "{b}");
                        assert_eq!(items[0]["url"], receiver.url.as_str(), "{b}");
                    }
                    "deliveries-redeliver.json" => {
                        assert_eq!(
                            b,
                            serde_json::json!({"eventId": event_id, "status": "pending"})
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    // The generate sample's job is the dev tenant's, under its own key.
    let listed = t.get(&key, "/v1/jobs").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3);
}
