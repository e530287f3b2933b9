//! `POST /v1/images/generate` bodies. Whatever the bytes, the body either
//! becomes a request that keeps the contract's invariants and is stored and
//! read back unchanged, or is refused with `400 INVALID_REQUEST`: never a
//! panic, never a 5xx, never an accepted request that the job item would
//! change or that the worker's own URL check would refuse later.

use base64::Engine;
use shared::ApiError;
use shared::domain::options::{
    DATA_URL_TYPES, MAX_DATA_URL_BYTES, MAX_INPUT_IMAGES, MAX_TOTAL_INPUT_BYTES, NUMBER_OF_IMAGES,
    OUTPUT_QUALITY,
};
use shared::domain::submit::{
    InputImage, MAX_BODY_BYTES, MAX_BODY_BYTES_WITH_DATA_URLS, MAX_PROMPT_CHARS,
};
use shared::domain::{AspectRatio, Job, KeyMode, SubmitRequest};
use shared::netguard::{UrlPolicy, check_url};
use shared::store::{Item, job_from_item, job_to_item};
use shared::{ids, time};

use crate::contract::assert_client_error;

pub fn check(body: &[u8]) {
    let production = SubmitRequest::from_body(body, UrlPolicy::Production);
    let local = SubmitRequest::from_body(body, UrlPolicy::Local);
    for (outcome, policy) in [
        (&production, UrlPolicy::Production),
        (&local, UrlPolicy::Local),
    ] {
        match outcome {
            Ok(request) => {
                let has_data = request
                    .inputs
                    .iter()
                    .any(|i| matches!(i, InputImage::Data { .. }));
                let limit = if has_data {
                    MAX_BODY_BYTES_WITH_DATA_URLS
                } else {
                    MAX_BODY_BYTES
                };
                assert!(body.len() <= limit, "a body over the limit was accepted");
                assert_invariants(request, policy);
                assert_meaning_survives_rewriting(request, policy);
                assert_stored_unchanged(request);
            }
            Err(e) => assert_client_error(&ApiError::from(e.clone()), 400, "INVALID_REQUEST"),
        }
    }
    if let Ok(request) = &production {
        assert_eq!(
            local.as_ref().ok(),
            Some(request),
            "the local stack only widens what production accepts"
        );
    }
}

/// Unicode's default-ignorable code points (DerivedCoreProperties.txt),
/// written here apart from the validator so the two can disagree.
const INVISIBLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

fn shows(c: char) -> bool {
    !c.is_whitespace() && !INVISIBLE.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

/// The field rules of the contract (docs/API.md), checked on the result.
fn assert_invariants(request: &SubmitRequest, policy: UrlPolicy) {
    let prompt = &request.prompt;
    assert!(
        !prompt.trim().is_empty(),
        "blank prompt accepted: {prompt:?}"
    );
    assert!(
        prompt.chars().any(shows),
        "a prompt with nothing visible accepted: {prompt:?}"
    );
    assert!(
        prompt.chars().count() <= MAX_PROMPT_CHARS,
        "prompt over the limit accepted"
    );
    assert!(
        prompt
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')),
        "control character accepted in {prompt:?}"
    );
    assert!(AspectRatio::ALLOWED.contains(&request.aspect_ratio.as_str()));
    if let Some(seconds) = request.deadline_seconds {
        assert!(
            shared::domain::submit::DEADLINE_SECONDS.contains(&seconds),
            "deadlineSeconds {seconds} accepted"
        );
    }
    let options = &request.options;
    assert!(NUMBER_OF_IMAGES.contains(&options.number_of_images));
    if let Some(quality) = options.output_quality {
        assert!(OUTPUT_QUALITY.contains(&quality));
        assert!(
            options.output_format.is_lossy(),
            "outputQuality with png accepted"
        );
    }
    assert!(request.inputs.len() <= MAX_INPUT_IMAGES);
    assert!(
        !request.inputs_listed || !request.inputs.is_empty(),
        "an empty inputImageUrls accepted"
    );
    let mut total = 0;
    let mut urls: Vec<&String> = request.webhook_url.iter().collect();
    for input in &request.inputs {
        match input {
            InputImage::Url(url) => urls.push(url),
            InputImage::Data { media_type, bytes } => {
                assert!(DATA_URL_TYPES.contains(media_type));
                assert!(bytes.len() <= MAX_DATA_URL_BYTES);
                total += bytes.len();
            }
        }
    }
    assert!(total <= MAX_TOTAL_INPUT_BYTES);
    // The worker fetches the stored input URLs, and the webhook sender
    // posts to the stored webhook URL, each checking it again.
    for url in urls {
        let again =
            check_url(url, policy).unwrap_or_else(|e| panic!("{url} refused on re-check: {e}"));
        assert_eq!(
            again.as_str(),
            url,
            "the accepted URL is not in its normal form"
        );
    }
}

/// Idempotency compares meaning: the request written out again, with every
/// field explicit, is the same request with the same fingerprint.
fn assert_meaning_survives_rewriting(request: &SubmitRequest, policy: UrlPolicy) {
    let written: Vec<String> = request
        .inputs
        .iter()
        .map(|input| match input {
            InputImage::Url(url) => url.clone(),
            InputImage::Data { media_type, bytes } => format!(
                "data:{media_type};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        })
        .collect();
    let (single, listed) = if request.inputs_listed {
        (None, Some(written))
    } else {
        (written.into_iter().next(), None)
    };
    let options = &request.options;
    let rewritten = serde_json::json!({
        "aspectRatio": request.aspect_ratio.as_str(),
        "inputImageUrl": single,
        "inputImageUrls": listed,
        "mode": request.mode.as_str(),
        "prompt": request.prompt,
        "webhookUrl": request.webhook_url,
        "deadlineSeconds": request.deadline_seconds,
        "imageSize": options.image_size.map(|s| s.as_str()),
        "numberOfImages": options.number_of_images,
        "outputFormat": options.output_format.as_str(),
        "outputQuality": options.output_quality,
    });
    let reparsed = SubmitRequest::from_body(rewritten.to_string().as_bytes(), policy)
        .unwrap_or_else(|e| panic!("{rewritten} refused: {e}"));
    assert_eq!(&reparsed, request);
    assert_eq!(reparsed.fingerprint(), request.fingerprint());
}

/// An accepted request is written as a job item and read back by the
/// worker, the listing and the stream: all of it must come back as written.
fn assert_stored_unchanged(request: &SubmitRequest) {
    let at = time::parse_iso("2026-01-26T09:36:16.288Z").expect("a valid timestamp");
    let job = Job::queued(
        ids::new_id(),
        ids::new_id(),
        request.clone(),
        KeyMode::Test,
        at,
    );
    let read_back = job_from_item(&Item(job_to_item(&job)))
        .unwrap_or_else(|e| panic!("the job item of an accepted request does not read back: {e}"));
    assert_eq!(read_back, job);
}
