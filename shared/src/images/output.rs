//! The stored results: each image encoded as the job's `outputFormat`
//! (PNG, JPEG or WebP; `outputQuality` for the lossy two). The model's
//! answer is converted only when it is in another format, decoded within
//! the same limits as an input (`input::decode_picture`: 25 megapixels,
//! 128 MB; a 4K answer is 16.8 megapixels); an answer already in the
//! requested format is stored as it came, its dimensions read from its
//! header.
//!
//! Lossy WebP is libwebp's (the `webp` crate, built from C): the `image`
//! crate encodes WebP losslessly only. JPEG is `image`'s encoder.
//!
//! Conversions run on a blocking thread, one at a time per process
//! (`encode_bounded`, `convert_bounded`): a 4K picture is 50 MB of RGB and
//! a worst-case answer 100 MB decoded, so the images of a batch, or of a
//! job with `numberOfImages: 4`, take turns instead of adding up.

use std::io::Cursor;
use std::sync::LazyLock;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageFormat};
use tokio::sync::Semaphore;

use crate::domain::OutputFormat;
use crate::images::Image;
use crate::images::input::{self, InputImageError};

/// One stored result: its bytes (with the format's media type) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub image: Image,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("The model's answer is not a PNG, JPEG, WebP or GIF image")]
    NotAnImage,
    #[error("The model's answer is too large to convert ({0})")]
    TooLarge(String),
    #[error("The image could not be encoded as {format} ({reason})")]
    Encode {
        format: &'static str,
        reason: String,
    },
}

impl From<InputImageError> for OutputError {
    fn from(e: InputImageError) -> Self {
        match e {
            InputImageError::TooManyPixels {
                width,
                height,
                megapixels,
            } => OutputError::TooLarge(format!("{width}×{height}, {megapixels} megapixels")),
            InputImageError::TooMuchMemory { megabytes } => {
                OutputError::TooLarge(format!("{megabytes} MB to decode"))
            }
            _ => OutputError::NotAnImage,
        }
    }
}

/// One conversion at a time in a process.
static CONVERSIONS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

/// `picture` encoded as `format`; `quality` (1–100) is used by JPEG and
/// WebP only.
pub fn encode(
    picture: &DynamicImage,
    format: OutputFormat,
    quality: u8,
) -> Result<Encoded, OutputError> {
    let quality = quality.clamp(1, 100);
    let (width, height) = (picture.width(), picture.height());
    let failed = |reason: String| OutputError::Encode {
        format: format.as_str(),
        reason,
    };
    let mut bytes = Vec::new();
    match format {
        OutputFormat::Png => {
            let encoder = PngEncoder::new(Cursor::new(&mut bytes));
            eight_bit(picture)
                .write_with_encoder(encoder)
                .map_err(|e| failed(e.to_string()))?;
        }
        OutputFormat::Jpeg => {
            // JPEG has no alpha channel: dropped. (`write_with_encoder`, not
            // the generic `encode_image`: the codec's own code, compiled
            // with its optimisation even in debug builds.)
            let rgb = match picture {
                DynamicImage::ImageRgb8(_) => std::borrow::Cow::Borrowed(picture),
                other => std::borrow::Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
            };
            rgb.write_with_encoder(JpegEncoder::new_with_quality(
                Cursor::new(&mut bytes),
                quality,
            ))
            .map_err(|e| failed(e.to_string()))?;
        }
        OutputFormat::Webp => {
            let picture = eight_bit(picture);
            let encoder = match picture.as_ref() {
                DynamicImage::ImageRgb8(rgb) => webp::Encoder::from_rgb(rgb, width, height),
                DynamicImage::ImageRgba8(rgba) => webp::Encoder::from_rgba(rgba, width, height),
                _ => unreachable!("eight_bit gives RGB or RGBA"),
            };
            let memory = encoder
                .encode_simple(false, f32::from(quality))
                .map_err(|e| failed(format!("{e:?}")))?;
            bytes.extend_from_slice(&memory);
        }
    }
    Ok(Encoded {
        image: Image {
            mime_type: format.content_type().into(),
            bytes,
        },
        width,
        height,
    })
}

