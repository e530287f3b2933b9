//! Gemini's `generateContent` over REST: `POST
//! {base}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
//! Only the fields we use are modelled; unknown ones are ignored, since
//! Google adds fields often.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::domain::Mode;
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

    pub async fn generate(&self, prompt: Prompt<'_>) -> Outcome {
        let (model, size) = self.config.models.for_mode(prompt.mode);
        let url = format!(
            "{}/v1beta/models/{model}:generateContent",
            self.config.base_url.trim_end_matches('/')
        );
        let body = request_body(prompt, size);
        let sent = self
            .http
            .post(&url)
            .header("x-goog-api-key", &self.config.api_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(e) => return transport_failure(&e),
        };
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
                        return Outcome::NoImage("The model's answer was too large".into());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return transport_failure(&e),
            }
        }
        interpret(status, &bytes)
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

/// The JSON body of a `generateContent` call.
pub fn request_body(prompt: Prompt<'_>, image_size: &str) -> String {
    let mut parts = vec![RequestPart::Text { text: prompt.text }];
    if let Some(input) = prompt.input_image {
        parts.push(RequestPart::InlineData {
            inline_data: InlineDataOut {
                mime_type: input.mime_type.clone(),
                data: STANDARD.encode(&input.bytes),
            },
        });
    }
    let req = Request {
        contents: [Content {
            role: "user",
            parts,
        }],
        generation_config: GenerationConfig {
            response_modalities: ["IMAGE"],
            image_config: ImageConfig {
                aspect_ratio: prompt.aspect_ratio.as_str(),
                image_size,
            },
        },
    };
    serde_json::to_string(&req).unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<ResponseContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseContent {
    #[serde(default)]
    parts: Vec<ResponsePart>,
}

#[derive(Deserialize)]
struct ResponsePart {
    #[serde(rename = "inlineData", alias = "inline_data")]
    inline_data: Option<InlineDataIn>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
struct InlineDataIn {
    #[serde(rename = "mimeType", alias = "mime_type")]
    mime_type: String,
    data: String,
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

/// Turns an HTTP status and body into an outcome. Public for the tests and
/// the benchmark, which feed it recorded answers.
pub fn interpret(status: u16, body: &[u8]) -> Outcome {
    if status != 200 {
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
        return match status {
            429 | 500 | 502 | 503 | 504 | 408 => Outcome::Transient {
                reason: format!("The image provider is unavailable (HTTP {status})"),
                retry_after: detail.as_ref().and_then(retry_delay),
            },
            _ => Outcome::Rejected(format!(
                "The image provider rejected the request (HTTP {status}{}{provider_status})",
                if provider_status.is_empty() { "" } else { " " }
            )),
        };
    }
    let response: Response = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(_) => return Outcome::NoImage("The model's answer could not be read".into()),
    };
    let mut finish_reason = None;
    for candidate in response.candidates {
        if finish_reason.is_none() {
            finish_reason = candidate.finish_reason.clone();
        }
        let mut images = Vec::new();
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
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
    if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
        return Outcome::Blocked(format!(
            "The prompt was blocked by the model's safety filters ({reason})"
        ));
    }
    match finish_reason.as_deref() {
        Some(r) if BLOCKING_REASONS.contains(&r) => {
            Outcome::Blocked(format!("The model refused to generate this image ({r})"))
        }
        Some(r @ ("NO_IMAGE" | "IMAGE_OTHER")) => {
            Outcome::NoImage(format!("The model returned no image ({r})"))
        }
        Some(r) => Outcome::NoImage(format!("The model returned no image (finish reason {r})")),
        None => Outcome::NoImage("The model returned no image".into()),
    }
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
    use crate::domain::AspectRatio;

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
                input_image: Some(&input),
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
