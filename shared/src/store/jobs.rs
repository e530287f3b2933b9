//! The job item, `TENANT#<tid>#<mode>`/`JOB#<jobId>`: its format and every
//! write of it. A job is created by the submit transaction, moved by the
//! worker (claim, or an expired lease reclaimed, then retry, succeed or
//! fail), canceled by its client, or taken back by a submit that could not
//! queue it. Each write's condition is built from the domain's transition
//! table (`Transition::from`), so the store moves a job exactly where the
//! lifecycle allows. The worker's moves are also conditional on the claim
//! they follow (status RUNNING and the same attempt number), so a worker
//! that lost its lease can never overwrite the outcome of the one that
//! reclaimed the job. Moves into a terminal status release the scope's
//! concurrency slot in the same transaction.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Update,
};

use crate::domain::usage::{Metering, MicroUsd, Reservation};
use crate::domain::{
    AspectRatio, FailureCode, GenerationOptions, ImageSize, Job, JobError, JobStatus, KeyMode,
    Mode, OutputFormat, ResultImage, Scope, Transition,
};
use crate::store::counters::release_slot;
use crate::store::items::{n, s};
use crate::store::refusals::{
    self, applied_unless_condition_failed, applied_unless_first_condition_failed,
};
use crate::store::{
    Item, ItemError, Store, StoreError, build_err, key, quotas, schema, tx_update, usage,
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
    /// The deadline passed before this attempt could start: end the job
    /// (`Store::expire_job`), giving back what it reserved.
    PastDeadline(Box<Job>),
}

/// How a run ended, for `finish_job`.
#[derive(Debug)]
pub enum Finish {
    Succeeded {
        /// Every image of the job, in index order.
        images: Vec<ResultImage>,
        /// What they cost (0 in test mode).
        cost_micro_usd: MicroUsd,
    },
    Failed(JobError),
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// With the job's mode, for the metrics.
    Canceled(Mode),
    NotFound,
    NotCancelable(JobStatus),
}

/// A write's condition and the values of its placeholders (`#status`
/// names the status attribute).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Condition {
    pub expression: String,
    pub values: Vec<(String, AttributeValue)>,
}

/// `#status` is one of the statuses `transition` starts from.
fn from_statuses(transition: Transition) -> Condition {
    let values: Vec<(String, AttributeValue)> = transition
        .from()
        .iter()
        .map(|st| {
            (
                format!(":from_{}", st.as_str().to_lowercase()),
                s(st.as_str()),
            )
        })
        .collect();
    let placeholders: Vec<&str> = values.iter().map(|(p, _)| p.as_str()).collect();
    let expression = match placeholders.as_slice() {
        [one] => format!("#status = {one}"),
        many => format!("#status IN ({})", many.join(", ")),
    };
    Condition { expression, values }
}

/// The condition under which the store makes `transition`: its
/// from-statuses, and what else the move requires. The caller supplies
/// `:now_ms` (reclaim) and `:attempt` (the worker's moves).
pub(crate) fn condition(transition: Transition) -> Condition {
    let mut c = from_statuses(transition);
    match transition {
        Transition::Claim | Transition::Cancel | Transition::TakeBack => {}
        Transition::Reclaim => c.expression.push_str(" AND leaseUntil < :now_ms"),
        Transition::Retry | Transition::Succeed | Transition::Fail => {
            c.expression.push_str(" AND attempts = :attempt")
        }
        // `:now` is the move's own time (ISO, like `deadlineAt`).
        Transition::Expire => c.expression.push_str(
            " AND deadlineAt <= :now AND (#status <> :from_running OR leaseUntil < :now_ms)",
        ),
    }
    c
}

/// The claim write makes either `Claim` or `Reclaim`, whichever applies.
fn claim_condition() -> Condition {
    let (claim, reclaim) = (condition(Transition::Claim), condition(Transition::Reclaim));
    Condition {
        expression: format!(
            "attribute_exists(PK) AND ({} OR ({})) AND {NOT_PAST_DEADLINE}",
            claim.expression, reclaim.expression
        ),
        values: claim.values.into_iter().chain(reclaim.values).collect(),
    }
}

/// No attempt starts after the job's deadline (`:now`: the claim's time).
const NOT_PAST_DEADLINE: &str = "(attribute_not_exists(deadlineAt) OR deadlineAt > :now)";

