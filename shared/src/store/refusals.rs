//! Why DynamoDB refused a write: the one reading of transaction
//! cancellation reasons and of single-item condition failures. Every
//! conditional write and every transaction of the store decides its
//! outcome through `canceled` or `condition_failed`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;

use crate::store::{Item, StoreError};

/// What one item of a canceled transaction says, in the order the items
/// were added to it.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// Not the cause: this item's write would have gone through.
    None,
    /// Its condition failed. `old` is the item as it was, if the write
    /// asked for it (`ReturnValuesOnConditionCheckFailure`) and it existed.
    ConditionFailed { old: Option<Item> },
    /// Another transaction was changing the item at the same time.
    Conflict,
    /// Anything else DynamoDB names (throttling, validation, capacity).
    Other(String),
}

impl Reason {
    pub fn of(reason: &CancellationReason) -> Reason {
        match reason.code() {
            None | Some("None") => Reason::None,
            Some("ConditionalCheckFailed") => Reason::ConditionFailed {
                old: reason.item().map(|i| Item(i.clone())),
            },
            Some("TransactionConflict") => Reason::Conflict,
            Some(other) => Reason::Other(other.to_string()),
        }
    }
}

/// The reasons of a canceled transaction, one per item.
#[derive(Clone, Debug, PartialEq)]
pub struct Canceled(pub Vec<Reason>);

impl Canceled {
    pub fn of(reasons: &[CancellationReason]) -> Canceled {
        Canceled(reasons.iter().map(Reason::of).collect())
    }

    /// Whether item `index`'s condition failed.
    pub fn condition_failed(&self, index: usize) -> bool {
        matches!(self.0.get(index), Some(Reason::ConditionFailed { .. }))
    }

    pub fn any_condition_failed(&self) -> bool {
        (0..self.0.len()).any(|i| self.condition_failed(i))
    }

    pub fn any_conflict(&self) -> bool {
        self.0.contains(&Reason::Conflict)
    }

    /// Item `index` as it was when its condition failed, if it came back.
    pub fn old_item(&self, index: usize) -> Option<&Item> {
        match self.0.get(index) {
            Some(Reason::ConditionFailed { old }) => old.as_ref(),
            _ => None,
        }
    }

    /// A cancellation no caller expected, as the error it is.
    pub fn unexpected(&self) -> StoreError {
        StoreError::Aws {
            op: "TransactWriteItems",
            message: format!(
                "transaction canceled for an unexpected reason: {:?}",
                self.0
            ),
        }
    }
}

/// The reasons, if the transaction was canceled; `None` for any other
/// failure (which the caller reports as it is).
pub fn canceled<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Canceled> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            Some(Canceled::of(c.cancellation_reasons()))
        }
        _ => None,
    }
}

/// Whether the transaction was refused because another with the same
/// client token was still running: a conflict, to retry like one.
pub fn in_progress<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    matches!(
        e.as_service_error(),
        Some(TransactWriteItemsError::TransactionInProgressException(_))
    )
}

/// Whether a single-item write (`PutItem`, `UpdateItem`, `DeleteItem`)
/// failed its condition.
pub fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// The outcome of a transaction whose first item carries the condition
/// that decides it: `Ok(true)` applied, `Ok(false)` canceled because that
/// condition failed, `Err` for anything else.
pub(crate) fn applied_unless_first_condition_failed<T, R>(
    result: Result<T, SdkError<TransactWriteItemsError, R>>,
) -> Result<bool, StoreError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match canceled(&e) {
            Some(c) if c.condition_failed(0) => Ok(false),
            _ => Err(StoreError::aws("TransactWriteItems", e)),
        },
    }
}

/// The outcome of a single-item conditional write: `Ok(true)` applied,
/// `Ok(false)` its condition failed, `Err` for anything else.
pub(crate) fn applied_unless_condition_failed<T, E, R>(
    op: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(StoreError::aws(op, e)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, TransactionCanceledException,
    };

    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn transaction_error(
        reasons: Vec<CancellationReason>,
    ) -> SdkError<TransactWriteItemsError, ()> {
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .set_cancellation_reasons(Some(reasons))
                    .build(),
            ),
            (),
        )
    }

    #[test]
    fn each_reason_code_is_read_once() {
        let old = HashMap::from([("PK".to_string(), AttributeValue::S("p".into()))]);
        let with_item = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .set_item(Some(old.clone()))
            .build();
        let canceled = Canceled::of(&[
            reason("None"),
            with_item,
            reason("TransactionConflict"),
            reason("ThrottlingError"),
            CancellationReason::builder().build(),
        ]);
        assert_eq!(
            canceled.0,
            vec![
                Reason::None,
                Reason::ConditionFailed {
                    old: Some(Item(old))
                },
                Reason::Conflict,
                Reason::Other("ThrottlingError".into()),
                Reason::None,
            ]
        );
        assert!(!canceled.condition_failed(0));
        assert!(canceled.condition_failed(1));
        assert!(!canceled.condition_failed(9));
        assert!(canceled.any_condition_failed());
        assert!(canceled.any_conflict());
        assert!(canceled.old_item(1).is_some());
        assert!(canceled.old_item(0).is_none());
    }

    #[test]
    fn a_canceled_transaction_is_told_from_other_failures() {
        let e = transaction_error(vec![reason("ConditionalCheckFailed")]);
        assert!(canceled(&e).is_some_and(|c| c.condition_failed(0)));
        let other = SdkError::<TransactWriteItemsError, ()>::service_error(
            TransactWriteItemsError::unhandled("boom"),
            (),
        );
        assert_eq!(canceled(&other), None);
    }

    #[test]
    fn only_the_first_condition_decides_a_guarded_transaction() {
        let first = transaction_error(vec![reason("ConditionalCheckFailed"), reason("None")]);
        assert!(!applied_unless_first_condition_failed::<(), ()>(Err(first)).unwrap());
        let second = transaction_error(vec![reason("None"), reason("ConditionalCheckFailed")]);
        assert!(applied_unless_first_condition_failed::<(), ()>(Err(second)).is_err());
        assert!(applied_unless_first_condition_failed::<(), ()>(Ok(())).unwrap());
    }

    #[test]
    fn a_single_item_condition_failure_is_a_refusal_not_an_error() {
        let failed = SdkError::<PutItemError, ()>::service_error(
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .meta(
                        ErrorMetadata::builder()
                            .code("ConditionalCheckFailedException")
                            .build(),
                    )
                    .build(),
            ),
            (),
        );
        assert!(condition_failed(&failed));
        assert!(!applied_unless_condition_failed::<(), _, ()>("PutItem", Err(failed)).unwrap());
        let other =
            SdkError::<PutItemError, ()>::service_error(PutItemError::unhandled("boom"), ());
        assert!(!condition_failed(&other));
    }
}
