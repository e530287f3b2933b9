//! `stats`: a known mix of jobs and delivery attempts, written at chosen
//! times through the store calls the service makes (submit, claim, retry,
//! finish, cancel; claim and record an attempt), inside and outside the
//! window and across two tenants, and messages on the queues; the exact
//! figures in `--json`, for a 15- and a 60-minute window.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use shared::domain::{FailureCode, Job, JobError, JobStatus, KeyMode, Mode, Scope};
use shared::store::{CancelOutcome, ClaimOutcome, Claimed, DeliveryAttempt, EventState, Finish};
use shared::time::{self, Timestamp};
use shared::webhooks;

use crate::support::Env;

/// A tenant that admits every planted job.
async fn tenant(env: &Env) -> String {
    let out = env
        .create_tenant(&["--rpm", "1000", "--max-concurrency", "100"])
        .await;
    out["tenantId"].as_str().expect("tenantId").to_string()
}

/// The worker's claim at `at`.
async fn claim(env: &Env, job: &Job, at: Timestamp) -> Job {
    match env
        .app
        .store
        .claim_job(job.scope(), &job.id, at, StdDuration::from_secs(300))
        .await
        .expect("a claim")
    {
        ClaimOutcome::Claimed(job) => *job,
        other => panic!("job {} is claimed: {other:?}", job.id),
    }
}

async fn finish(env: &Env, job: &Job, finish: Finish, at: Timestamp) {
    assert!(
        env.app
            .store
            .finish_job(job, finish, shared::domain::Metering::default(), at)
            .await
            .expect("a finish")
    );
}

async fn succeed(env: &Env, job: &Job, at: Timestamp) {
    let images = Vec::new();
    finish(
        env,
        job,
        Finish::Succeeded {
            images,
            cost_micro_usd: 0,
        },
        at,
    )
    .await;
}

async fn fail(env: &Env, job: &Job, code: FailureCode, at: Timestamp) {
    finish(env, job, Finish::Failed(JobError::new(code, "planted")), at).await;
}

async fn retry(env: &Env, job: &Job, at: Timestamp) {
    assert!(
        env.app
            .store
            .retry_job(job, &[], shared::domain::Metering::default(), at)
            .await
            .expect("a retry")
    );
}

async fn cancel(env: &Env, job: &Job, at: Timestamp) {
    assert_eq!(
        env.app
            .store
            .cancel_job(job.scope(), &job.id, at)
            .await
            .expect("a cancel"),
        CancelOutcome::Canceled(job.mode)
    );
}

/// One delivery attempt of the job's event at `at`, claimed and recorded
/// as the webhook sender does.
async fn attempt(env: &Env, job: &Job, status: JobStatus, at: Timestamp, delivered: bool) {
    let store = &env.app.store;
    let scope: Scope<'_> = job.scope();
    let event_id = webhooks::event_id(&job.id, status);
    let Claimed::Attempt(claim) = store
        .claim_delivery_attempt(scope, &job.id, &event_id, 0, at, at)
        .await
        .expect("a claim")
    else {
        panic!("the event of {} is claimed", job.id);
    };
    let a = DeliveryAttempt {
        event_id,
        attempt: claim.attempt,
        url: "https://hooks.example.com/h".into(),
        at,
        delivered,
        http_status: Some(if delivered { 200 } else { 503 }),
        error: (!delivered).then(|| "the receiver answered HTTP 503".to_string()),
        duration_ms: 12,
        next_attempt_at: (!delivered).then(|| at + Duration::seconds(5)),
    };
    let state = if delivered {
        EventState::Delivered
    } else {
        EventState::Retrying
    };
    store
        .record_delivery_attempt(scope, &job.id, 0, &a, state)
        .await
        .expect("an attempt recorded");
}

/// `minutes` ago, plus `seconds`.
fn ago(now: Timestamp, minutes: i64, seconds: i64) -> Timestamp {
    now - Duration::minutes(minutes) + Duration::seconds(seconds)
}

/// What was planted, for the assertions.
struct Planted {
    oldest_waiting: Job,
}

