//! Reading jobs: one job, a page of a listing, the open ones (what the
//! operator's audit recounts and the sweeper requeues) and the counts by
//! status. Nothing here writes; the job item's format and writes are in
//! `jobs`.
//!
//! The audit reads all of a scope's open jobs, strongly consistent, to
//! recount the active-job counter and repair it with a conditional write;
//! the sweeper reads only open jobs created before a cutoff, from the
//! status index, to send stuck ones to the queue again. The audit also
//! reads the SUCCEEDED jobs submitted in a month, from the status index,
//! to recount the month's quota counter and check its daily usage.

use std::time::Duration;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::domain::usage::Reservation;
use crate::domain::{Job, JobStatus, Mode, Scope};
use crate::store::items::s;
use crate::store::jobs::job_from_item;
use crate::store::{Item, Store, StoreError, key, pages, schema};
use crate::time::{self, Timestamp};

/// One page of a listing: `next` is the position after the last item when
/// more items exist.
#[derive(Debug)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub next: Option<String>,
}

/// Job counts of one tenant, one entry per status in `JobStatus::ALL` order.
pub type JobCounts = Vec<(JobStatus, u64)>;

/// A job that still holds a concurrency slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenJob {
    pub id: String,
    pub status: JobStatus,
    pub mode: Mode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Epoch milliseconds until which a RUNNING job's worker holds it.
    pub lease_until_ms: Option<i64>,
    pub deadline_at: Option<Timestamp>,
    /// What it holds in its month's quota counter.
    pub reservation: Reservation,
}

/// A SUCCEEDED job as the month audit counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SucceededJob {
    pub id: String,
    pub mode: Mode,
    pub created_at: Timestamp,
    /// The month its images count in (`None`: submitted before quotas
    /// existed, so in no month's counter).
    pub quota_month: Option<String>,
    pub images: u8,
}

impl OpenJob {
    /// Whether its deadline passed with no attempt running: waiting, or
    /// running on a lease that ended (`Transition::Expire`).
    pub fn expired(&self, now: Timestamp) -> bool {
        let not_running = match (self.status, self.lease_until_ms) {
            (JobStatus::Running, Some(lease)) => lease < now.timestamp_millis(),
            (JobStatus::Running, None) => false,
            _ => true,
        };
        not_running && self.deadline_at.is_some_and(|d| d <= now)
    }

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
    /// A job of this scope only: another tenant's or mode's job has another
    /// key and is never read.
    pub async fn get_job(&self, scope: Scope<'_>, job_id: &str) -> Result<Option<Job>, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::job_sk(job_id))
            .await?;
        Ok(item.map(|i| job_from_item(&i)).transpose()?)
    }

    /// An eventually consistent read of one job (half the read units):
    /// what a waiting request polls. It may show a job not yet terminal a
    /// moment after it became so, never a terminal status it does not have
    /// (terminal statuses are final).
    pub async fn peek_job(
        &self,
        scope: Scope<'_>,
        job_id: &str,
    ) -> Result<Option<Job>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(
                schema::PK,
                aws_sdk_dynamodb::types::AttributeValue::S(schema::scope_pk(scope)),
            )
            .key(
                schema::SK,
                aws_sdk_dynamodb::types::AttributeValue::S(schema::job_sk(job_id)),
            )
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(out.item.map(|i| job_from_item(&Item(i))).transpose()?)
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

