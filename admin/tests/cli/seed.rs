//! The local stack's seeding writes through the same store calls as the
//! CLI: the dev tenant and key are listed, and re-seeding duplicates nothing.

use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_tenant};
use shared::domain::{ApiKeyHash, KeyMode, Tenant, TenantLimits};
use shared::store::KeyRecord;

use crate::support::Env;

#[tokio::test]
async fn the_dev_tenant_is_listed_once_however_often_it_is_seeded() {
    let env = Env::start().await;
    let store = &env.app.store;
    for _ in 0..3 {
        seed_tenant(
            store,
            DEV_TENANT_ID,
            "Dev tenant",
            DEV_API_KEY,
            TenantLimits::default(),
        )
        .await
        .expect("seeding");
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
    seed_tenant(
        store,
        DEV_TENANT_ID,
        "Dev tenant",
        DEV_API_KEY,
        TenantLimits::default(),
    )
    .await
    .expect("seeding");
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
    assert!(store.create_tenant(&tenant).await.expect("a tenant"));
    let record = KeyRecord {
        tenant_id: DEV_TENANT_ID.to_string(),
        mode: KeyMode::Test,
        revoked: false,
    };
    assert!(
        store
            .create_key(&ApiKeyHash::of(DEV_API_KEY), &record)
            .await
            .expect("a key")
    );
    assert_eq!(
        env.admin(&["tenant", "list", "--json"]).await.json(),
        serde_json::json!([])
    );

    for _ in 0..2 {
        seed_tenant(
            store,
            DEV_TENANT_ID,
            "Dev tenant",
            DEV_API_KEY,
            TenantLimits::default(),
        )
        .await
        .expect("seeding");
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
