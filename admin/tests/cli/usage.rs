//! `tenant usage`: a month's usage by day and generation mode, test and
//! live apart, after jobs really ran (the worker, with a fake Gemini for
//! live keys), with the month's images used or reserved against the quota.

use serde_json::{Value, json};
use shared::domain::usage::{quota_month, usage_day};
use shared::domain::{KeyMode, Scope};
use testkit::fake_gemini::FakeGemini;

use crate::support::Env;

const DRAFT_OF_TWO: &str = r#"{"prompt":"A cat","mode":"draft","numberOfImages":2}"#;
const FINAL_OF_ONE: &str = r#"{"prompt":"A lighthouse","mode":"final"}"#;

fn tenant_id_of(created: &Value) -> String {
    created["tenantId"]
        .as_str()
        .expect("a tenantId")
        .to_string()
}

async fn usage(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["tenant", "usage"];
    all.extend_from_slice(args);
    all.push("--json");
    env.admin(&all).await.json()
}

/// The usage report's entry for `date`.
fn day<'a>(report: &'a Value, date: &str) -> &'a Value {
    report["days"]
        .as_array()
        .expect("days")
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} is in the report: {report}"))
}

/// A line of the text output that starts with these words.
fn line<'a>(text: &'a str, start: &[&str]) -> Option<Vec<&'a str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.starts_with(start))
}

/// Whether some line of the text output is exactly these words.
fn has_line(text: &str, words: &[&str]) -> bool {
    text.lines()
        .any(|l| l.split_whitespace().eq(words.iter().copied()))
}

