//! The tenant: its item `TENANT#<tid>`/`META` (name, limits, webhook) and
//! its entry in the tenant directory `TENANTS`/`TENANT#<tid>`, the one
//! list of tenants (`tenant list`, the sweeper). Both are written here
//! only, and a tenant is created in one transaction with its directory
//! entry and both modes' counters, so no tenant exists that the sweeper
//! cannot find. Its limits are copied into the counters (see `counters`)
//! in the same transaction that changes them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, Update};

use crate::domain::{KeyMode, Tenant};
use crate::store::counters::{self, limits_from_item};
use crate::store::items::{n, s};
use crate::store::refusals::{self, applied_unless_first_condition_failed};
use crate::store::{Item, Store, StoreError, key, schema, tx_put, tx_update};
use crate::time::{self, Timestamp};

/// An entry of the tenant directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The tenant id is already stored; nothing was written.
    AlreadyExists,
}

/// How `update_tenant` changes the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookChange {
    Keep,
    /// Point at `url`, keeping the tenant's secret if it has one, else
    /// using `secret_if_none` (so changing the URL does not force every
    /// receiver to swap secrets).
    SetUrl {
        url: String,
        secret_if_none: String,
    },
    /// Point at `url` with a new secret.
    SetUrlAndSecret {
        url: String,
        secret: String,
    },
    /// A new secret for the current URL; refused if there is none.
    RotateSecret {
        secret: String,
    },
    /// No more webhooks.
    Remove,
}

/// How `update_tenant` changes the monthly image quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuotaChange {
    #[default]
    Keep,
    Set(u32),
    /// No quota any more.
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantUpdate {
    pub rpm: Option<u32>,
    pub max_concurrency: Option<u32>,
    pub monthly_image_quota: QuotaChange,
    pub webhook: WebhookChange,
}

impl TenantUpdate {
    /// Whether the limits the counters carry a copy of change.
    fn changes_limits(&self) -> bool {
        self.rpm.is_some()
            || self.max_concurrency.is_some()
            || self.monthly_image_quota != QuotaChange::Keep
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The tenant as it is after the update.
    Updated(Tenant),
    UnknownTenant,
    /// `RotateSecret` on a tenant without a webhook URL; nothing changed.
    NoWebhook,
}

impl Store {
    /// Creates a tenant: its item, its directory entry and both modes'
    /// counters, in one transaction. `AlreadyExists` if any of them is
    /// there: nothing is written then, so a re-seed keeps the live counters
    /// of an existing tenant.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<CreateOutcome, StoreError> {
        let created = time::iso_millis(&time::now());
        let new = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(|e| StoreError::aws("TransactWriteItems", e))
        };
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(tx_put(new(meta_item(tenant, &created))?))
            .transact_items(tx_put(new(directory_item(tenant, &created))?));
        for mode in KeyMode::ALL {
            tx = tx.transact_items(tx_put(counters::create(
                &self.table,
                &tenant.id,
                mode,
                tenant.limits,
            )?));
        }
        match tx.send().await {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match refusals::canceled(&e) {
                Some(c) if c.any_condition_failed() => Ok(CreateOutcome::AlreadyExists),
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// Adds a directory entry for a tenant created before the directory
    /// existed (an emulator seeded by older code); a no-op if the entry is
    /// there. One item, so no transaction.
    pub async fn ensure_tenant_listed(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(directory_item(
                tenant,
                &time::iso_millis(&time::now()),
            )))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        refusals::applied_unless_condition_failed("PutItem", result).map(|_| ())
    }

    /// Every tenant in the directory, in tenant id order (one query, paged).
    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.query_all(
            schema::TENANTS_PK.to_string(),
            schema::directory_sk(""), // every directory SK starts with it
            tenant_summary,
        )
        .await
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

    /// Changes limits and webhook in one conditional update of the tenant
    /// item; limits apply to the next submit (its transaction checks them).
    pub async fn update_tenant(
        &self,
        tenant_id: &str,
        update: &TenantUpdate,
    ) -> Result<UpdateOutcome, StoreError> {
        let Some(change) = MetaChange::of(update) else {
            return self.tenant_as_it_is(tenant_id).await;
        };
        if update.changes_limits() {
            self.update_meta_and_counters(tenant_id, update, change)
                .await
        } else {
            self.update_meta(tenant_id, change).await
        }
    }

    /// No limit changes: one conditional update of the tenant item, which
    /// returns the tenant as it is now.
    async fn update_meta(
        &self,
        tenant_id: &str,
        change: MetaChange,
    ) -> Result<UpdateOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(meta_key(tenant_id)))
            .update_expression(change.expression)
            .condition_expression(change.condition)
            .set_expression_attribute_values(change.values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(UpdateOutcome::Updated(tenant_from_item(&Item(
                out.attributes.unwrap_or_default(),
            ))?)),
            Err(e) if refusals::condition_failed(&e) => self.update_refused(tenant_id).await,
            Err(e) => Err(StoreError::aws("UpdateItem", e)),
        }
    }

    /// New limits go to the tenant's item and to both modes' counters in
    /// one transaction: a submit checks the copy in its counters.
    async fn update_meta_and_counters(
        &self,
        tenant_id: &str,
        update: &TenantUpdate,
        change: MetaChange,
    ) -> Result<UpdateOutcome, StoreError> {
        let meta = Update::builder()
            .table_name(&self.table)
            .set_key(Some(meta_key(tenant_id)))
            .update_expression(change.expression)
            .condition_expression(change.condition)
            .set_expression_attribute_values(change.values)
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(tx_update(meta));
        for mode in KeyMode::ALL {
            if let Some(limits) = counters::set_limits(
                &self.table,
                tenant_id,
                mode,
                update.rpm,
                update.max_concurrency,
                update.monthly_image_quota,
            )? {
                tx = tx.transact_items(tx_update(limits));
            }
        }
        if !applied_unless_first_condition_failed(tx.send().await)? {
            return self.update_refused(tenant_id).await;
        }
        self.tenant_as_it_is(tenant_id).await
    }

    /// The tenant as stored, read after an update (or in place of one that
    /// changes nothing).
    async fn tenant_as_it_is(&self, tenant_id: &str) -> Result<UpdateOutcome, StoreError> {
        Ok(match self.get_tenant(tenant_id).await? {
            Some(t) => UpdateOutcome::Updated(t),
            None => UpdateOutcome::UnknownTenant,
        })
    }

    /// Which condition of an update failed: a read tells, and changes
    /// nothing.
    async fn update_refused(&self, tenant_id: &str) -> Result<UpdateOutcome, StoreError> {
        Ok(match self.get_tenant(tenant_id).await? {
            None => UpdateOutcome::UnknownTenant,
            Some(_) => UpdateOutcome::NoWebhook,
        })
    }
}

