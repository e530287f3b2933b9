//! The table's shape: key attributes, index names and the item key formats.
//! The local stack creates the table from `table_definition`, and the SAM
//! template declares the same.

use crate::domain::Scope;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Jobs of a tenant by creation time.
pub const BY_TENANT: &str = "ByTenant";
pub const BY_TENANT_PK: &str = "GSI1PK";
pub const BY_TENANT_SK: &str = "GSI1SK";
/// Jobs of a tenant in one status by creation time.
pub const BY_TENANT_STATUS: &str = "ByTenantStatus";
pub const BY_TENANT_STATUS_PK: &str = "GSI2PK";
pub const BY_TENANT_STATUS_SK: &str = "GSI2SK";
/// Epoch seconds; DynamoDB's TTL deletes idempotency records and rate
/// windows after it.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// Every item key is built here and nowhere else; a reader that must
/// recognise a key (the chaos checker, the hostile partition test) uses
/// the same functions and prefixes.
///
/// The tenant's own items: its configuration (`META`) and its API key
/// listing. Nothing of a mode lives here.
pub fn tenant_pk(tenant_id: &str) -> String {
    format!("{TENANT_PREFIX}{tenant_id}")
}
pub const TENANT_PREFIX: &str = "TENANT#";
/// The partition of one (tenant, mode): its jobs, idempotency records, rate
/// windows and counters. Test and live never share a partition, so no key
/// of one mode can name an item of the other.
pub fn scope_pk(scope: Scope<'_>) -> String {
    format!("{TENANT_PREFIX}{}#{}", scope.tenant_id, scope.mode.as_str())
}
pub const META: &str = "META";
/// The scope's active-job counter, with the copy of the tenant's limits the
/// submit transaction checks it against.
pub const COUNTERS: &str = "COUNTERS";
/// The partition of the tenant directory: `tenant list` and the sweeper's
/// enumeration are one query on it.
pub const TENANTS_PK: &str = "TENANTS";
/// A tenant's entry in the directory.
pub fn directory_sk(tenant_id: &str) -> String {
    tenant_pk(tenant_id)
}
/// A key's auth item, by the SHA-256 of the key: what the API reads.
pub fn key_pk(key_hash: &str) -> String {
    format!("KEY#{key_hash}")
}
/// A key's listing entry, in its tenant's partition.
pub fn key_listing_sk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
/// A key id's pointer to its tenant and hash (for `key revoke`).
pub fn key_pointer_pk(key_id: &str) -> String {
    format!("KEYID#{key_id}")
}
pub const JOB_PREFIX: &str = "JOB#";
pub fn job_sk(job_id: &str) -> String {
    format!("{JOB_PREFIX}{job_id}")
}
pub const IDEMPOTENCY_PREFIX: &str = "IDEM#";
pub fn idempotency_sk(key: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{key}")
}
pub const RATE_WINDOW_PREFIX: &str = "RPM#";
pub fn rate_window_sk(minute: i64) -> String {
    format!("{RATE_WINDOW_PREFIX}{minute}")
}
/// A job's webhook event: its delivery state.
pub fn webhook_event_sk(job_id: &str) -> String {
    format!("WEBHOOK#{job_id}")
}
/// A job's delivery attempts, numbered so they sort in attempt order.
pub fn delivery_prefix(job_id: &str) -> String {
    format!("DELIVERY#{job_id}#")
}
pub fn delivery_sk(job_id: &str, attempt: u32) -> String {
    format!("{}{attempt:06}", delivery_prefix(job_id))
}
/// An event that failed for good, by when: `webhook failed --since` is a
/// range of these keys.
pub const FAILED_DELIVERY_PREFIX: &str = "WEBHOOK_FAILED#";
pub fn failed_delivery_sk(failed_at: &str, job_id: &str) -> String {
    format!("{FAILED_DELIVERY_PREFIX}{failed_at}#{job_id}")
}
/// A month's quota counter: the images its jobs reserved or generated.
pub const QUOTA_PREFIX: &str = "QUOTA#";
pub fn quota_sk(month: &str) -> String {
    format!("{QUOTA_PREFIX}{month}")
}
/// One day's usage of one generation mode: a usage query is one range of
/// these keys (`USAGE#<from>` ..= `USAGE#<to>#~`).
pub const USAGE_PREFIX: &str = "USAGE#";
pub fn usage_sk(day: &str, mode: crate::domain::Mode) -> String {
    format!("{USAGE_PREFIX}{day}#{}", mode.as_str())
}
pub fn status_pk(scope: Scope<'_>, status: crate::domain::JobStatus) -> String {
    format!("{}#STATUS#{status}", scope_pk(scope))
}
/// Sort key of both listing indexes: creation time, then id for ties.
pub fn created_sk(created_at: &str, job_id: &str) -> String {
    format!("{created_at}#{job_id}")
}

/// Everything `CreateTable` needs: keys, both indexes (all attributes
/// projected, so a page is one query), on-demand billing, and the stream the
/// webhooks function reads (new and old images).
pub struct TableDefinition {
    pub attributes: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub indexes: Vec<GlobalSecondaryIndex>,
    pub billing_mode: BillingMode,
    pub stream: StreamSpecification,
}

pub fn table_definition() -> TableDefinition {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("name and type are set")
    };
    let index = |name: &str, pk: &str, sk: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash))
            .key_schema(key(sk, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("name and keys are set")
    };
    TableDefinition {
        attributes: [
            PK,
            SK,
            BY_TENANT_PK,
            BY_TENANT_SK,
            BY_TENANT_STATUS_PK,
            BY_TENANT_STATUS_SK,
        ]
        .into_iter()
        .map(attr)
        .collect(),
        key_schema: vec![key(PK, KeyType::Hash), key(SK, KeyType::Range)],
        indexes: vec![
            index(BY_TENANT, BY_TENANT_PK, BY_TENANT_SK),
            index(BY_TENANT_STATUS, BY_TENANT_STATUS_PK, BY_TENANT_STATUS_SK),
        ],
        billing_mode: BillingMode::PayPerRequest,
        stream: StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
            .expect("enabled is set"),
    }
}
