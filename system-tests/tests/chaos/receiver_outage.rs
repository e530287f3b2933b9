//! A webhook receiver that answers 503 for a while: the events refused
//! meanwhile are retried (by the handler, then by the stream) and arrive
//! once it is back, each job's with the one `eventId` it was first sent
//! with, and nothing ends in the failure queue.
//!
//! It stays down until the stream has retried a refused event (one event
//! refused more often than the handler's quick attempts), so both retry
//! layers are exercised however fast the machine delivers: well inside
//! their span (at least 13 × the 500 ms base) for every event.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;
use shared::domain::TenantLimits;
use shared::webhooks::QUICK_ATTEMPTS;
use testkit::fake_gemini::FakeGemini;

use crate::harness::{self, GEMINI_TIMEOUT, PATIENCE, WEBHOOK_RETRY_BASE};
use crate::invariants::Answers;
use crate::known::Tenant;
use crate::summary::{Findings, Summary, counts, seconds};
use crate::{billing, deliveries, history, invariants};
use testkit::{Received, Receiver};

const JOBS: usize = 8;

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
    // Down until the stream retried an event: the handler's quick
    // attempts at it were all refused, and so was the stream's next try.
    let stream_retried = harness::eventually(PATIENCE, || {
        most_tries_of_one_event(&receiver.received()) > QUICK_ATTEMPTS as usize
    })
    .await;
    // Requests from here on are answered 200 (bar one racing the switch,
    // which the stream then retries).
    let back_at = receiver.received().len();
    receiver.always(200);
    let down_for = down_since.elapsed();

    let snapshot = invariants::settle(&t, PATIENCE).await;
    let webhooks = deliveries::check(&[(&tenant, &receiver)], &snapshot, PATIENCE).await;
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
            "no event was refused more than {QUICK_ATTEMPTS} times in {} s: the stream never retried one",
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

    let mut summary = Summary::new(format!(
        "chaos receiver outage: {JOBS} jobs, receiver answering 503 for {:.1} s, until the stream retried an event (retry base {} ms)",
        down_for.as_secs_f64(),
        WEBHOOK_RETRY_BASE.as_millis()
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
