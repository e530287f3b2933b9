//! Fetching an img2img input: through the outbound guard (every redirect
//! hop re-checked, every resolved address filtered), at most 10 MB; then
//! decoding it once, bounded, off the async threads: only PNG, JPEG, WebP or
//! GIF, at most 25 megapixels and at most 128 MB of decoder memory, one
//! decode at a time per process. A small file may claim a huge canvas (a
//! 261 KB PNG of 8192×8192, 16-bit samples): its header alone refuses it,
//! before anything is allocated, so no input can exhaust the worker or slow
//! the other jobs of its batch.

use std::sync::LazyLock;
use std::time::Duration;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use tokio::sync::Semaphore;

use crate::images::Image;
use crate::netguard::{self, UrlPolicy, UrlRejected};

pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;
const MAX_REDIRECTS: usize = 3;
/// Decompression bombs: the canvas a header may claim (contract 1.1).
pub const MAX_PIXELS: u64 = 25_000_000;
/// What one decode may allocate (contract 1.1), checked against the
/// decoder's own figure before decoding and enforced by `image::Limits`.
pub const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;
/// The long side of the preview the offline renderer blends in.
pub const PREVIEW_LONG_SIDE: u32 = 1024;

/// One decode at a time in a process: a batch of five worst-case inputs
/// then needs one decoder's memory, not five.
static DECODES: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

#[derive(Debug, thiserror::Error)]
pub enum InputImageError {
    #[error("inputImageUrl {0}")]
    Refused(#[from] UrlRejected),
    #[error("inputImageUrl redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
    #[error("inputImageUrl could not be fetched ({0})")]
    Unreachable(&'static str),
    #[error("inputImageUrl answered HTTP {0}")]
    Status(u16),
    #[error("inputImageUrl is larger than 10 MB")]
    TooLarge,
    #[error("inputImageUrl is not a PNG, JPEG, WebP or GIF image")]
    NotAnImage,
    #[error(
        "inputImageUrl is {width}×{height} pixels ({megapixels} megapixels); at most 25 megapixels are accepted"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        megapixels: u64,
    },
    #[error("inputImageUrl would need {megabytes} MB to decode; at most 128 MB are accepted")]
    TooMuchMemory { megabytes: u64 },
}

/// An input as the worker uses it: the bytes to send to the model (a GIF
/// transcoded to PNG, since Gemini takes PNG, JPEG, WebP, HEIC and HEIF
/// only) and, when asked for, a small RGB preview for the offline renderer.
#[derive(Debug)]
pub struct DecodedInput {
    pub image: Image,
    pub preview: Option<RgbImage>,
}

pub struct InputFetcher {
    http: reqwest::Client,
    policy: UrlPolicy,
}

impl InputFetcher {
    pub fn new(policy: UrlPolicy) -> Result<InputFetcher, reqwest::Error> {
        Ok(InputFetcher {
            http: netguard::guarded_client(
                policy,
                Duration::from_secs(5),
                Duration::from_secs(20),
            )?,
            policy,
        })
    }

    /// Fetches and decodes an input, the decode on a blocking thread.
    pub async fn fetch_decoded(
        &self,
        raw_url: &str,
        want_preview: bool,
    ) -> Result<DecodedInput, InputImageError> {
        let bytes = self.fetch(raw_url).await?;
        decode_bounded(bytes, want_preview).await
    }

