//! Gemini's `generateContent` over REST: `POST
//! {base}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
//! Only the fields we use are modelled; unknown ones are ignored, since
//! Google adds fields often.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::domain::{Metering, Mode};
use crate::images::{Image, Outcome, Prompt};

/// Which model and image size each mode uses. Configuration, because Google
/// retires model ids often.
#[derive(Clone, Debug)]
pub struct Models {
    pub draft_model: String,
    pub draft_size: String,
    pub final_model: String,
    pub final_size: String,
}

impl Default for Models {
    fn default() -> Self {
        Models {
            draft_model: "gemini-3.1-flash-image".into(),
            draft_size: "1K".into(),
            final_model: "gemini-3-pro-image".into(),
            final_size: "2K".into(),
        }
    }
}

impl Models {
    pub fn for_mode(&self, mode: Mode) -> (&str, &str) {
        match mode {
            Mode::Draft => (&self.draft_model, &self.draft_size),
            Mode::Final => (&self.final_model, &self.final_size),
        }
    }
}

#[derive(Clone, Debug)]
pub struct GeminiConfig {
    pub base_url: String,
    pub api_key: String,
    pub models: Models,
    pub connect_timeout: Duration,
    /// The whole call, connection to last byte. Pro models take tens of
    /// seconds for a 2K image.
    pub request_timeout: Duration,
}

pub struct GeminiClient {
    http: reqwest::Client,
    config: GeminiConfig,
}

/// A `generateContent` call, ready to be made (once or several times).
pub struct PreparedCall {
    url: String,
    body: bytes::Bytes,
}

/// Answers being read and parsed, one at a time per process.
static ANSWERS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(1));

/// Answers larger than this are not images we asked for.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

impl GeminiClient {
    pub fn new(config: GeminiConfig) -> Result<GeminiClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("image-saas-worker/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(GeminiClient { http, config })
    }

    /// One call for `prompt`.
    pub async fn generate(&self, prompt: Prompt<'_>) -> Answer {
        self.send(&self.prepare(prompt)).await
    }

    /// The call for `prompt`, built once: the images of a job are the same
    /// request made `numberOfImages` times, and with 14 references its
    /// body is up to ~19 MB of base64, which every call then shares.
    pub fn prepare(&self, prompt: Prompt<'_>) -> PreparedCall {
        let (model, size) = self.config.models.for_mode(prompt.mode);
        PreparedCall {
            url: format!(
                "{}/v1beta/models/{model}:generateContent",
                self.config.base_url.trim_end_matches('/')
            ),
            body: bytes::Bytes::from(request_body(prompt, size)),
        }
    }

    /// Makes a prepared call. Calls run concurrently, but their answers
    /// (a 4K image is ~25 MB of JSON, and reading it needs about as much
    /// again) are read one at a time per process; the others wait in
    /// their connections.
    pub async fn send(&self, call: &PreparedCall) -> Answer {
        let sent = self
            .http
            .post(&call.url)
            .header("x-goog-api-key", &self.config.api_key)
            .header("content-type", "application/json")
            .body(call.body.clone())
            .send()
            .await;
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(e) => return Answer::unmetered(transport_failure(&e), None),
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = ANSWERS.acquire().await.ok();
        let status = resp.status().as_u16();
        // Read the body in chunks so an oversized answer is cut off early.
        let mut bytes = Vec::with_capacity(
            resp.content_length()
                .unwrap_or(0)
                .min(MAX_RESPONSE_BYTES as u64) as usize,
        );
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Answer::unmetered(
                            Outcome::NoImage("The model's answer was too large".into()),
                            Some(status),
                        );
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Answer::unmetered(transport_failure(&e), None),
            }
        }
        interpret_metered(status, &bytes)
    }
}

fn transport_failure(e: &reqwest::Error) -> Outcome {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not be reached"
    } else {
        "failed in transit"
    };
    tracing::warn!(error = %e, "Gemini call {what}");
    Outcome::Transient {
        reason: format!("The image provider {what}"),
        retry_after: None,
    }
}

#[derive(Serialize)]
struct Request<'a> {
    contents: [Content<'a>; 1],
    #[serde(rename = "generationConfig")]
    generation_config: GenerationConfig<'a>,
}

#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: Vec<RequestPart<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RequestPart<'a> {
    Text { text: &'a str },
    InlineData { inline_data: InlineDataOut },
}