fn cancel_condition() -> Condition {
    let cancel = condition(Transition::Cancel);
    Condition {
        expression: format!("attribute_exists(PK) AND {}", cancel.expression),
        values: cancel.values,
    }
}

/// The request builders a job's condition is set on.
trait Conditional: Sized {
    fn when(self, condition: Condition) -> Self;
}

macro_rules! conditional {
    ($($builder:ty),*) => {$(
        impl Conditional for $builder {
            fn when(self, condition: Condition) -> Self {
                let start = self
                    .condition_expression(condition.expression)
                    .expression_attribute_names("#status", "status");
                condition
                    .values
                    .into_iter()
                    .fold(start, |b, (name, value)| b.expression_attribute_values(name, value))
            }
        }
    )*};
}
conditional!(UpdateItemFluentBuilder, UpdateBuilder, DeleteBuilder);

/// The attributes every move sets: the status, its index key and the time.
const MOVE: &str = "SET #status = :to, #gsi2pk = :status_pk, updatedAt = :now";

/// The values of `MOVE`, for the job of `scope` moving to `to`.
fn move_values(
    scope: Scope<'_>,
    to: JobStatus,
    now: Timestamp,
) -> [(&'static str, AttributeValue); 3] {
    [
        (":to", s(to.as_str())),
        (":status_pk", s(schema::status_pk(scope, to))),
        (":now", s(time::iso_millis(&now))),
    ]
}

macro_rules! moving {
    ($builder:expr, $scope:expr, $to:expr, $now:expr) => {
        move_values($scope, $to, $now).into_iter().fold(
            $builder.expression_attribute_names("#gsi2pk", schema::BY_TENANT_STATUS_PK),
            |b, (name, value)| b.expression_attribute_values(name, value),
        )
    };
}

/// The new job of a submit, if no job with its id exists.
pub(crate) fn put_new(table: &str, job: &Job) -> Result<Put, StoreError> {
    Put::builder()
        .table_name(table)
        .set_item(Some(job_to_item(job)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(build_err)
}

/// The job of a submit deleted again, if it is still QUEUED.
pub(crate) fn take_back(table: &str, job: &Job) -> Result<Delete, StoreError> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(job_key(job.scope(), &job.id)))
        .when(condition(Transition::TakeBack))
        .build()
        .map_err(build_err)
}

fn job_key(scope: Scope<'_>, job_id: &str) -> HashMap<String, AttributeValue> {
    key(schema::scope_pk(scope), schema::job_sk(job_id))
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
        let claim = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(scope, job_id)))
            .update_expression(format!(
                "{MOVE}, startedAt = :now, leaseUntil = :lease_until, \
                 claimToken = :claim_token, attempts = if_not_exists(attempts, :zero) + :one"
            ))
            .when(claim_condition())
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":lease_until", n(now_ms + lease.as_millis() as i64))
            .expression_attribute_values(":claim_token", s(claim_token))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew);
        let result = moving!(claim, scope, JobStatus::Running, now).send().await;
        match result {
            Ok(out) => {
                let item = Item(out.attributes.unwrap_or_default());
                Ok(ClaimOutcome::Claimed(Box::new(job_from_item(&item)?)))
            }
            Err(e) if refusals::condition_failed(&e) => {
                self.claim_refused(scope, job_id, now, claim_token).await
            }
            Err(e) => Err(StoreError::aws("UpdateItem", e)),
        }
    }

    /// Why a claim's condition failed: a read tells.
    async fn claim_refused(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        now: Timestamp,
        claim_token: &str,
    ) -> Result<ClaimOutcome, StoreError> {
        let Some(item) = self
            .get(schema::scope_pk(scope), schema::job_sk(job_id))
            .await?
        else {
            return Ok(ClaimOutcome::Gone);
        };
        let job = job_from_item(&item)?;
        let lease_ms: i64 = item.opt_num("leaseUntil")?.unwrap_or(0);
        Ok(match job.status {
            JobStatus::Running if item.opt_str("claimToken")? == Some(claim_token) => {
                ClaimOutcome::Claimed(Box::new(job))
            }
            JobStatus::Queued | JobStatus::Retrying if job.past_deadline(now) => {
                ClaimOutcome::PastDeadline(Box::new(job))
            }
            JobStatus::Running if lease_ms < now.timestamp_millis() && job.past_deadline(now) => {
                ClaimOutcome::PastDeadline(Box::new(job))
            }
            JobStatus::Running => ClaimOutcome::Busy {
                lease_until: chrono::DateTime::from_timestamp_millis(lease_ms).unwrap_or(now),
            },
            // Became claimable between our write and our read: let the
            // caller try again shortly.
            JobStatus::Queued | JobStatus::Retrying => ClaimOutcome::Busy { lease_until: now },
            status => ClaimOutcome::Finished(status),
        })
    }

    /// RUNNING → RETRYING, if this attempt still owns the job, keeping the
    /// images it did store (`stored`), which the next attempt does not
    /// generate again, and the provider calls of its attempts so far
    /// (`metering`, this one's included).
    pub async fn retry_job(
        &self,
        job: &Job,
        stored: &[ResultImage],
        metering: Metering,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (metered, values) = metering_set(metering);
        let retry = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(job.scope(), &job.id)))
            .update_expression(format!(
                "{MOVE}, images = :images{metered} REMOVE leaseUntil"
            ))
            .when(condition(Transition::Retry))
            .expression_attribute_values(":attempt", n(job.attempts))
            .expression_attribute_values(":images", images_value(stored));
        let retry = values.into_iter().fold(retry, |b, (name, value)| {
            b.expression_attribute_values(name, value)
        });
        let result = moving!(retry, job.scope(), JobStatus::Retrying, now)
            .send()
            .await;
        applied_unless_condition_failed("UpdateItem", result)
    }

    /// RUNNING → SUCCEEDED or FAILED and the concurrency slot back, in one
    /// transaction, if this attempt still owns the job; with it the job's
    /// `metering` (every attempt's calls) and, on success, the day's usage
    /// counted, or on failure the month's reservation given back. `false`:
    /// it did not own the job (the lease expired and another attempt took
    /// over), and nothing was written, so nothing is ever counted twice.
    pub async fn finish_job(
        &self,
        job: &Job,
        finish: Finish,
        metering: Metering,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (transition, status) = match &finish {
            Finish::Succeeded { .. } => (Transition::Succeed, JobStatus::Succeeded),
            Finish::Failed(_) => (Transition::Fail, JobStatus::Failed),
        };
        let (metered, values) = metering_set(metering);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(job.scope(), &job.id)))
            .when(condition(transition))
            .expression_attribute_values(":attempt", n(job.attempts));
        let update = values.into_iter().fold(update, |b, (name, value)| {
            b.expression_attribute_values(name, value)
        });
        // The item the outcome also changes: the day's usage, or the
        // month's quota counter.
        let (update, counted) = match finish {
            Finish::Succeeded {
                images,
                cost_micro_usd,
            } => (
                update
                    .update_expression(format!(
                        "{MOVE}, resultUrls = :urls, images = :images, \
                         costMicroUsd = :cost{metered} REMOVE leaseUntil"
                    ))
                    .expression_attribute_values(
                        ":urls",
                        AttributeValue::L(images.iter().map(|i| s(&i.url)).collect()),
                    )
                    .expression_attribute_values(":images", images_value(&images))
                    .expression_attribute_values(":cost", n(cost_micro_usd)),
                Some(usage::count_success(&self.table, job, cost_micro_usd)?),
            ),
            Finish::Failed(error) => (
                update
                    .update_expression(format!(
                        "{MOVE}, errorCode = :code, errorMessage = :message{metered} \
                         REMOVE leaseUntil"
                    ))
                    .expression_attribute_values(":code", s(error.code.as_str()))
                    .expression_attribute_values(":message", s(error.message)),
                quotas::give_back(&self.table, job.scope(), &job.reservation())?,
            ),
        };
        let update = moving!(update, job.scope(), status, now)
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .client
            .transact_write_items()
            .client_request_token(format!(
                "{}-{}-{}",
                job.id,
                job.attempts,
                &status.as_str()[..1]
            ))
            .transact_items(tx_update(update))
            .transact_items(tx_update(release_slot(&self.table, job.scope())?));
        if let Some(counted) = counted {
            tx = tx.transact_items(tx_update(counted));
        }
        applied_unless_first_condition_failed(tx.send().await)
    }

    /// A job whose deadline passed before an attempt could start → FAILED
    /// `TIMEOUT`, its concurrency slot and its `reservation` back, in one
    /// transaction. `false`: it no longer qualifies (it started, ended, or
    /// is gone).
    pub async fn expire_job(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        reservation: &Reservation,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let expire = Update::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(scope, job_id)))
            .update_expression(format!(
                "{MOVE}, errorCode = :code, errorMessage = :message REMOVE leaseUntil"
            ))
            .when(condition(Transition::Expire))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":code", s(FailureCode::Timeout.as_str()))
            .expression_attribute_values(":message", s(crate::domain::job::DEADLINE_PASSED));
        let expire = moving!(expire, scope, JobStatus::Failed, now)
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .client
            .transact_write_items()
            .client_request_token(format!("{job_id}-expire"))
            .transact_items(tx_update(expire))
            .transact_items(tx_update(release_slot(&self.table, scope)?));
        if let Some(give_back) = quotas::give_back(&self.table, scope, reservation)? {
            tx = tx.transact_items(tx_update(give_back));
        }
        applied_unless_first_condition_failed(tx.send().await)
    }

    /// QUEUED|RETRYING → CANCELED, the tenant's concurrency slot and the
    /// job's quota reservation back, in one transaction. The job is read
    /// first, for how many images it reserved (which never changes); on
    /// refusal its current state comes back with the cancellation.
    pub async fn cancel_job(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        now: Timestamp,
    ) -> Result<CancelOutcome, StoreError> {
        let Some(item) = self
            .get(schema::scope_pk(scope), schema::job_sk(job_id))
            .await?
        else {
            return Ok(CancelOutcome::NotFound);
        };
        let job = job_from_item(&item)?;
        if !Transition::Cancel.from().contains(&job.status) {
            return Ok(cancel_refused(&job, now));
        }
        let cancel = Update::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(scope, job_id)))
            .update_expression(MOVE)
            .when(cancel_condition())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let cancel = moving!(cancel, scope, JobStatus::Canceled, now)
            .build()
            .map_err(build_err)?;
        let mut tx = self
            .client
            .transact_write_items()
            .client_request_token(crate::ids::new_id())
            .transact_items(tx_update(cancel))
            .transact_items(tx_update(release_slot(&self.table, scope)?));
        if let Some(give_back) = quotas::give_back(&self.table, scope, &job.reservation())? {
            tx = tx.transact_items(tx_update(give_back));
        }
        match tx.send().await {
            Ok(_) => Ok(CancelOutcome::Canceled(job.mode)),
            Err(e) => match refusals::canceled(&e) {
                Some(c) if c.condition_failed(0) => match c.old_item(0) {
                    None => Ok(CancelOutcome::NotFound),
                    Some(old) => Ok(cancel_refused(&job_from_item(old)?, now)),
                },
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }
}

