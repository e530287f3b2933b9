//! Tenants and API keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::domain::{ApiKeyHash, KeyMode, Tenant};
use crate::store::counters::{self, limits_from_item};
use crate::store::items::{n, s};
use crate::store::{
    Item, Store, StoreError, applied_unless_condition_failed,
    applied_unless_first_condition_failed, schema,
};
use crate::time;

/// What the table knows about a key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub tenant_id: String,
    pub mode: KeyMode,
    pub revoked: bool,
}

impl Store {
    pub async fn get_key(&self, hash: &ApiKeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let Some(item) = self
            .get(schema::key_pk(hash.as_str()), schema::META.into())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(KeyRecord {
            tenant_id: item.str("tenantId")?.to_string(),
            mode: KeyMode::parse(item.str("mode")?).ok_or_else(|| StoreError::Aws {
                op: "GetItem",
                message: "API key item has an unknown mode".into(),
            })?,
            revoked: item.bool("revoked")?,
        }))
    }

    pub async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError> {
        let Some(item) = self
            .get(schema::tenant_pk(tenant_id), schema::META.into())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(tenant_from_item(&item)?))
    }

    /// Creates a tenant (without a directory entry: see
    /// `create_listed_tenant`); `Ok(false)` if it already exists (left
    /// untouched, so its live counters survive a re-seed).
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let created = time::iso_millis(&time::now());
        let mut tx = self.client.transact_write_items();
        for put in tenant_puts(&self.table, tenant, &created)? {
            tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
        }
        applied_unless_first_condition_failed(tx.send().await)
    }

    /// Points a tenant's webhooks at `url` with `secret`, or turns them off.
    pub async fn set_tenant_webhook(
        &self,
        tenant_id: &str,
        webhook: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::tenant_pk(tenant_id)))
            .key(schema::SK, s(schema::META))
            .condition_expression("attribute_exists(PK)");
        let update = match webhook {
            Some((url, secret)) => update
                .update_expression("SET webhookUrl = :url, webhookSecret = :secret")
                .expression_attribute_values(":url", s(url))
                .expression_attribute_values(":secret", s(secret)),
            None => update.update_expression("REMOVE webhookUrl, webhookSecret"),
        };
        update
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", e))?;
        Ok(())
    }

    /// Stores a key by its hash; `Ok(false)` if that hash is already stored.
    pub async fn create_key(
        &self,
        hash: &ApiKeyHash,
        record: &KeyRecord,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(schema::PK, s(schema::key_pk(hash.as_str())))
            .item(schema::SK, s(schema::META))
            .item("type", s("KEY"))
            .item("tenantId", s(&record.tenant_id))
            .item("mode", s(record.mode.as_str()))
            .item("revoked", AttributeValue::Bool(record.revoked))
            .item("createdAt", s(time::iso_millis(&time::now())))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        applied_unless_condition_failed("PutItem", result)
    }
}

/// The items of a new tenant: its `META` (configuration and limits) and
/// the counters of each mode, each conditional on not existing. The tenant's
/// item comes first, so a transaction's first condition tells "exists".
pub(crate) fn tenant_puts(
    table: &str,
    tenant: &Tenant,
    created_at: &str,
) -> Result<Vec<Put>, StoreError> {
    let mut meta = HashMap::from([
        (schema::PK.into(), s(schema::tenant_pk(&tenant.id))),
        (schema::SK.into(), s(schema::META)),
        ("type".into(), s("TENANT")),
        ("tenantId".into(), s(&tenant.id)),
        ("name".into(), s(&tenant.name)),
        ("rpm".into(), n(tenant.limits.rpm)),
        ("maxConcurrency".into(), n(tenant.limits.max_concurrency)),
        ("createdAt".into(), s(created_at)),
    ]);
    if let Some(url) = &tenant.webhook_url {
        meta.insert("webhookUrl".into(), s(url));
    }
    if let Some(secret) = &tenant.webhook_secret {
        meta.insert("webhookSecret".into(), s(secret));
    }
    let mut puts = vec![
        Put::builder()
            .table_name(table)
            .set_item(Some(meta))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?,
    ];
    for mode in KeyMode::ALL {
        puts.push(counters::create(table, &tenant.id, mode, tenant.limits)?);
    }
    Ok(puts)
}

pub(crate) fn tenant_from_item(item: &Item) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: item.str("tenantId")?.to_string(),
        name: item.opt_str("name")?.unwrap_or_default().to_string(),
        limits: limits_from_item(item)?,
        webhook_url: item.opt_str("webhookUrl")?.map(str::to_string),
        webhook_secret: item.opt_str("webhookSecret")?.map(str::to_string),
    })
}
