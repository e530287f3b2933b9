//! The daily usage item, `TENANT#<tid>#<mode>`/`USAGE#<YYYY-MM-DD>#<draft|final>`:
//! how many jobs of one generation mode submitted that UTC day succeeded,
//! their images and what they cost. Written only in the transaction that
//! moves a job to SUCCEEDED, which is conditional on the attempt that owns
//! the job: a redelivered message, a retried transaction or a reclaimed
//! job cannot count it twice. Read by `GET /v1/usage` and `tenant usage`
//! as one range query, whatever the number of jobs.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use crate::domain::usage::{DayRange, MicroUsd, usage_day};
use crate::domain::{Job, Mode, Scope};
use crate::store::items::{n, s};
use crate::store::{Item, Store, StoreError, build_err, key, pages, schema};

/// One day's usage of one generation mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub mode: Mode,
    pub jobs: u64,
    pub images: u64,
    pub cost_micro_usd: MicroUsd,
}

/// The job's success counted on its submit day: part of the transaction
/// that moves it to SUCCEEDED.
pub(crate) fn count_success(
    table: &str,
    job: &Job,
    cost_micro_usd: MicroUsd,
) -> Result<Update, StoreError> {
    let day = usage_day(job.created_at);
    Update::builder()
        .table_name(table)
        .set_key(Some(key(
            schema::scope_pk(job.scope()),
            schema::usage_sk(&day, job.mode),
        )))
        .update_expression(
            "ADD jobs :one, images :images, costMicroUsd :cost \
             SET #date = :date, jobMode = :mode, tenantId = :tenant, keyMode = :key_mode",
        )
        .expression_attribute_names("#date", "date")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":images", n(job.options.number_of_images))
        .expression_attribute_values(":cost", n(cost_micro_usd))
        .expression_attribute_values(":date", s(day))
        .expression_attribute_values(":mode", s(job.mode.as_str()))
        .expression_attribute_values(":tenant", s(&job.tenant_id))
        .expression_attribute_values(":key_mode", s(job.key_mode.as_str()))
        .build()
        .map_err(build_err)
}

/// A usage item as `count_success` leaves it after `day.jobs` successes:
/// for planting the usage of planted jobs (benchmarks, tests), which no
/// finishing transaction counted.
pub fn usage_to_item(scope: Scope<'_>, day: &UsageDay) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (schema::PK.into(), s(schema::scope_pk(scope))),
        (schema::SK.into(), s(schema::usage_sk(&day.date, day.mode))),
        ("date".into(), s(&day.date)),
        ("jobMode".into(), s(day.mode.as_str())),
        ("tenantId".into(), s(scope.tenant_id)),
        ("keyMode".into(), s(scope.mode.as_str())),
        ("jobs".into(), n(day.jobs)),
        ("images".into(), n(day.images)),
        ("costMicroUsd".into(), n(day.cost_micro_usd)),
    ])
}

impl Store {
    /// The scope's usage items of the days in `range`, in day order (days
    /// without a success have none): one query of at most two items a day.
    pub async fn usage_days(
        &self,
        scope: Scope<'_>,
        range: DayRange,
    ) -> Result<Vec<UsageDay>, StoreError> {
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", AttributeValue::S(schema::scope_pk(scope)))
            .expression_attribute_values(
                ":first",
                s(format!("{}{}", schema::USAGE_PREFIX, day(range.from))),
            )
            // `~` sorts after both modes' suffixes.
            .expression_attribute_values(
                ":last",
                s(format!("{}{}#~", schema::USAGE_PREFIX, day(range.to))),
            )
            .consistent_read(true);
        pages::query_items(query)
            .await?
            .iter()
            .map(usage_from_item)
            .collect()
    }
}

fn usage_from_item(item: &Item) -> Result<UsageDay, StoreError> {
    Ok(UsageDay {
        date: item.str("date")?.to_string(),
        mode: item.parsed("jobMode", Mode::parse)?,
        jobs: item.opt_num("jobs")?.unwrap_or(0),
        images: item.opt_num("images")?.unwrap_or(0),
        cost_micro_usd: item.opt_num("costMicroUsd")?.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyMode;

    #[test]
    fn a_planted_usage_item_reads_back_as_planted() {
        let day = UsageDay {
            date: "2026-12-01".into(),
            mode: Mode::Final,
            jobs: 3,
            images: 7,
            cost_micro_usd: 938_000,
        };
        let item = Item(usage_to_item(Scope::new("t1", KeyMode::Live), &day));
        assert_eq!(usage_from_item(&item).expect("a usage item"), day);
        assert_eq!(
            item.str(schema::SK).expect("a key"),
            "USAGE#2026-12-01#final"
        );
    }
}
