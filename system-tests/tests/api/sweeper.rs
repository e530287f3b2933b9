//! The sweeper: a job left without a message (QUEUED or RETRYING for too
//! long, RUNNING past its lease) is sent to the queue again and runs to
//! the end; a job that is merely young, or another tenant's healthy job, is
//! left alone; a second sweep of a job already running is harmless.

use std::time::Duration;

use devstack::provision::plant_lost_job;
use shared::domain::JobStatus;

use system_tests::{TestStack, is_terminal, scope, wait_for_job};

const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

async fn plant(t: &TestStack, tenant_id: &str, status: JobStatus, minutes: u64) -> String {
    plant_lost_job(
        &t.stack.app.store,
        tenant_id,
        status,
        Duration::from_secs(minutes * 60),
    )
    .await
    .expect("planting a lost job")
}

#[tokio::test]
async fn stuck_jobs_are_requeued_and_finish_and_others_are_left_alone() {
    let t = TestStack::start().await;
    let (tenant_id, key) = t.tenant(60, 10).await;
    let (other_id, other_key) = t.tenant(60, 10).await;
    let lost = plant(&t, &tenant_id, JobStatus::Queued, 20).await;
    let retrying = plant(&t, &tenant_id, JobStatus::Retrying, 16).await;
    let crashed = plant(&t, &tenant_id, JobStatus::Running, 30).await;
    // Five minutes old: maybe just behind a backlog, not stuck yet.
    let young = plant(&t, &tenant_id, JobStatus::Queued, 5).await;
    let accepted = t.submit(&other_key, r#"{"prompt":"A fox"}"#).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);

    let sweeper = t.stack.sweeper(STALE_AFTER);
    let mut report = sweeper.sweep(shared::time::now()).await.unwrap();
    report.requeued.sort();
    let mut expected: Vec<String> = [&lost, &retrying, &crashed]
        .iter()
        .map(|id| format!("{tenant_id}/{id}"))
        .collect();
    expected.sort();
    assert_eq!(report.requeued, expected);
    assert!(report.tenants >= 2, "{report:?}");
    // Nothing is sent twice by a sweep that finds the same jobs again:
    // the claim is conditional, so the duplicate message only gets deleted.
    sweeper.sweep(shared::time::now()).await.unwrap();

    t.start_worker();
    for id in [&lost, &retrying, &crashed] {
        let (_, job) = wait_for_job(&t, &key, id, is_terminal).await;
        assert_eq!(job["status"], "SUCCEEDED", "{job}");
    }
    let (_, job) = wait_for_job(
        &t,
        &other_key,
        accepted.body["jobId"].as_str().unwrap(),
        is_terminal,
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    // The young job never had a message and was not swept: still QUEUED,
    // still holding its slot, as the audit would show.
    let young_job = t.get(&key, &format!("/v1/jobs/{young}")).await;
    assert_eq!(young_job.body["status"], "QUEUED", "{}", young_job.body);
    assert_eq!(t.active_jobs(scope(&tenant_id, &key)).await, 1);
    assert_eq!(t.active_jobs(scope(&other_id, &other_key)).await, 0);
    let crashed_job = t.stored_job(scope(&tenant_id, &key), &crashed).await;
    assert_eq!(crashed_job.attempts, 2, "reclaimed once: {crashed_job:?}");
}
