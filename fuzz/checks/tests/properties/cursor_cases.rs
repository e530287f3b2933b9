//! Listing cursors: realistic positions (`createdAt#jobId`) and arbitrary
//! ones, every filter, tenants that differ by little, and candidate cursors
//! that are junk or nearly well-formed.

use proptest::prelude::*;
use shared::domain::JobStatus;

use crate::support::{config, replay};
use fuzz_checks::cursor::{Listing, check, check_listing};

fn status() -> impl Strategy<Value = Option<JobStatus>> {
    prop::option::of(prop::sample::select(&JobStatus::ALL[..]))
}

fn position() -> impl Strategy<Value = String> {
    prop_oneof![
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z#c[0-9a-z]{24}",
        "\\PC{0,60}",
    ]
}

fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "v1\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{20,24}",
        "[v1.=]{0,8}"
    ]
}

#[test]
fn committed_corpus_holds() {
    replay("cursor", check);
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_listings_hold(
        tenant_id in "c[0-9a-z]{0,24}|\\PC{0,8}",
        status in status(),
        position in position(),
        candidate in candidate(),
    ) {
        check_listing(&Listing { tenant_id: &tenant_id, status, position: &position, candidate: &candidate });
    }
}