/// What an update writes to the tenant item: the update expression, its
/// condition (the tenant exists; for a secret rotation, it has a webhook
/// URL) and the expression's values.
#[derive(Debug, PartialEq)]
struct MetaChange {
    expression: String,
    condition: String,
    values: Option<HashMap<String, AttributeValue>>,
}

impl MetaChange {
    /// `None` if the update changes nothing.
    fn of(update: &TenantUpdate) -> Option<MetaChange> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut values = HashMap::new();
        let mut condition = "attribute_exists(PK)".to_string();
        if let Some(rpm) = update.rpm {
            set.push("rpm = :rpm");
            values.insert(":rpm".to_string(), n(rpm));
        }
        if let Some(max) = update.max_concurrency {
            set.push("maxConcurrency = :max");
            values.insert(":max".to_string(), n(max));
        }
        match update.monthly_image_quota {
            QuotaChange::Keep => {}
            QuotaChange::Set(quota) => {
                set.push("monthlyImageQuota = :quota");
                values.insert(":quota".to_string(), n(quota));
            }
            QuotaChange::Remove => remove.push("monthlyImageQuota"),
        }
        match &update.webhook {
            WebhookChange::Keep => {}
            WebhookChange::SetUrl {
                url,
                secret_if_none,
            } => {
                set.push("webhookUrl = :url");
                set.push("webhookSecret = if_not_exists(webhookSecret, :secret)");
                values.insert(":url".to_string(), s(url));
                values.insert(":secret".to_string(), s(secret_if_none));
            }
            WebhookChange::SetUrlAndSecret { url, secret } => {
                set.push("webhookUrl = :url");
                set.push("webhookSecret = :secret");
                values.insert(":url".to_string(), s(url));
                values.insert(":secret".to_string(), s(secret));
            }
            WebhookChange::RotateSecret { secret } => {
                set.push("webhookSecret = :secret");
                values.insert(":secret".to_string(), s(secret));
                condition.push_str(" AND attribute_exists(webhookUrl)");
            }
            WebhookChange::Remove => remove.extend(["webhookUrl", "webhookSecret"]),
        }
        if set.is_empty() && remove.is_empty() {
            return None;
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        Some(MetaChange {
            expression: expression.trim().to_string(),
            condition,
            values: (!values.is_empty()).then_some(values),
        })
    }
}

