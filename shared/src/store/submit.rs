//! The submit transaction: it admits a job (rate window, scope
//! concurrency, the month's image quota), reserves its idempotency key and
//! writes it, or does nothing at all; and its undo, if the job cannot be queued. Each item's
//! write is built by that item's module; this one only composes them and
//! reads the cancellation.

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::domain::{Job, TenantLimits};
use crate::store::counters::{limits_from_item, release_slot, take_slot};
use crate::store::refusals::{self, Canceled, applied_unless_first_condition_failed};
use crate::store::{Store, StoreError, idempotency, jobs, quotas, rate_windows, tx_put, tx_update};

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
    /// The month's images would exceed the quota: `used` of them are
    /// reserved or generated already.
    QuotaExceeded {
        used: i64,
    },
    /// The tenant no longer exists.
    TenantGone,
    /// A concurrent transaction touched the same items; retry.
    Conflict,
}

/// The items of the submit transaction, in order: `classify` reads the
/// cancellation reasons by these positions.
const WINDOW: usize = 0;
const COUNTERS: usize = 1;
const JOB: usize = 2;
const QUOTA: usize = 3;
const IDEMPOTENCY: usize = 4;

impl Store {
    pub async fn create_job(&self, new: &NewJob<'_>) -> Result<SubmitOutcome, StoreError> {
        let job = new.job;
        let scope = job.scope();
        // The token makes an SDK retry of a committed transaction a no-op
        // on DynamoDB (for 10 minutes); see also `classify`.
        let mut tx = self
            .client
            .transact_write_items()
            .client_request_token(&job.id)
            // WINDOW: this minute's, counted up if below the limit.
            .transact_items(tx_update(rate_windows::count_up(
                &self.table,
                scope,
                new.minute,
                new.limits.rpm,
            )?))
            // COUNTERS: the scope's active jobs, compared with the tenant's
            // limit as stored now; `rpm = :rpm` proves the rate limit used
            // above is current (see `counters`).
            .transact_items(tx_update(take_slot(&self.table, scope, new.limits)?))
            // JOB: the job itself.
            .transact_items(tx_put(jobs::put_new(&self.table, job)?))
            // QUOTA: the month's images, `numberOfImages` more if they fit
            // the quota the COUNTERS condition proved current.
            .transact_items(tx_update(quotas::reserve(
                &self.table,
                scope,
                job.quota_month.as_deref().unwrap_or_default(),
                job.options.number_of_images,
                new.limits.monthly_image_quota,
            )?));
        // IDEMPOTENCY: the record, unless one exists and has not expired.
        if let Some((idem_key, fingerprint)) = new.idempotency {
            tx = tx.transact_items(tx_put(idempotency::reserve(
                &self.table,
                scope,
                idem_key,
                &job.id,
                fingerprint,
                job.created_at.timestamp(),
            )?));
        }

        match tx.send().await {
            Ok(_) => Ok(SubmitOutcome::Created),
            Err(e) => match refusals::canceled(&e) {
                Some(canceled) => classify(&canceled, new.limits),
                None if refusals::in_progress(&e) => Ok(SubmitOutcome::Conflict),
                None => Err(StoreError::aws_write("TransactWriteItems", e)),
            },
        }
    }

    /// Undoes a created job that could not be queued: deletes the job (only
    /// if it is still QUEUED) and its idempotency record, gives back the
    /// concurrency slot, the rate-window count and the images reserved. Returns false if the job
    /// had already left QUEUED (e.g. canceled), in which case nothing changes.
    pub async fn undo_create_job(&self, new: &NewJob<'_>) -> Result<bool, StoreError> {
        let job = new.job;
        let scope = job.scope();
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .delete(jobs::take_back(&self.table, job)?)
                    .build(),
            )
            .transact_items(tx_update(release_slot(&self.table, scope)?))
            .transact_items(tx_update(rate_windows::count_down(
                &self.table,
                scope,
                new.minute,
            )?));
        if let Some(give_back) = quotas::give_back(&self.table, scope, &job.reservation())? {
            tx = tx.transact_items(tx_update(give_back));
        }
        if let Some((idem_key, _)) = new.idempotency {
            tx = tx.transact_items(
                TransactWriteItem::builder()
                    .delete(idempotency::release(&self.table, scope, idem_key, &job.id)?)
                    .build(),
            );
        }
        applied_unless_first_condition_failed(tx.send().await)
    }
}

/// Why the submit transaction was canceled, most specific first: an
/// idempotency hit wins (a replay is never rate limited), then stale limits
/// (retry with the right ones), then the limits themselves, the month's
/// quota first (it lasts longest, so its `Retry-After` is the one a client
/// must hear).
fn classify(canceled: &Canceled, used: TenantLimits) -> Result<SubmitOutcome, StoreError> {
    // The job id is fresh and random: if the job already exists, it is ours,
    // written by an earlier attempt of this very call that the SDK retried
    // after a timeout. That attempt admitted it.
    if canceled.condition_failed(JOB) {
        return Ok(SubmitOutcome::Created);
    }
    if canceled.any_conflict() {
        return Ok(SubmitOutcome::Conflict);
    }
    if canceled.condition_failed(IDEMPOTENCY) {
        return Ok(SubmitOutcome::IdempotencyKeyTaken);
    }
    if canceled.condition_failed(COUNTERS) {
        let Some(counters) = canceled.old_item(COUNTERS) else {
            return Ok(SubmitOutcome::TenantGone);
        };
        let current = limits_from_item(counters)?;
        if current.rpm != used.rpm || current.monthly_image_quota != used.monthly_image_quota {
            return Ok(SubmitOutcome::LimitsChanged(current));
        }
        if let Some(outcome) = quota_exceeded(canceled)? {
            return Ok(outcome);
        }
        let active: i64 = counters.opt_num("activeJobs")?.unwrap_or(0);
        if active >= i64::from(current.max_concurrency) {
            return Ok(SubmitOutcome::ConcurrencyLimited);
        }
        // The limit changed between our read and the check: try again.
        return Ok(SubmitOutcome::LimitsChanged(current));
    }
    if let Some(outcome) = quota_exceeded(canceled)? {
        return Ok(outcome);
    }
    if canceled.condition_failed(WINDOW) {
        return Ok(SubmitOutcome::RateLimited);
    }
    Err(canceled.unexpected())
}

fn quota_exceeded(canceled: &Canceled) -> Result<Option<SubmitOutcome>, StoreError> {
    if !canceled.condition_failed(QUOTA) {
        return Ok(None);
    }
    let used = match canceled.old_item(QUOTA) {
        Some(month) => month.opt_num("images")?.unwrap_or(0),
        None => 0,
    };
    Ok(Some(SubmitOutcome::QuotaExceeded { used }))
}
