//! A local stand-in for Gemini's `generateContent` REST endpoint, speaking
//! its exact wire format, with scripted answers and faults, a seeded random
//! mix of them for load tests, and a log of every call. Tests and benchmarks
//! start one on a free port of 127.0.0.1.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::loopback::{self, Loopback};
use crate::seeded::{self, SeededRng};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with one PNG image part (and a thought part before it, to be
    /// skipped).
    Image(Vec<u8>),
    /// 200 with one image part of this media type (e.g. a JPEG answer), the
    /// same thought parts before it.
    ImageAs { mime: String, bytes: Vec<u8> },
    /// 200 with one candidate with a text part (the model's own words), this
    /// `finishReason` (e.g. `IMAGE_SAFETY`) and no image.
    Refused { finish_reason: String, text: String },
    /// 200 with `promptFeedback.blockReason` and no candidates.
    PromptBlocked(String),
    /// 200 with one candidate with this `finishReason` and no image.
    Finish(String),
    /// An error status with Gemini's error body; `retry_delay` adds RetryInfo.
    Error {
        status: u16,
        retry_delay: Option<String>,
    },
    /// Answers `then` after a delay (for timeouts).
    Slow(Duration, Box<Reply>),
}

/// What a call carried, and what it was answered.
#[derive(Clone, Debug)]
pub struct Call {
    pub path: String,
    pub api_key: Option<String>,
    pub body: Value,
    pub reply: Reply,
}

impl Call {
    /// The prompt: the request's first text part.
    pub fn prompt(&self) -> Option<&str> {
        prompt_of(&self.body)
    }

    /// The request's parts in order: `Ok(text)` for a text part,
    /// `Err((mime_type, decoded bytes))` for an `inline_data` part.
    pub fn parts(&self) -> Vec<Result<String, (String, Vec<u8>)>> {
        self.body["contents"][0]["parts"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|part| match part["text"].as_str() {
                Some(text) => Ok(text.to_string()),
                None => {
                    let data = &part["inline_data"];
                    Err((
                        data["mime_type"].as_str().unwrap_or_default().to_string(),
                        STANDARD
                            .decode(data["data"].as_str().unwrap_or_default())
                            .unwrap_or_default(),
                    ))
                }
            })
            .collect()
    }

    /// The request's `inline_data` parts (mime type, decoded bytes), in order.
    pub fn inline_images(&self) -> Vec<(String, Vec<u8>)> {
        self.parts().into_iter().filter_map(Result::err).collect()
    }

    /// `generationConfig.imageConfig`, e.g. `{"aspectRatio": "1:1", "imageSize": "4K"}`.
    pub fn image_config(&self) -> &Value {
        &self.body["generationConfig"]["imageConfig"]
    }
}

fn prompt_of(body: &Value) -> Option<&str> {
    body["contents"][0]["parts"]
        .as_array()?
        .iter()
        .find_map(|part| part["text"].as_str())
}

/// A seeded, weighted choice among replies, for load tests. A call's reply
/// is drawn from the seed, its prompt and how many calls that prompt made
/// before, so each job meets the same faults in the same order whatever
/// order the calls of concurrent jobs arrive in, and a run can be replayed
/// from its seed.
#[derive(Clone, Debug)]
pub struct Mix {
    seed: u64,
    choices: Vec<(Reply, u64)>,
}

impl Mix {
    pub fn new(seed: u64) -> Mix {
        Mix {
            seed,
            choices: Vec::new(),
        }
    }

    /// Adds `reply`, drawn with `weight` relative to the others.
    #[must_use]
    pub fn with(mut self, weight: u64, reply: Reply) -> Mix {
        self.choices.push((reply, weight));
        self
    }

