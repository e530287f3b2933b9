//! 401 for every kind of bad key; tenants never see each other's jobs.

use std::time::Duration;

use reqwest::Method;
use shared::store::{TenantUpdate, WebhookChange};

use system_tests::TestStack;

#[tokio::test]
async fn bad_keys_are_401_on_every_route() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let revoked = {
        let (_, k) = t.tenant(60, 5).await;
        t.revoke(&k).await;
        k
    };
    let routes = [
        (
            Method::POST,
            "/v1/images/generate",
            Some(r#"{"prompt":"a"}"#),
        ),
        (Method::GET, "/v1/jobs", None),
        (Method::GET, "/v1/jobs/cmkuz35wf00034rk15ycgzvce", None),
        (Method::DELETE, "/v1/jobs/cmkuz35wf00034rk15ycgzvce", None),
    ];
    let wrong_scheme = format!("Basic {key}");
    let revoked_header = format!("Bearer {revoked}");
    let lowercase = format!("bearer {key}");
    let huge = format!("Bearer img_test_{}", "a".repeat(10_000));
    let headers: [(&str, Option<&str>); 7] = [
        ("missing", None),
        ("wrong scheme", Some(&wrong_scheme)),
        ("unknown", Some("Bearer img_test_not_a_real_key_123")),
        ("malformed", Some("Bearer sk_live_123456789")),
        ("empty", Some("Bearer ")),
        ("revoked", Some(&revoked_header)),
        ("huge", Some(&huge)),
    ];
    for (method, path, body) in &routes {
        for (what, header) in &headers {
            let extra: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", *h)).collect();
            let r = t.send(method.clone(), path, None, *body, &extra).await;
            r.assert_error(401, "INVALID_API_KEY");
            assert!(
                !r.message().contains("img_test"),
                "{what}: the key is never echoed"
            );
            if *what == "revoked" {
                assert!(r.message().contains("revoked"), "{}", r.message());
            }
        }
        // The scheme is case-insensitive.
        let ok = t
            .send(
                method.clone(),
                path,
                None,
                *body,
                &[("authorization", &lowercase)],
            )
            .await;
        assert_ne!(ok.status, 401, "{what} {path}", what = "lowercase bearer");
    }
}

#[tokio::test]
async fn another_tenants_job_is_not_found_and_its_cursor_is_refused() {
    let t = TestStack::start().await;
    let (_, alice) = t.tenant(60, 5).await;
    let (_, bob) = t.tenant(60, 5).await;
    let job = t.submit(&alice, r#"{"prompt":"alice's"}"#).await.body["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    t.submit(&alice, r#"{"prompt":"alice's 2"}"#).await;

    t.get(&bob, &format!("/v1/jobs/{job}"))
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.cancel(&bob, &job)
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    assert_eq!(
        t.get(&bob, "/v1/jobs").await.body["items"],
        serde_json::json!([])
    );
    // Alice's job is untouched by Bob's cancel.
    assert_eq!(
        t.get(&alice, &format!("/v1/jobs/{job}")).await.body["status"],
        "QUEUED"
    );

    let page = t.get(&alice, "/v1/jobs?limit=1").await;
    let cursor = page.body["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let r = t
        .get(&bob, &format!("/v1/jobs?limit=1&cursor={cursor}"))
        .await;
    r.assert_error(400, "INVALID_REQUEST");
    assert!(r.message().contains("cursor"));
}

#[tokio::test]
async fn cached_keys_see_revocation_and_new_limits_within_the_ttl() {
    let t = TestStack::start_with(|o| o.auth_cache_ttl = Duration::from_secs(1)).await;
    let (tenant, key) = t.tenant(60, 5).await;
    assert_eq!(t.submit(&key, r#"{"prompt":"a"}"#).await.status, 202);

    // A lower RPM applies to the very next submit even while the key is
    // cached: the transaction checks the limit it used against the table.
    t.stack
        .app
        .store
        .update_tenant(
            &tenant,
            &TenantUpdate {
                rpm: Some(1),
                max_concurrency: Some(5),
                monthly_image_quota: shared::store::QuotaChange::Keep,
                webhook: WebhookChange::Keep,
            },
        )
        .await
        .unwrap();
    testkit::away_from_minute_boundary(Duration::from_secs(3)).await;
    let _ = t.submit(&key, r#"{"prompt":"b"}"#).await; // may be the one allowed this minute
    let r = t.submit(&key, r#"{"prompt":"c"}"#).await;
    r.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(r.header("x-ratelimit-limit"), Some("1"));

    t.revoke(&key).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    t.get(&key, "/v1/jobs")
        .await
        .assert_error(401, "INVALID_API_KEY");
}

#[tokio::test]
async fn a_malformed_key_is_refused_without_reading_the_table() {
    let t = TestStack::start().await;
    // A server whose table does not exist: any read answers 500.
    let blind = t.variant(|c| c.table_name = "no-such-table".into()).await;
    for key in [
        "sk_live_123456789",
        "img_test_short",
        "img_live_no spaces",
        "img_test_é12345678",
    ] {
        blind
            .get(key, "/v1/jobs")
            .await
            .assert_error(401, "INVALID_API_KEY");
    }
    // A well-formed key is looked up, and the missing table shows.
    blind
        .get("img_test_wellformed123456", "/v1/jobs")
        .await
        .assert_error(500, "UNKNOWN_ERROR");
}

#[tokio::test]
async fn an_unknown_key_is_remembered_as_unknown_for_the_ttl() {
    let t = TestStack::start_with(|o| o.auth_cache_ttl = Duration::from_secs(2)).await;
    let (tenant, _) = t.tenant(60, 5).await;
    let raw = format!("img_test_{}", shared::ids::new_id());
    for _ in 0..5 {
        t.get(&raw, "/v1/jobs")
            .await
            .assert_error(401, "INVALID_API_KEY");
    }
    // The key appears in the table now; the remembered refusal still
    // answers, without a read, until the TTL runs out.
    let key = shared::store::NewApiKey::for_raw_key(&tenant, &raw).expect("a key");
    t.stack.app.store.create_api_key(&key).await.unwrap();
    t.get(&raw, "/v1/jobs")
        .await
        .assert_error(401, "INVALID_API_KEY");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = t.get(&raw, "/v1/jobs").await;
        if r.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
