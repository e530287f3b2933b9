//! The worker's moves of a job: claim (QUEUED|RETRYING → RUNNING, or an
//! expired RUNNING lease reclaimed), then RUNNING → RETRYING, SUCCEEDED or
//! FAILED. Each move is conditional on the claim it follows (status RUNNING
//! and the same attempt number), so a worker that lost its lease can never
//! overwrite the outcome of the one that reclaimed the job. Terminal moves
//! release the tenant's concurrency slot in the same transaction.

use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};

use crate::domain::{Job, JobError, JobStatus, Scope};
use crate::store::counters::release_slot;
use crate::store::items::{job_from_item, n, s};
use crate::store::{
    Item, Store, StoreError, applied_unless_condition_failed,
    applied_unless_first_condition_failed, key, schema,
};
use crate::time::{self, Timestamp};

#[derive(Debug)]
pub enum ClaimOutcome {
    /// The job is ours to run; `attempts` counts this attempt.
    Claimed(Box<Job>),
    /// No such job (e.g. a submit that was taken back).
    Gone,
    /// Terminal or canceled: nothing to do, ever.
    Finished(JobStatus),
    /// Another invocation holds a live lease until this time.
    Busy { lease_until: Timestamp },
}

/// How a run ended, for `finish_job`.
#[derive(Debug)]
pub enum Finish {
    Succeeded(Vec<String>),
    Failed(JobError),
}

impl Store {
    pub async fn claim_job(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<ClaimOutcome, StoreError> {
        let claim_token = crate::ids::new_id();
        self.claim_job_as(scope, job_id, now, lease, &claim_token)
            .await
    }

    /// `claim_job` with the token that marks the claim as this request's:
    /// if the write lands but its answer is lost (a timeout) and the SDK
    /// sends it again, the retry fails its condition and the read below
    /// recognises the claim as ours instead of deferring the job to the end
    /// of its lease as if another worker held it.
    pub async fn claim_job_as(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        now: Timestamp,
        lease: Duration,
        claim_token: &str,
    ) -> Result<ClaimOutcome, StoreError> {
        let now_ms = now.timestamp_millis();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::scope_pk(scope), schema::job_sk(job_id))))
            .update_expression(
                "SET #status = :running, #gsi2pk = :status_pk, startedAt = :now, updatedAt = :now, \
                 leaseUntil = :lease_until, claimToken = :claim_token, \
                 attempts = if_not_exists(attempts, :zero) + :one",
            )
            .condition_expression(
                "attribute_exists(PK) AND (#status IN (:queued, :retrying) OR \
                 (#status = :running AND leaseUntil < :now_ms))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi2pk", schema::BY_TENANT_STATUS_PK)
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":retrying", s(JobStatus::Retrying.as_str()))
            .expression_attribute_values(
                ":status_pk",
                s(schema::status_pk(scope, JobStatus::Running)),
            )
            .expression_attribute_values(":now", s(time::iso_millis(&now)))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":lease_until", n(now_ms + lease.as_millis() as i64))
            .expression_attribute_values(":claim_token", s(claim_token))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = Item(out.attributes.unwrap_or_default());
                Ok(ClaimOutcome::Claimed(Box::new(job_from_item(&item)?)))
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                let Some(item) = self
                    .get(schema::scope_pk(scope), schema::job_sk(job_id))
                    .await?
                else {
                    return Ok(ClaimOutcome::Gone);
                };
                let job = job_from_item(&item)?;
                Ok(match job.status {
                    JobStatus::Running if item.opt_str("claimToken")? == Some(claim_token) => {
                        ClaimOutcome::Claimed(Box::new(job))
                    }
                    JobStatus::Running => {
                        let lease_ms: i64 = item.opt_num("leaseUntil")?.unwrap_or(0);
                        ClaimOutcome::Busy {
                            lease_until: chrono::DateTime::from_timestamp_millis(lease_ms)
                                .unwrap_or(now),
                        }
                    }
                    // Became claimable between our write and our read: let
                    // the caller try again shortly.
                    JobStatus::Queued | JobStatus::Retrying => {
                        ClaimOutcome::Busy { lease_until: now }
                    }
                    status => ClaimOutcome::Finished(status),
                })
            }
            Err(e) => Err(StoreError::aws("UpdateItem", e)),
        }
    }

    /// RUNNING → RETRYING, if this attempt still owns the job.
    pub async fn retry_job(&self, job: &Job, now: Timestamp) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                schema::scope_pk(job.scope()),
                schema::job_sk(&job.id),
            )))
            .update_expression(
                "SET #status = :retrying, #gsi2pk = :status_pk, updatedAt = :now REMOVE leaseUntil",
            )
            .condition_expression("#status = :running AND attempts = :attempt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi2pk", schema::BY_TENANT_STATUS_PK)
            .expression_attribute_values(":retrying", s(JobStatus::Retrying.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(
                ":status_pk",
                s(schema::status_pk(job.scope(), JobStatus::Retrying)),
            )
            .expression_attribute_values(":now", s(time::iso_millis(&now)))
            .expression_attribute_values(":attempt", n(job.attempts))
            .send()
            .await;
        applied_unless_condition_failed("UpdateItem", result)
    }

    /// RUNNING → SUCCEEDED or FAILED and the concurrency slot back, in one
    /// transaction, if this attempt still owns the job. `false`: it did not
    /// (the lease expired and another attempt took over).
    pub async fn finish_job(
        &self,
        job: &Job,
        finish: Finish,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let status = match &finish {
            Finish::Succeeded(_) => JobStatus::Succeeded,
            Finish::Failed(_) => JobStatus::Failed,
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                schema::scope_pk(job.scope()),
                schema::job_sk(&job.id),
            )))
            .condition_expression("#status = :running AND attempts = :attempt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi2pk", schema::BY_TENANT_STATUS_PK)
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":status_pk", s(schema::status_pk(job.scope(), status)))
            .expression_attribute_values(":now", s(time::iso_millis(&now)))
            .expression_attribute_values(":attempt", n(job.attempts));
        let common = "SET #status = :status, #gsi2pk = :status_pk, updatedAt = :now";
        update = match finish {
            Finish::Succeeded(urls) => update
                .update_expression(format!("{common}, resultUrls = :urls REMOVE leaseUntil"))
                .expression_attribute_values(
                    ":urls",
                    aws_sdk_dynamodb::types::AttributeValue::L(urls.into_iter().map(s).collect()),
                ),
            Finish::Failed(error) => update
                .update_expression(format!(
                    "{common}, errorCode = :code, errorMessage = :message REMOVE leaseUntil"
                ))
                .expression_attribute_values(":code", s(error.code))
                .expression_attribute_values(":message", s(error.message)),
        };
        let update = update
            .build()
            .map_err(|e| StoreError::aws("TransactWriteItems", e))?;
        let result = self
            .client
            .transact_write_items()
            .client_request_token(format!(
                "{}-{}-{}",
                job.id,
                job.attempts,
                &status.as_str()[..1]
            ))
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(release_slot(&self.table, job.scope())?)
                    .build(),
            )
            .send()
            .await;
        applied_unless_first_condition_failed(result)
    }
}
