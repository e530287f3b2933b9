//! `tenant audit`: drift of the active-job counter found and repaired,
//! stuck jobs found and sent to the queue again, and a lost job (QUEUED
//! with no message, what a submit leaves when both its queue send and its
//! undo fail) run to the end by the worker after `--fix`; drift of the
//! month's image counter found and repaired to the recount, and daily usage
//! that disagrees with the SUCCEEDED jobs reported.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::domain::usage::{quota_month, usage_day};
use shared::domain::{JobStatus, KeyMode, Mode, Scope};
use shared::store::schema;

use crate::support::{Env, Run};

const AUDIT_NEEDS_ATTENTION: i32 = 3;

fn test_scope(tenant_id: &str) -> Scope<'_> {
    Scope::new(tenant_id, KeyMode::Test)
}

/// A tenant with a test key and `submitted` accepted jobs.
async fn tenant_with_jobs(env: &Env, submitted: usize) -> (String, String) {
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId").to_string();
    let (_, key) = env.create_key(&tenant_id, "test").await;
    for _ in 0..submitted {
        let (status, _, body) = env.submit(&key).await;
        assert_eq!(status, 202, "{body}");
    }
    (tenant_id, key)
}

/// The audit's report of the tenant's test mode (the keys here are test
/// keys), and the whole run.
async fn audit(env: &Env, args: &[&str]) -> (Run, Value) {
    let (run, json) = audit_all(env, args).await;
    (run, json["test"].clone())
}

async fn audit_all(env: &Env, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["tenant", "audit"];
    all.extend_from_slice(args);
    all.push("--json");
    let run = env.admin(&all).await;
    let json = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, json)
}

/// Adds `delta` to the test mode's counter behind the service's back.
async fn skew_counter(env: &Env, tenant_id: &str, delta: i64) {
    env.app
        .store
        .client()
        .update_item()
        .table_name(env.table())
        .key(
            schema::PK,
            AttributeValue::S(schema::scope_pk(test_scope(tenant_id))),
        )
        .key(schema::SK, AttributeValue::S(schema::COUNTERS.into()))
        .update_expression("SET activeJobs = activeJobs + :d")
        .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
        .send()
        .await
        .expect("skewing the counter");
}

async fn plant(env: &Env, tenant_id: &str, status: JobStatus, age_minutes: u64) -> String {
    devstack::provision::plant_lost_job(
        &env.app.store,
        tenant_id,
        status,
        Duration::from_secs(age_minutes * 60),
    )
    .await
    .expect("planting a lost job")
}

#[tokio::test]
async fn a_consistent_tenant_passes() {
    let env = Env::start().await;
    let (tenant_id, _) = tenant_with_jobs(&env, 3).await;
    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["activeJobs"], 3, "{report}");
    assert_eq!(report["openJobs"], 3);
    assert_eq!(report["openJobsByStatus"]["QUEUED"], 3);
    assert_eq!(report["drift"], 0);
    assert_eq!(report["counter"], "correct");
    assert_eq!(report["stuck"], serde_json::json!([]));

    let (_, all) = audit_all(&env, &[&tenant_id]).await;
    assert_eq!(all["tenantId"], tenant_id.as_str());
    assert_eq!(all["live"]["activeJobs"], 0, "live is audited apart: {all}");
    assert_eq!(all["live"]["counter"], "correct");

    let human = env.admin(&["tenant", "audit", &tenant_id]).await;
    let human = human.ok();
    assert!(human.contains("drift:"), "{human:?}");
    assert!(
        human.contains("mode:") && human.contains("test") && human.contains("live"),
        "{human:?}"
    );
}

