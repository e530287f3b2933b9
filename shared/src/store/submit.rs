//! Submitting a job: one transaction that admits it (rate window, tenant
//! concurrency), reserves the idempotency key and writes the job, or does
//! nothing at all; and its compensation if the job cannot be queued.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Delete, Put, TransactWriteItem, Update};

use crate::domain::{Job, Scope, TenantLimits};
use crate::store::counters::{limits_from_item, release_slot, take_slot};
use crate::store::items::{job_to_item, n, s};
use crate::store::{Item, Store, StoreError, applied_unless_first_condition_failed, key, schema};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 60 * 60;

pub struct NewJob<'a> {
    pub job: &'a Job,
    /// `(Idempotency-Key, request fingerprint)`.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// The limits the caller believes the tenant has; the transaction fails
    /// with `LimitsChanged` if the table says otherwise.
    pub limits: TenantLimits,
    /// The rate window: `epoch seconds / 60`.
    pub minute: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    Created,
    /// Another request holds this idempotency key.
    IdempotencyKeyTaken,
    /// The tenant's limits are not the ones the caller used: retry with these.
    LimitsChanged(TenantLimits),
    RateLimited,
    ConcurrencyLimited,
    /// The tenant no longer exists.
    TenantGone,
    /// A concurrent transaction touched the same items; retry.
    Conflict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub job_id: String,
    pub fingerprint: String,
    pub expires_at: i64,
}

impl Store {
    pub async fn create_job(&self, new: &NewJob<'_>) -> Result<SubmitOutcome, StoreError> {
        let job = new.job;
        let scope_pk = schema::scope_pk(job.scope());
        let now_secs = job.created_at.timestamp();
        let build_err = |e| StoreError::aws("TransactWriteItems", e);

        // 0: the rate window of this minute, counted up if below the limit.
        let window = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                scope_pk.clone(),
                schema::rate_window_sk(new.minute),
            )))
            .update_expression("ADD #count :one SET expiresAt = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :rpm")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":rpm", n(new.limits.rpm))
            .expression_attribute_values(":expires", n((new.minute + 2) * 60))
            .build()
            .map_err(build_err)?;
        // 1: the scope's active jobs, compared with the tenant's limit as
        // stored now; `rpm = :rpm` proves the rate limit used above is
        // current (see `counters`).
        let tenant = take_slot(&self.table, job.scope(), new.limits)?;
        // 2: the job itself.
        let put_job = Put::builder()
            .table_name(&self.table)
            .set_item(Some(job_to_item(job)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;

        // The token makes an SDK retry of a committed transaction a no-op
        // on DynamoDB (for 10 minutes); see also `classify`.
        let mut tx = self
            .client
            .transact_write_items()
            .client_request_token(&job.id)
            .transact_items(TransactWriteItem::builder().update(window).build())
            .transact_items(TransactWriteItem::builder().update(tenant).build())
            .transact_items(TransactWriteItem::builder().put(put_job).build());
        // 3: the idempotency record, unless one exists and has not expired
        // (TTL deletion lags, so expiry is checked here too).
        if let Some((idem_key, fingerprint)) = new.idempotency {
            let put_idem = Put::builder()
                .table_name(&self.table)
                .item(schema::PK, s(&scope_pk))
                .item(schema::SK, s(schema::idempotency_sk(idem_key)))
                .item("type", s("IDEMPOTENCY"))
                .item("jobId", s(&job.id))
                .item("fingerprint", s(fingerprint))
                .item(schema::TTL_ATTRIBUTE, n(now_secs + IDEMPOTENCY_TTL_SECS))
                .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
                .expression_attribute_values(":now", n(now_secs))
                .build()
                .map_err(build_err)?;
            tx = tx.transact_items(TransactWriteItem::builder().put(put_idem).build());
        }

        match tx.send().await {
            Ok(_) => Ok(SubmitOutcome::Created),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    classify(c.cancellation_reasons(), new.limits)
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Ok(SubmitOutcome::Conflict)
                }
                _ => Err(StoreError::aws_write("TransactWriteItems", e)),
            },
        }
    }

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

    /// How many submits the scope's window for `minute` has accepted.
    pub async fn rate_window_count(
        &self,
        scope: Scope<'_>,
        minute: i64,
    ) -> Result<u32, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::rate_window_sk(minute))
            .await?;
        Ok(match item {
            Some(i) => i.opt_num("count")?.unwrap_or(0),
            None => 0,
        })
    }

    /// Undoes a created job that could not be queued: deletes the job (only
    /// if it is still QUEUED) and its idempotency record, gives back the
    /// concurrency slot and the rate-window count. Returns false if the job
    /// had already left QUEUED (e.g. canceled), in which case nothing changes.
    pub async fn undo_create_job(&self, new: &NewJob<'_>) -> Result<bool, StoreError> {
        let job = new.job;
        let scope_pk = schema::scope_pk(job.scope());
        let build_err = |e| StoreError::aws("TransactWriteItems", e);
        let delete_job = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(scope_pk.clone(), schema::job_sk(&job.id))))
            .condition_expression("#status = :queued")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s("QUEUED"))
            .build()
            .map_err(build_err)?;
        let window = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                scope_pk.clone(),
                schema::rate_window_sk(new.minute),
            )))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_job).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(release_slot(&self.table, job.scope())?)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(window).build());
        if let Some((idem_key, _)) = new.idempotency {
            let delete_idem = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    scope_pk.clone(),
                    schema::idempotency_sk(idem_key),
                )))
                .condition_expression("jobId = :job")
                .expression_attribute_values(":job", s(&job.id))
                .build()
                .map_err(build_err)?;
            tx = tx.transact_items(TransactWriteItem::builder().delete(delete_idem).build());
        }
        applied_unless_first_condition_failed(tx.send().await)
    }
}