#[derive(Serialize)]
struct InlineDataOut {
    mime_type: String,
    data: String,
}

#[derive(Serialize)]
struct GenerationConfig<'a> {
    #[serde(rename = "responseModalities")]
    response_modalities: [&'static str; 1],
    #[serde(rename = "imageConfig")]
    image_config: ImageConfig<'a>,
}

#[derive(Serialize)]
struct ImageConfig<'a> {
    #[serde(rename = "aspectRatio")]
    aspect_ratio: &'a str,
    #[serde(rename = "imageSize")]
    image_size: &'a str,
}

/// The JSON body of a `generateContent` call. `configured_size` is the
/// deployment's size for the prompt's mode, sent when the prompt names none.
pub fn request_body(prompt: Prompt<'_>, configured_size: &str) -> String {
    let mut parts = Vec::with_capacity(1 + prompt.inputs.len());
    parts.push(RequestPart::Text { text: prompt.text });
    parts.extend(prompt.inputs.iter().map(|input| RequestPart::InlineData {
        inline_data: InlineDataOut {
            mime_type: input.mime_type.clone(),
            data: STANDARD.encode(&input.bytes),
        },
    }));
    let req = Request {
        contents: [Content {
            role: "user",
            parts,
        }],
        generation_config: GenerationConfig {
            response_modalities: ["IMAGE"],
            image_config: ImageConfig {
                aspect_ratio: prompt.aspect_ratio.as_str(),
                image_size: prompt.image_size.map_or(configured_size, |s| s.as_str()),
            },
        },
    };
    serde_json::to_string(&req).unwrap_or_default()
}

/// The answer, read in place: an image's base64 (a 4K image is ~25 MB of
/// it) is borrowed from the body, not copied out, when it has no JSON
/// escapes, which base64 never needs.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(default, borrow)]
    candidates: Vec<Candidate<'a>>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
    block_reason_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: Option<ResponseContent<'a>>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
}

#[derive(Deserialize)]
struct ResponseContent<'a> {
    #[serde(default, borrow)]
    parts: Vec<ResponsePart<'a>>,
}

#[derive(Deserialize)]
struct ResponsePart<'a> {
    text: Option<String>,
    #[serde(rename = "inlineData", alias = "inline_data", borrow)]
    inline_data: Option<InlineDataIn<'a>>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
struct InlineDataIn<'a> {
    #[serde(rename = "mimeType", alias = "mime_type")]
    mime_type: String,
    #[serde(borrow)]
    data: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

const BLOCKING_REASONS: [&str; 9] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "RECITATION",
    "BLOCKLIST",
    "SPII",
    "LANGUAGE",
];

/// What one call came to: its outcome, and the call itself with the token
/// counts its answer reported (`usageMetadata`), for the job's usage.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub metering: Metering,
    /// The answer's HTTP status; `None` when none arrived (a timeout, a
    /// connection error), for the provider metrics.
    pub http_status: Option<u16>,
}

impl Answer {
    /// A call whose answer never arrived or could not be read: counted, with
    /// no tokens.
    fn unmetered(outcome: Outcome, http_status: Option<u16>) -> Answer {
        Answer {
            outcome,
            metering: Metering::call(None, None),
            http_status,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "Gemini's names for the fields, renamed to camelCase"
)]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    /// Thinking is billed as output too.
    thoughts_token_count: Option<u64>,
}

/// `interpret`, with the answer's token counts: input is
/// `promptTokenCount`, output `candidatesTokenCount` plus
/// `thoughtsTokenCount` (Google bills both as output).
pub fn interpret_metered(status: u16, body: &[u8]) -> Answer {
    let (outcome, usage) = interpret_with_usage(status, body);
    let metering = match usage {
        None => Metering::call(None, None),
        Some(u) => Metering::call(
            u.prompt_token_count,
            match (u.candidates_token_count, u.thoughts_token_count) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            },
        ),
    };
    Answer {
        outcome,
        metering,
        http_status: Some(status),
    }
}

/// Turns an HTTP status and body into an outcome. Public for the tests and
/// the benchmark, which feed it recorded answers.
pub fn interpret(status: u16, body: &[u8]) -> Outcome {
    interpret_with_usage(status, body).0
}