/// What a cancel that found `job` past cancelling answers.
fn cancel_refused(job: &Job, now: Timestamp) -> CancelOutcome {
    // Already canceled at our own timestamp: an SDK retry of this very
    // call, which the first attempt had committed.
    if job.status == JobStatus::Canceled
        && time::iso_millis(&job.updated_at) == time::iso_millis(&now)
    {
        CancelOutcome::Canceled(job.mode)
    } else {
        CancelOutcome::NotCancelable(job.status)
    }
}

/// The full item of a job, including both index keys.
pub fn job_to_item(job: &Job) -> HashMap<String, AttributeValue> {
    let created = time::iso_millis(&job.created_at);
    let scope_pk = schema::scope_pk(job.scope());
    let mut item = HashMap::from([
        (schema::PK.into(), s(&scope_pk)),
        (schema::SK.into(), s(schema::job_sk(&job.id))),
        ("type".into(), s("JOB")),
        ("jobId".into(), s(&job.id)),
        ("tenantId".into(), s(&job.tenant_id)),
        ("status".into(), s(job.status.as_str())),
        ("prompt".into(), s(&job.prompt)),
        ("mode".into(), s(job.mode.as_str())),
        ("aspectRatio".into(), s(job.aspect_ratio.as_str())),
        ("keyMode".into(), s(job.key_mode.as_str())),
        (
            "resultUrls".into(),
            AttributeValue::L(job.result_urls.iter().map(s).collect()),
        ),
        ("attempts".into(), n(job.attempts)),
        ("createdAt".into(), s(&created)),
        ("updatedAt".into(), s(time::iso_millis(&job.updated_at))),
        (schema::BY_TENANT_PK.into(), s(&scope_pk)),
        (
            schema::BY_TENANT_SK.into(),
            s(schema::created_sk(&created, &job.id)),
        ),
        (
            schema::BY_TENANT_STATUS_PK.into(),
            s(schema::status_pk(job.scope(), job.status)),
        ),
        (
            schema::BY_TENANT_STATUS_SK.into(),
            s(schema::created_sk(&created, &job.id)),
        ),
    ]);
    if let Some(url) = &job.input_image_url {
        item.insert("inputImageUrl".into(), s(url));
    }
    // 1.1 options: written only when given, so a 1.0 job's item is as it was.
    if !job.input_image_urls.is_empty() {
        item.insert(
            "inputImageUrls".into(),
            AttributeValue::L(job.input_image_urls.iter().map(s).collect()),
        );
    }
    let options = &job.options;
    if let Some(size) = options.image_size {
        item.insert("imageSize".into(), s(size.as_str()));
    }
    if options.number_of_images != 1 {
        item.insert("numberOfImages".into(), n(options.number_of_images));
    }
    if options.output_format != OutputFormat::Png {
        item.insert("outputFormat".into(), s(options.output_format.as_str()));
    }
    if let Some(quality) = options.output_quality {
        item.insert("outputQuality".into(), n(quality));
    }
    if !job.images.is_empty() {
        item.insert("images".into(), images_value(&job.images));
    }
    if let Some(url) = &job.webhook_url {
        item.insert("webhookUrl".into(), s(url));
    }
    if let Some(deadline) = &job.deadline_at {
        item.insert("deadlineAt".into(), s(time::iso_millis(deadline)));
    }
    if let Some(err) = &job.error {
        item.insert("errorCode".into(), s(err.code.as_str()));
        item.insert("errorMessage".into(), s(&err.message));
    }
    if let Some(month) = &job.quota_month {
        item.insert("quotaMonth".into(), s(month));
    }
    let metering = job.metering;
    if metering != Metering::default() {
        item.insert("providerCalls".into(), n(metering.provider_calls));
    }
    if let Some(tokens) = metering.input_tokens {
        item.insert("inputTokens".into(), n(tokens));
    }
    if let Some(tokens) = metering.output_tokens {
        item.insert("outputTokens".into(), n(tokens));
    }
    if job.cost_micro_usd != 0 {
        item.insert("costMicroUsd".into(), n(job.cost_micro_usd));
    }
    item
}

