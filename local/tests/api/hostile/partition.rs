//! A tenant's partition of the table as stored (tenant item with its
//! `activeJobs` counter, jobs, idempotency records, rate windows, key
//! listings), read before and after a hostile request to prove the request
//! left no trace: no job, no idempotency record, no counter moved.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::store::{Store, schema};

pub type Attributes = HashMap<String, AttributeValue>;

/// Every item of one tenant's partition, by sort key.
#[derive(Debug, PartialEq)]
pub struct Partition(BTreeMap<String, Attributes>);

impl Partition {
    /// A strongly consistent read of the whole partition.
    pub async fn read(store: &Store, tenant_id: &str) -> Result<Partition, String> {
        let mut items = BTreeMap::new();
        let mut start: Option<Attributes> = None;
        loop {
            let page = store
                .client()
                .query()
                .table_name(store.table())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", schema::PK)
                .expression_attribute_values(":pk", AttributeValue::S(schema::tenant_pk(tenant_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "reading the partition of {tenant_id}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    )
                })?;
            for item in page.items.unwrap_or_default() {
                let sk = match item.get(schema::SK) {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    other => return Err(format!("an item without a string SK: {other:?}")),
                };
                items.insert(sk, item);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(Partition(items)),
            }
        }
    }

    /// The sort keys of the items of one kind (`JOB#`, `IDEM#`, …).
    pub fn keys_of(&self, prefix: &str) -> Vec<&str> {
        self.0
            .keys()
            .filter(|sk| sk.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    /// The tenant item's `activeJobs`, as stored.
    pub fn active_jobs(&self) -> Option<&str> {
        match self.0.get(schema::META)?.get("activeJobs")? {
            AttributeValue::N(n) => Some(n),
            _ => None,
        }
    }

    /// Every item added, removed or changed since `before`, by sort key.
    pub fn changes_since(&self, before: &Partition) -> Vec<String> {
        let mut changes = Vec::new();
        for (sk, item) in &self.0 {
            match before.0.get(sk) {
                None => changes.push(format!("added {sk}")),
                Some(old) if old != item => changes.push(format!("changed {sk}")),
                Some(_) => {}
            }
        }
        for sk in before.0.keys().filter(|sk| !self.0.contains_key(*sk)) {
            changes.push(format!("removed {sk}"));
        }
        changes
    }
}