    /// The reply to the `nth` call (from 0) carrying `prompt`.
    fn draw(&self, prompt: &str, nth: u64) -> Option<Reply> {
        let seed = seeded::mix(self.seed ^ seeded::hash_str(prompt)) ^ nth;
        SeededRng::new(seed).weighted(&self.choices).cloned()
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    mix: Option<Mix>,
    fallback: Option<Reply>,
    calls: Vec<Call>,
    /// Calls so far per prompt, for `Mix`.
    calls_per_prompt: HashMap<String, u64>,
}

impl State {
    /// The script first, then the mix, then the fixed answer, then a PNG.
    fn next_reply(&mut self, prompt: &str) -> Reply {
        let nth = self.calls_per_prompt.entry(prompt.to_string()).or_default();
        let drawn = self.mix.as_ref().and_then(|m| m.draw(prompt, *nth));
        *nth += 1;
        self.script
            .pop_front()
            .or(drawn)
            .or_else(|| self.fallback.clone())
            .unwrap_or_else(|| Reply::Image(tiny_png()))
    }
}

pub struct FakeGemini {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    _server: Loopback,
}

impl FakeGemini {
    /// Starts on a free loopback port. Without a script it answers with a
    /// small PNG.
    pub async fn start() -> std::io::Result<FakeGemini> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Loopback::http(move |req| {
            let state = shared.clone();
            async move { answer(&state, req).await }
        })
        .await?;
        Ok(FakeGemini {
            base_url: server.base_url(),
            state,
            _server: server,
        })
    }

    /// Answers the next calls with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// Answers every call after the script with this reply.
    pub fn always(&self, reply: Reply) {
        self.lock().fallback = Some(reply);
    }

    /// Answers every call after the script from this mix.
    pub fn mix(&self, mix: Mix) {
        self.lock().mix = Some(mix);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A tiny valid PNG (1×1, red) for default answers.
pub fn tiny_png() -> Vec<u8> {
    crate::pictures::png(image::RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 0])))
}

async fn answer(
    state: &Mutex<State>,
    req: hyper::Request<hyper::body::Incoming>,
) -> loopback::Response {
    let path = req.uri().path().to_string();
    let api_key = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = loopback::body_of(req).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let reply = st.next_reply(prompt_of(&body).unwrap_or_default());
        st.calls.push(Call {
            path,
            api_key,
            body,
            reply: reply.clone(),
        });
        reply
    };
    render(reply).await
}