#[tokio::test]
async fn usage_shows_each_mode_by_day_with_cost_and_what_is_left_of_the_quota() {
    let gemini = FakeGemini::start().await.expect("the fake Gemini starts");
    let env = Env::start_with_gemini(&gemini.base_url).await;
    let tenant_id = tenant_id_of(&env.create_tenant(&["--monthly-image-quota", "10"]).await);
    let (_, test_key) = env.create_key(&tenant_id, "test").await;
    let (_, live_key) = env.create_key(&tenant_id, "live").await;
    let (test, live) = (
        Scope::new(&tenant_id, KeyMode::Test),
        Scope::new(&tenant_id, KeyMode::Live),
    );
    let mut jobs = Vec::new();
    for (scope, key) in [(test, &test_key), (live, &live_key)] {
        for body in [DRAFT_OF_TWO, FINAL_OF_ONE] {
            jobs.push((scope, env.submit_accepted(key, body).await));
        }
    }
    let ids: Vec<(Scope<'_>, &str)> = jobs.iter().map(|(s, id)| (*s, id.as_str())).collect();
    env.run_to_success(&ids).await;
    assert_eq!(
        gemini.call_count(),
        3,
        "live images only: two drafts, one final"
    );
    // One more test job, not run: its image is reserved, not used.
    env.submit_accepted(&test_key, FINAL_OF_ONE).await;

    let now = shared::time::now();
    let (month, today) = (quota_month(now), usage_day(now));
    let report = usage(&env, &[&tenant_id]).await;
    assert_eq!(report["tenantId"], tenant_id.as_str());
    assert_eq!(
        report["month"],
        month.as_str(),
        "the current month by default"
    );
    assert_eq!(report["monthlyImageQuota"], 10);

    let test_mode = &report["modes"]["test"];
    assert_eq!(test_mode["usedOrReserved"], 4, "{test_mode}");
    assert_eq!(test_mode["remaining"], 6);
    let test_usage = &test_mode["usage"];
    assert_eq!(test_usage["livemode"], false);
    assert_eq!(test_usage["from"], format!("{month}-01").as_str());
    assert_eq!(test_usage["to"], today.as_str(), "the month so far");
    assert_eq!(
        day(test_usage, &today),
        &json!({"date": today,
            "draft": {"jobs": 1, "images": 2, "costUsd": 0.0},
            "final": {"jobs": 1, "images": 1, "costUsd": 0.0}})
    );
    assert_eq!(
        test_usage["total"],
        json!({"jobs": 2, "images": 3, "costUsd": 0.0}),
        "test mode costs nothing"
    );

    // Live: the default prices, 2 draft images at $0.067, 1 final at $0.134.
    let live_mode = &report["modes"]["live"];
    assert_eq!(live_mode["usedOrReserved"], 3, "{live_mode}");
    assert_eq!(live_mode["remaining"], 7);
    let live_usage = &live_mode["usage"];
    assert_eq!(live_usage["livemode"], true);
    assert_eq!(
        day(live_usage, &today),
        &json!({"date": today,
            "draft": {"jobs": 1, "images": 2, "costUsd": 0.134},
            "final": {"jobs": 1, "images": 1, "costUsd": 0.134}})
    );
    assert_eq!(
        live_usage["total"],
        json!({"jobs": 2, "images": 3, "costUsd": 0.268})
    );

    let run = env.admin(&["tenant", "usage", &tenant_id]).await;
    let text = run.ok();
    eprintln!("tenant usage {tenant_id}:\n{text}");
    assert!(
        text.contains("monthly image quota:") && text.contains("10 images/month"),
        "{text}"
    );
    assert_eq!(
        line(text, &[&today, "draft"]),
        Some(vec![today.as_str(), "draft", "1", "2", "0.00"]),
        "the test mode's day comes first: {text}"
    );
    assert_eq!(
        line(text, &["total", "final"]),
        Some(vec!["total", "final", "1", "1", "0.00"]),
        "{text}"
    );
    assert!(
        has_line(text, &[&today, "final", "1", "1", "0.134"])
            && has_line(text, &["total", "draft", "1", "2", "0.134"]),
        "live costs: {text}"
    );
    assert!(
        text.contains("quota: 10 images/month, 4 used or reserved, 6 left\n")
            && text.contains("quota: 10 images/month, 3 used or reserved, 7 left\n"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("DATE")).count(),
        2,
        "a table per mode: {text}"
    );
}

#[tokio::test]
async fn usage_without_a_quota_or_for_another_month_shows_what_there_is() {
    let env = Env::start().await;
    let tenant_id = tenant_id_of(&env.create_tenant(&[]).await);
    let (_, key) = env.create_key(&tenant_id, "test").await;
    let job = env.submit_accepted(&key, DRAFT_OF_TWO).await;
    env.run_to_success(&[(Scope::new(&tenant_id, KeyMode::Test), &job)])
        .await;

    let report = usage(&env, &[&tenant_id]).await;
    assert_eq!(report["monthlyImageQuota"], Value::Null);
    assert_eq!(report["modes"]["test"]["usedOrReserved"], 2, "{report}");
    assert_eq!(report["modes"]["test"]["remaining"], Value::Null);
    assert_eq!(report["modes"]["live"]["usedOrReserved"], 0);
    let text = env.admin(&["tenant", "usage", &tenant_id]).await;
    let text = text.ok();
    assert!(
        text.contains("quota: none, 2 used or reserved\n")
            && text.contains("quota: none, 0 used or reserved\n"),
        "{text}"
    );

    // A past month: every one of its days, nothing in them.
    let old = usage(&env, &[&tenant_id, "--month", "2024-02"]).await;
    assert_eq!(old["month"], "2024-02");
    let test_usage = &old["modes"]["test"]["usage"];
    assert_eq!(test_usage["from"], "2024-02-01");
    assert_eq!(test_usage["to"], "2024-02-29");
    assert_eq!(test_usage["days"].as_array().map(Vec::len), Some(29));
    assert_eq!(test_usage["total"]["images"], 0);
    assert_eq!(old["modes"]["test"]["usedOrReserved"], 0);
    let text = env
        .admin(&["tenant", "usage", &tenant_id, "--month", "2024-02"])
        .await;
    let text = text.ok();
    assert_eq!(
        line(text, &["total", "draft"]),
        Some(vec!["total", "draft", "0", "0", "0.00"]),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("2024-02-")),
        "only days with usage are listed: {text}"
    );
}

#[tokio::test]
async fn usage_refuses_unknown_tenants_and_bad_months() {
    let env = Env::start().await;
    let tenant_id = tenant_id_of(&env.create_tenant(&[]).await);
    let absent = shared::ids::new_id();
    env.admin(&["tenant", "usage", &absent])
        .await
        .fails_with(&format!("no tenant `{absent}`"));
    env.admin(&["tenant", "usage", "../etc"])
        .await
        .fails_with("no tenant");
    for bad in ["2026-13", "2026-3", "26-03", "2026-03-01", "march"] {
        env.admin(&["tenant", "usage", &tenant_id, "--month", bad])
            .await
            .fails_with("must be a UTC month as YYYY-MM");
    }
}
