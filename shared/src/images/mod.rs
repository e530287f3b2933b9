//! Image generation: the Gemini REST client for live keys, the offline
//! renderer for test keys, the guarded fetch of reference images, and the
//! bounded conversion of results to the requested output format. Both
//! generators answer with the same `Outcome`, so the worker treats them alike.

pub mod gemini;
pub mod input;
pub mod offline;
pub mod output;

use std::time::Duration;

/// Building an outbound HTTP client failed (no TLS roots, bad settings).
pub use reqwest::Error as HttpClientError;

use crate::domain::{AspectRatio, ImageSize, Mode};

/// Bytes of one image, as produced or fetched.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}, {} bytes)", self.mime_type, self.bytes.len())
    }
}

impl Image {
    /// The file extension results are stored under.
    pub fn extension(&self) -> &'static str {
        match self.mime_type.as_str() {
            "image/jpeg" => "jpg",
            "image/webp" => "webp",
            "image/gif" => "gif",
            _ => "png",
        }
    }
}

/// What to generate: one provider call, one image.
#[derive(Clone, Copy, Debug)]
pub struct Prompt<'a> {
    pub text: &'a str,
    pub mode: Mode,
    pub aspect_ratio: AspectRatio,
    /// `None`: the size configured for the mode (by default the contract's
    /// 1K for drafts, 2K for finals).
    pub image_size: Option<ImageSize>,
    /// The reference images, in order; each becomes one `inline_data` part
    /// after the text. Empty for text-to-image.
    pub inputs: &'a [Image],
}

/// How one generation attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Images(Vec<Image>),
    /// The model refused (safety or policy): `CONTENT_BLOCKED`.
    Blocked(String),
    /// The model answered without a usable image: `GENERATION_FAILED`.
    NoImage(String),
    /// Worth another attempt later (429, 5xx, timeout, connection error).
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider refused the request itself (other 4xx): final.
    Rejected(String),
}