fn interpret_with_usage(status: u16, body: &[u8]) -> (Outcome, Option<UsageMetadata>) {
    if status != 200 {
        return (error_outcome(status, body), None);
    }
    let mut response: Response = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(_) => {
            return (
                Outcome::NoImage("The model's answer could not be read".into()),
                None,
            );
        }
    };
    let usage = response.usage_metadata.take();
    (outcome_of(response), usage)
}

/// The outcome of an answer other than 200.
fn error_outcome(status: u16, body: &[u8]) -> Outcome {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let provider_status = detail
        .as_ref()
        .map_or("", |d| d.status.as_str())
        .to_string();
    if let Some(d) = &detail {
        tracing::warn!(http_status = status, provider_status = %d.status, message = %d.message, "Gemini error");
    }
    match status {
        429 | 500 | 502 | 503 | 504 | 408 => Outcome::Transient {
            reason: format!("The image provider is unavailable (HTTP {status})"),
            retry_after: detail.as_ref().and_then(retry_delay),
        },
        _ => Outcome::Rejected(format!(
            "The image provider rejected the request (HTTP {status}{}{provider_status})",
            if provider_status.is_empty() { "" } else { " " }
        )),
    }
}

/// The outcome of a 200 answer: its images, or why there are none.
fn outcome_of(response: Response<'_>) -> Outcome {
    // The first candidate's finish reason and own words, for a refusal.
    let mut finish_reason = None;
    let mut model_words = None;
    for candidate in response.candidates {
        let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
        if finish_reason.is_none() {
            finish_reason = candidate.finish_reason.clone();
            let text: Vec<&str> = parts
                .iter()
                .filter(|p| !p.thought)
                .filter_map(|p| p.text.as_deref())
                .filter(|t| !t.trim().is_empty())
                .collect();
            model_words = Some(if text.is_empty() {
                candidate.finish_message.clone().unwrap_or_default()
            } else {
                text.join(" ")
            });
        }
        let mut images = Vec::new();
        for part in parts {
            let Some(data) = part.inline_data.filter(|_| !part.thought) else {
                continue;
            };
            if !data.mime_type.starts_with("image/") {
                continue;
            }
            match STANDARD.decode(data.data.as_bytes()) {
                Ok(bytes) if !bytes.is_empty() => images.push(Image {
                    mime_type: data.mime_type,
                    bytes,
                }),
                _ => {
                    return Outcome::NoImage(
                        "The model returned an image that could not be decoded".into(),
                    );
                }
            }
        }
        if !images.is_empty() {
            return Outcome::Images(images);
        }
    }
    let feedback = response.prompt_feedback.unwrap_or_default();
    if let Some(reason) = feedback.block_reason {
        let words = model_words
            .filter(|w| !w.trim().is_empty())
            .or(feedback.block_reason_message);
        return Outcome::Blocked(with_model_words(
            format!("The prompt was blocked by the model's safety filters ({reason})"),
            words.as_deref(),
        ));
    }
    match finish_reason.as_deref() {
        Some(r) if BLOCKING_REASONS.contains(&r) => {
            let words = model_words
                .filter(|w| !w.trim().is_empty())
                .or(feedback.block_reason_message);
            Outcome::Blocked(with_model_words(
                format!("The model refused to generate this image ({r})"),
                words.as_deref(),
            ))
        }
        Some(r @ ("NO_IMAGE" | "IMAGE_OTHER")) => {
            Outcome::NoImage(format!("The model returned no image ({r})"))
        }
        Some(r) => Outcome::NoImage(format!("The model returned no image (finish reason {r})")),
        None => Outcome::NoImage("The model returned no image".into()),
    }
}

/// Zero-width and bidirectional formatting characters, which would let a
/// message read differently from what it holds.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// At most this many characters of the model's own refusal text reach the
/// job's `error.message` (contract 1.1).
pub const MAX_MODEL_WORDS: usize = 500;

/// `reason` followed by the model's own words, when it gave any: control
/// characters gone (line breaks and tabs become spaces), runs of spaces
/// collapsed, trimmed, and cut to `MAX_MODEL_WORDS` characters.
fn with_model_words(reason: String, words: Option<&str>) -> String {
    let words = words.map(clean_model_words).unwrap_or_default();
    if words.is_empty() {
        reason
    } else {
        format!("{reason}: {words}")
    }
}

fn clean_model_words(words: &str) -> String {
    let mut out = String::with_capacity(words.len().min(MAX_MODEL_WORDS * 4));
    let mut chars = 0;
    let mut pending_space = false;
    for c in words.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        let extra = usize::from(pending_space && !out.is_empty());
        if chars + extra + 1 > MAX_MODEL_WORDS {
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
        chars += extra + 1;
    }
    out
}