async fn render(mut reply: Reply) -> loopback::Response {
    while let Reply::Slow(delay, then) = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    let image_answer = |mime: &str, bytes: &[u8]| {
        json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Drafting the composition.", "thought": true},
                    {"inlineData": {"mimeType": "image/png", "data": STANDARD.encode(tiny_png())}, "thought": true},
                    {"inlineData": {"mimeType": mime, "data": STANDARD.encode(bytes)}}
                ]},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302},
            "modelVersion": "fake"
        })
    };
    let (status, body) = match reply {
        Reply::Image(bytes) => (200, image_answer("image/png", &bytes)),
        Reply::ImageAs { mime, bytes } => (200, image_answer(&mime, &bytes)),
        Reply::Refused {
            finish_reason,
            text,
        } => (
            200,
            json!({"candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Considering the request.", "thought": true},
                    {"text": text}
                ]},
                "finishReason": finish_reason,
                "index": 0
            }], "modelVersion": "fake"}),
        ),
        Reply::PromptBlocked(reason) => (200, json!({"promptFeedback": {"blockReason": reason}})),
        Reply::Finish(reason) => (
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": reason, "index": 0}]}),
        ),
        Reply::Error {
            status,
            retry_delay,
        } => {
            let status_name = match status {
                400 => "INVALID_ARGUMENT",
                403 => "PERMISSION_DENIED",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                504 => "DEADLINE_EXCEEDED",
                _ => "INTERNAL",
            };
            let mut details = Vec::new();
            if let Some(delay) = retry_delay {
                details.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}));
            }
            (
                status,
                json!({"error": {"code": status, "message": "fake failure", "status": status_name, "details": details}}),
            )
        }
        Reply::Slow(..) => unreachable!("unwrapped above"),
    };
    let mut resp = loopback::respond(status, body.to_string());
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(reply: &Reply) -> &'static str {
        match reply {
            Reply::Image(_) => "image",
            Reply::Error { .. } => "error",
            _ => "other",
        }
    }

    #[test]
    fn a_mix_answers_a_prompt_the_same_way_in_any_order() {
        let mix = Mix::new(42).with(1, Reply::Image(Vec::new())).with(
            1,
            Reply::Error {
                status: 503,
                retry_delay: None,
            },
        );
        let draws = |order: &[usize]| {
            let mut got: Vec<(usize, &'static str)> = order
                .iter()
                .map(|&i| (i, kind(&mix.draw(&format!("job {i}"), 0).unwrap())))
                .collect();
            got.sort_unstable();
            got
        };
        let forward: Vec<usize> = (0..200).collect();
        let backward: Vec<usize> = (0..200).rev().collect();
        let drawn = draws(&forward);
        assert_eq!(drawn, draws(&backward));
        let images = drawn.iter().filter(|(_, k)| *k == "image").count();
        assert!(
            (60..=140).contains(&images),
            "weights 1:1, got {images} of 200"
        );
    }

    /// The replies the system tests script, as the real client reads them,
    /// and the request as the fake logs it.
    #[tokio::test]
    async fn scripted_answers_reach_the_client_as_gemini_would_send_them() {
        use shared::domain::{AspectRatio, ImageSize, Mode};
        use shared::images::gemini::{GeminiClient, GeminiConfig, Models};
        use shared::images::{Image, Outcome, Prompt};

        let fake = FakeGemini::start().await.unwrap();
        let client = GeminiClient::new(GeminiConfig {
            base_url: fake.base_url.clone(),
            api_key: "k".into(),
            models: Models::default(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        })
        .unwrap();
        let jpeg = b"\xFF\xD8\xFFnot really".to_vec();
        fake.script([
            Reply::ImageAs {
                mime: "image/jpeg".into(),
                bytes: jpeg.clone(),
            },
            Reply::Refused {
                finish_reason: "IMAGE_SAFETY".into(),
                text: "I can't draw that.".into(),
            },
        ]);
        let inputs = [
            Image {
                mime_type: "image/png".into(),
                bytes: vec![1, 2],
            },
            Image {
                mime_type: "image/webp".into(),
                bytes: vec![3],
            },
        ];
        let prompt = Prompt {
            text: "a cat",
            mode: Mode::Final,
            aspect_ratio: AspectRatio::DEFAULT,
            image_size: Some(ImageSize::K4),
            inputs: &inputs,
        };
        match client.generate(prompt).await.outcome {
            Outcome::Images(images) => {
                assert_eq!(images.len(), 1);
                assert_eq!(images[0].mime_type, "image/jpeg");
                assert_eq!(images[0].bytes, jpeg);
            }
            other => panic!("{other:?}"),
        }
        match client.generate(prompt).await.outcome {
            Outcome::Blocked(message) => assert_eq!(
                message,
                "The model refused to generate this image (IMAGE_SAFETY): I can't draw that."
            ),
            other => panic!("{other:?}"),
        }
        let call = &fake.calls()[0];
        assert_eq!(call.prompt(), Some("a cat"));
        assert_eq!(call.image_config()["imageSize"], "4K");
        assert_eq!(
            call.inline_images(),
            vec![
                ("image/png".to_string(), vec![1, 2]),
                ("image/webp".to_string(), vec![3])
            ]
        );
        assert!(matches!(call.parts()[0], Ok(ref t) if t == "a cat"));
    }

    #[test]
    fn the_script_comes_before_the_mix() {
        let mut state = State {
            mix: Some(Mix::new(1).with(1, Reply::Finish("NO_IMAGE".into()))),
            ..State::default()
        };
        state
            .script
            .push_back(Reply::PromptBlocked("SAFETY".into()));
        assert!(matches!(state.next_reply("p"), Reply::PromptBlocked(_)));
        assert!(matches!(state.next_reply("p"), Reply::Finish(_)));
    }
}
