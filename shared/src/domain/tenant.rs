//! A tenant: the customer account that owns keys, jobs and limits.

/// Per-tenant limits from the contract's rate-limit table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantLimits {
    /// Accepted submits per clock minute.
    pub rpm: u32,
    /// Jobs that may be non-terminal at once.
    pub max_concurrency: u32,
    /// Images a (tenant, mode) may have reserved or generated in one UTC
    /// month; `None`: no quota (the default).
    pub monthly_image_quota: Option<u32>,
}

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            rpm: 60,
            max_concurrency: 5,
            monthly_image_quota: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub limits: TenantLimits,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}
