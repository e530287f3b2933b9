//! Usage and quotas (1.1), end to end: what each job used and cost, the
//! daily usage it is counted in exactly once, `GET /v1/usage`, and monthly
//! image quotas that hold exactly under concurrent submits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::domain::usage::{next_month_start, quota_month, seconds_to_next_month, usage_day};
use shared::domain::{Metering, ResultImage};
use shared::store::{ClaimOutcome, Finish};
use shared::time::{self, parse_iso};
use testkit::fake_gemini::{FakeGemini, Reply, tiny_png};

use system_tests::{Reply as Answer, TestStack, is_terminal, scope, wait_for_job};

async fn usage(t: &TestStack, key: &str, query: &str) -> Answer {
    t.get(key, &format!("/v1/usage{query}")).await
}

/// The day of `report` dated `date`.
fn day<'a>(report: &'a Value, date: &str) -> &'a Value {
    report["days"]
        .as_array()
        .expect("days")
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("no day {date} in {report}"))
}

fn quota_header(r: &Answer, name: &str) -> Option<i64> {
    r.header(name)
        .map(|v| v.parse().expect("an integer header"))
}

/// The images the scope's month counter holds.
async fn month_images(t: &TestStack, tenant: &str, key: &str, month: &str) -> i64 {
    t.stack
        .app
        .store
        .month_images(scope(tenant, key), month)
        .await
        .expect("reading the month counter")
}

#[tokio::test]
async fn live_jobs_report_their_calls_tokens_and_cost_and_usage_counts_them_on_their_submit_day() {
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    gemini.always(Reply::Image(tiny_png()));
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (tenant, live) = t.live_tenant(60, 5).await;

    let poster = t
        .run_job(
            &live,
            r#"{"prompt":"a lighthouse poster","mode":"final","imageSize":"4K","numberOfImages":2}"#,
        )
        .await;
    assert_eq!(poster["status"], "SUCCEEDED", "{poster}");
    // Each fake answer reports 12 prompt and 1,290 candidate tokens; the
    // default price table has gemini-3-pro-image at $0.24 a 4K image.
    assert_eq!(
        poster["usage"],
        json!({"images": 2, "providerCalls": 2, "inputTokens": 24, "outputTokens": 2580, "costUsd": 0.48})
    );
    let sketch = t
        .run_job(&live, r#"{"prompt":"a kettle sketch","mode":"draft"}"#)
        .await;
    assert_eq!(sketch["usage"]["costUsd"], 0.067, "{sketch}");
    assert_eq!(sketch["usage"]["images"], 1, "{sketch}");

    // The list item and the job view say the same.
    let listed = t.get(&live, "/v1/jobs?limit=10").await;
    let item = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == poster["jobId"])
        .expect("the poster is listed");
    assert_eq!(item["usage"], poster["usage"]);

    // The month so far, by default.
    let today = usage_day(time::now());
    let report = usage(&t, &live, "").await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["livemode"], true);
    assert_eq!(report.body["to"], today.as_str());
    assert_eq!(report.body["from"], format!("{}-01", &today[..7]));
    assert_eq!(
        report.body["days"].as_array().map(Vec::len),
        Some(today[8..].parse::<usize>().expect("a day of the month"))
    );
    // Counted on the day they were submitted (asked for by date, so a run
    // across midnight still finds them).
    let submitted = usage_day(
        parse_iso(poster["createdAt"].as_str().expect("createdAt")).expect("an ISO time"),
    );
    let report = usage(&t, &live, &format!("?from={submitted}&to={submitted}")).await;
    let body = &report.body;
    assert_eq!(
        day(body, &submitted),
        &json!({"date": submitted,
            "draft": {"jobs": 1, "images": 1, "costUsd": 0.067},
            "final": {"jobs": 1, "images": 2, "costUsd": 0.48}})
    );
    assert_eq!(
        body["total"],
        json!({"jobs": 2, "images": 3, "costUsd": 0.547})
    );

    // Test mode is counted apart, and costs nothing.
    let test_key = t.add_key(&tenant, "img_test_").await;
    let rendered = t
        .run_job(
            &test_key,
            r#"{"prompt":"a test kettle","numberOfImages":3}"#,
        )
        .await;
    assert_eq!(
        rendered["usage"],
        json!({"images": 3, "providerCalls": 3, "inputTokens": null, "outputTokens": null, "costUsd": 0.0})
    );
    let test_report = usage(&t, &test_key, &format!("?from={submitted}")).await;
    assert_eq!(test_report.body["livemode"], false);
    assert_eq!(
        test_report.body["total"],
        json!({"jobs": 1, "images": 3, "costUsd": 0.0})
    );
    let live_again = usage(&t, &live, &format!("?from={submitted}")).await;
    assert_eq!(live_again.body["total"], body["total"]);
}

