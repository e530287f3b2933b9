//! DynamoDB access, behind one `Store`. Single table: tenants, API keys,
//! jobs, idempotency records and rate windows (see `items`); two sparse
//! indexes for listing. Every state change is a conditional write or a
//! transaction, so concurrent requests can never half-apply.

mod admin;
mod audit;
mod counters;
pub mod items;
mod jobs;
mod keys;
mod lifecycle;
pub mod schema;
mod submit;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;

pub use admin::{
    ApiKeySummary, CreateOutcome, JobCounts, KeyCreateOutcome, NewApiKey, RevokeOutcome,
    TenantSummary, TenantUpdate, UpdateOutcome, WebhookChange, is_key_id, key_preview, new_key_id,
};
pub use audit::OpenJob;
pub use items::{Item, ItemError};
pub use jobs::{CancelOutcome, JobPage};
pub use keys::KeyRecord;
pub use lifecycle::{ClaimOutcome, Finish};
pub use submit::{IdempotencyRecord, NewJob, SubmitOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The AWS call failed (network, throttling, permissions, …).
    #[error("DynamoDB {op} failed: {message}")]
    Aws { op: &'static str, message: String },
    /// The call got no definite answer (a timeout, a broken connection, a
    /// 5xx): its write may or may not have been applied.
    #[error("DynamoDB {op} outcome unknown: {message}")]
    OutcomeUnknown { op: &'static str, message: String },
    /// An item in the table does not have the shape this code writes.
    #[error("malformed item: {0}")]
    Corrupt(#[from] ItemError),
}

impl StoreError {
    fn aws<E: std::error::Error + 'static>(op: &'static str, e: E) -> StoreError {
        StoreError::Aws {
            op,
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        }
    }

    /// Like `aws`, but a failure that leaves the write's fate open is
    /// `OutcomeUnknown`, for callers that must then find out or undo.
    fn aws_write<E: std::error::Error + 'static>(
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
}

/// The outcome of a transaction whose first item carries the condition that
/// decides it: `Ok(true)` applied, `Ok(false)` canceled because that
/// condition failed, `Err` for anything else.
pub(crate) fn applied_unless_first_condition_failed<T, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>>,
) -> Result<bool, StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c))
                if c.cancellation_reasons().first().and_then(|r| r.code())
                    == Some("ConditionalCheckFailed") =>
            {
                Ok(false)
            }
            _ => Err(StoreError::aws("TransactWriteItems", e)),
        },
    }
}

/// The outcome of a single-item conditional write: `Ok(true)` applied,
/// `Ok(false)` its condition failed, `Err` for anything else.
pub(crate) fn applied_unless_condition_failed<T, E, R>(
    op: &'static str,
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(StoreError::aws(op, e)),
    }
}

pub(crate) fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (schema::PK.to_string(), AttributeValue::S(pk)),
        (schema::SK.to_string(), AttributeValue::S(sk)),
    ])
}
