//! A tenant's partitions of the table as stored (its own: tenant item and
//! key listings; and each mode's: jobs, idempotency records, rate windows
//! and the `activeJobs` counter), read before and after a hostile request
//! to prove the request left no trace: no job, no idempotency record, no
//! counter moved, in either mode.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::{KeyMode, Scope};
use shared::store::{Store, schema};

pub type Attributes = HashMap<String, AttributeValue>;

/// Every item of one tenant's partitions, by (partition key, sort key).
#[derive(Debug, PartialEq)]
pub struct Partition(BTreeMap<(String, String), Attributes>);

impl Partition {
    /// A strongly consistent read of the tenant's partition and of both
    /// modes' partitions.
    pub async fn read(store: &Store, tenant_id: &str) -> Result<Partition, String> {
        let mut items = BTreeMap::new();
        let partitions = [schema::tenant_pk(tenant_id)]
            .into_iter()
            .chain(KeyMode::ALL.map(|mode| schema::scope_pk(Scope::new(tenant_id, mode))));
        for pk in partitions {
            read_into(store, &pk, &mut items).await?;
        }
        Ok(Partition(items))
    }

    /// The sort keys of the items of one kind (`JOB#`, `IDEM#`, …).
    pub fn keys_of(&self, prefix: &str) -> Vec<&str> {
        self.0
            .keys()
            .map(|(_, sk)| sk.as_str())
            .filter(|sk| sk.starts_with(prefix))
            .collect()
    }

    /// Each mode's `activeJobs` counter, as stored, by partition key.
    pub fn active_jobs(&self) -> Vec<(&str, Option<&str>)> {
        self.0
            .iter()
            .filter(|((_, sk), _)| sk == schema::COUNTERS)
            .map(|((pk, _), item)| match item.get("activeJobs") {
                Some(AttributeValue::N(n)) => (pk.as_str(), Some(n.as_str())),
                _ => (pk.as_str(), None),
            })
            .collect()
    }

    /// Every item added, removed or changed since `before`, by sort key.
    pub fn changes_since(&self, before: &Partition) -> Vec<String> {
        let mut changes = Vec::new();
        for (key @ (pk, sk), item) in &self.0 {
            match before.0.get(key) {
                None => changes.push(format!("added {pk}/{sk}")),
                Some(old) if old != item => changes.push(format!("changed {pk}/{sk}")),
                Some(_) => {}
            }
        }
        for (pk, sk) in before.0.keys().filter(|k| !self.0.contains_key(*k)) {
            changes.push(format!("removed {pk}/{sk}"));
        }
        changes
    }
}

async fn read_into(
    store: &Store,
    pk: &str,
    items: &mut BTreeMap<(String, String), Attributes>,
) -> Result<(), String> {
    let mut start: Option<Attributes> = None;
    loop {
        let page = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading the partition {pk}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        for item in page.items.unwrap_or_default() {
            let sk = match item.get(schema::SK) {
                Some(AttributeValue::S(sk)) => sk.clone(),
                other => return Err(format!("an item without a string SK: {other:?}")),
            };
            items.insert((pk.to_string(), sk), item);
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(()),
        }
    }
}
