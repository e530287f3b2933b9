//! Every way to create a tenant lists it where the sweeper looks: a tenant
//! the sweeper cannot enumerate would keep its lost jobs for ever.

use std::time::Duration;

use devstack::provision::seed_tenant;
use shared::domain::{Tenant, TenantLimits};
use shared::ids;
use shared::store::CreateOutcome;

use crate::support::Env;

#[tokio::test]
async fn a_tenant_made_by_any_public_path_is_swept() {
    let env = Env::start().await;
    let store = &env.app.store;

    // The CLI.
    let cli = env.create_tenant(&[]).await;
    let cli_id = cli["tenantId"].as_str().expect("tenantId").to_string();
    // The local stack's seeding.
    let seeded_id = ids::new_id();
    let key = format!("img_test_{}", ids::new_id());
    seed_tenant(store, &seeded_id, "Seeded", &key, TenantLimits::default())
        .await
        .expect("seeding");
    // The store itself.
    let direct = Tenant {
        id: ids::new_id(),
        name: "Direct".into(),
        limits: TenantLimits::default(),
        webhook_url: None,
        webhook_secret: None,
    };
    assert_eq!(
        store.create_tenant(&direct).await.expect("a tenant"),
        CreateOutcome::Created
    );

    let mut listed: Vec<String> = store
        .list_tenants()
        .await
        .expect("the directory")
        .into_iter()
        .map(|t| t.id)
        .collect();
    listed.sort();
    let mut made = vec![cli_id, seeded_id, direct.id.clone()];
    made.sort();
    assert_eq!(listed, made);
    let report = env
        .resources
        .sweeper(Duration::from_secs(15 * 60))
        .sweep(shared::time::now())
        .await
        .expect("a sweep");
    assert_eq!(report.tenants, 3, "{report:?}");
}
