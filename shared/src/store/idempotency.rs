//! The idempotency record, `TENANT#<tid>#<mode>`/`IDEM#<key>`: which job a
//! submit's `Idempotency-Key` made, with the fingerprint of its body.
//! Reserved by the submit transaction, deleted by its undo, and expired by
//! DynamoDB's TTL after `IDEMPOTENCY_TTL_SECS`.

use aws_sdk_dynamodb::types::{Delete, Put};

use crate::domain::Scope;
use crate::store::items::{n, s};
use crate::store::{Store, StoreError, build_err, key, schema};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 60 * 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub job_id: String,
    pub fingerprint: String,
    pub expires_at: i64,
}

/// The key reserved for `job_id`, unless a record exists and has not
/// expired (TTL deletion lags, so expiry is checked here too).
pub(crate) fn reserve(
    table: &str,
    scope: Scope<'_>,
    idem_key: &str,
    job_id: &str,
    fingerprint: &str,
    now_secs: i64,
) -> Result<Put, StoreError> {
    Put::builder()
        .table_name(table)
        .item(schema::PK, s(schema::scope_pk(scope)))
        .item(schema::SK, s(schema::idempotency_sk(idem_key)))
        .item("type", s("IDEMPOTENCY"))
        .item("jobId", s(job_id))
        .item("fingerprint", s(fingerprint))
        .item(schema::TTL_ATTRIBUTE, n(now_secs + IDEMPOTENCY_TTL_SECS))
        .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
        .expression_attribute_values(":now", n(now_secs))
        .build()
        .map_err(build_err)
}

/// The record deleted again, if it is still `job_id`'s.
pub(crate) fn release(
    table: &str,
    scope: Scope<'_>,
    idem_key: &str,
    job_id: &str,
) -> Result<Delete, StoreError> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(key(
            schema::scope_pk(scope),
            schema::idempotency_sk(idem_key),
        )))
        .condition_expression("jobId = :job")
        .expression_attribute_values(":job", s(job_id))
        .build()
        .map_err(build_err)
}

impl Store {
    pub async fn get_idempotency(
        &self,
        scope: Scope<'_>,
        idem_key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let Some(item) = self
            .get(schema::scope_pk(scope), schema::idempotency_sk(idem_key))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(IdempotencyRecord {
            job_id: item.str("jobId")?.to_string(),
            fingerprint: item.str("fingerprint")?.to_string(),
            expires_at: item.num(schema::TTL_ATTRIBUTE)?,
        }))
    }
}
