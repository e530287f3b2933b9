//! What an operator's audit of one tenant reads and repairs: the tenant's
//! non-terminal jobs, read from the base table with strongly consistent
//! reads (the indexes are eventually consistent, so a count from them could
//! report drift that is only index lag), and a conditional rewrite of the
//! active-job counter.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::domain::JobStatus;
use crate::store::items::{n, s};
use crate::store::{Item, Store, StoreError, key, schema};
use crate::time::Timestamp;

/// A job that still holds a concurrency slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenJob {
    pub id: String,
    pub status: JobStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Epoch milliseconds until which a RUNNING job's worker holds it.
    pub lease_until_ms: Option<i64>,
}

impl Store {
    /// Every QUEUED, RUNNING or RETRYING job of the tenant, oldest id first.
    /// Reads the tenant's whole partition (every job, filtered here by
    /// DynamoDB): an operator's tool, not a request path.
    pub async fn open_jobs(&self, tenant_id: &str) -> Result<Vec<OpenJob>, StoreError> {
        let mut open = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :job)")
                .filter_expression("#status IN (:queued, :running, :retrying)")
                .projection_expression("jobId, #status, createdAt, updatedAt, leaseUntil")
                .expression_attribute_names("#pk", schema::PK)
                .expression_attribute_names("#sk", schema::SK)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":pk", s(schema::tenant_pk(tenant_id)))
                .expression_attribute_values(":job", s(schema::job_sk("")))
                .expression_attribute_values(":queued", s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
                .expression_attribute_values(":retrying", s(JobStatus::Retrying.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            for raw in out.items.unwrap_or_default() {
                open.push(open_job_from_item(&Item(raw))?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(open)
    }

    /// Sets the tenant's active-job counter to `counted`, only if it still
    /// reads `observed`: a submit or a finished job in between makes this a
    /// no-op (`Ok(false)`), and the audit must be run again.
    pub async fn set_active_jobs(
        &self,
        tenant_id: &str,
        observed: i64,
        counted: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::tenant_pk(tenant_id), schema::META.into())))
            .update_expression("SET activeJobs = :counted")
            .condition_expression("attribute_exists(PK) AND activeJobs = :observed")
            .expression_attribute_values(":counted", n(counted))
            .expression_attribute_values(":observed", n(observed))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError::aws("UpdateItem", e)),
        }
    }
}

fn open_job_from_item(item: &Item) -> Result<OpenJob, StoreError> {
    let status = item.str("status")?;
    Ok(OpenJob {
        id: item.str("jobId")?.to_string(),
        status: JobStatus::parse(status).ok_or_else(|| Item::err("status", "unknown status"))?,
        created_at: item.time("createdAt")?,
        updated_at: item.time("updatedAt")?,
        lease_until_ms: item.opt_num("leaseUntil")?,
    })
}
