//! The local stack's seeding writes through the same store calls as the
//! CLI: the dev tenant and key are listed, and re-seeding duplicates nothing.

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_dev_tenant};
use shared::domain::{Tenant, TenantLimits};
use shared::store::{CreateOutcome, KeyCreateOutcome, NewApiKey, Store, schema};

use crate::support::Env;

#[tokio::test]
async fn the_dev_tenant_is_listed_once_however_often_it_is_seeded() {
    let env = Env::start().await;
    let store = &env.app.store;
    for _ in 0..3 {
        seed_dev_tenant(store).await.expect("seeding");
    }
    let tenants = env.admin(&["tenant", "list", "--json"]).await.json();
    assert_eq!(tenants.as_array().map(Vec::len), Some(1), "{tenants}");
    assert_eq!(tenants[0]["tenantId"], DEV_TENANT_ID);
    assert_eq!(tenants[0]["name"], "Dev tenant");

    let keys = env
        .admin(&["key", "list", "--tenant", DEV_TENANT_ID, "--json"])
        .await
        .json();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["preview"], "img_test_dev…789");
    assert_eq!(keys[0]["mode"], "test");

    // The CLI manages the seeded key like any other.
    assert_eq!(env.submit(DEV_API_KEY).await.0, 202);
    let key_id = keys[0]["keyId"].as_str().expect("keyId");
    env.admin(&["key", "revoke", key_id]).await.ok();
    assert_eq!(env.submit(DEV_API_KEY).await.0, 401);
    // A re-seed does not bring a revoked key back.
    seed_dev_tenant(store).await.expect("seeding");
    assert_eq!(env.submit(DEV_API_KEY).await.0, 401);
}

#[tokio::test]
async fn a_tenant_and_key_seeded_by_older_code_get_listed() {
    let env = Env::start().await;
    let store = &env.app.store;
    // What `seed_tenant` wrote before the directory and key ids existed.
    let tenant = Tenant {
        id: DEV_TENANT_ID.to_string(),
        name: "Dev tenant".into(),
        limits: TenantLimits::default(),
        webhook_url: None,
        webhook_secret: None,
    };
    seed_as_older_code(store, &tenant).await;
    assert_eq!(
        env.admin(&["tenant", "list", "--json"]).await.json(),
        serde_json::json!([])
    );

    for _ in 0..2 {
        seed_dev_tenant(store).await.expect("seeding");
    }
    let tenants = env.admin(&["tenant", "list", "--json"]).await.json();
    assert_eq!(tenants.as_array().map(Vec::len), Some(1), "{tenants}");
    let keys = env
        .admin(&["key", "list", "--tenant", DEV_TENANT_ID, "--json"])
        .await
        .json();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    let key_id = keys[0]["keyId"].as_str().expect("keyId");
    env.admin(&["key", "revoke", key_id]).await.ok();
    assert_eq!(env.submit(DEV_API_KEY).await.0, 401);
}

/// What `seed_tenant` wrote before the directory and key ids existed: the
/// tenant with its counters, and the key's auth item without a key id.
/// Written by today's store (the one writer of each item), then stripped
/// of what older code did not write.
async fn seed_as_older_code(store: &Store, tenant: &Tenant) {
    assert_eq!(
        store.create_tenant(tenant).await.expect("a tenant"),
        CreateOutcome::Created
    );
    let key = NewApiKey::for_raw_key(&tenant.id, DEV_API_KEY).expect("a well-formed key");
    assert_eq!(
        store.create_api_key(&key).await.expect("a key"),
        KeyCreateOutcome::Created
    );
    let s = |v: String| AttributeValue::S(v);
    for (pk, sk) in [
        (
            schema::TENANTS_PK.to_string(),
            schema::directory_sk(&tenant.id),
        ),
        (
            schema::tenant_pk(&tenant.id),
            schema::key_listing_sk(&key.key_id),
        ),
        (
            schema::key_pointer_pk(&key.key_id),
            schema::META.to_string(),
        ),
    ] {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .key(schema::PK, s(pk))
            .key(schema::SK, s(sk))
            .send()
            .await
            .expect("deleting what older code did not write");
    }
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(schema::PK, s(schema::key_pk(key.hash.as_str())))
        .key(schema::SK, s(schema::META.to_string()))
        .update_expression("REMOVE keyId")
        .send()
        .await
        .expect("an auth item without a key id");
}
