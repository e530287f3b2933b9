//! The webhooks function's decoding of stream records: the fuzz target's
//! check on every file of the committed corpus, and on generated changes of
//! generated jobs, written in the store's own item format.

use fuzz_checks::stream::{check, check_change};
use proptest::prelude::*;
use shared::domain::{
    AspectRatio, FailureCode, GenerationOptions, ImageSize, Job, JobError, JobStatus, KeyMode,
    Mode, OutputFormat, ResultImage,
};
use shared::{ids, time};

use crate::support::{config, replay};

const EVENT_NAMES: [&str; 3] = ["MODIFY", "INSERT", "REMOVE"];

/// Generation options as the store may hold them (1.1).
fn options() -> impl Strategy<Value = GenerationOptions> {
    (
        prop::option::of(prop::sample::select(&ImageSize::ALL[..])),
        1..=4u8,
        prop::sample::select(&OutputFormat::ALL[..]),
        prop::option::of(1..=100u8),
    )
        .prop_map(
            |(image_size, number_of_images, output_format, quality)| GenerationOptions {
                image_size,
                number_of_images,
                output_format,
                output_quality: quality.filter(|_| output_format.is_lossy()),
            },
        )
}

/// Stored result images (1.1).
fn images() -> impl Strategy<Value = Vec<ResultImage>> {
    prop::collection::vec(
        (0..4u32, "\\PC{0,20}", 1..5000u32, 1..5000u32, any::<u32>()),
        0..4,
    )
    .prop_map(|images| {
        images
            .into_iter()
            .map(|(index, url, width, height, bytes)| ResultImage {
                index,
                url,
                content_type: "image/webp".into(),
                width,
                height,
                bytes: u64::from(bytes),
            })
            .collect()
    })
}

/// A job as the store may hold it, in any status, with or without input
/// images, options, results or an error.
fn job() -> impl Strategy<Value = Job> {
    let text = "\\PC{0,20}";
    (
        prop::sample::select(&JobStatus::ALL[..]),
        text,
        prop::option::of(text),
        prop::sample::select(&AspectRatio::ALLOWED[..]),
        prop::collection::vec(text, 0..2),
        prop::option::of((prop::sample::select(&FailureCode::ALL[..]), text)),
        0..5u32,
        prop::collection::vec(text, 0..3),
        options(),
        images(),
        (
            prop::option::of("20[0-9]{2}-(0[1-9]|1[0-2])"),
            0..20u32,
            prop::option::of(0..5_000_000u64),
            prop::option::of(0..5_000_000u64),
            0..2_000_000u64,
        ),
    )
        .prop_map(
            |(
                status,
                prompt,
                input_image_url,
                ratio,
                result_urls,
                error,
                attempts,
                input_image_urls,
                options,
                images,
                (quota_month, provider_calls, input_tokens, output_tokens, cost_micro_usd),
            )| {
                let at = time::parse_iso("2026-01-26T09:36:16.288Z").expect("a timestamp");
                Job {
                    id: ids::new_id(),
                    tenant_id: ids::new_id(),
                    status,
                    prompt,
                    mode: Mode::Draft,
                    input_image_url,
                    input_image_urls,
                    aspect_ratio: AspectRatio::parse(ratio).expect("an allowed ratio"),
                    options,
                    key_mode: KeyMode::Live,
                    result_urls,
                    images,
                    error: error.map(|(code, message)| JobError { code, message }),
                    attempts,
                    created_at: at,
                    updated_at: at,
                    webhook_url: None,
                    deadline_at: None,
                    quota_month,
                    metering: shared::domain::Metering {
                        provider_calls,
                        input_tokens,
                        output_tokens,
                    },
                    cost_micro_usd,
                }
            },
        )
}

#[test]
fn committed_corpus_holds() {
    replay("stream_record", check);
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn only_terminal_transitions_are_acted_on(
        event_name in prop::sample::select(&EVENT_NAMES[..]),
        old in job(),
        next_status in prop::sample::select(&JobStatus::ALL[..]),
    ) {
        let new = Job { status: next_status, ..old.clone() };
        check_change(event_name, &old, &new);
    }
}