#[tokio::test]
async fn drift_is_reported_then_repaired_with_a_conditional_write() {
    let env = Env::start().await;
    let (tenant_id, key) = tenant_with_jobs(&env, 2).await;
    env.admin(&["tenant", "update", &tenant_id, "--max-concurrency", "4"])
        .await
        .ok();
    // Two slots leaked: the tenant is refused at 2 jobs instead of 4.
    skew_counter(&env, &tenant_id, 2).await;
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 429, "{body}");

    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(AUDIT_NEEDS_ATTENTION), "{run:?}");
    assert_eq!(report["drift"], 2, "{report}");
    assert_eq!(report["counter"], "drifted");

    let (run, report) = audit(&env, &[&tenant_id, "--fix"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["counter"], "repaired", "{report}");
    let shown = env
        .admin(&["tenant", "show", &tenant_id, "--json"])
        .await
        .json();
    assert_eq!(shown["activeJobs"]["test"], 2, "{shown}");
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 202, "the repaired slots admit again: {body}");

    // Too low is drift too: it would admit more than the limit.
    skew_counter(&env, &tenant_id, -3).await;
    let (run, report) = audit(&env, &[&tenant_id, "--fix"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["drift"], -3, "{report}");
    let (_, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(report["counter"], "correct", "{report}");
    assert_eq!(report["activeJobs"], 3);
}

#[tokio::test]
async fn stuck_jobs_are_listed_and_a_lost_job_runs_after_fix() {
    let env = Env::start().await;
    let (tenant_id, _) = tenant_with_jobs(&env, 1).await;
    let lost = plant(&env, &tenant_id, JobStatus::Queued, 45).await;
    let crashed = plant(&env, &tenant_id, JobStatus::Running, 10).await;

    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(AUDIT_NEEDS_ATTENTION), "{run:?}");
    assert_eq!(report["counter"], "correct", "{report}");
    let stuck: Vec<&str> = report["stuck"]
        .as_array()
        .expect("stuck")
        .iter()
        .map(|j| j["jobId"].as_str().expect("jobId"))
        .collect();
    assert_eq!(
        stuck.len(),
        2,
        "the fresh QUEUED job is not stuck: {report}"
    );
    assert!(stuck.contains(&lost.as_str()) && stuck.contains(&crashed.as_str()));
    // `--stale-after` moves the line for waiting jobs, not for leases.
    let (_, report) = audit(&env, &[&tenant_id, "--stale-after", "60"]).await;
    assert_eq!(
        report["stuck"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    let no_queue = env.admin(&["tenant", "audit", &tenant_id, "--fix"]).await;
    no_queue.fails_with("--queue-url");

    let (run, report) = audit(&env, &[&tenant_id, "--fix", "--queue-url", env.queue_url()]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        report["stuck"]
            .as_array()
            .expect("stuck")
            .iter()
            .all(|j| j["requeued"] == true),
        "{report}"
    );

    // The worker now runs both to the end and frees their slots.
    let worker = env.spawn_worker();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, report) = audit(&env, &[&tenant_id]).await;
        if report["openJobs"] == 0 && report["activeJobs"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs still open: {report}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    worker.abort();
    for id in [&lost, &crashed] {
        let job = env
            .app
            .store
            .get_job(test_scope(&tenant_id), id)
            .await
            .expect("a read")
            .expect("the job");
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    }
}

#[tokio::test]
async fn bad_arguments_change_nothing() {
    let env = Env::start().await;
    let (tenant_id, _) = tenant_with_jobs(&env, 0).await;
    env.admin(&["tenant", "audit", &tenant_id, "--stale-after", "0"])
        .await
        .fails_with("--stale-after");
    env.admin(&["tenant", "audit", "c000000000000000000000000"])
        .await
        .fails_with("no tenant");
    env.admin(&["tenant", "audit", "../etc"])
        .await
        .fails_with("no tenant");
    env.admin(&["tenant", "audit", &tenant_id, "--month", "2026-1"])
        .await
        .fails_with("--month");
}

const DRAFT_OF_TWO: &str = r#"{"prompt":"A cat","mode":"draft","numberOfImages":2}"#;

fn this_month() -> String {
    quota_month(shared::time::now())
}

/// A tenant with a test key, one job of two images run to success and one
/// of one image still QUEUED: its month counter holds 3.
async fn tenant_with_a_month(env: &Env, extra: &[&str]) -> (String, String) {
    let tenant = env.create_tenant(extra).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId").to_string();
    let (_, key) = env.create_key(&tenant_id, "test").await;
    let done = env.submit_accepted(&key, DRAFT_OF_TWO).await;
    env.run_to_success(&[(test_scope(&tenant_id), &done)]).await;
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 202, "{body}");
    (tenant_id, key)
}

#[tokio::test]
async fn a_month_counter_matching_its_jobs_passes() {
    let env = Env::start().await;
    let (tenant_id, _) = tenant_with_a_month(&env, &[]).await;
    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let month = &report["months"][this_month()];
    assert_eq!(month["images"], 3, "{report}");
    assert_eq!(month["counted"], 3);
    assert_eq!(month["reservedByOpenJobs"], 1);
    assert_eq!(month["succeededImages"], 2);
    assert_eq!(month["drift"], 0);
    assert_eq!(month["counter"], "correct");
    assert_eq!(month["usage"], "consistent");
    assert_eq!(month["usageDifferences"], serde_json::json!([]));

    // Another month on request: nothing in it, nothing wrong.
    let (run, report) = audit(&env, &[&tenant_id, "--month", "2024-02"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["months"]["2024-02"]["images"], 0, "{report}");
    assert_eq!(report["months"]["2024-02"]["counter"], "correct");
    assert_eq!(report["months"][this_month()]["counter"], "correct");

    let human = env.admin(&["tenant", "audit", &tenant_id]).await;
    let human = human.ok();
    assert!(
        human.contains("image counter:")
            && human.contains("3 (1 reserved by open jobs, 2 of SUCCEEDED jobs)"),
        "{human}"
    );
    assert!(human.contains("matches the SUCCEEDED jobs"), "{human}");
}

#[tokio::test]
async fn a_corrupted_month_counter_is_found_and_repaired_to_the_recount() {
    let env = Env::start().await;
    let (tenant_id, key) = tenant_with_a_month(&env, &["--monthly-image-quota", "4"]).await;
    let month = this_month();
    // Four images too many: the tenant is refused its fourth image.
    assert!(
        env.app
            .store
            .set_month_images(test_scope(&tenant_id), &month, 3, 7)
            .await
            .expect("a write"),
        "the counter read 3"
    );
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "QUOTA_EXCEEDED");

    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(AUDIT_NEEDS_ATTENTION), "{run:?}");
    let found = &report["months"][&month];
    assert_eq!(found["images"], 7, "{report}");
    assert_eq!(found["counted"], 3);
    assert_eq!(found["drift"], 4);
    assert_eq!(found["counter"], "drifted");
    let human = env.admin(&["tenant", "audit", &tenant_id]).await;
    assert!(
        human.stdout.contains("image drift:") && human.stdout.contains("+4"),
        "{human:?}"
    );

    let (run, report) = audit(&env, &[&tenant_id, "--fix"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["months"][&month]["counter"], "repaired", "{report}");
    assert_eq!(
        env.app
            .store
            .month_images(test_scope(&tenant_id), &month)
            .await
            .expect("a read"),
        3
    );
    let usage = env
        .admin(&["tenant", "usage", &tenant_id, "--json"])
        .await
        .json();
    assert_eq!(usage["modes"]["test"]["usedOrReserved"], 3, "{usage}");
    assert_eq!(usage["modes"]["test"]["remaining"], 1);
    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 202, "the fourth image fits again: {body}");

    // Too low is drift too: it would admit past the quota.
    env.app
        .store
        .set_month_images(test_scope(&tenant_id), &month, 4, 1)
        .await
        .expect("a write");
    let (run, report) = audit(&env, &[&tenant_id, "--fix"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["months"][&month]["drift"], -3, "{report}");
    assert_eq!(report["months"][&month]["counter"], "repaired");
    let (run, report) = audit(&env, &[&tenant_id]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(report["months"][&month]["images"], 4, "{report}");
    assert_eq!(report["months"][&month]["counter"], "correct");
}

#[tokio::test]
async fn daily_usage_that_disagrees_with_the_jobs_is_reported_not_repaired() {
    let env = Env::start().await;
    let (tenant_id, _) = tenant_with_a_month(&env, &[]).await;
    let today = usage_day(shared::time::now());
    // One image more on today's draft usage than the jobs generated.
    env.app
        .store
        .client()
        .update_item()
        .table_name(env.table())
        .key(
            schema::PK,
            AttributeValue::S(schema::scope_pk(test_scope(&tenant_id))),
        )
        .key(
            schema::SK,
            AttributeValue::S(schema::usage_sk(&today, Mode::Draft)),
        )
        .update_expression("ADD images :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("skewing the usage");

    for fix in [false, true] {
        let mut args = vec![tenant_id.as_str()];
        if fix {
            args.push("--fix");
        }
        let (run, report) = audit(&env, &args).await;
        assert_eq!(run.code, Some(AUDIT_NEEDS_ATTENTION), "{run:?}");
        let month = &report["months"][this_month()];
        assert_eq!(month["usage"], "differs", "{report}");
        assert_eq!(
            month["usageDifferences"],
            serde_json::json!([{
                "date": today, "mode": "draft",
                "usage": {"jobs": 1, "images": 3},
                "succeeded": {"jobs": 1, "images": 2},
            }]),
            "fix {fix}: {report}"
        );
        assert_eq!(month["counter"], "correct", "the counter is not usage");
    }
    let human = env.admin(&["tenant", "audit", &tenant_id]).await;
    assert_eq!(human.code, Some(AUDIT_NEEDS_ATTENTION), "{human:?}");
    assert!(
        human.stdout.contains("reported, not repaired")
            && human.stdout.contains("1 jobs, 3 images")
            && human.stdout.contains("1 jobs, 2 images"),
        "{human:?}"
    );
}
