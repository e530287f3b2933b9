//! What an operator's audit of one tenant reads and repairs: the tenant's
//! non-terminal jobs, read from the base table with strongly consistent
//! reads (the indexes are eventually consistent, so a count from them could
//! report drift that is only index lag), and a conditional rewrite of the
//! active-job counter.

use crate::domain::JobStatus;
use crate::store::items::n;
use crate::store::{Item, Store, StoreError, applied_unless_condition_failed, key, schema};
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
    /// Reads the tenant's whole partition (a filter would save no capacity:
    /// DynamoDB bills what it reads): an operator's tool, not a request path.
    pub async fn open_jobs(&self, tenant_id: &str) -> Result<Vec<OpenJob>, StoreError> {
        let items = self
            .query_all(schema::tenant_pk(tenant_id), schema::job_sk(""))
            .await?;
        let mut open = Vec::new();
        for item in &items {
            let job = open_job_from_item(item)?;
            if !job.status.is_terminal() {
                open.push(job);
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
        applied_unless_condition_failed("UpdateItem", result)
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
