//! Which item of the single table a metered read or write landed on, by
//! the key formats of `shared::store::schema`: for the scale figures, which
//! items one tenant's jobs share (each takes at most 1,000 write and 3,000
//! read units a second) and which belong to one job alone.

use shared::store::schema;

/// How many jobs share an item: what decides whether its per-item limit
/// bounds a tenant's rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sharing {
    /// Every job of one (tenant, mode), or of one of its minutes, months or
    /// days: a hot item.
    Scope,
    /// Every job of the tenant, whatever the key's mode.
    Tenant,
    /// One job's (or one request's) own item.
    Job,
    /// Not an item of a tenant's jobs (the directory, a key's auth item).
    Other,
}

/// An item's class: what it is, and who shares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemClass {
    pub sharing: Sharing,
    /// "rate window (`TENANT#<tid>#<mode>` / `RPM#<minute>`)".
    pub label: String,
}

/// The class of the item with this key, as `ARCHITECTURE.md`'s table of
/// the single table names it.
pub fn classify(pk: &str, sk: &str) -> ItemClass {
    let class = |sharing, label: &str| ItemClass {
        sharing,
        label: label.to_string(),
    };
    let Some(rest) = pk.strip_prefix(schema::TENANT_PREFIX) else {
        return if pk == schema::TENANTS_PK {
            class(Sharing::Other, "tenant directory entry (`TENANTS`)")
        } else if pk.starts_with(&schema::key_pk("")) {
            class(Sharing::Other, "API key (`KEY#<sha256>` / `META`)")
        } else {
            class(Sharing::Other, &format!("other item (`{pk}` / `{sk}`)"))
        };
    };
    // `TENANT#<tid>` holds the tenant's own items; `TENANT#<tid>#<mode>`
    // the scope's.
    if !rest.contains('#') {
        return match sk {
            schema::META => class(Sharing::Tenant, "tenant item (`TENANT#<tid>` / `META`)"),
            s if s.starts_with(&schema::key_listing_sk("")) => class(
                Sharing::Tenant,
                "key listing entry (`TENANT#<tid>` / `APIKEY#<keyId>`)",
            ),
            _ => class(Sharing::Tenant, &format!("tenant's `{sk}` item")),
        };
    }
    let scope = |what: &str, key: &str| format!("{what} (`TENANT#<tid>#<mode>` / `{key}`)");
    let webhook_event = schema::webhook_event_sk("");
    let delivery = schema::delivery_prefix("");
    // `DELIVERY#<jobId>#`: the prefix up to the job id.
    let delivery = delivery.trim_end_matches('#');
    if sk == schema::COUNTERS {
        class(
            Sharing::Scope,
            &scope("concurrency counters", schema::COUNTERS),
        )
    } else if sk.starts_with(schema::RATE_WINDOW_PREFIX) {
        class(
            Sharing::Scope,
            &scope("rate window, one a minute", "RPM#<minute>"),
        )
    } else if sk.starts_with(schema::QUOTA_PREFIX) {
        class(
            Sharing::Scope,
            &scope("month image counter", "QUOTA#<YYYY-MM>"),
        )
    } else if sk.starts_with(schema::USAGE_PREFIX) {
        class(
            Sharing::Scope,
            &scope("daily usage item", "USAGE#<day>#<mode>"),
        )
    } else if sk.starts_with(schema::JOB_PREFIX) {
        class(Sharing::Job, &scope("job item", "JOB#<jobId>"))
    } else if sk.starts_with(schema::IDEMPOTENCY_PREFIX) {
        class(Sharing::Job, &scope("idempotency record", "IDEM#<key>"))
    } else if sk.starts_with(schema::FAILED_DELIVERY_PREFIX) {
        class(
            Sharing::Job,
            &scope("failed event", "WEBHOOK_FAILED#<at>#<jobId>"),
        )
    } else if sk.starts_with(&webhook_event) {
        class(
            Sharing::Job,
            &scope("webhook event state", "WEBHOOK#<jobId>"),
        )
    } else if sk.starts_with(delivery) {
        class(
            Sharing::Job,
            &scope(
                "delivery attempt (the delivery log)",
                "DELIVERY#<jobId>#<n>",
            ),
        )
    } else {
        class(Sharing::Scope, &scope("other item of the scope", sk))
    }
}

/// A partition key value with the tenant's id written `<tid>` and the mode
/// `<mode>`: `ByTenantStatus` partition `TENANT#<tid>#<mode>#STATUS#QUEUED`.
pub fn partition_class(partition: &str) -> String {
    let Some(rest) = partition.strip_prefix(schema::TENANT_PREFIX) else {
        return partition.to_string();
    };
    let mut parts = rest.splitn(3, '#');
    let _tenant = parts.next();
    let mut out = format!("{}<tid>", schema::TENANT_PREFIX);
    if parts.next().is_some() {
        out += "#<mode>";
    }
    if let Some(tail) = parts.next() {
        out += "#";
        out += tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::{JobStatus, KeyMode, Mode, Scope};

    #[test]
    fn every_key_format_of_a_job_has_its_class() {
        let scope = Scope::new("ct1", KeyMode::Live);
        let pk = schema::scope_pk(scope);
        let cases = [
            (schema::COUNTERS.to_string(), Sharing::Scope, "concurrency"),
            (
                schema::rate_window_sk(29_000_000),
                Sharing::Scope,
                "rate window",
            ),
            (schema::quota_sk("2026-11"), Sharing::Scope, "month"),
            (
                schema::usage_sk("2026-11-24", Mode::Draft),
                Sharing::Scope,
                "usage",
            ),
            (schema::job_sk("cj"), Sharing::Job, "job item"),
            (schema::idempotency_sk("k"), Sharing::Job, "idempotency"),
            (
                schema::webhook_event_sk("cj"),
                Sharing::Job,
                "webhook event",
            ),
            (
                schema::delivery_sk("cj", 1),
                Sharing::Job,
                "delivery attempt",
            ),
            (
                schema::failed_delivery_sk("2026", "cj"),
                Sharing::Job,
                "failed event",
            ),
        ];
        for (sk, sharing, label) in cases {
            let class = classify(&pk, &sk);
            assert_eq!(class.sharing, sharing, "{sk}");
            assert!(class.label.contains(label), "{sk}: {}", class.label);
        }
        assert_eq!(
            classify(&schema::tenant_pk("ct1"), schema::META).sharing,
            Sharing::Tenant
        );
        assert_eq!(classify(schema::TENANTS_PK, "x").sharing, Sharing::Other);
    }

    #[test]
    fn partitions_are_named_without_the_tenant() {
        let scope = Scope::new("ct1", KeyMode::Test);
        assert_eq!(
            partition_class(&schema::status_pk(scope, JobStatus::Queued)),
            "TENANT#<tid>#<mode>#STATUS#QUEUED"
        );
        assert_eq!(
            partition_class(&schema::scope_pk(scope)),
            "TENANT#<tid>#<mode>"
        );
        assert_eq!(partition_class(&schema::tenant_pk("ct1")), "TENANT#<tid>");
    }
}
