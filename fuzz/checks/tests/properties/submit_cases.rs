//! Generate bodies: JSON objects assembled from the contract's field names
//! and values at the edges of its rules (duplicates, wrong types, blank or
//! over-long prompts, control characters, hostile URLs), and raw bytes.

use proptest::prelude::*;
use serde_json::Value;
use shared::domain::submit::MAX_PROMPT_CHARS;

use crate::netguard_cases::url_text;
use crate::support::{config, replay};
use fuzz_checks::submit::check;

const NAMES: [&str; 8] = [
    "prompt",
    "mode",
    "inputImageUrl",
    "aspectRatio",
    "webhookUrl",
    "deadlineSeconds",
    "Prompt",
    "colour",
];
const WORDS: [&str; 9] = [
    "draft", "final", "Final", "1:1", "16:9", "21:9", "16:10", " 1:1", "",
];

fn prompt_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{1,40}",
        "[ \t\r\n\u{0}\u{1f}\u{7f}\u{85}\u{200b}a]{0,8}",
        "[ \u{200b}\u{feff}\u{3164}\u{ffa0}\u{2060}\u{34f}\u{ad}\u{e0041}\u{fe0f}a]{0,6}",
        (MAX_PROMPT_CHARS - 2..MAX_PROMPT_CHARS + 3).prop_map(|n| "é".repeat(n)),
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u32..90_000).prop_map(Value::from),
        Just(serde_json::json!(10.5)),
        prop::sample::select(&WORDS[..]).prop_map(Value::from),
        prompt_text().prop_map(Value::String),
        url_text().prop_map(Value::String),
        Just(serde_json::json!(["a"])),
        Just(serde_json::json!({"prompt": "a"})),
    ]
}

/// An object written member by member, so a name may appear twice; most
/// start with a string prompt, so the other fields' rules are reached.
fn body_text() -> impl Strategy<Value = String> {
    let member = (prop::sample::select(&NAMES[..]), field_value());
    let prompt = prop::option::weighted(
        0.8,
        prompt_text().prop_map(|p| ("prompt", Value::String(p))),
    );
    (prompt, prop::collection::vec(member, 0..5)).prop_map(|(prompt, members)| {
        let members: Vec<String> = prompt
            .into_iter()
            .chain(members)
            .map(|(name, value)| format!("{}:{value}", Value::from(name)))
            .collect();
        format!("{{{}}}", members.join(","))
    })
}

#[test]
fn committed_corpus_holds() {
    replay("submit_request", check);
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_bodies_hold(body in body_text()) {
        check(body.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_hold(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check(&bytes);
    }
}
