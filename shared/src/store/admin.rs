//! Administration of tenants and API keys: what the `imagesaas-admin` CLI
//! and the local stack's seeding write and read. Nothing here scans: every
//! listing is one `Query` on a known partition, and every change that
//! touches more than one item is one `TransactWriteItems`, so a failed
//! command never leaves half a tenant or half a key behind.
//!
//! Items added to the ones of `keys.rs`:
//!
//! | item | PK | SK |
//! |---|---|---|
//! | tenant directory entry | `TENANTS` | `TENANT#<tid>` (name, createdAt) |
//! | key listing entry | `TENANT#<tid>` | `APIKEY#<keyId>` (keyHash, preview, mode, createdAt, revoked) |
//! | key id pointer | `KEYID#<keyId>` | `META` (tenantId, keyHash) |
//!
//! The key's auth item `KEY#<sha256>`/`META` also carries `keyId`.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, Select, TransactWriteItem, Update,
};

use crate::domain::{ApiKeyHash, JobStatus, KeyMode, Scope, Tenant};
use crate::ids;
use crate::store::counters;
use crate::store::items::{n, s};
use crate::store::keys::{tenant_from_item, tenant_puts};
use crate::store::{Item, Store, StoreError, key, schema};
use crate::time::{self, Timestamp};

/// The partition of the tenant directory: `tenant list` is one query on it.
pub const TENANTS_PK: &str = "TENANTS";
pub const KEY_ID_PREFIX: &str = "key_";
const KEY_ID_RANDOM_LEN: usize = 20;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// Characters of a key's secret part shown on each side of a preview.
const PREVIEW_CHARS: usize = 4;

fn directory_sk(tenant_id: &str) -> String {
    schema::tenant_pk(tenant_id)
}
fn key_listing_sk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
fn key_pointer_pk(key_id: &str) -> String {
    format!("KEYID#{key_id}")
}

/// A fresh key id: `key_` and 20 random lowercase base-36 characters
/// (about 103 bits), uniform by rejection sampling. Key ids name keys in
/// listings and in `key revoke`, so they must not be guessable either.
pub fn new_key_id() -> String {
    let mut id = String::with_capacity(KEY_ID_PREFIX.len() + KEY_ID_RANDOM_LEN);
    id.push_str(KEY_ID_PREFIX);
    let mut bytes = [0u8; 32];
    while id.len() < KEY_ID_PREFIX.len() + KEY_ID_RANDOM_LEN {
        ids::fill_random(&mut bytes);
        // 252 = 7 * 36: bytes below it map uniformly onto the alphabet.
        for b in bytes.iter().filter(|b| **b < 252) {
            if id.len() == KEY_ID_PREFIX.len() + KEY_ID_RANDOM_LEN {
                break;
            }
            id.push(BASE36[usize::from(b % 36)] as char);
        }
    }
    id
}

