//! Keys: created, used by the real API, listed without the secret, revoked.

use shared::domain::{ApiKeyHash, KeyMode, Scope};
use shared::store::schema;

use crate::support::Env;

#[tokio::test]
async fn a_created_key_authenticates_until_it_is_revoked() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");

    let (key_id, key) = env.create_key(tenant_id, "test").await;
    assert!(key.starts_with("img_test_"), "{key}");
    let secret = &key["img_test_".len()..];
    assert!(secret.len() >= 32, "{key}");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    assert!(key_id.starts_with("key_") && key_id.len() == 24, "{key_id}");

    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "QUEUED");

    let revoked = env.admin(&["key", "revoke", &key_id]).await;
    assert!(revoked.ok().contains(&format!("revoked key {key_id}")));

    let (status, _, body) = env.submit(&key).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "INVALID_API_KEY");

    let listed = env
        .admin(&["key", "list", "--tenant", tenant_id, "--json"])
        .await
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["keyId"], key_id.as_str());
    assert_eq!(listed[0]["revoked"], true);

    // Revoking again is not an error, and says so.
    let again = env
        .admin(&["key", "revoke", &key_id, "--json"])
        .await
        .json();
    assert_eq!(again["alreadyRevoked"], true, "{again}");
    assert_eq!(again["tenantId"], tenant_id);
}

#[tokio::test]
async fn live_keys_are_live_and_revocation_leaves_other_keys_working() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (live_id, live) = env.create_key(tenant_id, "live").await;
    let (_, test) = env.create_key(tenant_id, "test").await;
    assert!(live.starts_with("img_live_"), "{live}");

    let (status, _, body) = env.submit(&live).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["jobId"].as_str().expect("jobId");
    let job = env
        .app
        .store
        .get_job(Scope::new(tenant_id, KeyMode::Live), job_id)
        .await
        .expect("a read")
        .expect("the job");
    assert_eq!(job.key_mode.as_str(), "live");

    env.admin(&["key", "revoke", &live_id]).await.ok();
    assert_eq!(env.submit(&live).await.0, 401);
    assert_eq!(env.submit(&test).await.0, 202);
}

#[tokio::test]
async fn key_list_never_shows_a_full_key_and_the_table_never_holds_one() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let (id1, key1) = env.create_key(tenant_id, "test").await;
    let (id2, key2) = env.create_key(tenant_id, "live").await;

    let human = env.admin(&["key", "list", "--tenant", tenant_id]).await;
    let json = env
        .admin(&["key", "list", "--tenant", tenant_id, "--json"])
        .await;
    for out in [human.ok(), json.ok()] {
        assert!(out.contains(&id1) && out.contains(&id2), "{out}");
        for key in [&key1, &key2] {
            let secret = &key[9..];
            assert!(!out.contains(secret), "a key leaks: {out}");
            // Not even a long part of it: only 4 characters from each end.
            assert!(!out.contains(&secret[4..12]), "{out}");
            let preview = format!(
                "{}{}…{}",
                &key[..9],
                &secret[..4],
                &secret[secret.len() - 4..]
            );
            assert!(out.contains(&preview), "{preview} in {out}");
        }
    }
    let header = human.ok().lines().next().unwrap_or_default();
    for column in ["KEY ID", "KEY", "MODE", "CREATED", "REVOKED"] {
        assert!(header.contains(column), "{header}");
    }
    let rows = json.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    for row in rows.as_array().into_iter().flatten() {
        assert_eq!(row["revoked"], false);
        assert!(
            row.get("key").is_none() && row.get("keyHash").is_none(),
            "{row}"
        );
    }

    // The items written for a key hold its hash and preview, never the key.
    let ddb = env.app.store.client();
    for (key_id, key) in [(&id1, &key1), (&id2, &key2)] {
        let hash = ApiKeyHash::of(key);
        let items = [
            (schema::key_pk(hash.as_str()), schema::META.to_string()),
            (schema::tenant_pk(tenant_id), schema::key_listing_sk(key_id)),
            (schema::key_pointer_pk(key_id), schema::META.to_string()),
        ];
        for (pk, sk) in items {
            let item = ddb
                .get_item()
                .table_name(env.table())
                .key(
                    schema::PK,
                    aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
                )
                .key(
                    schema::SK,
                    aws_sdk_dynamodb::types::AttributeValue::S(sk.clone()),
                )
                .send()
                .await
                .expect("GetItem")
                .item
                .unwrap_or_else(|| panic!("item {pk}/{sk} exists"));
            let text = format!("{item:?}");
            assert!(!text.contains(&key[9..]), "{pk}/{sk} holds the key: {text}");
        }
    }
}

#[tokio::test]
async fn the_key_is_printed_once_in_human_form_too() {
    let env = Env::start().await;
    let tenant = env.create_tenant(&[]).await;
    let tenant_id = tenant["tenantId"].as_str().expect("tenantId");
    let run = env
        .admin(&["key", "create", "--tenant", tenant_id, "--mode", "test"])
        .await;
    let out = run.ok();
    let key = out
        .split_whitespace()
        .find(|w| w.starts_with("img_test_"))
        .expect("the key is printed");
    assert!(out.contains("shown only this once"), "{out}");
    assert_eq!(env.submit(key).await.0, 202);
}
