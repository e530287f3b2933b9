//! Generate bodies: JSON objects assembled from the contract's field names
//! and values at the edges of its rules (duplicates, wrong types, blank or
//! over-long prompts, control characters, hostile URLs), and raw bytes.

use proptest::prelude::*;
use serde_json::Value;
use shared::domain::submit::MAX_PROMPT_CHARS;

use crate::netguard_cases::url_text;
use crate::support::{config, replay};
use fuzz_checks::submit::check;

const NAMES: [&str; 13] = [
    "prompt",
    "mode",
    "inputImageUrl",
    "inputImageUrls",
    "aspectRatio",
    "imageSize",
    "numberOfImages",
    "outputFormat",
    "outputQuality",
    "webhookUrl",
    "deadlineSeconds",
    "Prompt",
    "colour",
];
const WORDS: [&str; 18] = [
    "draft", "final", "Final", "1:1", "16:9", "21:9", "16:10", " 1:1", "", "1K", "2K", "4K", "4k",
    "png", "jpeg", "webp", "jpg", "PNG",
];

/// `data:` URLs at the edges of their rules: the four types and others,
/// real and lying magic bytes, bad base64, a missing `;base64`.
fn data_url_text() -> impl Strategy<Value = String> {
    use base64::Engine;
    const KINDS: [&str; 7] = [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "IMAGE/PNG",
        "image/svg+xml",
        "text/plain",
    ];
    const MAGIC: [&[u8]; 5] = [
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xe0",
        b"RIFF\0\0\0\0WEBPVP8 ",
        b"GIF89a",
        b"<svg>",
    ];
    (
        prop::sample::select(&KINDS[..]),
        prop::sample::select(&MAGIC[..]),
        prop::collection::vec(any::<u8>(), 0..24),
        0u8..4,
    )
        .prop_map(|(kind, magic, tail, shape)| {
            let bytes = [magic, &tail[..]].concat();
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            match shape {
                0 => format!("data:{kind},{data}"),
                1 => format!("data:{kind};base64,{data}!"),
                _ => format!("data:{kind};base64,{data}"),
            }
        })
}

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
        data_url_text().prop_map(Value::String),
        (1u32..6).prop_map(Value::from),
        Just(serde_json::json!(2.0)),
        prop::collection::vec(
            prop_oneof![
                url_text().prop_map(Value::String),
                data_url_text().prop_map(Value::String),
                Just(Value::Null),
                Just(serde_json::json!(["https://example.com/a.png"])),
            ],
            0..16
        )
        .prop_map(Value::Array),
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
