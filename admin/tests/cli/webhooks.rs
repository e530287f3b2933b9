//! `webhook failed` and `webhook redeliver`: failed events written by the
//! store calls the webhook sender makes, listed for both modes and by day;
//! a redelivery's message on the delivery queue and its run in the event's
//! state, as the sender will read them; every refusal one line, nothing
//! written.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, NaiveTime, TimeZone, Utc};
use serde_json::{Value, json};
use shared::domain::{JobStatus, KeyMode, Scope};
use shared::queue::DeliveryMessage;
use shared::store::{CancelOutcome, Claimed, DeliveryAttempt, EventState, schema};
use shared::time::{self, Timestamp};
use shared::{ids, webhooks};

use crate::support::{Env, Run};

const HOOK: &str = "https://hooks.example.com/h";

async fn tenant(env: &Env, hooked: bool) -> String {
    let extra: &[&str] = if hooked {
        &["--webhook-url", HOOK]
    } else {
        &[]
    };
    let out = env.create_tenant(extra).await;
    out["tenantId"].as_str().expect("tenantId").to_string()
}

/// A job of the tenant in `mode`, written as a submit writes it, and
/// canceled (a terminal job with an event) unless `queued`.
async fn job(env: &Env, tenant_id: &str, mode: KeyMode, queued: bool) -> String {
    let store = &env.app.store;
    let job = env
        .plant_job(tenant_id, mode, shared::domain::Mode::Draft, time::now())
        .await;
    if !queued {
        assert_eq!(
            store
                .cancel_job(job.scope(), &job.id, time::now())
                .await
                .expect("a cancel"),
            CancelOutcome::Canceled(job.mode)
        );
    }
    job.id
}

/// One attempt at `at` of the job's (canceled) event, through the calls
/// the webhook sender makes, leaving the event in `state`.
async fn attempt(env: &Env, scope: Scope<'_>, job_id: &str, at: Timestamp, state: EventState) {
    let store = &env.app.store;
    let event_id = webhooks::event_id(job_id, JobStatus::Canceled);
    let Claimed::Attempt(claim) = store
        .claim_delivery_attempt(scope, job_id, &event_id, 0, at, at)
        .await
        .expect("a claim")
    else {
        panic!("a fresh event is claimed");
    };
    let delivered = state == EventState::Delivered;
    let a = DeliveryAttempt {
        event_id,
        attempt: claim.attempt,
        url: HOOK.into(),
        at,
        delivered,
        http_status: Some(if delivered { 200 } else { 503 }),
        error: (!delivered).then(|| "the receiver answered HTTP 503".to_string()),
        duration_ms: 12,
        next_attempt_at: (state == EventState::Retrying).then(|| at + Duration::seconds(5)),
    };
    store
        .record_delivery_attempt(scope, job_id, 0, &a, state)
        .await
        .expect("an attempt recorded");
}

const EXHAUSTED: EventState = EventState::Failed { exhausted: true };

fn day(days_from_today: i64) -> (String, Timestamp) {
    let d = Utc::now().date_naive() + Duration::days(days_from_today);
    (
        d.format("%Y-%m-%d").to_string(),
        Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)),
    )
}

async fn failed(env: &Env, tenant_id: &str, extra: &[&str]) -> Value {
    let mut args = vec!["webhook", "failed", "--tenant", tenant_id, "--json"];
    args.extend_from_slice(extra);
    env.admin(&args).await.json()
}

fn job_ids(listing: &Value) -> Vec<&str> {
    listing
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["jobId"].as_str().expect("jobId"))
        .collect()
}

/// Every message on the delivery queue, taken off it.
async fn drain_deliveries(env: &Env) -> Vec<DeliveryMessage> {
    let sqs = aws_sdk_sqs::Client::new(&env.resources.sdk);
    let url = &env.resources.delivery_queue_url;
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("a receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            all.push(DeliveryMessage::from_body(m.body().expect("a body")).expect("a message"));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().expect("a handle"))
                .send()
                .await
                .expect("a delete");
        }
    }
}

