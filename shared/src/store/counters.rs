//! The scope counters item, `TENANT#<tid>#<mode>`/`COUNTERS`: the (tenant,
//! mode)'s active-job counter and a copy of the tenant's limits, which the
//! submit transaction checks the counter against. Every write of the item
//! is built here: created with the tenant, limits copied in the same
//! transaction that changes the tenant's, a slot taken by a submit and given
//! back by every move into a terminal status, and the audit's repair.
//!
//! The limits are copied rather than read from the tenant's `META` so that
//! a submit touches only its own scope's items: a flood of test submits
//! never conflicts with a live submit's transaction.

use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, Update};

use crate::domain::{KeyMode, Scope, TenantLimits};
use crate::store::items::{n, s};
use crate::store::refusals::applied_unless_condition_failed;
use crate::store::{Item, QuotaChange, Store, StoreError, build_err, key, schema};

/// A new tenant's counters for one mode: no active jobs, the tenant's
/// limits. Conditional, like the tenant's own item, so a re-seed never
/// resets a live counter.
pub(crate) fn create(
    table: &str,
    tenant_id: &str,
    mode: KeyMode,
    limits: TenantLimits,
) -> Result<Put, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .item(schema::PK, s(schema::scope_pk(Scope::new(tenant_id, mode))))
        .item(schema::SK, s(schema::COUNTERS))
        .item("type", s("COUNTERS"))
        .item("tenantId", s(tenant_id))
        .item("keyMode", s(mode.as_str()))
        .item("activeJobs", n(0))
        .item("rpm", n(limits.rpm))
        .item("maxConcurrency", n(limits.max_concurrency))
        .condition_expression("attribute_not_exists(PK)");
    match limits.monthly_image_quota {
        Some(quota) => put.item(QUOTA, n(quota)),
        None => put,
    }
    .build()
    .map_err(build_err)
}

/// The copy of the tenant's monthly image quota; absent: none.
const QUOTA: &str = "monthlyImageQuota";

/// The limits of one mode's counters set to the tenant's new ones; part of
/// the transaction that changes the tenant's item.
pub(crate) fn set_limits(
    table: &str,
    tenant_id: &str,
    mode: KeyMode,
    rpm: Option<u32>,
    max_concurrency: Option<u32>,
    quota: QuotaChange,
) -> Result<Option<Update>, StoreError> {
    let mut set = Vec::new();
    let mut remove = "";
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(
            schema::scope_pk(Scope::new(tenant_id, mode)),
            schema::COUNTERS.into(),
        )))
        .condition_expression("attribute_exists(PK)");
    if let Some(rpm) = rpm {
        set.push("rpm = :rpm");
        update = update.expression_attribute_values(":rpm", n(rpm));
    }
    if let Some(max) = max_concurrency {
        set.push("maxConcurrency = :max");
        update = update.expression_attribute_values(":max", n(max));
    }
    match quota {
        QuotaChange::Keep => {}
        QuotaChange::Set(quota) => {
            set.push("monthlyImageQuota = :quota");
            update = update.expression_attribute_values(":quota", n(quota));
        }
        QuotaChange::Remove => remove = " REMOVE monthlyImageQuota",
    }
    if set.is_empty() && remove.is_empty() {
        return Ok(None);
    }
    let set = if set.is_empty() {
        String::new()
    } else {
        format!("SET {}", set.join(", "))
    };
    update
        .update_expression(format!("{set}{remove}").trim().to_string())
        .build()
        .map(Some)
        .map_err(build_err)
}

/// One more active job, if the scope is below its concurrency limit and
/// `limits.rpm` and the monthly quota are still the tenant's (the caller's
/// view is current, so the quota the month counter is checked against in
/// the same transaction is too); the old item comes back on refusal, so
/// the submit can tell which.
pub(crate) fn take_slot(
    table: &str,
    scope: Scope<'_>,
    limits: TenantLimits,
) -> Result<Update, StoreError> {
    const CURRENT: &str = "attribute_exists(PK) AND activeJobs < maxConcurrency AND rpm = :rpm";
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(schema::scope_pk(scope), schema::COUNTERS.into())))
        .update_expression("SET activeJobs = activeJobs + :one")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":rpm", n(limits.rpm))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match limits.monthly_image_quota {
        Some(quota) => update
            .condition_expression(format!("{CURRENT} AND monthlyImageQuota = :quota"))
            .expression_attribute_values(":quota", n(quota)),
        None => update.condition_expression(format!(
            "{CURRENT} AND attribute_not_exists(monthlyImageQuota)"
        )),
    }
    .build()
    .map_err(build_err)
}

/// The scope's active-job counter minus one: part of every transaction that
/// moves a job into a terminal status.
pub(crate) fn release_slot(table: &str, scope: Scope<'_>) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(schema::scope_pk(scope), schema::COUNTERS.into())))
        .update_expression("SET activeJobs = activeJobs - :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(build_err)
}

impl Store {
    /// The scope's active-job counter (strongly consistent); `None` if the
    /// tenant has no counters for the mode (it does not exist).
    pub async fn active_jobs(&self, scope: Scope<'_>) -> Result<Option<i64>, StoreError> {
        let item = self
            .get(schema::scope_pk(scope), schema::COUNTERS.into())
            .await?;
        Ok(match item {
            Some(item) => Some(item.num("activeJobs")?),
            None => None,
        })
    }

    /// Sets the scope's active-job counter to `counted`, only if it still
    /// reads `observed`: a submit or a finished job in between makes this a
    /// no-op (`Ok(false)`), and the audit must be run again.
    pub async fn set_active_jobs(
        &self,
        scope: Scope<'_>,
        observed: i64,
        counted: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::scope_pk(scope), schema::COUNTERS.into())))
            .update_expression("SET activeJobs = :counted")
            .condition_expression("attribute_exists(PK) AND activeJobs = :observed")
            .expression_attribute_values(":counted", n(counted))
            .expression_attribute_values(":observed", n(observed))
            .send()
            .await;
        applied_unless_condition_failed("UpdateItem", result)
    }
}

/// The limits a counters item (or a tenant item) carries.
pub(crate) fn limits_from_item(item: &Item) -> Result<TenantLimits, StoreError> {
    Ok(TenantLimits {
        rpm: item.num("rpm")?,
        max_concurrency: item.num("maxConcurrency")?,
        monthly_image_quota: item.opt_num(QUOTA)?,
    })
}