/// The mix (times in minutes before `now`; the 15-minute window holds
/// what is after -15, the 60-minute one what is after -60):
///
/// | job | tenant, mode | created | claims | end |
/// |---|---|---|---|---|
/// | j1 | A test draft | -10 | -9:30 | SUCCEEDED -9 |
/// | j2 | B live final | -8 | -7 | SUCCEEDED -5 |
/// | j3 | A test draft | -6 | -4:30 | FAILED CONTENT_BLOCKED -4 |
/// | j4 | A live draft | -3 | | CANCELED -2 |
/// | j5 | A test final | -12 | -11, retry -10, -9 | FAILED PROVIDER_UNAVAILABLE -8 |
/// | j6 | A test draft | -50 | -49 | SUCCEEDED -40 |
/// | j7 | A test draft | -90 | -89 | FAILED TIMEOUT -20 |
/// | q1 | A test draft | -45 | | QUEUED |
/// | q2 | B live final | -5 | -4, retry -3 | RETRYING |
/// | q3 | A test draft | -1 | | QUEUED |
///
/// Delivery attempts: j1 delivered -6; j3 failed -5, delivered -4; j7
/// failed -30.
async fn plant(env: &Env, now: Timestamp) -> Planted {
    let a = tenant(env).await;
    let b = tenant(env).await;
    let (test, live) = (KeyMode::Test, KeyMode::Live);
    let (draft, fin) = (Mode::Draft, Mode::Final);

    let j1 = env.plant_job(&a, test, draft, ago(now, 10, 0)).await;
    let run = claim(env, &j1, ago(now, 10, 30)).await;
    succeed(env, &run, ago(now, 9, 0)).await;

    let j2 = env.plant_job(&b, live, fin, ago(now, 8, 0)).await;
    let run = claim(env, &j2, ago(now, 7, 0)).await;
    succeed(env, &run, ago(now, 5, 0)).await;

    let j3 = env.plant_job(&a, test, draft, ago(now, 6, 0)).await;
    let run = claim(env, &j3, ago(now, 5, 30)).await;
    fail(env, &run, FailureCode::ContentBlocked, ago(now, 4, 0)).await;

    let j4 = env.plant_job(&a, live, draft, ago(now, 3, 0)).await;
    cancel(env, &j4, ago(now, 2, 0)).await;

    let j5 = env.plant_job(&a, test, fin, ago(now, 12, 0)).await;
    let run = claim(env, &j5, ago(now, 11, 0)).await;
    retry(env, &run, ago(now, 10, 0)).await;
    let run = claim(env, &j5, ago(now, 9, 0)).await;
    assert_eq!(run.attempts, 2);
    fail(env, &run, FailureCode::ProviderUnavailable, ago(now, 8, 0)).await;

    let j6 = env.plant_job(&a, test, draft, ago(now, 50, 0)).await;
    let run = claim(env, &j6, ago(now, 49, 0)).await;
    succeed(env, &run, ago(now, 40, 0)).await;

    let j7 = env.plant_job(&a, test, draft, ago(now, 90, 0)).await;
    let run = claim(env, &j7, ago(now, 89, 0)).await;
    fail(env, &run, FailureCode::Timeout, ago(now, 20, 0)).await;

    let q1 = env.plant_job(&a, test, draft, ago(now, 45, 0)).await;
    let q2 = env.plant_job(&b, live, fin, ago(now, 5, 0)).await;
    let run = claim(env, &q2, ago(now, 4, 0)).await;
    retry(env, &run, ago(now, 3, 0)).await;
    env.plant_job(&a, test, draft, ago(now, 1, 0)).await;

    attempt(env, &j1, JobStatus::Succeeded, ago(now, 6, 0), true).await;
    attempt(env, &j3, JobStatus::Failed, ago(now, 5, 0), false).await;
    attempt(env, &j3, JobStatus::Failed, ago(now, 4, 0), true).await;
    attempt(env, &j7, JobStatus::Failed, ago(now, 30, 0), false).await;

    Planted { oldest_waiting: q1 }
}

