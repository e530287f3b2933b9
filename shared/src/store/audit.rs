//! Jobs that still hold a concurrency slot, and which of them are stuck:
//! what the operator's audit reads (all of a tenant's open jobs, strongly
//! consistent, to recount the active-job counter and repair it with a
//! conditional write) and what the sweeper reads (only open jobs created
//! before a cutoff, from the status index, to send stuck ones to the queue
//! again).

use std::time::Duration;

use crate::domain::{JobStatus, Scope};
use crate::store::items::s;
use crate::store::{Item, Store, StoreError, schema};
use crate::time::{self, Timestamp};

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

impl OpenJob {
    /// Why this job will not move on its own, if it will not: RUNNING past
    /// its lease (its worker died and no delivery reclaimed it), or QUEUED /
    /// RETRYING untouched for `stale_after` (its message was lost, e.g. a
    /// submit whose queue send and undo both failed, or it went to the
    /// dead-letter queue).
    pub fn stuck_reason(&self, now: Timestamp, stale_after: Duration) -> Option<String> {
        let stale_before = now - chrono::Duration::from_std(stale_after).ok()?;
        match (self.status, self.lease_until_ms) {
            (JobStatus::Running, Some(lease)) if lease < now.timestamp_millis() => {
                let until = chrono::DateTime::from_timestamp_millis(lease).unwrap_or(now);
                Some(format!("lease ended {}", time::iso_millis(&until)))
            }
            (JobStatus::Running, Some(_)) => None,
            _ if self.updated_at < stale_before => Some(format!(
                "{} since {}",
                self.status,
                time::iso_millis(&self.updated_at)
            )),
            _ => None,
        }
    }
}

impl Store {
    /// Every QUEUED, RUNNING or RETRYING job of the scope, oldest id first.
    /// Reads the scope's whole partition (a filter would save no capacity:
    /// DynamoDB bills what it reads): an operator's tool, not a request path.
    pub async fn open_jobs(&self, scope: Scope<'_>) -> Result<Vec<OpenJob>, StoreError> {
        let items = self
            .query_all(schema::scope_pk(scope), schema::job_sk(""))
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

    /// The scope's open jobs created before `created_before`: one query of
    /// the status index per open status, reading only old jobs, so a sweep
    /// costs nothing for the jobs that are moving normally. The index lags
    /// the table a little; a sweep acts on what is already stale.
    pub async fn open_jobs_created_before(
        &self,
        scope: Scope<'_>,
        created_before: Timestamp,
    ) -> Result<Vec<OpenJob>, StoreError> {
        let mut open = Vec::new();
        for status in [JobStatus::Queued, JobStatus::Retrying, JobStatus::Running] {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(schema::BY_TENANT_STATUS)
                    .key_condition_expression("#pk = :pk AND #sk < :before")
                    .expression_attribute_names("#pk", schema::BY_TENANT_STATUS_PK)
                    .expression_attribute_names("#sk", schema::BY_TENANT_STATUS_SK)
                    .expression_attribute_values(":pk", s(schema::status_pk(scope, status)))
                    .expression_attribute_values(":before", s(time::iso_millis(&created_before)))
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
        }
        Ok(open)
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