/// Why the submit transaction was canceled, most specific first: an
/// idempotency hit wins (a replay is never rate limited), then stale limits
/// (retry with the right ones), then the limits themselves.
fn classify(
    reasons: &[CancellationReason],
    used: TenantLimits,
) -> Result<SubmitOutcome, StoreError> {
    let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
    // The job id is fresh and random: if the job already exists, it is ours,
    // written by an earlier attempt of this very call that the SDK retried
    // after a timeout. That attempt admitted it.
    if code(2) == "ConditionalCheckFailed" {
        return Ok(SubmitOutcome::Created);
    }
    if (0..reasons.len()).any(|i| code(i) == "TransactionConflict") {
        return Ok(SubmitOutcome::Conflict);
    }
    if code(3) == "ConditionalCheckFailed" {
        return Ok(SubmitOutcome::IdempotencyKeyTaken);
    }
    if code(1) == "ConditionalCheckFailed" {
        let Some(tenant) = reasons[1].item() else {
            return Ok(SubmitOutcome::TenantGone);
        };
        let tenant = Item(tenant.clone());
        let current = limits_from_item(&tenant)?;
        if current.rpm != used.rpm {
            return Ok(SubmitOutcome::LimitsChanged(current));
        }
        let active: i64 = tenant.opt_num("activeJobs")?.unwrap_or(0);
        if active >= i64::from(current.max_concurrency) {
            return Ok(SubmitOutcome::ConcurrencyLimited);
        }
        // The limit changed between our read and the check: try again.
        return Ok(SubmitOutcome::LimitsChanged(current));
    }
    if code(0) == "ConditionalCheckFailed" {
        return Ok(SubmitOutcome::RateLimited);
    }
    Err(StoreError::Aws {
        op: "TransactWriteItems",
        message: format!(
            "transaction canceled for an unexpected reason: {:?}",
            reasons
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect::<Vec<_>>()
        ),
    })
}
