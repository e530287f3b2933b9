//! Jobs a submit took back: the table's stream shows each written in its
//! tenant's (live) partition and then removed. The generate handler deletes a job
//! it could not queue, or whose write had no definite answer (an AWS
//! outage), and answers 500; a listing made in between may have shown it.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType};
use shared::store::schema;

use crate::history::{live_tenant_of, read_stream};
use system_tests::TestStack;

/// Per tenant id, the ids of its jobs whose items were removed.
pub async fn jobs(t: &TestStack) -> HashMap<String, HashSet<String>> {
    let mut removed: HashMap<String, HashSet<String>> = HashMap::new();
    for record in read_stream(t).await {
        if record.event_name != Some(OperationType::Remove) {
            continue;
        }
        let keys = record.dynamodb.and_then(|c| c.keys).unwrap_or_default();
        let text = |name: &str| match keys.get(name) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        let (Some(pk), Some(sk)) = (text(schema::PK), text(schema::SK)) else {
            continue;
        };
        let tenant = live_tenant_of(&pk);
        if let (Some(tenant), Some(job)) = (tenant, sk.strip_prefix(schema::JOB_PREFIX)) {
            removed
                .entry(tenant.to_string())
                .or_default()
                .insert(job.to_string());
        }
    }
    removed
}
