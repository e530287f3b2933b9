//! Queue message bodies: objects with the job message's keys, misspelled,
//! repeated, extra or of the wrong type, and any message the queue writer
//! could send.

use proptest::prelude::*;
use serde_json::Value;
use shared::queue::{DeliveryMessage, JobMessage};

use crate::support::{config, replay};
use fuzz_checks::sqs::{check, check_body, check_delivery_round_trip, check_round_trip};

const KEYS: [&str; 6] = ["tenantId", "livemode", "jobId", "run", "tenant_id", "extra"];

/// Most bodies start as a well-formed message, so the extra, repeated or
/// mistyped members that follow are what decides.
fn body() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        Just(Value::from(-1)),
        Just(Value::from(u64::from(u32::MAX) + 1)),
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

    #[test]
    fn sent_delivery_messages_are_read_back(tenant_id in "\\PC{0,30}", livemode in any::<bool>(), job_id in "\\PC{0,30}", run in any::<u32>()) {
        check_delivery_round_trip(&DeliveryMessage { tenant_id, livemode, job_id, run });
    }
}
