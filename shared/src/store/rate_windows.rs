//! The rate window, `TENANT#<tid>#<mode>`/`RPM#<minute>`: how many submits
//! the scope's clock minute has accepted. Counted up by the submit
//! transaction (only below the tenant's limit), counted down by its undo,
//! and expired by DynamoDB's TTL two minutes after its minute.

use aws_sdk_dynamodb::types::Update;

use crate::domain::Scope;
use crate::store::items::n;
use crate::store::{Store, StoreError, build_err, key, schema};

fn window_key(
    scope: Scope<'_>,
    minute: i64,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    key(schema::scope_pk(scope), schema::rate_window_sk(minute))
}

/// The window of `minute` counted up, if it is below `rpm`.
pub(crate) fn count_up(
    table: &str,
    scope: Scope<'_>,
    minute: i64,
    rpm: u32,
) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .set_key(Some(window_key(scope, minute)))
        .update_expression("ADD #count :one SET expiresAt = :expires")
        .condition_expression("attribute_not_exists(#count) OR #count < :rpm")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":rpm", n(rpm))
        .expression_attribute_values(":expires", n((minute + 2) * 60))
        .build()
        .map_err(build_err)
}

/// The window of `minute` counted down again.
pub(crate) fn count_down(table: &str, scope: Scope<'_>, minute: i64) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .set_key(Some(window_key(scope, minute)))
        .update_expression("ADD #count :minus_one")
        .condition_expression("#count > :zero")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":minus_one", n(-1))
        .expression_attribute_values(":zero", n(0))
        .build()
        .map_err(build_err)
}

impl Store {
    /// How many submits the scope's window for `minute` has accepted.
    pub async fn rate_window_count(
        &self,
        scope: Scope<'_>,
        minute: i64,
    ) -> Result<u32, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::rate_window_sk(minute))
            .await?;
        Ok(match item {
            Some(i) => i.opt_num("count")?.unwrap_or(0),
            None => 0,
        })
    }
}