/// The queues' messages: on the jobs queue one visible, one received (not
/// visible) and one delayed; two on the jobs DLQ; none on the delivery
/// queues. Returns the jobs DLQ's URL.
async fn fill_queues(env: &Env) -> String {
    let sqs = aws_sdk_sqs::Client::new(&env.resources.sdk);
    let dlq = sqs
        .get_queue_url()
        .queue_name(format!("{}-dlq", env.resources.options.queue))
        .send()
        .await
        .expect("the jobs DLQ")
        .queue_url
        .expect("its URL");
    let send = |url: &str, delay: i32| {
        sqs.send_message()
            .queue_url(url)
            .message_body("{}")
            .delay_seconds(delay)
            .send()
    };
    for delay in [0, 0, 900] {
        send(env.queue_url(), delay).await.expect("a send");
    }
    for _ in 0..2 {
        send(&dlq, 0).await.expect("a send");
    }
    let received = sqs
        .receive_message()
        .queue_url(env.queue_url())
        .max_number_of_messages(1)
        .visibility_timeout(600)
        .send()
        .await
        .expect("a receive")
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "one message in flight");
    dlq
}

fn depth(url: &str, messages: u64, not_visible: u64, delayed: u64) -> Value {
    json!({
        "configured": true,
        "url": url,
        "messages": messages,
        "notVisible": not_visible,
        "delayed": delayed,
    })
}

fn not_configured() -> Value {
    json!({"configured": false, "url": null, "messages": null, "notVisible": null, "delayed": null})
}

fn spread(jobs: u64, p50: u64, p90: u64, max: u64) -> Value {
    json!({"jobs": jobs, "p50": p50, "p90": p90, "max": max})
}