/// The key of a tenant's item.
fn meta_key(tenant_id: &str) -> HashMap<String, AttributeValue> {
    key(schema::tenant_pk(tenant_id), schema::META.into())
}

/// A new tenant's item: configuration and limits.
fn meta_item(tenant: &Tenant, created_at: &str) -> HashMap<String, AttributeValue> {
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
    if let Some(quota) = tenant.limits.monthly_image_quota {
        meta.insert("monthlyImageQuota".into(), n(quota));
    }
    if let Some(url) = &tenant.webhook_url {
        meta.insert("webhookUrl".into(), s(url));
    }
    if let Some(secret) = &tenant.webhook_secret {
        meta.insert("webhookSecret".into(), s(secret));
    }
    meta
}

/// A directory entry as `tenant list` shows it.
fn tenant_summary(item: &Item) -> Result<TenantSummary, StoreError> {
    Ok(TenantSummary {
        id: item.str("tenantId")?.to_string(),
        name: item.opt_str("name")?.unwrap_or_default().to_string(),
        created_at: item.time("createdAt")?,
    })
}

/// A tenant's entry in the directory.
fn directory_item(tenant: &Tenant, created: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (schema::PK.into(), s(schema::TENANTS_PK)),
        (schema::SK.into(), s(schema::directory_sk(&tenant.id))),
        ("type".into(), s("TENANT_DIRECTORY")),
        ("tenantId".into(), s(&tenant.id)),
        ("name".into(), s(&tenant.name)),
        ("createdAt".into(), s(created)),
    ])
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

#[cfg(test)]
mod tests {
    use super::*;

    fn update(webhook: WebhookChange) -> TenantUpdate {
        TenantUpdate {
            rpm: None,
            max_concurrency: None,
            monthly_image_quota: QuotaChange::Keep,
            webhook,
        }
    }

    #[test]
    fn an_update_that_changes_nothing_writes_nothing() {
        assert_eq!(MetaChange::of(&update(WebhookChange::Keep)), None);
    }

    #[test]
    fn new_limits_and_a_new_url_are_one_set_that_keeps_the_secret() {
        let change = MetaChange::of(&TenantUpdate {
            rpm: Some(30),
            max_concurrency: Some(2),
            ..update(WebhookChange::SetUrl {
                url: "https://example.com/hook".into(),
                secret_if_none: "whsec_new".into(),
            })
        })
        .expect("a change");
        assert_eq!(
            change.expression,
            "SET rpm = :rpm, maxConcurrency = :max, webhookUrl = :url, \
             webhookSecret = if_not_exists(webhookSecret, :secret)"
        );
        assert_eq!(change.condition, "attribute_exists(PK)");
        assert_eq!(change.values.map(|v| v.len()), Some(4));
    }

    #[test]
    fn a_quota_is_set_or_removed_beside_the_other_changes() {
        let change = MetaChange::of(&TenantUpdate {
            monthly_image_quota: QuotaChange::Set(500),
            ..update(WebhookChange::Remove)
        })
        .expect("a change");
        assert_eq!(
            change.expression,
            "SET monthlyImageQuota = :quota REMOVE webhookUrl, webhookSecret"
        );
        let change = MetaChange::of(&TenantUpdate {
            monthly_image_quota: QuotaChange::Remove,
            ..update(WebhookChange::Keep)
        })
        .expect("a change");
        assert_eq!(change.expression, "REMOVE monthlyImageQuota");
        assert!(
            TenantUpdate {
                monthly_image_quota: QuotaChange::Remove,
                ..update(WebhookChange::Keep)
            }
            .changes_limits()
        );
        assert!(!update(WebhookChange::Remove).changes_limits());
    }

    #[test]
    fn a_rotation_needs_a_webhook_url() {
        let change = MetaChange::of(&update(WebhookChange::RotateSecret {
            secret: "whsec_next".into(),
        }))
        .expect("a change");
        assert_eq!(change.expression, "SET webhookSecret = :secret");
        assert_eq!(
            change.condition,
            "attribute_exists(PK) AND attribute_exists(webhookUrl)"
        );
    }

    #[test]
    fn removing_the_webhook_is_a_remove_without_values() {
        let change = MetaChange::of(&update(WebhookChange::Remove)).expect("a change");
        assert_eq!(change.expression, "REMOVE webhookUrl, webhookSecret");
        assert_eq!(change.values, None);
    }
}