    /// Every QUEUED, RUNNING or RETRYING job of the scope, oldest id first.
    /// Reads the scope's whole partition (a filter would save no capacity:
    /// DynamoDB bills what it reads): an operator's tool, not a request path.
    pub async fn open_jobs(&self, scope: Scope<'_>) -> Result<Vec<OpenJob>, StoreError> {
        let jobs = self
            .query_all(
                schema::scope_pk(scope),
                schema::job_sk(""),
                open_job_from_item,
            )
            .await?;
        Ok(jobs
            .into_iter()
            .filter(|j| !j.status.is_terminal())
            .collect())
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
            let query = self
                .status_query(scope, status, "#pk = :pk AND #sk < :before")
                .expression_attribute_names("#sk", schema::BY_TENANT_STATUS_SK)
                .expression_attribute_values(":before", s(time::iso_millis(&created_before)));
            for item in &pages::query_items(query).await? {
                open.push(open_job_from_item(item)?);
            }
        }
        Ok(open)
    }

    /// The scope's SUCCEEDED jobs submitted in the UTC month of `month`
    /// (any day of it), oldest first: one range query of the status index
    /// over `createdAt#jobId` from the month's first instant to the next
    /// month's, every page read. The index lags the table a little: a job
    /// that succeeded a moment ago may be missing.
    pub async fn succeeded_jobs_created_in(
        &self,
        scope: Scope<'_>,
        month: NaiveDate,
    ) -> Result<Vec<SucceededJob>, StoreError> {
        let first = month.with_day(1).unwrap_or(month);
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        let instant = |day: NaiveDate| {
            time::iso_millis(&Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)))
        };
        // `createdAt#jobId` of a job submitted at the next month's first
        // instant sorts after that instant alone: BETWEEN leaves it out.
        let query = self
            .status_query(
                scope,
                JobStatus::Succeeded,
                "#pk = :pk AND #sk BETWEEN :from AND :to",
            )
            .expression_attribute_names("#sk", schema::BY_TENANT_STATUS_SK)
            .expression_attribute_values(":from", s(instant(first)))
            .expression_attribute_values(":to", s(instant(next)));
        pages::query_items(query)
            .await?
            .iter()
            .map(succeeded_job_from_item)
            .collect()
    }

    /// How many jobs the tenant has in each status: per status one
    /// `Select::Count` query on `ByTenantStatus`, following pages (a count
    /// query still reads at most 1 MB per page).
    pub async fn count_jobs_by_status(&self, scope: Scope<'_>) -> Result<JobCounts, StoreError> {
        let mut counts = Vec::with_capacity(JobStatus::ALL.len());
        for status in JobStatus::ALL {
            let query = self
                .status_query(scope, status, "#pk = :pk")
                .select(Select::Count);
            let mut total: u64 = 0;
            pages::each_query_page(query, |page| {
                total += u64::try_from(page.count).unwrap_or(0);
                Ok(())
            })
            .await?;
            counts.push((status, total));
        }
        Ok(counts)
    }
}

impl Store {
    /// A query of the scope's jobs in `status` on `ByTenantStatus`
    /// (`#pk = :pk` bound; `condition` may narrow the sort key).
    fn status_query(
        &self,
        scope: Scope<'_>,
        status: JobStatus,
        condition: &str,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_TENANT_STATUS)
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", schema::BY_TENANT_STATUS_PK)
            .expression_attribute_values(":pk", s(schema::status_pk(scope, status)))
    }
}

fn open_job_from_item(item: &Item) -> Result<OpenJob, StoreError> {
    Ok(OpenJob {
        id: item.str("jobId")?.to_string(),
        status: item.parsed("status", JobStatus::parse)?,
        mode: item.parsed("mode", Mode::parse)?,
        created_at: item.time("createdAt")?,
        updated_at: item.time("updatedAt")?,
        lease_until_ms: item.opt_num("leaseUntil")?,
        deadline_at: match item.opt_str("deadlineAt")? {
            None => None,
            Some(_) => Some(item.time("deadlineAt")?),
        },
        reservation: Reservation {
            month: item.opt_str("quotaMonth")?.map(str::to_string),
            images: item.opt_num("numberOfImages")?.unwrap_or(1),
        },
    })
}

fn succeeded_job_from_item(item: &Item) -> Result<SucceededJob, StoreError> {
    Ok(SucceededJob {
        id: item.str("jobId")?.to_string(),
        mode: item.parsed("mode", Mode::parse)?,
        created_at: item.time("createdAt")?,
        quota_month: item.opt_str("quotaMonth")?.map(str::to_string),
        images: item.opt_num("numberOfImages")?.unwrap_or(1),
    })
}
