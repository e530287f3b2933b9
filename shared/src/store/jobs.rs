//! Reading, listing and canceling jobs.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use crate::domain::{Job, JobStatus, Scope};
use crate::store::counters::release_slot;
use crate::store::items::{job_from_item, s};
use crate::store::{Item, Store, StoreError, key, schema};
use crate::time::{self, Timestamp};

/// One page of a listing: `next` is the position after the last item when
/// more items exist.
#[derive(Debug)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub next: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    Canceled,
    NotFound,
    NotCancelable(JobStatus),
}

impl Store {
    /// A job of this scope only: another tenant's or mode's job has another
    /// key and is never read.
    pub async fn get_job(&self, scope: Scope<'_>, job_id: &str) -> Result<Option<Job>, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::job_sk(job_id))
            .await?;
        Ok(item.map(|i| job_from_item(&i)).transpose()?)
    }

    /// Newest first, from one index query: `limit + 1` items are read so
    /// that `next` is set exactly when another item exists. The cost is
    /// bounded by `limit`, whatever the tenant's total.
    pub async fn list_jobs(
        &self,
        scope: Scope<'_>,
        status: Option<JobStatus>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<JobPage, StoreError> {
        let (index, pk_attr, sk_attr, pk) = match status {
            None => (
                schema::BY_TENANT,
                schema::BY_TENANT_PK,
                schema::BY_TENANT_SK,
                schema::scope_pk(scope),
            ),
            Some(st) => (
                schema::BY_TENANT_STATUS,
                schema::BY_TENANT_STATUS_PK,
                schema::BY_TENANT_STATUS_SK,
                schema::status_pk(scope, st),
            ),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false)
            .limit(limit as i32 + 1);
        if let Some(position) = after {
            // The position is `createdAt#jobId`: enough to rebuild the full
            // start key (table keys plus index keys).
            let job_id = position.rsplit('#').next().unwrap_or_default();
            let mut start = key(schema::scope_pk(scope), schema::job_sk(job_id));
            start.insert(pk_attr.to_string(), s(&pk));
            start.insert(sk_attr.to_string(), s(position));
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let mut jobs = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| job_from_item(&Item(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if jobs.len() > limit {
            jobs.truncate(limit);
            jobs.last()
                .map(|j| schema::created_sk(&time::iso_millis(&j.created_at), &j.id))
        } else {
            None
        };
        Ok(JobPage { jobs, next })
    }

    /// QUEUED|RETRYING → CANCELED and the tenant's concurrency slot back, in
    /// one transaction. On refusal the job's current state comes back with
    /// the cancellation, so no second read is needed.
    pub async fn cancel_job(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        now: Timestamp,
    ) -> Result<CancelOutcome, StoreError> {
        let now_iso = time::iso_millis(&now);
        let cancel = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::scope_pk(scope), schema::job_sk(job_id))))
            .update_expression("SET #status = :canceled, #gsi2pk = :status_pk, updatedAt = :now")
            .condition_expression("attribute_exists(PK) AND #status IN (:queued, :retrying)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi2pk", schema::BY_TENANT_STATUS_PK)
            .expression_attribute_values(":canceled", s(JobStatus::Canceled.as_str()))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":retrying", s(JobStatus::Retrying.as_str()))
            .expression_attribute_values(
                ":status_pk",
                s(schema::status_pk(scope, JobStatus::Canceled)),
            )
            .expression_attribute_values(":now", s(&now_iso))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let release = release_slot(&self.table, scope)?;
        let result = self
            .client
            .transact_write_items()
            .client_request_token(crate::ids::new_id())
            .transact_items(TransactWriteItem::builder().update(cancel).build())
            .transact_items(TransactWriteItem::builder().update(release).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(CancelOutcome::Canceled),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let reasons = c.cancellation_reasons();
                    if reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed") {
                        return Ok(match reasons[0].item() {
                            None => CancelOutcome::NotFound,
                            Some(old) => {
                                let job = job_from_item(&Item(old.clone()))?;
                                // Already canceled at our own timestamp: an
                                // SDK retry of this very call, which the
                                // first attempt had committed.
                                if job.status == JobStatus::Canceled
                                    && time::iso_millis(&job.updated_at) == now_iso
                                {
                                    CancelOutcome::Canceled
                                } else {
                                    CancelOutcome::NotCancelable(job.status)
                                }
                            }
                        });
                    }
                }
                Err(StoreError::aws("TransactWriteItems", e))
            }
        }
    }
}