/// Whether `s` has the shape of a key id we issue; anything else is
/// answered "unknown key" without a read.
pub fn is_key_id(s: &str) -> bool {
    s.strip_prefix(KEY_ID_PREFIX).is_some_and(|rest| {
        rest.len() == KEY_ID_RANDOM_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// What a listing may show of a key: its prefix and a few characters from
/// each end of the secret part (`img_test_AbCd…wxyz`), enough to tell keys
/// apart, far too few to use one. Short keys (the dev key) show less.
/// `None` for a string that is not a well-formed key.
pub fn key_preview(raw: &str) -> Option<String> {
    let mode = KeyMode::of_key(raw)?;
    let prefix = match mode {
        KeyMode::Test => crate::domain::api_key::TEST_PREFIX,
        KeyMode::Live => crate::domain::api_key::LIVE_PREFIX,
    };
    // `of_key` accepted only ASCII, so byte slicing is on char boundaries.
    let secret = raw.get(prefix.len()..)?;
    let shown = PREVIEW_CHARS.min(secret.len() / 4);
    Some(format!(
        "{prefix}{}…{}",
        secret.get(..shown)?,
        secret.get(secret.len() - shown..)?
    ))
}

/// A key about to be stored: everything the table keeps of it. Built from
/// the raw key, which it does not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    pub key_id: String,
    pub tenant_id: String,
    pub hash: ApiKeyHash,
    pub mode: KeyMode,
    pub preview: String,
}

impl NewApiKey {
    /// `None` if `raw` is not a well-formed API key (the API would refuse
    /// it anyway). The key id is fresh.
    pub fn for_raw_key(tenant_id: &str, raw: &str) -> Option<NewApiKey> {
        Some(NewApiKey {
            key_id: new_key_id(),
            tenant_id: tenant_id.to_string(),
            hash: ApiKeyHash::of(raw),
            mode: KeyMode::of_key(raw)?,
            preview: key_preview(raw)?,
        })
    }
}

/// An entry of the tenant directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A key as listings show it: never the key, never its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeySummary {
    pub key_id: String,
    pub tenant_id: String,
    pub preview: String,
    pub mode: KeyMode,
    pub created_at: Timestamp,
    pub revoked: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The tenant id (or, for a key, the key's hash) is already stored;
    /// nothing was written.
    AlreadyExists,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KeyCreateOutcome {
    Created,
    /// Another key with this hash exists; nothing was written.
    AlreadyExists,
    UnknownTenant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked { tenant_id: String },
    AlreadyRevoked { tenant_id: String },
    UnknownKey,
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantUpdate {
    pub rpm: Option<u32>,
    pub max_concurrency: Option<u32>,
    pub webhook: WebhookChange,
}

#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The tenant as it is after the update.
    Updated(Tenant),
    UnknownTenant,
    /// `RotateSecret` on a tenant without a webhook URL; nothing changed.
    NoWebhook,
}

/// Job counts of one tenant, one entry per status in `JobStatus::ALL` order.
pub type JobCounts = Vec<(JobStatus, u64)>;

fn canceled_codes(e: &TransactWriteItemsError) -> Option<Vec<&str>> {
    match e {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect(),
        ),
        _ => None,
    }
}

impl Store {
    /// Creates a tenant, its counters and its directory entry in one
    /// transaction.
    /// `AlreadyExists` if either is there: nothing is written then, so a
    /// re-seed keeps the live counters of an existing tenant.
    pub async fn create_listed_tenant(&self, tenant: &Tenant) -> Result<CreateOutcome, StoreError> {
        let created = time::iso_millis(&time::now());
        let entry = Put::builder()
            .table_name(&self.table)
            .set_item(Some(directory_item(tenant, &created)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let mut tx = self.client.transact_write_items();
        for put in tenant_puts(&self.table, tenant, &created)?
            .into_iter()
            .chain([entry])
        {
            tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
        }
        let result = tx.send().await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match e.as_service_error().and_then(canceled_codes) {
                Some(codes) if codes.contains(&"ConditionalCheckFailed") => {
                    Ok(CreateOutcome::AlreadyExists)
                }
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
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::aws("PutItem", e)),
        }
    }

    /// Every tenant in the directory, in tenant id order (one query, paged).
    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        let items = self
            .query_all(
                TENANTS_PK.to_string(),
                schema::tenant_pk(""), // every directory SK starts with it
            )
            .await?;
        items
            .iter()
            .map(|item| {
                Ok(TenantSummary {
                    id: item.str("tenantId")?.to_string(),
                    name: item.opt_str("name")?.unwrap_or_default().to_string(),
                    created_at: item.time("createdAt")?,
                })
            })
            .collect()
    }

    /// Changes limits and webhook in one conditional update of the tenant
    /// item; limits apply to the next submit (its transaction checks them).
    pub async fn update_tenant(
        &self,
        tenant_id: &str,
        update: &TenantUpdate,
    ) -> Result<UpdateOutcome, StoreError> {
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
            return Ok(match self.get_tenant(tenant_id).await? {
                Some(t) => UpdateOutcome::Updated(t),
                None => UpdateOutcome::UnknownTenant,
            });
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let tenant_key = key(schema::tenant_pk(tenant_id), schema::META.into());
        let values = (!values.is_empty()).then_some(values);
        let changes_limits = update.rpm.is_some() || update.max_concurrency.is_some();
        if !changes_limits {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(tenant_key))
                .update_expression(expression.trim())
                .condition_expression(condition)
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(out) => Ok(UpdateOutcome::Updated(tenant_from_item(&Item(
                    out.attributes.unwrap_or_default(),
                ))?)),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    self.update_refused(tenant_id).await
                }
                Err(e) => Err(StoreError::aws("UpdateItem", e)),
            };
        }
        // New limits go to the tenant's item and to both modes' counters in
        // one transaction: a submit checks the copy in its counters.
        let meta = Update::builder()
            .table_name(&self.table)
            .set_key(Some(tenant_key))
            .update_expression(expression.trim())
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(meta).build());
        for mode in KeyMode::ALL {
            if let Some(limits) = counters::set_limits(
                &self.table,
                tenant_id,
                mode,
                update.rpm,
                update.max_concurrency,
            )? {
                tx = tx.transact_items(TransactWriteItem::builder().update(limits).build());
            }
        }
        if !crate::store::applied_unless_first_condition_failed(tx.send().await)? {
            return self.update_refused(tenant_id).await;
        }
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

    /// How many jobs the tenant has in each status: per status one
    /// `Select::Count` query on `ByTenantStatus`, following pages (a count
    /// query still reads at most 1 MB per page).
    pub async fn count_jobs_by_status(&self, scope: Scope<'_>) -> Result<JobCounts, StoreError> {
        let mut counts = Vec::with_capacity(JobStatus::ALL.len());
        for status in JobStatus::ALL {
            let mut total: u64 = 0;
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(schema::BY_TENANT_STATUS)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", schema::BY_TENANT_STATUS_PK)
                    .expression_attribute_values(":pk", s(schema::status_pk(scope, status)))
                    .select(Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("Query", e))?;
                total += u64::try_from(out.count).unwrap_or(0);
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
            counts.push((status, total));
        }
        Ok(counts)
    }

    /// Stores a key: its auth item (by hash, what the API reads), its
    /// listing entry under the tenant and its id pointer, in one
    /// transaction that also checks the tenant exists.
    pub async fn create_api_key(&self, new: &NewApiKey) -> Result<KeyCreateOutcome, StoreError> {
        let build_err = |e| StoreError::aws("TransactWriteItems", e);
        let created = time::iso_millis(&time::now());
        let tenant_exists = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                schema::tenant_pk(&new.tenant_id),
                schema::META.into(),
            )))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_err)?;
        let auth = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(schema::key_pk(new.hash.as_str())))
            .item(schema::SK, s(schema::META))
            .item("type", s("KEY"))
            .item("keyId", s(&new.key_id))
            .item("tenantId", s(&new.tenant_id))
            .item("mode", s(new.mode.as_str()))
            .item("revoked", AttributeValue::Bool(false))
            .item("createdAt", s(&created))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let (listing, pointer) = self.key_index_puts(new, &created)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(auth).build())
            .transact_items(TransactWriteItem::builder().put(listing).build())
            .transact_items(TransactWriteItem::builder().put(pointer).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(KeyCreateOutcome::Created),
            Err(e) => match e.as_service_error().and_then(canceled_codes) {
                Some(codes) if codes.first() == Some(&"ConditionalCheckFailed") => {
                    Ok(KeyCreateOutcome::UnknownTenant)
                }
                Some(codes) if codes.contains(&"ConditionalCheckFailed") => {
                    Ok(KeyCreateOutcome::AlreadyExists)
                }
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// Gives a key stored before key ids existed (auth item without
    /// `keyId`, seeded by older code) its id, listing entry and pointer, in
    /// one transaction. `Ok(false)` if the key is unknown, belongs to
    /// another tenant or already has an id: nothing changes then.
    pub async fn adopt_unlisted_key(&self, new: &NewApiKey) -> Result<bool, StoreError> {
        let build_err = |e| StoreError::aws("TransactWriteItems", e);
        let created = time::iso_millis(&time::now());
        let auth = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                schema::key_pk(new.hash.as_str()),
                schema::META.into(),
            )))
            .update_expression("SET keyId = :id")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(keyId) AND tenantId = :tid",
            )
            .expression_attribute_values(":id", s(&new.key_id))
            .expression_attribute_values(":tid", s(&new.tenant_id))
            .build()
            .map_err(build_err)?;
        let (listing, pointer) = self.key_index_puts(new, &created)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(auth).build())
            .transact_items(TransactWriteItem::builder().put(listing).build())
            .transact_items(TransactWriteItem::builder().put(pointer).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error().and_then(canceled_codes) {
                Some(codes) if codes.contains(&"ConditionalCheckFailed") => Ok(false),
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// The listing entry and the id pointer of a key.
    fn key_index_puts(&self, new: &NewApiKey, created: &str) -> Result<(Put, Put), StoreError> {
        let build_err = |e| StoreError::aws("TransactWriteItems", e);
        let listing = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(schema::tenant_pk(&new.tenant_id)))
            .item(schema::SK, s(key_listing_sk(&new.key_id)))
            .item("type", s("APIKEY"))
            .item("keyId", s(&new.key_id))
            .item("tenantId", s(&new.tenant_id))
            .item("keyHash", s(new.hash.as_str()))
            .item("preview", s(&new.preview))
            .item("mode", s(new.mode.as_str()))
            .item("createdAt", s(created))
            .item("revoked", AttributeValue::Bool(false))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let pointer = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(key_pointer_pk(&new.key_id)))
            .item(schema::SK, s(schema::META))
            .item("type", s("KEYID"))
            .item("tenantId", s(&new.tenant_id))
            .item("keyHash", s(new.hash.as_str()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        Ok((listing, pointer))
    }

    /// The key id stored with a key's auth item, if any.
    pub async fn key_id_of(&self, hash: &ApiKeyHash) -> Result<Option<String>, StoreError> {
        let item = self
            .get(schema::key_pk(hash.as_str()), schema::META.into())
            .await?;
        Ok(match item {
            Some(item) => item.opt_str("keyId")?.map(str::to_string),
            None => None,
        })
    }

    /// A tenant's keys in key id order: one query on the tenant's
    /// partition, paged.
    pub async fn list_api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeySummary>, StoreError> {
        let items = self
            .query_all(schema::tenant_pk(tenant_id), key_listing_sk(""))
            .await?;
        items
            .iter()
            .map(|item| {
                Ok(ApiKeySummary {
                    key_id: item.str("keyId")?.to_string(),
                    tenant_id: item.str("tenantId")?.to_string(),
                    preview: item.str("preview")?.to_string(),
                    mode: KeyMode::parse(item.str("mode")?).ok_or_else(|| StoreError::Aws {
                        op: "Query",
                        message: "API key listing item has an unknown mode".into(),
                    })?,
                    created_at: item.time("createdAt")?,
                    revoked: item.bool("revoked")?,
                })
            })
            .collect()
    }

    /// Revokes a key by its id: the auth item (what the API checks) and the
    /// listing entry change together in one transaction.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<RevokeOutcome, StoreError> {
        let Some(pointer) = self
            .get(key_pointer_pk(key_id), schema::META.into())
            .await?
        else {
            return Ok(RevokeOutcome::UnknownKey);
        };
        let tenant_id = pointer.str("tenantId")?.to_string();
        let hash = pointer.str("keyHash")?;
        let build_err = |e| StoreError::aws("TransactWriteItems", e);
        let now = s(time::iso_millis(&time::now()));
        let auth = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::key_pk(hash), schema::META.into())))
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(build_err)?;
        let listing = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                schema::tenant_pk(&tenant_id),
                key_listing_sk(key_id),
            )))
            .update_expression("SET revoked = :t, revokedAt = :now")
            .condition_expression("attribute_exists(PK) AND revoked <> :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":now", now)
            .build()
            .map_err(build_err)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(auth).build())
            .transact_items(TransactWriteItem::builder().update(listing).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevokeOutcome::Revoked { tenant_id }),
            Err(e) => match e.as_service_error().and_then(canceled_codes) {
                // Only the listing's `revoked <> true` can fail while the
                // pointer exists: the key was revoked already.
                Some(codes) if codes.get(1) == Some(&"ConditionalCheckFailed") => {
                    let listed = self
                        .get(schema::tenant_pk(&tenant_id), key_listing_sk(key_id))
                        .await?;
                    match listed {
                        Some(item) if item.bool("revoked")? => {
                            Ok(RevokeOutcome::AlreadyRevoked { tenant_id })
                        }
                        _ => Err(StoreError::Aws {
                            op: "TransactWriteItems",
                            message: format!("key {key_id} has a pointer but no listing entry"),
                        }),
                    }
                }
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// following pages; strongly consistent, so a command sees the writes
    /// of the one before it.
    pub(super) async fn query_all(
        &self,
        pk: String,
        prefix: String,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", schema::PK)
                .expression_attribute_names("#sk", schema::SK)
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(&prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            items.extend(out.items.unwrap_or_default().into_iter().map(Item::from));
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

/// A tenant's entry in the directory.
fn directory_item(tenant: &Tenant, created: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (schema::PK.into(), s(TENANTS_PK)),
        (schema::SK.into(), s(directory_sk(&tenant.id))),
        ("type".into(), s("TENANT_DIRECTORY")),
        ("tenantId".into(), s(&tenant.id)),
        ("name".into(), s(&tenant.name)),
        ("createdAt".into(), s(created)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_have_their_shape_and_differ() {
        let a = new_key_id();
        assert!(is_key_id(&a), "{a}");
        assert_eq!(a.len(), 24);
        assert_ne!(a, new_key_id());
        assert!(!is_key_id("key_ABCDEFGHIJKLMNOPQRST"));
        assert!(!is_key_id("key_abc"));
        assert!(!is_key_id("cmkuz35wf00034rk15ycgzvce"));
        assert!(!is_key_id(""));
    }

    #[test]
    fn previews_hide_the_secret_part() {
        let raw = "img_test_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
        assert_eq!(key_preview(raw).unwrap(), "img_test_AbCd…6789");
        assert_eq!(
            key_preview("img_test_dev_123456789").unwrap(),
            "img_test_dev…789"
        );
        assert_eq!(key_preview("img_live_abcdefgh").unwrap(), "img_live_ab…gh");
        assert_eq!(key_preview("not a key"), None);
    }

    #[test]
    fn a_new_key_keeps_only_hash_and_preview() {
        let raw = "img_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
        let new = NewApiKey::for_raw_key("t1", raw).unwrap();
        assert_eq!(new.mode, KeyMode::Live);
        assert_eq!(new.hash, ApiKeyHash::of(raw));
        assert!(!format!("{new:?}").contains("QrStUv"));
        assert!(NewApiKey::for_raw_key("t1", "img_test_short").is_none());
    }
}
