//! API keys: the auth item `KEY#<sha256>`/`META` (tenant, mode, revoked,
//! key id), what every request reads; the listing entry under the tenant
//! `TENANT#<tid>`/`APIKEY#<keyId>` (keyHash, preview, mode, createdAt,
//! revoked); and the key id pointer `KEYID#<keyId>`/`META` (tenantId,
//! keyHash), what `key revoke` starts from. The three are written here
//! only, together: a key is created, adopted or revoked in one
//! transaction, so a failed command never leaves half a key behind.

use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};

use crate::domain::{ApiKeyHash, KeyMode};
use crate::ids;
use crate::store::items::s;
use crate::store::refusals;
use crate::store::{Item, Store, StoreError, build_err, key, schema, tx_put, tx_update};
use crate::time::{self, Timestamp};

pub const KEY_ID_PREFIX: &str = "key_";
const KEY_ID_RANDOM_LEN: usize = 20;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// Characters of a key's secret part shown on each side of a preview.
const PREVIEW_CHARS: usize = 4;

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

/// What the table knows about a key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub tenant_id: String,
    pub mode: KeyMode,
    pub revoked: bool,
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

impl Store {
    pub async fn get_key(&self, hash: &ApiKeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let Some(item) = self
            .get(schema::key_pk(hash.as_str()), schema::META.into())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(key_record_from_item(&item)?))
    }

    /// Stores a key: its auth item (by hash, what the API reads), its
    /// listing entry under the tenant and its id pointer, in one
    /// transaction that also checks the tenant exists.
    pub async fn create_api_key(&self, new: &NewApiKey) -> Result<KeyCreateOutcome, StoreError> {
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
        let tx = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tenant_exists)
                    .build(),
            )
            .transact_items(tx_put(auth));
        let result = self.with_key_index(tx, new, &created)?.send().await;
        match result {
            Ok(_) => Ok(KeyCreateOutcome::Created),
            Err(e) => match refusals::canceled(&e) {
                Some(c) if c.condition_failed(0) => Ok(KeyCreateOutcome::UnknownTenant),
                Some(c) if c.any_condition_failed() => Ok(KeyCreateOutcome::AlreadyExists),
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// Gives a key stored before key ids existed (auth item without
    /// `keyId`, seeded by older code) its id, listing entry and pointer, in
    /// one transaction. `Ok(false)` if the key is unknown, belongs to
    /// another tenant or already has an id: nothing changes then.
    pub async fn adopt_unlisted_key(&self, new: &NewApiKey) -> Result<bool, StoreError> {
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
        let tx = self
            .client
            .transact_write_items()
            .transact_items(tx_update(auth));
        let result = self.with_key_index(tx, new, &created)?.send().await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match refusals::canceled(&e) {
                Some(c) if c.any_condition_failed() => Ok(false),
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    /// `tx` with the key's listing entry and id pointer added.
    fn with_key_index(
        &self,
        tx: TransactWriteItemsFluentBuilder,
        new: &NewApiKey,
        created: &str,
    ) -> Result<TransactWriteItemsFluentBuilder, StoreError> {
        let (listing, pointer) = self.key_index_puts(new, created)?;
        Ok(tx
            .transact_items(tx_put(listing))
            .transact_items(tx_put(pointer)))
    }

    /// The listing entry and the id pointer of a key.
    fn key_index_puts(&self, new: &NewApiKey, created: &str) -> Result<(Put, Put), StoreError> {
        let listing = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(schema::tenant_pk(&new.tenant_id)))
            .item(schema::SK, s(schema::key_listing_sk(&new.key_id)))
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
            .item(schema::PK, s(schema::key_pointer_pk(&new.key_id)))
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
        self.query_all(
            schema::tenant_pk(tenant_id),
            schema::key_listing_sk(""),
            api_key_summary,
        )
        .await
    }

    /// Revokes a key by its id: the auth item (what the API checks) and the
    /// listing entry change together in one transaction.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<RevokeOutcome, StoreError> {
        let Some(pointer) = self
            .get(schema::key_pointer_pk(key_id), schema::META.into())
            .await?
        else {
            return Ok(RevokeOutcome::UnknownKey);
        };
        let tenant_id = pointer.str("tenantId")?.to_string();
        let hash = pointer.str("keyHash")?;
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
                schema::key_listing_sk(key_id),
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
            .transact_items(tx_update(auth))
            .transact_items(tx_update(listing))
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevokeOutcome::Revoked { tenant_id }),
            Err(e) => match refusals::canceled(&e) {
                // Only the listing's `revoked <> true` can fail while the
                // pointer exists: the key was revoked already.
                Some(c) if c.condition_failed(1) => {
                    let listed = self
                        .get(
                            schema::tenant_pk(&tenant_id),
                            schema::key_listing_sk(key_id),
                        )
                        .await?;
                    match listed {
                        Some(item) if item.bool("revoked")? => {
                            Ok(RevokeOutcome::AlreadyRevoked { tenant_id })
                        }
                        _ => Err(StoreError::Corrupt {
                            item: format!("{}/{}", schema::key_pointer_pk(key_id), schema::META),
                            attribute: "keyHash".into(),
                            problem: "points at a key without a listing entry",
                        }),
                    }
                }
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }
}

/// A key's listing entry as listings show it.
fn api_key_summary(item: &Item) -> Result<ApiKeySummary, StoreError> {
    Ok(ApiKeySummary {
        key_id: item.str("keyId")?.to_string(),
        tenant_id: item.str("tenantId")?.to_string(),
        preview: item.str("preview")?.to_string(),
        mode: item.parsed("mode", KeyMode::parse)?,
        created_at: item.time("createdAt")?,
        revoked: item.bool("revoked")?,
    })
}

/// The auth item as the API reads it.
fn key_record_from_item(item: &Item) -> Result<KeyRecord, StoreError> {
    Ok(KeyRecord {
        tenant_id: item.str("tenantId")?.to_string(),
        mode: item.parsed("mode", KeyMode::parse)?,
        revoked: item.bool("revoked")?,
    })
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

    #[test]
    fn a_key_with_an_unknown_mode_is_corrupt_not_an_aws_error() {
        use std::collections::HashMap;
        let item = Item(HashMap::from([
            (schema::PK.to_string(), s(schema::key_pk("abc"))),
            (schema::SK.to_string(), s(schema::META)),
            ("tenantId".to_string(), s("t1")),
            ("mode".to_string(), s("staging")),
        ]));
        match key_record_from_item(&item) {
            Err(StoreError::Corrupt {
                item, attribute, ..
            }) => {
                assert_eq!(item, "KEY#abc/META");
                assert_eq!(attribute, "mode");
            }
            other => panic!("{other:?}"),
        }
    }
}
