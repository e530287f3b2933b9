//! A tenant's test data and its live data are two worlds that never meet
//! (contract 1.1, "Test and live data are separate"): jobs, listings,
//! cursors, idempotency keys and the RPM and concurrency counters all
//! belong to a `Scope`, the pair (tenant, key mode). A key of one mode can
//! only ever name items of its own scope, because every key the store
//! builds for them starts with the scope.

use crate::domain::KeyMode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope<'a> {
    pub tenant_id: &'a str,
    pub mode: KeyMode,
}

impl<'a> Scope<'a> {
    pub fn new(tenant_id: &'a str, mode: KeyMode) -> Scope<'a> {
        Scope { tenant_id, mode }
    }

    /// `livemode` of the contract's job views and webhook events.
    pub fn livemode(self) -> bool {
        self.mode == KeyMode::Live
    }
}

impl KeyMode {
    pub const ALL: [KeyMode; 2] = [KeyMode::Test, KeyMode::Live];
}