/// `RetryInfo.retryDelay` ("37s", "1.5s") from a 429's details.
fn retry_delay(detail: &ErrorDetail) -> Option<Duration> {
    detail.details.iter().find_map(|d| {
        let is_retry_info = d.get("@type")?.as_str()?.ends_with("google.rpc.RetryInfo");
        let delay = d.get("retryDelay")?.as_str()?.strip_suffix('s')?;
        is_retry_info
            .then(|| delay.parse::<f64>().ok())
            .flatten()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AspectRatio, ImageSize};

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    #[test]
    fn request_has_gemini_shape() {
        let input = Image {
            mime_type: "image/jpeg".into(),
            bytes: vec![1, 2, 3],
        };
        let body = request_body(
            Prompt {
                text: "a cat",
                mode: Mode::Draft,
                aspect_ratio: AspectRatio::parse("16:9").unwrap(),
                image_size: None,
                inputs: std::slice::from_ref(&input),
            },
            "1K",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "contents": [{"role": "user", "parts": [
                    {"text": "a cat"},
                    {"inline_data": {"mime_type": "image/jpeg", "data": "AQID"}}
                ]}],
                "generationConfig": {
                    "responseModalities": ["IMAGE"],
                    "imageConfig": {"aspectRatio": "16:9", "imageSize": "1K"}
                }
            })
        );
    }

    #[test]
    fn every_input_is_one_inline_part_in_order_after_the_text() {
        let inputs: Vec<Image> = (0..14u8)
            .map(|i| Image {
                mime_type: if i % 2 == 0 {
                    "image/png"
                } else {
                    "image/webp"
                }
                .into(),
                bytes: vec![i; usize::from(i) + 1],
            })
            .collect();
        let body = request_body(
            Prompt {
                text: "compose these",
                mode: Mode::Final,
                aspect_ratio: AspectRatio::DEFAULT,
                image_size: Some(ImageSize::K4),
                inputs: &inputs,
            },
            "2K",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let parts = v["contents"][0]["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 15);
        assert_eq!(parts[0], serde_json::json!({"text": "compose these"}));
        for (part, input) in parts[1..].iter().zip(&inputs) {
            assert_eq!(
                part,
                &serde_json::json!({"inline_data": {"mime_type": input.mime_type, "data": b64(&input.bytes)}})
            );
        }
        assert_eq!(v["generationConfig"]["imageConfig"]["imageSize"], "4K");
    }

    #[test]
    fn the_configured_size_is_sent_when_the_prompt_names_none() {
        let prompt = |image_size| Prompt {
            text: "a cat",
            mode: Mode::Final,
            aspect_ratio: AspectRatio::DEFAULT,
            image_size,
            inputs: &[],
        };
        let size = |body: String| {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["contents"][0]["parts"].as_array().unwrap().len(), 1);
            v["generationConfig"]["imageConfig"]["imageSize"].clone()
        };
        assert_eq!(size(request_body(prompt(None), "2K")), "2K");
        assert_eq!(size(request_body(prompt(Some(ImageSize::K1)), "2K")), "1K");
    }

    fn blocked(body: &serde_json::Value) -> String {
        match interpret(200, body.to_string().as_bytes()) {
            Outcome::Blocked(message) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_carries_the_models_own_words() {
        // The candidate's text parts, thoughts left out.
        let body = serde_json::json!({"candidates": [{"content": {"parts": [
            {"text": "weighing it", "thought": true},
            {"text": "I can't create images of real people"},
            {"text": "in that setting."}
        ]}, "finishReason": "IMAGE_SAFETY", "finishMessage": "unused"}]});
        assert_eq!(
            blocked(&body),
            "The model refused to generate this image (IMAGE_SAFETY): I can't create images of real people in that setting."
        );
        // No text part: the finish message.
        for reason in ["IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "SAFETY"] {
            let body = serde_json::json!({"candidates": [{"finishReason": reason,
                "finishMessage": "  Unable to show the generated image.\n"}]});
            assert_eq!(
                blocked(&body),
                format!(
                    "The model refused to generate this image ({reason}): Unable to show the generated image."
                )
            );
        }
        // A blocked prompt: the feedback's message.
        let body = serde_json::json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT",
            "blockReasonMessage": "The prompt names prohibited content."}});
        assert_eq!(
            blocked(&body),
            "The prompt was blocked by the model's safety filters (PROHIBITED_CONTENT): The prompt names prohibited content."
        );
        // Nothing said: today's text alone.
        let body = serde_json::json!({"candidates": [{"content": {"parts": [{"text": "  "}]}, "finishReason": "IMAGE_SAFETY"}]});
        assert_eq!(
            blocked(&body),
            "The model refused to generate this image (IMAGE_SAFETY)"
        );
        let body = serde_json::json!({"promptFeedback": {"blockReason": "SAFETY"}});
        assert_eq!(
            blocked(&body),
            "The prompt was blocked by the model's safety filters (SAFETY)"
        );
    }

    #[test]
    fn the_models_words_are_cleaned_and_cut_to_500_characters() {
        let body = serde_json::json!({"candidates": [{"content": {"parts": [
            {"text": "No.\u{0007}\r\n\tNot\u{202E} this\u{200B}\u{0000} one.  "}
        ]}, "finishReason": "IMAGE_SAFETY"}]});
        assert_eq!(
            blocked(&body),
            "The model refused to generate this image (IMAGE_SAFETY): No. Not this one."
        );
        // Multi-byte characters: cut on a character boundary, 500 of them.
        let long = "é€😀".repeat(400);
        let body = serde_json::json!({"candidates": [{"content": {"parts": [{"text": long}]},
            "finishReason": "IMAGE_PROHIBITED_CONTENT"}]});
        let message = blocked(&body);
        let words = message
            .strip_prefix("The model refused to generate this image (IMAGE_PROHIBITED_CONTENT): ")
            .unwrap();
        assert_eq!(words.chars().count(), MAX_MODEL_WORDS);
        assert!(long.starts_with(words));
    }

    #[test]
    fn images_are_read_and_thoughts_skipped() {
        let body = serde_json::json!({"candidates": [{"content": {"parts": [
            {"text": "thinking", "thought": true},
            {"inlineData": {"mimeType": "image/png", "data": b64(b"draft")}, "thought": true},
            {"text": "Here you go"},
            {"inlineData": {"mimeType": "image/png", "data": b64(b"final")}}
        ]}, "finishReason": "STOP"}]});
        match interpret(200, body.to_string().as_bytes()) {
            Outcome::Images(images) => {
                assert_eq!(images.len(), 1);
                assert_eq!(images[0].bytes, b"final");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_and_empty_answers_are_classified() {
        let prompt_block =
            serde_json::json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}});
        assert!(matches!(
            interpret(200, prompt_block.to_string().as_bytes()),
            Outcome::Blocked(_)
        ));
        for reason in [
            "SAFETY",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
            "PROHIBITED_CONTENT",
        ] {
            let body = serde_json::json!({"candidates": [{"finishReason": reason}]});
            assert!(
                matches!(
                    interpret(200, body.to_string().as_bytes()),
                    Outcome::Blocked(_)
                ),
                "{reason}"
            );
        }
        for reason in ["NO_IMAGE", "IMAGE_OTHER", "STOP"] {
            let body = serde_json::json!({"candidates": [{"content": {"parts": [{"text": "no"}]}, "finishReason": reason}]});
            assert!(
                matches!(
                    interpret(200, body.to_string().as_bytes()),
                    Outcome::NoImage(_)
                ),
                "{reason}"
            );
        }
        assert!(matches!(interpret(200, b"not json"), Outcome::NoImage(_)));
        assert!(matches!(interpret(200, b"{}"), Outcome::NoImage(_)));
    }

    #[test]
    fn http_errors_are_transient_or_final() {
        let quota = serde_json::json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]}});
        match interpret(429, quota.to_string().as_bytes()) {
            Outcome::Transient { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(37)))
            }
            other => panic!("{other:?}"),
        }
        for status in [500, 503, 504] {
            assert!(matches!(
                interpret(status, b""),
                Outcome::Transient {
                    retry_after: None,
                    ..
                }
            ));
        }
        let bad = serde_json::json!({"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}});
        match interpret(400, bad.to_string().as_bytes()) {
            Outcome::Rejected(msg) => {
                assert!(msg.contains("INVALID_ARGUMENT"));
                assert!(
                    !msg.contains("API key"),
                    "provider messages are not passed to tenants"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