/// The `SET` clauses (each led by `, `) and values that store a job's
/// metering: its provider calls, and its token sums when any call
/// reported them.
fn metering_set(m: Metering) -> (String, Vec<(&'static str, AttributeValue)>) {
    let mut clauses = String::from(", providerCalls = :calls");
    let mut values = vec![(":calls", n(m.provider_calls))];
    if let Some(tokens) = m.input_tokens {
        clauses.push_str(", inputTokens = :input_tokens");
        values.push((":input_tokens", n(tokens)));
    }
    if let Some(tokens) = m.output_tokens {
        clauses.push_str(", outputTokens = :output_tokens");
        values.push((":output_tokens", n(tokens)));
    }
    (clauses, values)
}

/// A job's stored images, as the `images` list of maps.
fn images_value(images: &[ResultImage]) -> AttributeValue {
    AttributeValue::L(
        images
            .iter()
            .map(|i| {
                AttributeValue::M(HashMap::from([
                    ("index".into(), n(i.index)),
                    ("url".into(), s(&i.url)),
                    ("contentType".into(), s(&i.content_type)),
                    ("width".into(), n(i.width)),
                    ("height".into(), n(i.height)),
                    ("bytes".into(), n(i.bytes)),
                ]))
            })
            .collect(),
    )
}

pub fn job_from_item(item: &Item) -> Result<Job, ItemError> {
    let error = match item.opt_str("errorCode")? {
        None => None,
        Some(_) => Some(JobError {
            code: item.parsed("errorCode", FailureCode::parse)?,
            message: item
                .opt_str("errorMessage")?
                .unwrap_or_default()
                .to_string(),
        }),
    };
    Ok(Job {
        id: item.str("jobId")?.to_string(),
        tenant_id: item.str("tenantId")?.to_string(),
        status: item.parsed("status", JobStatus::parse)?,
        prompt: item.str("prompt")?.to_string(),
        mode: item.parsed("mode", Mode::parse)?,
        input_image_url: item.opt_str("inputImageUrl")?.map(str::to_string),
        input_image_urls: item.str_list("inputImageUrls")?,
        aspect_ratio: item.parsed("aspectRatio", AspectRatio::parse)?,
        options: GenerationOptions {
            image_size: match item.opt_str("imageSize")? {
                None => None,
                Some(_) => Some(item.parsed("imageSize", ImageSize::parse)?),
            },
            number_of_images: item.opt_num("numberOfImages")?.unwrap_or(1),
            output_format: match item.opt_str("outputFormat")? {
                None => OutputFormat::Png,
                Some(_) => item.parsed("outputFormat", OutputFormat::parse)?,
            },
            output_quality: item.opt_num("outputQuality")?,
        },
        key_mode: item.parsed("keyMode", KeyMode::parse)?,
        result_urls: item.str_list("resultUrls")?,
        images: item
            .map_list("images")?
            .iter()
            .map(|image| {
                Ok(ResultImage {
                    index: image.num("index")?,
                    url: image.str("url")?.to_string(),
                    content_type: image.str("contentType")?.to_string(),
                    width: image.num("width")?,
                    height: image.num("height")?,
                    bytes: image.num("bytes")?,
                })
            })
            .collect::<Result<_, ItemError>>()
            .map_err(|e| item.err("images", e.problem))?,
        error,
        attempts: item.opt_num("attempts")?.unwrap_or(0),
        created_at: item.time("createdAt")?,
        updated_at: item.time("updatedAt")?,
        webhook_url: item.opt_str("webhookUrl")?.map(str::to_string),
        deadline_at: match item.opt_str("deadlineAt")? {
            None => None,
            Some(_) => Some(item.time("deadlineAt")?),
        },
        quota_month: item.opt_str("quotaMonth")?.map(str::to_string),
        metering: Metering {
            provider_calls: item.opt_num("providerCalls")?.unwrap_or(0),
            input_tokens: item.opt_num("inputTokens")?,
            output_tokens: item.opt_num("outputTokens")?,
        },
        cost_micro_usd: item.opt_num("costMicroUsd")?.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        let now = time::parse_iso("2026-01-26T09:36:16.288Z").unwrap();
        Job {
            id: "cmkuz35wf00034rk15ycgzvce".into(),
            tenant_id: "t1".into(),
            status: JobStatus::Failed,
            prompt: "A cat".into(),
            mode: Mode::Draft,
            input_image_url: Some("https://example.com/a.png".into()),
            input_image_urls: vec![
                "inputs/t1/j/0.png".into(),
                "https://example.com/b.png".into(),
            ],
            aspect_ratio: AspectRatio::parse("16:9").unwrap(),
            options: GenerationOptions {
                image_size: Some(ImageSize::K4),
                number_of_images: 2,
                output_format: OutputFormat::Jpeg,
                output_quality: Some(30),
            },
            key_mode: KeyMode::Test,
            result_urls: vec!["https://cdn/x/0.png".into()],
            images: vec![ResultImage {
                index: 1,
                url: "https://cdn/x/1.jpg".into(),
                content_type: "image/jpeg".into(),
                width: 4096,
                height: 2304,
                bytes: 123_456,
            }],
            error: Some(JobError::new(FailureCode::ContentBlocked, "blocked")),
            attempts: 2,
            created_at: now,
            updated_at: now,
            webhook_url: Some("https://hooks.example.com/job".into()),
            deadline_at: Some(now + chrono::Duration::seconds(600)),
            quota_month: Some("2026-01".into()),
            metering: Metering {
                provider_calls: 3,
                input_tokens: Some(1_200),
                output_tokens: None,
            },
            cost_micro_usd: 268_000,
        }
    }

    #[test]
    fn job_item_round_trips() {
        let job = job();
        let item = Item(job_to_item(&job));
        assert_eq!(job_from_item(&item).unwrap(), job);
        assert_eq!(item.str("errorCode").unwrap(), "CONTENT_BLOCKED");
        assert_eq!(
            item.str(schema::BY_TENANT_STATUS_PK).unwrap(),
            "TENANT#t1#test#STATUS#FAILED"
        );
        assert_eq!(
            item.str(schema::BY_TENANT_SK).unwrap(),
            "2026-01-26T09:36:16.288Z#cmkuz35wf00034rk15ycgzvce"
        );
    }

    #[test]
    fn a_corrupt_job_item_names_its_item_and_attribute() {
        let mut item = job_to_item(&job());
        item.insert("status".into(), s("DONE"));
        let e = StoreError::from(job_from_item(&Item(item.clone())).unwrap_err());
        let StoreError::Corrupt {
            item: name,
            attribute,
            ..
        } = &e
        else {
            panic!("corrupt, not an AWS error: {e:?}");
        };
        assert_eq!(name, "TENANT#t1#test/JOB#cmkuz35wf00034rk15ycgzvce");
        assert_eq!(attribute, "status");
        // An HTTP handler answers it like any internal error: a 500.
        assert_eq!(crate::ApiError::from(e).status(), 500);

        item.remove("prompt");
        item.insert("status".into(), s("QUEUED"));
        let e = StoreError::from(job_from_item(&Item(item.clone())).unwrap_err());
        assert!(
            matches!(&e, StoreError::Corrupt { attribute, problem, .. } if attribute == "prompt" && *problem == "missing"),
            "{e:?}"
        );
        item.insert("prompt".into(), n(7));
        item.insert("errorCode".into(), s("OOPS"));
        let e = StoreError::from(job_from_item(&Item(item)).unwrap_err());
        assert!(matches!(&e, StoreError::Corrupt { .. }), "{e:?}");
    }

    /// The statuses a condition admits: the values of its `:from_*`
    /// placeholders.
    fn admitted(c: &Condition) -> Vec<JobStatus> {
        c.values
            .iter()
            .filter(|(name, _)| name.starts_with(":from_"))
            .map(|(name, value)| {
                assert!(c.expression.contains(name.as_str()), "{c:?}");
                match value {
                    AttributeValue::S(st) => JobStatus::parse(st).unwrap(),
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn every_write_condition_admits_exactly_the_tables_from_statuses() {
        for t in Transition::ALL {
            let c = condition(t);
            assert_eq!(admitted(&c), t.from(), "{t:?}: {c:?}");
            assert!(c.expression.starts_with("#status"), "{t:?}: {c:?}");
        }
        // The writes that wrap a transition's condition add no status.
        let claim: Vec<_> = [Transition::Claim, Transition::Reclaim]
            .iter()
            .flat_map(|t| t.from().iter().copied())
            .collect();
        assert_eq!(admitted(&claim_condition()), claim);
        assert_eq!(
            admitted(&cancel_condition()),
            Transition::Cancel.from().to_vec()
        );
    }

    #[test]
    fn the_worker_and_reclaim_conditions_keep_their_guards() {
        assert_eq!(
            claim_condition().expression,
            "attribute_exists(PK) AND (#status IN (:from_queued, :from_retrying) OR \
             (#status = :from_running AND leaseUntil < :now_ms)) AND \
             (attribute_not_exists(deadlineAt) OR deadlineAt > :now)"
        );
        assert_eq!(
            condition(Transition::Expire).expression,
            "#status IN (:from_queued, :from_retrying, :from_running) AND deadlineAt <= :now \
             AND (#status <> :from_running OR leaseUntil < :now_ms)"
        );
        for t in [Transition::Retry, Transition::Succeed, Transition::Fail] {
            assert_eq!(
                condition(t).expression,
                "#status = :from_running AND attempts = :attempt"
            );
        }
        assert_eq!(
            cancel_condition().expression,
            "attribute_exists(PK) AND #status IN (:from_queued, :from_retrying)"
        );
        assert_eq!(
            condition(Transition::TakeBack).expression,
            "#status = :from_queued"
        );
    }
}