#[tokio::test]
async fn stats_give_the_exact_figures_of_a_known_mix() {
    let env = Env::start().await;
    let now = time::now();
    let planted = plant(&env, now).await;
    let dlq = fill_queues(&env).await;

    // The last 15 minutes; the queues by flag, the delivery DLQ left out.
    let run = env
        .admin(&[
            "stats",
            "--json",
            "--queue-url",
            env.queue_url(),
            "--jobs-dlq-url",
            &dlq,
            "--delivery-queue-url",
            &env.resources.delivery_queue_url,
        ])
        .await;
    let stats = run.json();
    assert_eq!(stats["window"]["minutes"], 15, "{stats}");
    let from = time::parse_iso(stats["window"]["from"].as_str().expect("from")).expect("a time");
    let to = time::parse_iso(stats["window"]["to"].as_str().expect("to")).expect("a time");
    assert_eq!(to - from, Duration::minutes(15));
    assert!(
        to > now - Duration::seconds(1) && to - now < Duration::minutes(1),
        "{stats}"
    );
    assert_eq!(stats["scan"]["complete"], true, "{stats}");
    assert_eq!(stats["scan"]["consistentRead"], false);
    assert_eq!(stats["scan"]["maxItems"], 100_000);
    assert_eq!(
        stats["scan"]["itemsKept"],
        8 + 3,
        "8 jobs, 3 attempts: {stats}"
    );
    assert!(
        stats["scan"]["itemsRead"].as_u64().expect("itemsRead") > 11,
        "every item is read, the tenants' too: {stats}"
    );
    assert!(stats["scan"]["readUnits"].as_f64().is_some(), "{stats}");
    assert_eq!(stats["warnings"], json!([]));

    assert_eq!(
        stats["jobsAdmitted"],
        json!({
            "total": 7,
            "test": 4,
            "live": 3,
            "draft": {"test": 3, "live": 1, "total": 4},
            "final": {"test": 1, "live": 2, "total": 3},
        })
    );
    assert_eq!(
        stats["jobsFinished"],
        json!({
            "total": 5,
            "SUCCEEDED": 2,
            "FAILED": 2,
            "CANCELED": 1,
            "failureCodes": {
                "CONTENT_BLOCKED": 1,
                "INPUT_IMAGE_INVALID": 0,
                "GENERATION_FAILED": 0,
                "PROVIDER_UNAVAILABLE": 1,
                "TIMEOUT": 0,
            },
            "failureRate": 0.4,
        })
    );
    // Waits: j1 30 s, j2 60 s, j3 90 s, q2 60 s; j5 was claimed twice.
    assert_eq!(
        stats["queueWaitMs"],
        json!({
            "all": spread(4, 60_000, 90_000, 90_000),
            "draft": spread(2, 30_000, 90_000, 90_000),
            "final": spread(2, 60_000, 60_000, 60_000),
            "claimedMoreThanOnce": 1,
        })
    );
    // Claim to success: j1 30 s, j2 120 s.
    assert_eq!(
        stats["attemptMs"],
        json!({
            "all": spread(2, 30_000, 120_000, 120_000),
            "draft": spread(1, 30_000, 30_000, 30_000),
            "final": spread(1, 120_000, 120_000, 120_000),
        })
    );
    assert_eq!(stats["webhooks"], json!({"attempts": 3, "failures": 1}));
    assert_eq!(
        stats["queues"],
        json!({
            "jobs": depth(env.queue_url(), 1, 1, 1),
            "jobsDeadLetter": depth(&dlq, 2, 0, 0),
            "delivery": depth(&env.resources.delivery_queue_url, 0, 0, 0),
            "deliveryDeadLetter": not_configured(),
        })
    );
    let oldest = &planted.oldest_waiting;
    let waiting = &stats["waitingJobs"];
    assert_eq!(waiting["QUEUED"], 2, "{waiting}");
    assert_eq!(waiting["RETRYING"], 1);
    assert_eq!(waiting["oldest"]["jobId"], oldest.id.as_str());
    assert_eq!(waiting["oldest"]["tenantId"], oldest.tenant_id.as_str());
    assert_eq!(waiting["oldest"]["livemode"], false);
    assert_eq!(waiting["oldest"]["status"], "QUEUED");
    assert_eq!(
        waiting["oldest"]["createdAt"],
        time::iso_millis(&oldest.created_at)
    );
    let age = waiting["oldest"]["ageSeconds"]
        .as_i64()
        .expect("ageSeconds");
    let created = time::parse_iso(waiting["oldest"]["createdAt"].as_str().expect("createdAt"))
        .expect("a time");
    assert_eq!(age, (to - created).num_seconds(), "{waiting}");
    assert!((45 * 60..46 * 60).contains(&age), "{age}");
    let not_derivable: Vec<&str> = stats["notDerivable"]
        .as_array()
        .expect("notDerivable")
        .iter()
        .map(|m| m["metric"].as_str().expect("metric"))
        .collect();
    assert_eq!(
        not_derivable,
        [
            "SubmitRefused",
            "ProviderErrors",
            "ProviderThrottled",
            "SweeperRequeued",
            "GenerationMs",
            "QueueWaitMs"
        ]
    );

    // The last hour; every queue from the environment.
    let run = env
        .admin_with(
            &["stats", "--minutes", "60", "--json"],
            &[
                ("QUEUE_URL", env.queue_url()),
                ("JOBS_DLQ_URL", &dlq),
                ("DELIVERY_QUEUE_URL", &env.resources.delivery_queue_url),
                ("DELIVERY_DLQ_URL", &env.resources.delivery_dlq_url),
            ],
        )
        .await;
    let hour = run.json();
    assert_eq!(hour["window"]["minutes"], 60, "{hour}");
    assert_eq!(hour["scan"]["itemsKept"], 10 + 4, "{hour}");
    assert_eq!(hour["jobsAdmitted"]["total"], 9, "j6 and q1 too: {hour}");
    assert_eq!(
        hour["jobsAdmitted"]["draft"],
        json!({"test": 5, "live": 1, "total": 6})
    );
    assert_eq!(hour["jobsFinished"]["SUCCEEDED"], 3, "{hour}");
    assert_eq!(hour["jobsFinished"]["FAILED"], 3);
    assert_eq!(hour["jobsFinished"]["failureCodes"]["TIMEOUT"], 1);
    assert_eq!(hour["jobsFinished"]["total"], 7);
    assert_eq!(hour["jobsFinished"]["failureRate"], 3.0 / 7.0);
    // j6's 60 s joins the waits (j7's claim is before the hour).
    assert_eq!(
        hour["queueWaitMs"]["all"],
        spread(5, 60_000, 90_000, 90_000)
    );
    // j6 ran 9 minutes.
    assert_eq!(
        hour["attemptMs"]["all"],
        spread(3, 120_000, 540_000, 540_000)
    );
    assert_eq!(hour["webhooks"], json!({"attempts": 4, "failures": 2}));
    assert_eq!(
        hour["queues"]["deliveryDeadLetter"],
        depth(&env.resources.delivery_dlq_url, 0, 0, 0)
    );
    assert_eq!(hour["waitingJobs"]["oldest"]["jobId"], oldest.id.as_str());

    // The same figures as a table.
    let human = env.admin(&["stats"]).await;
    let text = human.ok();
    for expected in [
        "window:      last 15 minutes",
        "jobs admitted (JobsAdmitted)",
        "MODE   TEST  LIVE  TOTAL\ndraft  3     1     4\nfinal  1     2     3\ntotal  4     3     7\n",
        "  CONTENT_BLOCKED       1\n  PROVIDER_UNAVAILABLE  1\n",
        "failure rate: 40.0% (2 FAILED of 5 finished)",
        "1 claimed more than once (the last claim in the window) left out: not derivable",
        "3 in the window (WebhookAttempts), 1 failed (WebhookFailures)",
        "not configured: pass --queue-url or set QUEUE_URL",
        "waiting jobs:        2 QUEUED, 1 RETRYING",
        &format!("oldest waiting job:  {} of tenant", oldest.id),
        "not derivable from the table",
        "  SubmitRefused  ",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
}

#[tokio::test]
async fn a_scan_stops_at_max_items_and_says_so() {
    let env = Env::start().await;
    let now = time::now();
    plant(&env, now).await;
    let stats = env
        .admin(&["stats", "--max-items", "3", "--json"])
        .await
        .json();
    assert_eq!(stats["scan"]["itemsRead"], 3, "{stats}");
    assert_eq!(stats["scan"]["maxItems"], 3);
    assert_eq!(stats["scan"]["complete"], false);
    let warnings = stats["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{stats}");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.contains("--max-items 3") && w.contains("only the 3 items read")),
        "{stats}"
    );
    // No queue configured: said, not failed.
    for queue in ["jobs", "jobsDeadLetter", "delivery", "deliveryDeadLetter"] {
        assert_eq!(stats["queues"][queue], not_configured(), "{queue}");
    }

    let human = env.admin(&["stats", "--max-items", "3"]).await;
    assert!(
        human
            .ok()
            .starts_with("warning: the scan stopped at --max-items 3"),
        "{human:?}"
    );
    assert!(human.ok().contains(", partial\n"), "{human:?}");

    // The whole table, when the bound is above it.
    let stats = env
        .admin(&["stats", "--max-items", "100000000", "--json"])
        .await
        .json();
    assert_eq!(stats["scan"]["complete"], true, "{stats}");
}

#[tokio::test]
async fn stats_refuse_bad_windows_and_unreadable_queues() {
    let env = Env::start().await;
    for bad in ["0", "1441", "-1", "abc", ""] {
        let run = env.admin(&["stats", "--minutes", bad]).await;
        run.fails_with("--minutes");
        assert_eq!(run.code, Some(2), "a usage error: {run:?}");
    }
    let run = env.admin(&["stats", "--max-items", "0"]).await;
    run.fails_with("from 1 to 100000000");
    let missing = format!("{}-missing", env.queue_url());
    let run = env
        .admin(&["stats", "--queue-url", &missing, "--json"])
        .await;
    run.fails_with("reading the jobs queue");
    assert!(run.stderr.starts_with("{\"error\":"), "{run:?}");
    env.admin_with(&["stats"], &[("TABLE_NAME", "")])
        .await
        .fails_with("no table given");
}
