//! Query strings of the listing (defined, misspelled, repeated and empty
//! parameters, percent-encoded), job ids near our shape, and header values
//! sent zero, one or several times, printable or not.

use proptest::prelude::*;
use shared::ids;

use crate::support::{config, replay};
use fuzz_checks::request_params::{
    check, check_header, check_job_id, check_prefer, check_query, check_usage, check_wait,
};

const NAMES: [&str; 8] = [
    "status",
    "limit",
    "cursor",
    "stauts",
    "STATUS",
    "st%61tus",
    "%0Aevil%00",
    "",
];
const VALUES: [&str; 8] = ["QUEUED", "queued", "10", "0", "101", "", "v1.a.b", "%00"];

fn query_string() -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(&NAMES[..]),
        prop::sample::select(&VALUES[..]),
    );
    prop::collection::vec(pair, 0..4).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[test]
fn committed_corpus_holds() {
    replay("request_params", check);
}

#[test]
fn issued_ids_are_taken_for_job_ids() {
    for _ in 0..100 {
        check_job_id(&ids::new_id());
    }
}

/// Days near and far from real ones: valid, impossible, unpadded, signed,
/// timestamps, non-ASCII digits, empty.
const DAYS: [&str; 14] = [
    "2026-12-01",
    "2026-01-01",
    "2026-04-02",
    "2026-04-03",
    "2026-02-29",
    "2024-02-29",
    "2026-13-01",
    "2026-1-1",
    "+2026-12-01",
    "2026-12-01T00:00:00Z",
    "%D9%A2026-12-01",
    "20261201",
    "",
    "9999-12-31",
];

fn usage_query() -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(&["from", "to", "form", "month"][..]),
        prop_oneof![
            prop::sample::select(&DAYS[..]).prop_map(str::to_string),
            (1990..2100i32, 1..13u32, 1..32u32)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        ],
    );
    prop::collection::vec(pair, 0..3).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_usage_queries_hold(query in prop_oneof![usage_query(), "\\PC{0,30}"]) {
        check_usage(&query);
    }

    #[test]
    fn generated_queries_hold(query in prop_oneof![query_string(), "\\PC{0,30}"]) {
        check_query(&query);
    }

    #[test]
    fn generated_job_ids_hold(id in "[cC][0-9a-zA-Z]{23,25}|c[0-9a-z]{24}|\\PC{0,30}") {
        check_job_id(&id);
    }

    #[test]
    fn generated_waits_hold(query in prop_oneof![
        "(wait=(-?[0-9]{0,3}|25|26|0|1\\.5|abc|%32%35)&?){0,2}(x=1)?",
        query_string(),
    ]) {
        check_wait(&query);
    }

    #[test]
    fn generated_prefers_hold(values in prop::collection::vec(prop_oneof![
        "(respond-async|return=minimal|[Ww][Aa][Ii][Tt](=\"?[0-9]{0,22}\"?)?)(; ?[a-z]=[a-z0-9])?(, ?wait(=[0-9a-z.-]{0,4})?)?",
        "\\PC{0,20}",
    ], 0..3)) {
        check_prefer(&values.iter().map(String::as_bytes).collect::<Vec<_>>());
    }

    #[test]
    fn generated_headers_hold(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..3)) {
        check_header(&values.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}
