//! The month counter, `TENANT#<tid>#<mode>`/`QUOTA#<YYYY-MM>`: the images
//! the scope's jobs submitted that month have reserved (still open) or
//! generated (SUCCEEDED). Kept for every tenant, with a quota or without,
//! so a quota set in the middle of a month counts the month so far.
//!
//! Every write is built here: the submit transaction's reservation
//! (conditioned on the quota), the give-back in every transaction that
//! ends a job without SUCCEEDED (FAILED, CANCELED, expired, taken back),
//! and the audit's repair. A success changes nothing: its reservation is
//! now usage of the same month.

use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Update};

use crate::domain::Scope;
use crate::domain::usage::Reservation;
use crate::store::items::{n, s};
use crate::store::refusals::applied_unless_condition_failed;
use crate::store::{Store, StoreError, build_err, key, schema};

fn month_key(
    scope: Scope<'_>,
    month: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    key(schema::scope_pk(scope), schema::quota_sk(month))
}

/// `images` more for `month`, if they fit in `quota` (`None`: always).
/// On refusal the old count comes back, for the 429's message.
pub(crate) fn reserve(
    table: &str,
    scope: Scope<'_>,
    month: &str,
    images: u8,
    quota: Option<u32>,
) -> Result<Update, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(month_key(scope, month)))
        .update_expression("ADD images :n SET tenantId = :tenant, keyMode = :mode, #month = :month")
        .expression_attribute_names("#month", "month")
        .expression_attribute_values(":n", n(images))
        .expression_attribute_values(":tenant", s(scope.tenant_id))
        .expression_attribute_values(":mode", s(scope.mode.as_str()))
        .expression_attribute_values(":month", s(month))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let Some(quota) = quota else {
        return update.build().map_err(build_err);
    };
    // What the month may already hold for these images to fit. Below zero
    // (more images than the whole quota), no count fits, not even none: a
    // comparison with a missing attribute is false.
    let room = i64::from(quota) - i64::from(images);
    let condition = if room >= 0 {
        "attribute_not_exists(images) OR images <= :room"
    } else {
        "images <= :room"
    };
    update
        .condition_expression(condition)
        .expression_attribute_values(":room", n(room))
        .build()
        .map_err(build_err)
}

/// A job's reservation given back: part of every transaction that ends
/// it without SUCCEEDED. `None` for a job that reserved nothing (submitted
/// before quotas existed). Unconditional: a missing counter must never
/// keep a job from ending (the audit finds and repairs it).
pub(crate) fn give_back(
    table: &str,
    scope: Scope<'_>,
    reservation: &Reservation,
) -> Result<Option<Update>, StoreError> {
    let Some(month) = &reservation.month else {
        return Ok(None);
    };
    Update::builder()
        .table_name(table)
        .set_key(Some(month_key(scope, month)))
        .update_expression("ADD images :minus")
        .expression_attribute_values(":minus", n(-i64::from(reservation.images)))
        .build()
        .map(Some)
        .map_err(build_err)
}

impl Store {
    /// The images `month` holds for the scope (strongly consistent): what
    /// `X-Quota-Remaining` is computed from.
    pub async fn month_images(&self, scope: Scope<'_>, month: &str) -> Result<i64, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::quota_sk(month))
            .await?;
        Ok(match item {
            Some(item) => item.opt_num("images")?.unwrap_or(0),
            None => 0,
        })
    }

    /// Sets the month's count to `counted`, only if it still reads
    /// `observed` (0 also matches a missing counter): a submit or a job's
    /// end in between makes this a no-op (`Ok(false)`), and the audit must
    /// be run again.
    pub async fn set_month_images(
        &self,
        scope: Scope<'_>,
        month: &str,
        observed: i64,
        counted: i64,
    ) -> Result<bool, StoreError> {
        let condition = if observed == 0 {
            "attribute_not_exists(images) OR images = :observed"
        } else {
            "images = :observed"
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(month_key(scope, month)))
            .update_expression(
                "SET images = :counted, tenantId = :tenant, keyMode = :mode, #month = :month",
            )
            .condition_expression(condition)
            .expression_attribute_names("#month", "month")
            .expression_attribute_values(":counted", n(counted))
            .expression_attribute_values(":observed", n(observed))
            .expression_attribute_values(":tenant", s(scope.tenant_id))
            .expression_attribute_values(":mode", s(scope.mode.as_str()))
            .expression_attribute_values(":month", s(month))
            .send()
            .await;
        applied_unless_condition_failed("UpdateItem", result)
    }
}
