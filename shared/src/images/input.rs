//! Fetching an img2img input: through the outbound guard (every redirect
//! hop re-checked, every resolved address filtered), at most 10 MB, and only
//! if it decodes as PNG, JPEG, WebP or GIF.

use std::time::Duration;

use image::{ImageFormat, ImageReader, Limits};

use crate::images::Image;
use crate::netguard::{self, UrlPolicy, UrlRejected};

pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;
const MAX_REDIRECTS: usize = 3;
/// Decompression bombs: a small file may claim a huge canvas.
const MAX_DIMENSION: u32 = 8192;

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

    pub async fn fetch(&self, raw_url: &str) -> Result<Image, InputImageError> {
        let mut url = netguard::check_url(raw_url, self.policy)?;
        let mut hops = 0;
        let mut resp = loop {
            let resp = self.http.get(url.clone()).send().await.map_err(|e| {
                tracing::info!(error = %e, "input image fetch failed");
                if e.is_timeout() {
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
        let mime_type = validate_image(&bytes)?;
        Ok(Image {
            mime_type: mime_type.to_string(),
            bytes,
        })
    }
}

/// The image's MIME type if it fully decodes as one of the accepted formats.
pub fn validate_image(bytes: &[u8]) -> Result<&'static str, InputImageError> {
    let format = image::guess_format(bytes).map_err(|_| InputImageError::NotAnImage)?;
    let mime = match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::WebP => "image/webp",
        ImageFormat::Gif => "image/gif",
        _ => return Err(InputImageError::NotAnImage),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| InputImageError::NotAnImage)?;
    Ok(mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decodable_images_pass() {
        let png = crate::images::offline::render(crate::images::Prompt {
            text: "x",
            mode: crate::domain::Mode::Draft,
            aspect_ratio: crate::domain::AspectRatio::DEFAULT,
            input_image: None,
        });
        assert_eq!(validate_image(&png.bytes).unwrap(), "image/png");
        assert!(validate_image(b"<html>not an image</html>").is_err());
        // A PNG signature with a truncated body.
        assert!(validate_image(&png.bytes[..100]).is_err());
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
}
