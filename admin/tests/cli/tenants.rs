//! Tenants: create, list, show (with job counts) and webhook updates.

use serde_json::Value;

use crate::support::Env;

#[tokio::test]
async fn created_tenants_are_listed_and_shown() {
    let env = Env::start().await;
    assert_eq!(env.admin(&["tenant", "list"]).await.ok(), "no tenants\n");
    assert_eq!(
        env.admin(&["tenant", "list", "--json"]).await.json(),
        Value::Array(vec![])
    );

    let a = env.create_tenant(&[]).await;
    assert_eq!(a["rpm"], 60, "defaults: {a}");
    assert_eq!(a["maxConcurrency"], 5, "defaults: {a}");
    assert_eq!(a["webhookUrl"], Value::Null);
    assert!(a.get("webhookSecret").is_none(), "{a}");
    let a_id = a["tenantId"].as_str().expect("tenantId");
    assert!(shared::ids::is_valid_id(a_id), "{a_id}");

    let b = env
        .admin(&[
            "tenant",
            "create",
            "--name",
            "Beta Corp",
            "--rpm",
            "7",
            "--max-concurrency",
            "2",
        ])
        .await;
    let b_out = b.ok();
    let b_id = b_out
        .lines()
        .find_map(|l| l.strip_prefix("tenant id:"))
        .map(str::trim)
        .expect("the id is printed");
    assert!(
        b_out.contains("Beta Corp") && b_out.contains('7'),
        "{b_out}"
    );

    let list = env.admin(&["tenant", "list", "--json"]).await.json();
    let mut ids: Vec<&str> = list
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|t| t["tenantId"].as_str())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![a_id, b_id];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let human = env.admin(&["tenant", "list"]).await;
    let human = human.ok();
    assert!(human.starts_with("TENANT ID"), "{human}");
    assert!(
        human.contains("Beta Corp") && human.contains(a_id),
        "{human}"
    );

    let shown = env.admin(&["tenant", "show", b_id, "--json"]).await.json();
    assert_eq!(shown["name"], "Beta Corp");
    assert_eq!(shown["rpm"], 7);
    assert_eq!(shown["maxConcurrency"], 2);
    assert_eq!(
        shown["activeJobs"],
        serde_json::json!({"test": 0, "live": 0})
    );
    assert!(shown.get("webhookSecret").is_none(), "never shown: {shown}");
}

#[tokio::test]
async fn show_counts_jobs_by_status() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (_, key) = env.create_key(tenant_id, "test").await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let (status, _, body) = env.submit(&key).await;
        assert_eq!(status, 202, "{body}");
        jobs.push(body["jobId"].as_str().expect("jobId").to_string());
    }
    let (status, _, body) = env
        .call("DELETE", &format!("/v1/jobs/{}", jobs[0]), &key, None)
        .await;
    assert_eq!(status, 200, "{body}");

    let shown = env
        .admin(&["tenant", "show", tenant_id, "--json"])
        .await
        .json();
    assert_eq!(shown["activeJobs"]["test"], 2, "{shown}");
    assert_eq!(
        shown["activeJobs"]["live"], 0,
        "test jobs are not live: {shown}"
    );
    let expected = serde_json::json!({
        "QUEUED": 2, "RUNNING": 0, "SUCCEEDED": 0, "FAILED": 0, "RETRYING": 0, "CANCELED": 1
    });
    assert_eq!(shown["jobs"]["test"], expected);
    assert_eq!(shown["jobs"]["live"]["QUEUED"], 0);

    let human = env.admin(&["tenant", "show", tenant_id]).await;
    let human = human.ok();
    let line = |status: &str| {
        human
            .lines()
            .find(|l| l.trim_start().starts_with(status))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(line("QUEUED"), Some(vec!["QUEUED", "2"]), "{human}");
    assert_eq!(line("CANCELED"), Some(vec!["CANCELED", "1"]), "{human}");
    assert!(
        human.contains("active jobs:") && human.contains("(none)"),
        "{human}"
    );

    // Another tenant's jobs are not counted.
    let other = env.create_tenant(&[]).await;
    let other_id = other["tenantId"].as_str().expect("tenantId");
    let shown = env
        .admin(&["tenant", "show", other_id, "--json"])
        .await
        .json();
    assert_eq!(shown["jobs"]["test"]["QUEUED"], 0);
}

