//! A webhook receiver that answers 503 for a while: the events refused
//! meanwhile are retried on the (compressed) schedule and arrive once it
//! is back, each job's with the one `eventId` it was first sent with;
//! nothing fails for good, nothing is dead-lettered, and the stream's own
//! failure queue stays empty.
//!
//! It stays down until one event was refused `REFUSALS` times, so the
//! schedule's later steps are exercised however fast the machine delivers,
//! well inside the schedule's eight attempts for every event.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use shared::domain::TenantLimits;
use testkit::fake_gemini::FakeGemini;

use crate::harness::{self, GEMINI_TIMEOUT, PATIENCE, WEBHOOK_SCHEDULE_SECS};
use crate::invariants::Answers;
use crate::known::Tenant;
use crate::summary::{Findings, Summary, counts, seconds};
use crate::{billing, deliveries, history, invariants};
use testkit::{Received, Receiver};

const JOBS: usize = 8;
/// Refusals of one event before the receiver comes back: fewer than the
/// schedule's eight attempts.
const REFUSALS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_held_back_by_a_down_receiver_arrive_later_with_the_same_ids() {
    let turn = harness::exclusive().await;
    let started = Instant::now();
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    let t = harness::chaos_stack(&system_tests::moto_endpoint(), &gemini).await;
    let tenant = Tenant::seed(
        &t,
        "hooked",
        TenantLimits {
            rpm: 60,
            max_concurrency: JOBS as u32,
            monthly_image_quota: None,
        },
    )
    .await;
    let receiver = Receiver::start([]).await;
    receiver.always(503);
    tenant
        .hook(&t, &receiver.url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .await;
    t.start_worker();
    t.start_webhooks();

    let down_since = Instant::now();
    for i in 0..JOBS {
        let job = tenant.submit(&t, &format!("hook {i}: a harbour")).await;
        // Some jobs end CANCELED, whose events carry a null error.
        if i % 3 == 0 && t.cancel(&tenant.key, &job).await.status == 200 {
            tenant.canceled(&job);
        }
    }
    // Down until one event was refused REFUSALS times.
    let stream_retried = harness::eventually(PATIENCE, || {
        most_tries_of_one_event(&receiver.received()) >= REFUSALS
    })
    .await;
    // Requests from here on are answered 200 (bar one racing the switch,
    // which the schedule then retries).
    let back_at = receiver.received().len();
    receiver.always(200);
    let down_for = down_since.elapsed();

    let snapshot = invariants::settle(&t, PATIENCE).await;
    // The events refused last wait out their step of the schedule: until
    // each job's event came after the switch (or the patience ran out,
    // which the outage check below reports).
    let job_ids: Vec<String> = snapshot
        .jobs_of(&tenant.id)
        .iter()
        .map(|j| j.id.clone())
        .collect();
    harness::eventually(PATIENCE, || {
        let after: Vec<Value> = receiver.received()[back_at..]
            .iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect();
        job_ids
            .iter()
            .all(|id| after.iter().any(|b| b["jobId"] == id.as_str()))
    })
    .await;
    let webhooks = deliveries::check(&t, &[(&tenant, &receiver)], &snapshot, PATIENCE).await;
    let table = invariants::check(&snapshot, std::slice::from_ref(&tenant), Answers::AllSeen);
    let history = history::replay(&t, std::slice::from_ref(&tenant)).await;
    let bill = billing::check(&gemini.calls(), &snapshot, GEMINI_TIMEOUT, true);

    let received = receiver.received();
    let job_of = |i: usize| -> String {
        serde_json::from_str::<Value>(&received[i].body)
            .map(|b| b["jobId"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let refused: Vec<String> = (0..back_at).map(job_of).collect();
    let delivered: Vec<String> = (back_at..received.len()).map(job_of).collect();
    let mut outage = Vec::new();
    if !stream_retried {
        outage.push(format!(
            "no event was refused {REFUSALS} times in {} s: the schedule never retried one",
            PATIENCE.as_secs()
        ));
    }
    for job in snapshot.jobs_of(&tenant.id) {
        if !delivered.contains(&job.id) {
            outage.push(format!(
                "job {} was not delivered after the receiver came back",
                job.id
            ));
        }
    }
    let mut retried_later: Vec<&String> =
        refused.iter().filter(|j| delivered.contains(j)).collect();
    retried_later.sort_unstable();
    retried_later.dedup();
    let retried_later = retried_later.len();
    if retried_later == 0 {
        outage.push("no refused event was delivered later: the outage was not felt".into());
    }
    let failure_queue = aws_sdk_sqs::Client::new(&t.stack.sdk)
        .receive_message()
        .queue_url(&t.stack.webhook_failures_url)
        .send()
        .await
        .expect("reading the webhook failure queue")
        .messages
        .unwrap_or_default();
    if !failure_queue.is_empty() {
        outage.push(format!(
            "{} records ended in the failure queue",
            failure_queue.len()
        ));
    }
    let dead_letters = t.messages_on(&t.stack.delivery_dlq_url).await;
    if dead_letters > 0 || webhooks.failed > 0 {
        outage.push(format!(
            "{} events failed for good, {dead_letters} dead-lettered: the outage was shorter than the schedule",
            webhooks.failed
        ));
    }

    let mut summary = Summary::new(format!(
        "chaos receiver outage: {JOBS} jobs, receiver answering 503 for {:.1} s, until an event was refused {REFUSALS} times (schedule {:?} s)",
        down_for.as_secs_f64(),
        WEBHOOK_SCHEDULE_SECS
    ));
    summary.line(format!("cpu hogs: {}", turn.hogs.count()));
    summary.line(format!("jobs: {}", counts(&table.jobs_by_status)));
    summary.line(format!(
        "webhooks: {} requests refused, {} after the receiver came back; {} events, {} of them refused first and delivered later with the same id",
        back_at,
        delivered.len(),
        webhooks.events,
        retried_later
    ));
    let mut findings = Findings::default();
    findings.add("webhooks", webhooks.violations);
    findings.add("outage", outage);
    findings.add("table", table.violations);
    findings.add("stream", history.violations);
    findings.add("gemini", bill.violations);
    summary.finish(&findings, seconds(started.elapsed()));
    findings.assert_none();
}

/// The most requests that carried one event (one `webhook-id`).
fn most_tries_of_one_event(received: &[Received]) -> usize {
    let mut tries: HashMap<&str, usize> = HashMap::new();
    for request in received {
        if let Some(id) = request
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
        {
            *tries.entry(id).or_default() += 1;
        }
    }
    tries.into_values().max().unwrap_or(0)
}