#[tokio::test]
async fn a_retried_job_counts_every_call_and_only_the_calls_that_reported_tokens() {
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    gemini.script([
        Reply::Error {
            status: 503,
            retry_delay: None,
        },
        Reply::Image(tiny_png()),
    ]);
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (_, live) = t.live_tenant(60, 5).await;
    let job = t.submit_job(&live, r#"{"prompt":"a retried owl"}"#).await;
    let (seen, view) = wait_for_job(&t, &live, &job, is_terminal).await;
    assert_eq!(view["status"], "SUCCEEDED", "{seen:?} {view}");
    assert_eq!(
        view["usage"],
        json!({"images": 1, "providerCalls": 2, "inputTokens": 12, "outputTokens": 1290, "costUsd": 0.134})
    );
    assert_eq!(gemini.call_count(), 2);
    let report = usage(&t, &live, "").await;
    assert_eq!(
        report.body["total"],
        json!({"jobs": 1, "images": 1, "costUsd": 0.134})
    );
}

#[tokio::test]
async fn a_job_that_ends_without_success_costs_nothing_and_gives_its_images_back() {
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    gemini.always(Reply::Finish("IMAGE_SAFETY".into()));
    let t = TestStack::pipeline(&gemini.base_url).await;
    let (tenant, live) = t.live_tenant(60, 5).await;
    t.set_quota(&tenant, Some(3)).await;

    let submitted = t
        .submit(&live, r#"{"prompt":"a refused scene","numberOfImages":2}"#)
        .await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    assert_eq!(quota_header(&submitted, "x-quota-limit"), Some(3));
    assert_eq!(quota_header(&submitted, "x-quota-remaining"), Some(1));
    let job = submitted.body["jobId"].as_str().expect("a jobId");
    let (_, view) = wait_for_job(&t, &live, job, is_terminal).await;
    assert_eq!(view["status"], "FAILED", "{view}");
    assert_eq!(view["error"]["code"], "CONTENT_BLOCKED");
    assert_eq!(
        view["usage"],
        json!({"images": 0, "providerCalls": 2, "inputTokens": null, "outputTokens": null, "costUsd": 0.0})
    );
    let month = quota_month(time::now());
    assert_eq!(month_images(&t, &tenant, &live, &month).await, 0);
    let report = usage(&t, &live, "").await;
    assert_eq!(
        report.body["total"],
        json!({"jobs": 0, "images": 0, "costUsd": 0.0})
    );
    // All three are free again.
    let again = t
        .submit(
            &live,
            r#"{"prompt":"another refused scene","numberOfImages":3}"#,
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(quota_header(&again, "x-quota-remaining"), Some(0));
}

#[tokio::test]
async fn a_canceled_job_gives_its_images_back_and_shows_zero_usage() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    t.set_quota(&tenant, Some(2)).await;
    let first = t
        .submit_job(&key, r#"{"prompt":"a pair","numberOfImages":2}"#)
        .await;
    let refused = t.submit(&key, r#"{"prompt":"one more"}"#).await;
    refused.assert_error(429, "QUOTA_EXCEEDED");
    assert_eq!(t.cancel(&key, &first).await.status, 200);
    let view = t.get(&key, &format!("/v1/jobs/{first}")).await;
    assert_eq!(
        view.body["usage"],
        json!({"images": 0, "providerCalls": 0, "inputTokens": null, "outputTokens": null, "costUsd": 0.0})
    );
    let accepted = t.submit(&key, r#"{"prompt":"one more"}"#).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(quota_header(&accepted, "x-quota-remaining"), Some(1));
    // A queued job's usage is not known yet.
    let queued = t
        .get(
            &key,
            &format!("/v1/jobs/{}", accepted.body["jobId"].as_str().expect("id")),
        )
        .await;
    assert_eq!(queued.body["usage"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_submits_under_a_quota_of_five_admit_exactly_five() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(1000, 100).await;
    t.set_quota(&tenant, Some(5)).await;
    let before = time::now();
    let replies = t
        .submit_all(
            &key,
            (0..20).map(|i| format!(r#"{{"prompt":"quota burst {i}"}}"#)),
        )
        .await;
    let took = before.signed_duration_since(time::now()).abs();
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    assert_eq!(
        accepted,
        5,
        "{:?}",
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
    let month_end = next_month_start(before).timestamp();
    for r in replies.iter().filter(|r| r.status != 202) {
        r.assert_error(429, "QUOTA_EXCEEDED");
        assert!(r.message().contains("5 images a month"), "{}", r.message());
        let retry_after: i64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        let longest = i64::try_from(seconds_to_next_month(before)).expect("fits");
        assert!(
            (longest - took.num_seconds() - 2..=longest).contains(&retry_after),
            "Retry-After {retry_after}, {longest} s were left at the start"
        );
        assert_eq!(quota_header(r, "x-quota-limit"), Some(5));
        assert_eq!(quota_header(r, "x-quota-remaining"), Some(0));
        assert_eq!(quota_header(r, "x-quota-reset"), Some(month_end));
    }
    let month = quota_month(before);
    assert_eq!(month_images(&t, &tenant, &key, &month).await, 5);
    let listed = t.list_all(&key, "limit=100").await;
    assert_eq!(listed.iter().map(Vec::len).sum::<usize>(), 5);
}

#[tokio::test]
async fn a_four_image_submit_with_three_left_is_refused_and_a_three_image_one_accepted() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 10).await;
    t.set_quota(&tenant, Some(4)).await;
    let one = t
        .submit_with_key(&key, r#"{"prompt":"one"}"#, "quota-replay")
        .await;
    assert_eq!(one.status, 202, "{}", one.body);
    assert_eq!(quota_header(&one, "x-quota-remaining"), Some(3));

    let four = t
        .submit(&key, r#"{"prompt":"four","numberOfImages":4}"#)
        .await;
    four.assert_error(429, "QUOTA_EXCEEDED");
    assert!(
        four.message().contains("used or reserved this month: 1;"),
        "{}",
        four.message()
    );
    assert!(four.message().contains("asks for 4"), "{}", four.message());
    assert_eq!(quota_header(&four, "x-quota-remaining"), Some(3));

    let three = t
        .submit(&key, r#"{"prompt":"three","numberOfImages":3}"#)
        .await;
    assert_eq!(three.status, 202, "{}", three.body);
    assert_eq!(quota_header(&three, "x-quota-remaining"), Some(0));

    // A replay reserves nothing again, and says what is left.
    let replayed = t
        .submit_with_key(&key, r#"{"prompt":"one"}"#, "quota-replay")
        .await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(quota_header(&replayed, "x-quota-remaining"), Some(0));
    // So does a refused body.
    let invalid = t.submit(&key, r#"{"prompt":""}"#).await;
    invalid.assert_error(400, "INVALID_REQUEST");
    assert_eq!(quota_header(&invalid, "x-quota-limit"), Some(4));
    assert_eq!(quota_header(&invalid, "x-quota-remaining"), Some(0));
    let month = quota_month(time::now());
    assert_eq!(month_images(&t, &tenant, &key, &month).await, 4);

    // A tenant without a quota gets no quota headers at all.
    let (_, free) = t.tenant(60, 10).await;
    let unlimited = t.submit(&free, r#"{"prompt":"free"}"#).await;
    assert_eq!(unlimited.status, 202, "{}", unlimited.body);
    assert_eq!(unlimited.header("x-quota-limit"), None);
    assert_eq!(unlimited.header("x-quota-remaining"), None);
}

#[tokio::test]
async fn a_quota_lowered_below_use_refuses_new_submits_and_leaves_queued_jobs_to_finish() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 10).await;
    t.set_quota(&tenant, Some(3)).await;
    let jobs = [
        t.submit_job(&key, r#"{"prompt":"kept one"}"#).await,
        t.submit_job(&key, r#"{"prompt":"kept two"}"#).await,
    ];
    t.set_quota(&tenant, Some(1)).await;
    let refused = t.submit(&key, r#"{"prompt":"over"}"#).await;
    refused.assert_error(429, "QUOTA_EXCEEDED");
    assert_eq!(quota_header(&refused, "x-quota-limit"), Some(1));
    assert_eq!(quota_header(&refused, "x-quota-remaining"), Some(0));

    t.start_worker();
    for job in &jobs {
        let (_, view) = wait_for_job(&t, &key, job, is_terminal).await;
        assert_eq!(view["status"], "SUCCEEDED", "{view}");
    }
    let month = quota_month(time::now());
    assert_eq!(month_images(&t, &tenant, &key, &month).await, 2);
    t.submit(&key, r#"{"prompt":"still over"}"#)
        .await
        .assert_error(429, "QUOTA_EXCEEDED");
    t.set_quota(&tenant, None).await;
    let free = t.submit(&key, r#"{"prompt":"no quota"}"#).await;
    assert_eq!(free.status, 202, "{}", free.body);
    assert_eq!(free.header("x-quota-limit"), None);
}

#[tokio::test]
async fn retry_after_counts_down_to_the_next_month_and_the_new_month_starts_afresh() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 10).await;
    t.set_quota(&tenant, Some(1)).await;
    let boundary = parse_iso("2027-02-01T00:00:00.000Z").expect("a time");

    let eve = t
        .at(parse_iso("2027-01-31T23:59:30.000Z").expect("a time"))
        .await;
    let started = Instant::now();
    let last = eve.submit(&key, r#"{"prompt":"the month's last"}"#).await;
    assert_eq!(last.status, 202, "{}", last.body);
    assert_eq!(quota_header(&last, "x-quota-remaining"), Some(0));
    assert_eq!(
        quota_header(&last, "x-quota-reset"),
        Some(boundary.timestamp())
    );
    let over = eve.submit(&key, r#"{"prompt":"one too many"}"#).await;
    over.assert_error(429, "QUOTA_EXCEEDED");
    let retry_after: u64 = over
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    let elapsed = started.elapsed().as_secs();
    assert!(
        retry_after <= 30 && retry_after + elapsed + 1 >= 30,
        "Retry-After {retry_after} with {elapsed} s gone of the last 30"
    );
    assert!(
        over.message().contains("2027-02-01T00:00:00.000Z"),
        "{}",
        over.message()
    );
    // The month so far, by default.
    let january = usage(&eve, &key, "").await;
    assert_eq!(january.body["from"], "2027-01-01");
    assert_eq!(january.body["to"], "2027-01-31");

    let morning = t
        .at(parse_iso("2027-02-01T00:00:05.000Z").expect("a time"))
        .await;
    let first = morning
        .submit(&key, r#"{"prompt":"the month's first"}"#)
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(quota_header(&first, "x-quota-remaining"), Some(0));
    assert_eq!(month_images(&t, &tenant, &key, "2027-01").await, 1);
    assert_eq!(month_images(&t, &tenant, &key, "2027-02").await, 1);
}

#[tokio::test]
async fn get_usage_answers_up_to_92_days_and_refuses_what_it_cannot_answer() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let whole = usage(&t, &key, "?from=2026-01-01&to=2026-04-02").await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(whole.body["days"].as_array().map(Vec::len), Some(92));
    assert_eq!(whole.body["days"][0]["date"], "2026-01-01");
    assert_eq!(whole.body["days"][91]["date"], "2026-04-02");
    assert_eq!(
        whole.body["days"][0]["final"],
        json!({"jobs": 0, "images": 0, "costUsd": 0.0})
    );
    let one = usage(&t, &key, "?from=2026-02-28&to=2026-02-28").await;
    assert_eq!(one.body["days"].as_array().map(Vec::len), Some(1));
    let from_february = usage(&t, &key, "?to=2026-02-10").await;
    assert_eq!(from_february.body["from"], "2026-02-01");

    for (query, names) in [
        ("?from=2026-01-01&to=2026-04-03", "92 days"),
        ("?from=2026-03-02&to=2026-03-01", "after"),
        ("?from=2026-02-30&to=2026-03-01", "`from`"),
        ("?from=2026-1-1", "`from`"),
        ("?to=20261201", "`to`"),
        ("?to=", "`to`"),
        ("?month=2026-12", "Unknown query parameter"),
        ("?from=2026-01-01&from=2026-01-02", "once"),
    ] {
        let r = usage(&t, &key, query).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains(names), "{query}: {}", r.message());
    }
    let anonymous = t
        .send(reqwest::Method::GET, "/v1/usage", None, None, &[])
        .await;
    anonymous.assert_error(401, "INVALID_API_KEY");
}

#[tokio::test]
async fn a_success_is_counted_once_however_often_its_finish_is_written_or_its_job_reclaimed() {
    let t = TestStack::start_with(|o| o.lease = Duration::from_secs(1)).await;
    let (tenant, key) = t.tenant(60, 5).await;
    let store = &t.stack.app.store;
    let scope = scope(&tenant, &key);
    let claim = |job: String| async move {
        match store
            .claim_job(scope, &job, time::now(), Duration::from_secs(1))
            .await
            .expect("claiming")
        {
            ClaimOutcome::Claimed(job) => *job,
            other => panic!("not claimed: {other:?}"),
        }
    };
    // The same success written twice (a duplicate, or the SDK sending a
    // transaction again after it landed): the second write finds the job
    // no longer RUNNING and writes nothing.
    let twice = t.submit_job(&key, r#"{"prompt":"finished twice"}"#).await;
    let run = claim(twice.clone()).await;
    assert!(finish(store, &run).await.expect("finishing"));
    assert!(!finish(store, &run).await.expect("finishing again"));

    // A worker that crashed after storing its image: the job is reclaimed
    // once its lease is over and finished by the next attempt; the crashed
    // attempt, come back, cannot finish it again.
    let crashed = t.submit_job(&key, r#"{"prompt":"crashed once"}"#).await;
    let zombie = claim(crashed.clone()).await;
    t.start_worker();
    let (seen, view) = wait_for_job(&t, &key, &crashed, is_terminal).await;
    assert_eq!(view["status"], "SUCCEEDED", "{seen:?}");
    assert!(!finish(store, &zombie).await.expect("the zombie's finish"));
    // The first job's message was delivered too: the worker dropped it.
    let first = t.get(&key, &format!("/v1/jobs/{twice}")).await;
    assert_eq!(first.body["status"], "SUCCEEDED");

    let report = usage(&t, &key, "").await;
    assert_eq!(
        report.body["total"],
        json!({"jobs": 2, "images": 2, "costUsd": 0.0})
    );
    let month = quota_month(time::now());
    assert_eq!(month_images(&t, &tenant, &key, &month).await, 2);
}

/// What a worker's attempt writes when its one image is stored.
async fn finish(
    store: &shared::store::Store,
    job: &shared::domain::Job,
) -> Result<bool, shared::store::StoreError> {
    let image = ResultImage {
        index: 0,
        url: format!(
            "https://cdn.example/results/{}/{}/0.png",
            job.tenant_id, job.id
        ),
        content_type: "image/png".into(),
        width: 8,
        height: 8,
        bytes: 100,
    };
    store
        .finish_job(
            job,
            Finish::Succeeded {
                images: vec![image],
                cost_micro_usd: 0,
            },
            Metering::call(None, None),
            time::now(),
        )
        .await
}