/// The event's state item (`WEBHOOK#<jobId>`): its run and status.
async fn state(env: &Env, scope: Scope<'_>, job_id: &str) -> Option<(u32, String)> {
    let item = env
        .app
        .store
        .client()
        .get_item()
        .table_name(env.table())
        .key(schema::PK, AttributeValue::S(schema::scope_pk(scope)))
        .key(
            schema::SK,
            AttributeValue::S(schema::webhook_event_sk(job_id)),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("a read")
        .item?;
    let run = item["run"].as_n().expect("run").parse().expect("a number");
    let status = item["status"].as_s().expect("status").clone();
    Some((run, status))
}

#[tokio::test]
async fn failed_lists_both_modes_by_time_and_since_filters_by_day() {
    let env = Env::start().await;
    let tenant_id = tenant(&env, true).await;
    let test = Scope::new(&tenant_id, KeyMode::Test);
    let live = Scope::new(&tenant_id, KeyMode::Live);

    let listed = failed(&env, &tenant_id, &[]).await;
    assert_eq!(listed, json!([]));
    let human = env
        .admin(&["webhook", "failed", "--tenant", &tenant_id])
        .await;
    assert_eq!(
        human.ok(),
        format!("no failed webhook events for tenant {tenant_id}\n")
    );

    let (_, three_days_ago) = day(-3);
    let (yesterday, yesterday_start) = day(-1);
    let (today, today_start) = day(0);
    let (tomorrow, _) = day(1);
    let (old, live_job, midnight) = (ids::new_id(), ids::new_id(), ids::new_id());
    // Written newest first: the listing orders by when they failed.
    attempt(
        &env,
        test,
        &midnight,
        today_start,
        EventState::Failed { exhausted: false },
    )
    .await;
    attempt(
        &env,
        live,
        &live_job,
        yesterday_start + Duration::hours(12),
        EXHAUSTED,
    )
    .await;
    attempt(
        &env,
        test,
        &old,
        three_days_ago + Duration::hours(12),
        EXHAUSTED,
    )
    .await;
    // Not failed for good: not listed.
    attempt(
        &env,
        test,
        &ids::new_id(),
        today_start,
        EventState::Delivered,
    )
    .await;
    attempt(
        &env,
        live,
        &ids::new_id(),
        today_start,
        EventState::Retrying,
    )
    .await;
    // Another tenant's failure: not this tenant's listing.
    let other = tenant(&env, true).await;
    attempt(
        &env,
        Scope::new(&other, KeyMode::Test),
        &ids::new_id(),
        today_start,
        EXHAUSTED,
    )
    .await;

    let listed = failed(&env, &tenant_id, &[]).await;
    assert_eq!(
        job_ids(&listed),
        [old.as_str(), &live_job, &midnight],
        "{listed}"
    );
    assert_eq!(
        listed[1],
        json!({
            "eventId": webhooks::event_id(&live_job, JobStatus::Canceled),
            "jobId": live_job,
            "livemode": true,
            "failedAt": time::iso_millis(&(yesterday_start + Duration::hours(12))),
            "attempts": 1,
            "exhausted": true,
            "reason": "the receiver answered HTTP 503",
            "url": HOOK,
        })
    );
    assert_eq!(listed[0]["livemode"], false);
    assert_eq!(listed[2]["exhausted"], false);
    assert_eq!(listed[2]["failedAt"], time::iso_millis(&today_start));

    let since_yesterday = failed(&env, &tenant_id, &["--since", &yesterday]).await;
    assert_eq!(job_ids(&since_yesterday), [live_job.as_str(), &midnight]);
    // From the first millisecond of the day.
    let since_today = failed(&env, &tenant_id, &["--since", &today]).await;
    assert_eq!(job_ids(&since_today), [midnight.as_str()]);
    assert_eq!(
        failed(&env, &tenant_id, &["--since", &tomorrow]).await,
        json!([])
    );

    let human = env
        .admin(&["webhook", "failed", "--tenant", &tenant_id])
        .await;
    let lines: Vec<&str> = human.ok().lines().collect();
    assert_eq!(lines.len(), 4, "{human:?}");
    assert!(
        lines[0].starts_with("EVENT ID") && lines[0].contains("FAILED AT"),
        "{human:?}"
    );
    assert!(
        lines[1].contains(&old) && lines[1].contains(" test "),
        "{human:?}"
    );
    assert!(
        lines[2].contains(&live_job) && lines[2].contains(" live "),
        "{human:?}"
    );
    assert!(
        lines[3].contains("HTTP 503") && lines[3].ends_with(HOOK),
        "{human:?}"
    );
    let human = env
        .admin(&[
            "webhook", "failed", "--tenant", &tenant_id, "--since", &tomorrow,
        ])
        .await;
    assert!(
        human.ok().starts_with("no failed webhook events"),
        "{human:?}"
    );
}

#[tokio::test]
async fn failed_refuses_bad_dates_and_unknown_tenants() {
    let env = Env::start().await;
    let tenant_id = tenant(&env, false).await;
    for bad in [
        "2026-13-01",
        "2026-02-30",
        "26/01/2026",
        "2026-1-5",
        "yesterday",
        "",
    ] {
        let run = env
            .admin(&["webhook", "failed", "--tenant", &tenant_id, "--since", bad])
            .await;
        run.fails_with("YYYY-MM-DD");
        assert_eq!(run.code, Some(2), "a usage error: {run:?}");
    }
    env.admin(&["webhook", "failed", "--tenant", &ids::new_id()])
        .await
        .fails_with("no tenant");
    env.admin(&["webhook", "failed", "--tenant", "../x"])
        .await
        .fails_with("no tenant");
    env.admin(&["webhook", "failed"])
        .await
        .fails_with("--tenant");
}

#[tokio::test]
async fn redeliver_queues_the_event_again_in_a_new_run() {
    let env = Env::start().await;
    let tenant_id = tenant(&env, true).await;
    let job_id = job(&env, &tenant_id, KeyMode::Test, false).await;
    let scope = Scope::new(&tenant_id, KeyMode::Test);
    let event_id = webhooks::event_id(&job_id, JobStatus::Canceled);
    // Its first delivery failed for good (run 0, one attempt).
    attempt(&env, scope, &job_id, time::now(), EXHAUSTED).await;

    let out = env
        .admin(&[
            "webhook",
            "redeliver",
            &job_id,
            "--tenant",
            &tenant_id,
            "--queue-url",
            &env.resources.delivery_queue_url,
            "--json",
        ])
        .await
        .json();
    assert_eq!(
        out,
        json!({
            "eventId": event_id,
            "status": "pending",
            "jobId": job_id,
            "tenantId": tenant_id,
            "livemode": false,
            "url": HOOK,
            "run": 1,
        })
    );
    assert_eq!(
        drain_deliveries(&env).await,
        [DeliveryMessage::new(scope, &job_id, 1)]
    );
    assert_eq!(
        state(&env, scope, &job_id).await,
        Some((1, "pending".into()))
    );

    // The queue URL from the environment, human output; the next run.
    let run = env
        .admin_with(
            &["webhook", "redeliver", &job_id, "--tenant", &tenant_id],
            &[("DELIVERY_QUEUE_URL", &env.resources.delivery_queue_url)],
        )
        .await;
    let human = run.ok();
    assert!(
        human.contains(&event_id) && human.contains("pending"),
        "{human:?}"
    );
    assert_eq!(
        drain_deliveries(&env).await,
        [DeliveryMessage::new(scope, &job_id, 2)]
    );
    assert_eq!(
        state(&env, scope, &job_id).await,
        Some((2, "pending".into()))
    );

    // What the sender makes of it: run 1's message is stale now, run 2's
    // takes the next attempt number (counted across runs), its run's first.
    let store = &env.app.store;
    let now = time::now();
    let stale = store
        .claim_delivery_attempt(scope, &job_id, &event_id, 1, now, now)
        .await
        .expect("a claim");
    assert_eq!(stale, Claimed::Stale);
    let Claimed::Attempt(claim) = store
        .claim_delivery_attempt(scope, &job_id, &event_id, 2, now, now)
        .await
        .expect("a claim")
    else {
        panic!("the current run is claimed");
    };
    assert_eq!((claim.attempt, claim.in_run), (2, 1));
}

#[tokio::test]
async fn redeliver_finds_a_live_job() {
    let env = Env::start().await;
    let tenant_id = tenant(&env, true).await;
    let job_id = job(&env, &tenant_id, KeyMode::Live, false).await;
    let live = Scope::new(&tenant_id, KeyMode::Live);
    // Never delivered before (no state yet): the redelivery is run 1.
    let out = env
        .admin_with(
            &[
                "webhook",
                "redeliver",
                &job_id,
                "--tenant",
                &tenant_id,
                "--json",
            ],
            &[("DELIVERY_QUEUE_URL", &env.resources.delivery_queue_url)],
        )
        .await
        .json();
    assert_eq!(out["livemode"], true, "{out}");
    assert_eq!(out["run"], 1, "{out}");
    assert_eq!(
        drain_deliveries(&env).await,
        [DeliveryMessage::new(live, &job_id, 1)]
    );
    assert_eq!(
        state(&env, live, &job_id).await,
        Some((1, "pending".into()))
    );
    assert_eq!(
        state(&env, Scope::new(&tenant_id, KeyMode::Test), &job_id).await,
        None
    );
}

async fn redeliver(env: &Env, job_id: &str, tenant_id: &str, queue: &str) -> Run {
    env.admin(&[
        "webhook",
        "redeliver",
        job_id,
        "--tenant",
        tenant_id,
        "--queue-url",
        queue,
    ])
    .await
}

#[tokio::test]
async fn redeliver_refusals_write_and_send_nothing() {
    let env = Env::start().await;
    let hooked = tenant(&env, true).await;
    let plain = tenant(&env, false).await;
    let queued = job(&env, &hooked, KeyMode::Test, true).await;
    let canceled = job(&env, &hooked, KeyMode::Test, false).await;
    let unhooked = job(&env, &plain, KeyMode::Test, false).await;
    let queue = env.resources.delivery_queue_url.as_str();

    redeliver(&env, &queued, &hooked, queue)
        .await
        .fails_with(&format!("job `{queued}` is QUEUED"));
    redeliver(&env, &ids::new_id(), &hooked, queue)
        .await
        .fails_with("no job");
    redeliver(&env, "../x", &hooked, queue)
        .await
        .fails_with("no job `../x`");
    // Another tenant's job is not found, like the API's 404.
    redeliver(&env, &canceled, &plain, queue)
        .await
        .fails_with("no job");
    redeliver(&env, &unhooked, &plain, queue)
        .await
        .fails_with("no webhook target");
    redeliver(&env, &canceled, &ids::new_id(), queue)
        .await
        .fails_with("no tenant");
    // No queue: refused before anything is written.
    env.admin(&["webhook", "redeliver", &canceled, "--tenant", &hooked])
        .await
        .fails_with("pass --queue-url URL or set DELIVERY_QUEUE_URL");
    let json = env
        .admin(&[
            "webhook",
            "redeliver",
            &queued,
            "--tenant",
            &hooked,
            "--json",
            "--queue-url",
            queue,
        ])
        .await;
    assert_ne!(json.code, Some(0));
    let err: Value = serde_json::from_str(&json.stderr).expect("a JSON error");
    assert!(
        err["error"].as_str().is_some_and(|e| e.contains("QUEUED")),
        "{err}"
    );

    assert_eq!(drain_deliveries(&env).await, []);
    for (tenant_id, job_id) in [
        (&hooked, &queued),
        (&hooked, &canceled),
        (&plain, &unhooked),
    ] {
        for mode in KeyMode::ALL {
            assert_eq!(state(&env, Scope::new(tenant_id, mode), job_id).await, None);
        }
    }
}
