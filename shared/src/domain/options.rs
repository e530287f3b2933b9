//! The 1.1 generation options of a job (`imageSize`, `numberOfImages`,
//! `outputFormat`, `outputQuality`), the input images it names, and the
//! images it produced. Pure data: the submit validation reads them, the
//! store keeps them, the worker obeys them, the views show them.

use serde::Serialize;

use crate::domain::Mode;

/// `imageSize`: Gemini's `generationConfig.imageConfig.imageSize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ImageSize {
    #[serde(rename = "1K")]
    K1,
    #[serde(rename = "2K")]
    K2,
    #[serde(rename = "4K")]
    K4,
}

impl ImageSize {
    pub const ALL: [ImageSize; 3] = [ImageSize::K1, ImageSize::K2, ImageSize::K4];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::K1 => "1K",
            ImageSize::K2 => "2K",
            ImageSize::K4 => "4K",
        }
    }

    /// Exact, as Gemini spells them (an upper-case `K`).
    pub fn parse(s: &str) -> Option<ImageSize> {
        ImageSize::ALL.into_iter().find(|size| size.as_str() == s)
    }

    /// The contract's default for a mode when the request names none.
    pub fn default_for(mode: Mode) -> ImageSize {
        match mode {
            Mode::Draft => ImageSize::K1,
            Mode::Final => ImageSize::K2,
        }
    }

    /// The long side test mode renders at.
    pub fn long_side(self) -> u32 {
        match self {
            ImageSize::K1 => 1024,
            ImageSize::K2 => 2048,
            ImageSize::K4 => 4096,
        }
    }
}

/// `outputFormat`: what the results are stored as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Png,
    Jpeg,
    Webp,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Png, OutputFormat::Jpeg, OutputFormat::Webp];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Webp => "webp",
        }
    }

    pub fn parse(s: &str) -> Option<OutputFormat> {
        OutputFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The stored object's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Webp => "image/webp",
        }
    }

    /// The stored object's file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Webp => "webp",
        }
    }

    /// Whether `outputQuality` means anything for it.
    pub fn is_lossy(self) -> bool {
        !matches!(self, OutputFormat::Png)
    }
}

/// `numberOfImages`: 1 to 4 (contract 1.1).
pub const NUMBER_OF_IMAGES: std::ops::RangeInclusive<u8> = 1..=4;
/// `outputQuality`: 1 to 100, 90 when not given.
pub const OUTPUT_QUALITY: std::ops::RangeInclusive<u8> = 1..=100;
pub const DEFAULT_OUTPUT_QUALITY: u8 = 90;

/// A job's generation options, as accepted (defaults applied, except the
/// image size, whose default is the deployment's per mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerationOptions {
    /// `None`: the mode's configured size (the contract's default 1K / 2K).
    pub image_size: Option<ImageSize>,
    pub number_of_images: u8,
    pub output_format: OutputFormat,
    /// `None`: 90 for jpeg and webp; always `None` for png.
    pub output_quality: Option<u8>,
}

impl Default for GenerationOptions {
    fn default() -> Self {
        GenerationOptions {
            image_size: None,
            number_of_images: 1,
            output_format: OutputFormat::Png,
            output_quality: None,
        }
    }
}

impl GenerationOptions {
    /// The encoder quality for the lossy formats.
    pub fn quality(&self) -> u8 {
        self.output_quality.unwrap_or(DEFAULT_OUTPUT_QUALITY)
    }

    /// The size the job is generated at, by the contract's defaults.
    pub fn image_size_for(&self, mode: Mode) -> ImageSize {
        self.image_size.unwrap_or(ImageSize::default_for(mode))
    }
}

/// The media types a `data:` input may have (contract 1.1).
pub const DATA_URL_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];
/// At most this many bytes decoded per `data:` input (3 MB).
pub const MAX_DATA_URL_BYTES: usize = 3_000_000;
/// At most this many input images (`inputImageUrls`).
pub const MAX_INPUT_IMAGES: usize = 14;
/// All inputs of one job together, decoded (Gemini's inline limit is 20 MB).
pub const MAX_TOTAL_INPUT_BYTES: usize = 14_000_000;

/// Where generate stores a `data:` input, in the results bucket, so the
/// job item and the queue message carry a key, never the image. Expired
/// with the results (the bucket's lifecycle rule for `inputs/`).
pub fn input_key(tenant_id: &str, job_id: &str, index: usize, media_type: &str) -> String {
    let extension = match media_type {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        _ => "png",
    };
    format!("{INPUT_KEY_PREFIX}{tenant_id}/{job_id}/{index}.{extension}")
}

/// A job's input reference that is a stored `data:` image, not a URL.
pub const INPUT_KEY_PREFIX: &str = "inputs/";

/// Whether a job's input reference is a key in the results bucket (an
/// uploaded `data:` URL) rather than a URL to fetch. URLs always start
/// with their scheme, so the two never overlap.
pub fn is_stored_input(reference: &str) -> bool {
    reference.starts_with(INPUT_KEY_PREFIX)
}

/// One stored result image, as the job view's `images` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultImage {
    /// Its place among the job's images (0-based), also in its object key.
    pub index: u32,
    pub url: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_formats_are_spelled_as_the_contract_spells_them() {
        for size in ImageSize::ALL {
            assert_eq!(ImageSize::parse(size.as_str()), Some(size));
            assert_eq!(
                serde_json::to_value(size).unwrap(),
                serde_json::json!(size.as_str())
            );
        }
        assert_eq!(ImageSize::parse("1k"), None);
        for format in OutputFormat::ALL {
            assert_eq!(OutputFormat::parse(format.as_str()), Some(format));
        }
        assert_eq!(OutputFormat::parse("jpg"), None);
        assert_eq!(ImageSize::default_for(Mode::Draft), ImageSize::K1);
        assert_eq!(ImageSize::default_for(Mode::Final), ImageSize::K2);
    }

    #[test]
    fn stored_inputs_are_told_apart_from_urls() {
        let key = input_key("t1", "j1", 2, "image/jpeg");
        assert_eq!(key, "inputs/t1/j1/2.jpg");
        assert!(is_stored_input(&key));
        assert!(!is_stored_input("https://example.com/inputs/a.png"));
    }
}
