//! Queue message bodies: objects with the job message's keys, misspelled,
//! repeated, extra or of the wrong type, and any message the queue writer
//! could send.

use proptest::prelude::*;
use serde_json::Value;
use shared::queue::JobMessage;

use crate::support::{config, replay};
use fuzz_checks::sqs::{check, check_body, check_round_trip};

const KEYS: [&str; 5] = ["tenantId", "livemode", "jobId", "tenant_id", "extra"];

/// Most bodies start as a well-formed message, so the extra, repeated or
/// mistyped members that follow are what decides.
fn body() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
    ];
    let well_formed =
        ("\\PC{0,12}", any::<bool>(), "c[0-9a-z]{24}").prop_map(|(tenant, live, job)| {
            vec![
                ("tenantId", Value::from(tenant)),
                ("livemode", Value::from(live)),
                ("jobId", Value::from(job)),
            ]
        });
    let extra = prop::collection::vec((prop::sample::select(&KEYS[..]), value), 0..3);
    (prop::option::weighted(0.7, well_formed), extra).prop_map(|(start, extra)| {
        let members: Vec<String> = start
            .into_iter()
            .flatten()
            .chain(extra)
            .map(|(key, value)| format!("{}:{value}", Value::from(key)))
            .collect();
        format!("{{{}}}", members.join(","))
    })
}

#[test]
fn committed_corpus_holds() {
    replay("sqs_message", check);
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_bodies_hold(body in body()) {
        check_body(&body);
    }

    #[test]
    fn sent_messages_are_read_back(tenant_id in "\\PC{0,30}", livemode in any::<bool>(), job_id in "\\PC{0,30}") {
        check_round_trip(&JobMessage { tenant_id, livemode, job_id });
    }
}