    /// The input's bytes, undecoded.
    pub async fn fetch(&self, raw_url: &str) -> Result<Vec<u8>, InputImageError> {
        let mut url = netguard::check_url(raw_url, self.policy)?;
        let mut hops = 0;
        let mut resp = loop {
            let resp = self.http.get(url.clone()).send().await.map_err(|e| {
                let timed_out = e.is_timeout();
                // Never the URL itself: its query may hold a presigned
                // signature or a token, its userinfo a password.
                tracing::info!(
                    host = url.host_str().unwrap_or("-"),
                    error = %e.without_url(),
                    "input image fetch failed"
                );
                if timed_out {
                    InputImageError::Unreachable("timed out")
                } else {
                    InputImageError::Unreachable(
                        "connection refused, or the host resolves to a forbidden address",
                    )
                }
            })?;
            if !resp.status().is_redirection() {
                break resp;
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(InputImageError::TooManyRedirects);
            }
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or(InputImageError::Unreachable(
                    "a redirect without a Location",
                ))?;
            let next = url
                .join(location)
                .map_err(|_| InputImageError::Unreachable("a redirect to an invalid URL"))?;
            url = netguard::check_url(next.as_str(), self.policy)?;
        };
        if !resp.status().is_success() {
            return Err(InputImageError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_INPUT_BYTES as u64)
        {
            return Err(InputImageError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|_| InputImageError::Unreachable("the transfer broke off"))?
        {
            if bytes.len() + chunk.len() > MAX_INPUT_BYTES {
                return Err(InputImageError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// `decode`, one at a time, on a blocking thread.
pub async fn decode_bounded(
    bytes: Vec<u8>,
    want_preview: bool,
) -> Result<DecodedInput, InputImageError> {
    // The semaphore is never closed, so acquiring cannot fail.
    let _permit = DECODES.acquire().await.ok();
    tokio::task::spawn_blocking(move || decode(bytes, want_preview))
        .await
        .unwrap_or(Err(InputImageError::NotAnImage))
}

/// Decodes an input once, within the limits: the header's dimensions and
/// the decoder's buffer size are checked before any pixel is decoded.
pub fn decode(bytes: Vec<u8>, want_preview: bool) -> Result<DecodedInput, InputImageError> {
    let (format, decoded) = decode_picture(&bytes)?;
    let preview = want_preview.then(|| preview(&decoded));
    let image = if format == ImageFormat::Gif {
        let mut png = Vec::new();
        decoded
            .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .map_err(|_| InputImageError::NotAnImage)?;
        Image {
            mime_type: "image/png".into(),
            bytes: png,
        }
    } else {
        Image {
            mime_type: media_type(format).unwrap_or("image/png").into(),
            bytes,
        }
    };
    Ok(DecodedInput { image, preview })
}

/// The media type of the formats accepted, `None` for any other.
pub fn media_type(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Png => Some("image/png"),
        ImageFormat::Jpeg => Some("image/jpeg"),
        ImageFormat::WebP => Some("image/webp"),
        ImageFormat::Gif => Some("image/gif"),
        _ => None,
    }
}

/// The format (PNG, JPEG, WebP or GIF, from the bytes, never a declared
/// type) and the width and height its header claims, within
/// `MAX_PIXELS`. Nothing is decoded.
pub fn probe(bytes: &[u8]) -> Result<(ImageFormat, u32, u32), InputImageError> {
    let format = image::guess_format(bytes).map_err(|_| InputImageError::NotAnImage)?;
    if media_type(format).is_none() {
        return Err(InputImageError::NotAnImage);
    }
    // The header alone, read without a budget: nothing is allocated for
    // pixels yet, and a canvas over 25 megapixels ends here.
    let (width, height) = ImageReader::with_format(std::io::Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| InputImageError::NotAnImage)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(InputImageError::TooManyPixels {
            width,
            height,
            megapixels: pixels.div_ceil(1_000_000),
        });
    }
    Ok((format, width, height))
}

/// The pixels of an image (a GIF's first frame), decoded within the
/// limits: `probe`'s, then `MAX_DECODE_BYTES` checked against the
/// decoder's own figure before decoding and enforced while decoding.
pub fn decode_picture(bytes: &[u8]) -> Result<(ImageFormat, DynamicImage), InputImageError> {
    let (format, _, _) = probe(bytes)?;
    let too_much_memory = |bytes: u64| InputImageError::TooMuchMemory {
        megabytes: bytes.div_ceil(1024 * 1024),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => too_much_memory(MAX_DECODE_BYTES + 1),
        _ => InputImageError::NotAnImage,
    })?;
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(too_much_memory(decoder.total_bytes()));
    }
    // A GIF's first frame; every other format's only one.
    let decoded = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => too_much_memory(MAX_DECODE_BYTES + 1),
        _ => InputImageError::NotAnImage,
    })?;
    Ok((format, decoded))
}

/// At most `PREVIEW_LONG_SIDE` on its long side, RGB: what the offline
/// renderer samples, never a full-size copy.
fn preview(decoded: &DynamicImage) -> RgbImage {
    let (w, h) = (decoded.width().max(1), decoded.height().max(1));
    if w.max(h) <= PREVIEW_LONG_SIDE {
        return decoded.to_rgb8();
    }
    decoded
        .thumbnail(PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE)
        .to_rgb8()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        let mut png = Vec::new();
        RgbImage::new(width, height)
            .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        png
    }

