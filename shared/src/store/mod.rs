//! DynamoDB access, behind one `Store`. Single table, one module per kind
//! of item, and each item written by its module only:
//!
//! | module | item | PK | SK |
//! |---|---|---|---|
//! | `tenants` | tenant | `TENANT#<tid>` | `META` |
//! | `tenants` | directory entry | `TENANTS` | `TENANT#<tid>` |
//! | `api_keys` | key auth item | `KEY#<sha256>` | `META` |
//! | `api_keys` | key listing entry | `TENANT#<tid>` | `APIKEY#<keyId>` |
//! | `api_keys` | key id pointer | `KEYID#<keyId>` | `META` |
//! | `counters` | scope counters | `TENANT#<tid>#<mode>` | `COUNTERS` |
//! | `jobs` | job | `TENANT#<tid>#<mode>` | `JOB#<jobId>` |
//! | `idempotency` | idempotency record (TTL) | `TENANT#<tid>#<mode>` | `IDEM#<key>` |
//! | `rate_windows` | rate window (TTL) | `TENANT#<tid>#<mode>` | `RPM#<minute>` |
//! | `deliveries` | webhook event state (TTL) | `TENANT#<tid>#<mode>` | `WEBHOOK#<jobId>` |
//! | `deliveries` | delivery attempt (TTL) | `TENANT#<tid>#<mode>` | `DELIVERY#<jobId>#<n>` |
//! | `deliveries` | failed event (TTL) | `TENANT#<tid>#<mode>` | `WEBHOOK_FAILED#<at>#<jobId>` |
//! | `deliveries` | timing-out endpoint hold (TTL) | `TENANT#<tid>` | `WEBHOOK_HOLD` |
//!
//! `schema` holds every key format; `submit` composes the submit
//! transaction out of the item modules' writes and writes no item of its
//! own; `job_reads` reads jobs (one, a page, the open ones, counts);
//! `refusals` reads every condition failure and cancellation; `pages`
//! follows every multi-page read. Two sparse indexes serve the listings.
//! Every state change is a conditional write or a transaction, so
//! concurrent requests can never half-apply.

mod api_keys;
mod counters;
mod deliveries;
mod idempotency;
pub mod items;
mod job_reads;
mod jobs;
pub mod pages;
mod quotas;
mod rate_windows;
mod refusals;
pub mod schema;
mod submit;
mod tenants;
mod usage;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

pub use api_keys::{
    ApiKeySummary, KeyCreateOutcome, KeyRecord, NewApiKey, RevokeOutcome, is_key_id, key_preview,
    new_key_id,
};
pub use deliveries::{
    Claim, Claimed, DELIVERY_TTL_SECS, DeliveryAttempt, EventState, FailedEvent,
    MAX_LISTED_ATTEMPTS, WebhookHold, attempt_delivered,
};
pub use idempotency::{IDEMPOTENCY_TTL_SECS, IdempotencyRecord};
pub use items::{Item, ItemError};
pub use job_reads::{JobCounts, JobPage, OpenJob, SucceededJob};
pub use jobs::{CancelOutcome, ClaimOutcome, Finish, job_from_item, job_to_item};
pub use submit::{NewJob, SubmitOutcome};
pub use tenants::{
    CreateOutcome, QuotaChange, TenantSummary, TenantUpdate, UpdateOutcome, WebhookChange,
};
pub use usage::{UsageDay, usage_to_item};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The AWS call failed (network, throttling, permissions, …).
    #[error("DynamoDB {op} failed: {message}")]
    Aws { op: &'static str, message: String },
    /// The call got no definite answer (a timeout, a broken connection, a
    /// 5xx): its write may or may not have been applied.
    #[error("DynamoDB {op} outcome unknown: {message}")]
    OutcomeUnknown { op: &'static str, message: String },
    /// An item in the table does not have the shape this code writes (an
    /// attribute missing, of the wrong type, or not a known value): our
    /// data, not DynamoDB, is at fault. The API answers it with a 500 like
    /// any internal error.
    #[error("corrupt item {item}: attribute `{attribute}` {problem}")]
    Corrupt {
        item: String,
        attribute: String,
        problem: &'static str,
    },
}

impl From<ItemError> for StoreError {
    fn from(e: ItemError) -> Self {
        StoreError::Corrupt {
            item: e.item,
            attribute: e.attribute,
            problem: e.problem,
        }
    }
}

impl StoreError {
    pub(crate) fn aws<E: std::error::Error + 'static>(op: &'static str, e: E) -> StoreError {
        StoreError::Aws {
            op,
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        }
    }

    /// Like `aws`, but a failure that leaves the write's fate open is
    /// `OutcomeUnknown`, for callers that must then find out or undo.
    pub(crate) fn aws_write<E: std::error::Error + 'static>(
        op: &'static str,
        e: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> StoreError {
        use aws_sdk_dynamodb::error::SdkError;
        let unknown = match &e {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(s) => s.raw().status().is_server_error(),
            _ => false,
        };
        if unknown {
            StoreError::OutcomeUnknown {
                op,
                message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            }
        } else {
            StoreError::aws(op, e)
        }
    }
}

pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Store {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Store {
        Store { client, table }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item by its keys.
    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(schema::PK, AttributeValue::S(pk))
            .key(schema::SK, AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(out.item.map(Item::from))
    }

    /// A strongly consistent query of partition `pk`'s items whose sort key
    /// starts with `prefix`.
    fn prefix_query(
        &self,
        pk: String,
        prefix: String,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix))
            .consistent_read(true)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// following pages, as `decode` reads it; strongly consistent, so a
    /// command sees the writes of the one before it.
    async fn query_all<T>(
        &self,
        pk: String,
        prefix: String,
        decode: impl Fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        pages::query_items(self.prefix_query(pk, prefix))
            .await?
            .iter()
            .map(decode)
            .collect()
    }
}

/// A request that could not be built (a required field unset): a bug,
/// reported like a failed call.
pub(crate) fn build_err<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::aws("TransactWriteItems", e)
}

pub(crate) fn tx_put(put: aws_sdk_dynamodb::types::Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(put).build()
}

pub(crate) fn tx_update(update: aws_sdk_dynamodb::types::Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(update).build()
}

pub(crate) fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (schema::PK.to_string(), AttributeValue::S(pk)),
        (schema::SK.to_string(), AttributeValue::S(sk)),
    ])
}
