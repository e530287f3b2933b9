//! Webhooks against the table: each terminal job's event reaches its own
//! tenant's receiver (and no other) or is in the tenant's failed list, with
//! one `eventId` per job that every retry repeats, and the job's final
//! status.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::domain::{KeyMode, Scope};
use system_tests::TestStack;

use crate::invariants::Snapshot;
use crate::known::Tenant;
use testkit::{Received, Receiver};

#[derive(Debug, Default)]
pub struct Deliveries {
    pub requests: usize,
    /// Distinct events (= jobs notified).
    pub events: usize,
    /// Requests beyond the first per event: retries and redeliveries.
    pub repeats: usize,
    /// Events that failed for good (in the failed list) instead.
    pub failed: usize,
    pub violations: Vec<String>,
}

/// Waits (up to `patience`) until every terminal job of each tenant has
/// reached the tenant's receiver or failed for good, then checks every
/// request received.
pub async fn check(
    t: &TestStack,
    hooked: &[(&Tenant, &Receiver)],
    snapshot: &Snapshot,
    patience: Duration,
) -> Deliveries {
    let deadline = Instant::now() + patience;
    let mut failed = failed_jobs(t, hooked).await;
    while Instant::now() < deadline && !all_arrived(hooked, snapshot, &failed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        failed = failed_jobs(t, hooked).await;
    }
    let mut deliveries = Deliveries::default();
    let mut event_owner: HashMap<String, String> = HashMap::new();
    for (tenant, receiver) in hooked {
        let received = receiver.received();
        deliveries.requests += received.len();
        let mut events_per_job: HashMap<String, Vec<String>> = HashMap::new();
        for request in &received {
            match read_event(tenant, snapshot, request) {
                Ok((job, event)) => events_per_job.entry(job).or_default().push(event),
                Err(problem) => deliveries
                    .violations
                    .push(format!("{}: {problem}: {}", tenant.label, request.body)),
            }
        }
        for job in snapshot.jobs_of(&tenant.id) {
            let events = events_per_job.remove(&job.id).unwrap_or_default();
            let mut distinct = events.clone();
            distinct.sort_unstable();
            distinct.dedup();
            match distinct.as_slice() {
                [] if job.status.is_terminal() && failed.contains(&job.id) => {
                    deliveries.failed += 1;
                }
                [] if job.status.is_terminal() => deliveries.violations.push(format!(
                    "{}: no event for {} job {}",
                    tenant.label, job.status, job.id
                )),
                [] => {}
                [event] => {
                    deliveries.events += 1;
                    deliveries.repeats += events.len() - 1;
                    if let Some(other) = event_owner.insert(event.clone(), job.id.clone()) {
                        deliveries
                            .violations
                            .push(format!("event {event} names jobs {other} and {}", job.id));
                    }
                }
                several => deliveries.violations.push(format!(
                    "{}: job {} has several event ids: {several:?}",
                    tenant.label, job.id
                )),
            }
        }
    }
    deliveries
}

/// The jobs whose events failed for good, of every hooked (live) tenant.
async fn failed_jobs(t: &TestStack, hooked: &[(&Tenant, &Receiver)]) -> HashSet<String> {
    let mut jobs = HashSet::new();
    for (tenant, _) in hooked {
        let failed = t
            .stack
            .app
            .store
            .failed_deliveries(Scope::new(&tenant.id, KeyMode::Live), None)
            .await
            .expect("reading the failed deliveries");
        jobs.extend(failed.into_iter().map(|f| f.job_id));
    }
    jobs
}

fn all_arrived(
    hooked: &[(&Tenant, &Receiver)],
    snapshot: &Snapshot,
    failed: &HashSet<String>,
) -> bool {
    hooked.iter().all(|(tenant, receiver)| {
        let bodies: Vec<Value> = receiver
            .received()
            .iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect();
        snapshot
            .jobs_of(&tenant.id)
            .iter()
            .filter(|j| j.status.is_terminal() && !failed.contains(&j.id))
            .all(|j| bodies.iter().any(|b| b["jobId"] == j.id.as_str()))
    })
}

/// `(jobId, eventId)` of a request that is an event for one of the
/// tenant's jobs, with the job's final status.
fn read_event(
    tenant: &Tenant,
    snapshot: &Snapshot,
    request: &Received,
) -> Result<(String, String), String> {
    let body: Value = serde_json::from_str(&request.body).map_err(|_| "not JSON")?;
    let fields = body.as_object().map_or(0, |o| o.len());
    let event = body["eventId"].as_str().ok_or("no eventId")?;
    let job_id = body["jobId"].as_str().ok_or("no jobId")?;
    // The 1.0 payload's eight, and 1.1's `images`, `usage` and `request`
    // (an event is terminal, so its usage is known).
    if fields != 11
        || !body["images"].is_array()
        || !body["request"].is_object()
        || !body["usage"].is_object()
    {
        return Err("not exactly the eleven payload fields".into());
    }
    if body["livemode"] != true {
        return Err("a live key's event not marked livemode".into());
    }
    if body["tenantId"] != tenant.id.as_str() {
        return Err("another tenant's event".into());
    }
    let header = request
        .headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok());
    if header != Some(event) {
        return Err(format!("webhook-id {header:?} differs from eventId"));
    }
    let job = snapshot
        .jobs_of(&tenant.id)
        .iter()
        .find(|j| j.id == job_id)
        .ok_or("an event for a job the tenant does not have")?;
    if body["status"] != job.status.as_str() {
        return Err(format!(
            "status differs from the job's final {}",
            job.status
        ));
    }
    Ok((job_id.to_string(), event.to_string()))
}