    #[test]
    fn only_decodable_images_pass() {
        let png = png_of(8, 8);
        assert_eq!(
            decode(png.clone(), false).unwrap().image.mime_type,
            "image/png"
        );
        assert!(matches!(
            decode(b"<html>not an image</html>".to_vec(), false),
            Err(InputImageError::NotAnImage)
        ));
        // A PNG signature with a truncated body.
        assert!(decode(png[..40].to_vec(), false).is_err());
    }

    #[test]
    fn a_gif_is_sent_as_the_png_of_its_first_frame() {
        let mut gif = Vec::new();
        RgbImage::from_pixel(4, 3, image::Rgb([200, 10, 10]))
            .write_to(&mut std::io::Cursor::new(&mut gif), ImageFormat::Gif)
            .unwrap();
        let decoded = decode(gif, true).unwrap();
        assert_eq!(decoded.image.mime_type, "image/png");
        let back =
            image::load_from_memory_with_format(&decoded.image.bytes, ImageFormat::Png).unwrap();
        assert_eq!((back.width(), back.height()), (4, 3));
        assert_eq!(decoded.preview.map(|p| p.dimensions()), Some((4, 3)));
    }

    #[test]
    fn the_preview_is_small_whatever_the_input() {
        let decoded = decode(png_of(3000, 1500), true).unwrap();
        assert_eq!(decoded.preview.map(|p| p.dimensions()), Some((1024, 512)));
        assert!(decode(png_of(3000, 1500), false).unwrap().preview.is_none());
    }

    #[tokio::test]
    async fn internal_targets_are_refused_before_connecting() {
        let fetcher = InputFetcher::new(UrlPolicy::Production).unwrap();
        for url in [
            "https://127.0.0.1/a.png",
            "https://10.0.0.1/a.png",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/a.png",
            "http://example.com/a.png",
        ] {
            assert!(
                matches!(fetcher.fetch(url).await, Err(InputImageError::Refused(_))),
                "{url}"
            );
        }
    }

    /// A log line of a failed fetch names the host, never the query (a
    /// presigned signature, a token) of the URL.
    #[tokio::test]
    async fn a_failed_fetch_logs_the_host_never_the_query() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // A port nothing listens on: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let fetcher = InputFetcher::new(UrlPolicy::Local).unwrap();
        let url = format!("http://127.0.0.1:{port}/in.png?X-Amz-Signature=s3cr3tsig&token=t0k3n");
        assert!(matches!(
            fetcher.fetch(&url).await,
            Err(InputImageError::Unreachable(_))
        ));
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("input image fetch failed"), "{logged}");
        assert!(logged.contains("127.0.0.1"), "{logged}");
        assert!(
            !logged.contains("s3cr3tsig")
                && !logged.contains("t0k3n")
                && !logged.contains("in.png?"),
            "{logged}"
        );
    }
}