/// 8-bit RGB, or RGBA when the picture has an alpha channel: what the
/// encoders take (and what a result needs; 16-bit samples only double it).
fn eight_bit(picture: &DynamicImage) -> std::borrow::Cow<'_, DynamicImage> {
    match picture {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            std::borrow::Cow::Borrowed(picture)
        }
        other if other.color().has_alpha() => {
            std::borrow::Cow::Owned(DynamicImage::ImageRgba8(other.to_rgba8()))
        }
        other => std::borrow::Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

fn format_of(format: OutputFormat) -> ImageFormat {
    match format {
        OutputFormat::Png => ImageFormat::Png,
        OutputFormat::Jpeg => ImageFormat::Jpeg,
        OutputFormat::Webp => ImageFormat::WebP,
    }
}

/// The model's answer as `format`: kept byte for byte when it already is
/// one (by its bytes, not its declared type), otherwise decoded within the
/// limits and encoded.
pub fn convert(answer: Image, format: OutputFormat, quality: u8) -> Result<Encoded, OutputError> {
    let answer = match keep_as_is(answer, format)? {
        Ok(kept) => return Ok(kept),
        Err(answer) => answer,
    };
    let (_, picture) = input::decode_picture(&answer.bytes)?;
    drop(answer);
    encode(&picture, format, quality)
}

/// `Ok(Ok(…))` when the answer already is `format`: its bytes (moved, not
/// copied) and header size; `Ok(Err(answer))` when it must be converted.
fn keep_as_is(answer: Image, format: OutputFormat) -> Result<Result<Encoded, Image>, OutputError> {
    let (actual, width, height) = input::probe(&answer.bytes)?;
    if actual != format_of(format) {
        return Ok(Err(answer));
    }
    Ok(Ok(Encoded {
        image: Image {
            mime_type: format.content_type().into(),
            bytes: answer.bytes,
        },
        width,
        height,
    }))
}

/// `encode` on a blocking thread, one conversion at a time per process.
pub async fn encode_bounded(
    picture: DynamicImage,
    format: OutputFormat,
    quality: u8,
) -> Result<Encoded, OutputError> {
    // The semaphore is never closed, so acquiring cannot fail.
    let _permit = CONVERSIONS.acquire().await.ok();
    tokio::task::spawn_blocking(move || encode(&picture, format, quality))
        .await
        .unwrap_or_else(|e| {
            Err(OutputError::Encode {
                format: format.as_str(),
                reason: e.to_string(),
            })
        })
}