#[tokio::test]
async fn webhook_secrets_are_made_kept_rotated_and_removed() {
    let env = Env::start().await;
    let created = env
        .create_tenant(&["--webhook-url", "https://hooks.example.com/imagesaas"])
        .await;
    let id = created["tenantId"].as_str().expect("tenantId").to_string();
    let first = created["webhookSecret"]
        .as_str()
        .expect("a secret")
        .to_string();
    assert!(first.starts_with("whsec_"), "{first}");
    assert_eq!(created["webhookUrl"], "https://hooks.example.com/imagesaas");
    let stored = || async {
        env.app
            .store
            .get_tenant(&id)
            .await
            .expect("a read")
            .expect("the tenant")
    };
    assert_eq!(
        stored().await.webhook_secret.as_deref(),
        Some(first.as_str())
    );

    // A new URL keeps the secret, and does not print it.
    let moved = env
        .admin(&[
            "tenant",
            "update",
            &id,
            "--webhook-url",
            "https://other.example.com/h",
            "--json",
        ])
        .await
        .json();
    assert_eq!(moved["webhookUrl"], "https://other.example.com/h");
    assert!(moved.get("webhookSecret").is_none(), "{moved}");
    assert_eq!(moved["webhookSecretSet"], true);
    assert_eq!(
        stored().await.webhook_secret.as_deref(),
        Some(first.as_str())
    );

    // Rotation makes and prints a new one.
    let rotated = env
        .admin(&["tenant", "update", &id, "--rotate-webhook-secret"])
        .await;
    let out = rotated.ok();
    let second = out
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the new secret is printed")
        .to_string();
    assert_ne!(second, first);
    assert!(out.contains("shown only now"), "{out}");
    assert_eq!(
        stored().await.webhook_secret.as_deref(),
        Some(second.as_str())
    );

    // Removed: nothing left to rotate.
    let removed = env
        .admin(&["tenant", "update", &id, "--no-webhook", "--json"])
        .await
        .json();
    assert_eq!(removed["webhookUrl"], Value::Null);
    assert_eq!(removed["webhookSecretSet"], false);
    env.admin(&["tenant", "update", &id, "--rotate-webhook-secret"])
        .await
        .fails_with("has no webhook URL");

    // Set again on a tenant without a secret: a new one is made and shown.
    let again = env
        .admin(&[
            "tenant",
            "update",
            &id,
            "--webhook-url",
            "https://hooks.example.com/x",
            "--json",
        ])
        .await
        .json();
    let third = again["webhookSecret"].as_str().expect("a new secret");
    assert!(third.starts_with("whsec_") && third != second, "{again}");
}

#[tokio::test]
async fn the_local_stack_allows_loopback_webhooks_and_production_does_not() {
    let env = Env::start().await;
    let url = "http://127.0.0.1:9999/hooks";
    env.admin(&["tenant", "create", "--name", "Local", "--webhook-url", url])
        .await
        .fails_with("must use https");
    let local = env
        .admin_with(
            &[
                "tenant",
                "create",
                "--name",
                "Local",
                "--webhook-url",
                url,
                "--json",
            ],
            &[("LOCAL_MODE", "1")],
        )
        .await
        .json();
    assert_eq!(local["webhookUrl"], url);
    // Private addresses stay refused locally too.
    env.admin_with(
        &[
            "tenant",
            "create",
            "--name",
            "Local",
            "--webhook-url",
            "http://10.0.0.1/x",
        ],
        &[("LOCAL_MODE", "1")],
    )
    .await
    .fails_with("private");
}

#[tokio::test]
async fn a_monthly_image_quota_is_set_shown_and_removed() {
    let env = Env::start().await;
    let created = env.create_tenant(&[]).await;
    assert_eq!(created["monthlyImageQuota"], Value::Null, "none by default");
    let id = created["tenantId"].as_str().expect("tenantId").to_string();
    let quota_of = || async {
        env.app
            .store
            .get_tenant(&id)
            .await
            .expect("a read")
            .expect("the tenant")
            .limits
            .monthly_image_quota
    };

    // A quota alone is an update, and the rest stays as it was.
    let set = env
        .admin(&[
            "tenant",
            "update",
            &id,
            "--monthly-image-quota",
            "250",
            "--json",
        ])
        .await
        .json();
    assert_eq!(set["monthlyImageQuota"], 250, "{set}");
    assert_eq!(set["rpm"], 60, "unchanged: {set}");
    assert_eq!(quota_of().await, Some(250));
    let shown = env.admin(&["tenant", "show", &id, "--json"]).await.json();
    assert_eq!(shown["monthlyImageQuota"], 250, "{shown}");
    let text = env.admin(&["tenant", "show", &id]).await;
    let text = text.ok();
    assert!(
        text.lines()
            .any(|l| l.starts_with("monthly image quota:") && l.ends_with("250 images/month")),
        "{text}"
    );

    // Zero is a quota too: it refuses every submit.
    let zero = env
        .admin(&[
            "tenant",
            "update",
            &id,
            "--monthly-image-quota",
            "0",
            "--json",
        ])
        .await
        .json();
    assert_eq!(zero["monthlyImageQuota"], 0, "{zero}");
    assert_eq!(quota_of().await, Some(0));

    let removed = env
        .admin(&["tenant", "update", &id, "--no-quota", "--json"])
        .await
        .json();
    assert_eq!(removed["monthlyImageQuota"], Value::Null, "{removed}");
    assert_eq!(quota_of().await, None);
    let text = env.admin(&["tenant", "show", &id]).await;
    let text = text.ok();
    assert!(
        text.lines()
            .any(|l| l.starts_with("monthly image quota:") && l.ends_with("(none)")),
        "{text}"
    );

    // Given at creation.
    let with_quota = env
        .create_tenant(&["--monthly-image-quota", "1000000000"])
        .await;
    assert_eq!(
        with_quota["monthlyImageQuota"], 1_000_000_000,
        "{with_quota}"
    );
    let other = with_quota["tenantId"].as_str().expect("tenantId");
    let shown = env.admin(&["tenant", "show", other, "--json"]).await.json();
    assert_eq!(shown["monthlyImageQuota"], 1_000_000_000, "{shown}");
}