/// `convert` on a blocking thread, one conversion at a time per process;
/// an answer already in `format` is only probed, on the caller's thread.
pub async fn convert_bounded(
    answer: Image,
    format: OutputFormat,
    quality: u8,
) -> Result<Encoded, OutputError> {
    let answer = match keep_as_is(answer, format)? {
        Ok(kept) => return Ok(kept),
        Err(answer) => answer,
    };
    let _permit = CONVERSIONS.acquire().await.ok();
    tokio::task::spawn_blocking(move || convert(answer, format, quality))
        .await
        .unwrap_or_else(|e| {
            Err(OutputError::Encode {
                format: format.as_str(),
                reason: e.to_string(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AspectRatio, ImageSize, Mode};
    use crate::images::{Prompt, offline};

    fn picture(text: &str, index: u32) -> DynamicImage {
        offline::render(
            Prompt {
                text,
                mode: Mode::Draft,
                aspect_ratio: AspectRatio::parse("16:9").unwrap(),
                image_size: Some(ImageSize::K1),
                inputs: &[],
            },
            index,
            &[],
        )
    }

    fn is_webp(bytes: &[u8]) -> bool {
        bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP"
    }

    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

    #[test]
    fn webp_results_are_real_webp_of_the_pictures_size() {
        for index in 0..3 {
            let picture = picture("three webp", index);
            let encoded = encode(&picture, OutputFormat::Webp, 80).unwrap();
            assert_eq!(encoded.image.mime_type, "image/webp");
            assert!(is_webp(&encoded.image.bytes), "index {index}");
            assert_eq!((encoded.width, encoded.height), (1024, 576));
            let back = image::load_from_memory_with_format(&encoded.image.bytes, ImageFormat::WebP)
                .unwrap();
            assert_eq!((back.width(), back.height()), (1024, 576));
        }
    }

    #[test]
    fn lossy_quality_changes_the_size() {
        let picture = picture("quality", 0);
        for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
            let low = encode(&picture, format, 30).unwrap();
            let high = encode(&picture, format, 95).unwrap();
            assert!(
                low.image.bytes.len() < high.image.bytes.len(),
                "{format:?}: {} at 30, {} at 95",
                low.image.bytes.len(),
                high.image.bytes.len()
            );
        }
        let jpeg = encode(&picture, OutputFormat::Jpeg, 30).unwrap();
        assert_eq!(&jpeg.image.bytes[..3], b"\xFF\xD8\xFF");
        assert_eq!(jpeg.image.mime_type, "image/jpeg");
    }

    #[test]
    fn a_jpeg_answer_stored_as_png_is_a_real_png() {
        let jpeg = encode(&picture("jpeg answer", 0), OutputFormat::Jpeg, 90)
            .unwrap()
            .image;
        let png = convert(jpeg, OutputFormat::Png, 90).unwrap();
        assert_eq!(png.image.mime_type, "image/png");
        assert!(png.image.bytes.starts_with(PNG_MAGIC));
        assert_eq!((png.width, png.height), (1024, 576));
        let back = image::load_from_memory_with_format(&png.image.bytes, ImageFormat::Png).unwrap();
        assert_eq!((back.width(), back.height()), (1024, 576));
    }

    #[test]
    fn an_answer_in_the_wanted_format_is_kept_byte_for_byte() {
        let png = encode(&picture("kept", 0), OutputFormat::Png, 90)
            .unwrap()
            .image;
        // Declared as JPEG, but the bytes decide.
        let answer = Image {
            mime_type: "image/jpeg".into(),
            bytes: png.bytes.clone(),
        };
        let kept = convert(answer, OutputFormat::Png, 90).unwrap();
        assert_eq!(kept.image, png);
        assert_eq!((kept.width, kept.height), (1024, 576));
    }

    #[test]
    fn alpha_and_sixteen_bit_pictures_encode_in_every_format() {
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            6,
            4,
            image::Rgba([10, 20, 30, 128]),
        ));
        let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
            6,
            4,
            image::Rgb([1000u16, 2000, 3000]),
        ));
        for picture in [rgba, deep] {
            for format in OutputFormat::ALL {
                let encoded = encode(&picture, format, 90).unwrap();
                let back = image::load_from_memory(&encoded.image.bytes).unwrap();
                assert_eq!((back.width(), back.height()), (6, 4), "{format:?}");
            }
        }
    }

    #[test]
    fn answers_that_are_not_images_or_too_large_are_refused() {
        let junk = Image {
            mime_type: "image/png".into(),
            bytes: b"<html>no</html>".to_vec(),
        };
        assert!(matches!(
            convert(junk, OutputFormat::Webp, 90),
            Err(OutputError::NotAnImage)
        ));
        let bomb = Image {
            mime_type: "image/png".into(),
            bytes: testkit_free_bomb(),
        };
        assert!(matches!(
            convert(bomb, OutputFormat::Jpeg, 90),
            Err(OutputError::TooLarge(_))
        ));
    }

    /// A PNG whose header claims 8192×8192 (67 megapixels): a real 8×8 one
    /// with its IHDR rewritten (and its CRC recomputed).
    fn testkit_free_bomb() -> Vec<u8> {
        let mut png = encode(
            &DynamicImage::ImageRgb8(image::RgbImage::new(8, 8)),
            OutputFormat::Png,
            90,
        )
        .unwrap()
        .image
        .bytes;
        // Signature (8), length (4), "IHDR" (4), width, height.
        png[16..20].copy_from_slice(&8192u32.to_be_bytes());
        png[20..24].copy_from_slice(&8192u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[tokio::test]
    async fn the_bounded_wrappers_convert_too() {
        let picture = picture("bounded", 1);
        let webp = encode_bounded(picture.clone(), OutputFormat::Webp, 50)
            .await
            .unwrap();
        assert!(is_webp(&webp.image.bytes));
        let jpeg = convert_bounded(webp.image, OutputFormat::Jpeg, 50)
            .await
            .unwrap();
        assert_eq!((jpeg.width, jpeg.height), (1024, 576));
        let kept = convert_bounded(jpeg.image.clone(), OutputFormat::Jpeg, 10)
            .await
            .unwrap();
        assert_eq!(kept.image, jpeg.image);
    }
}
