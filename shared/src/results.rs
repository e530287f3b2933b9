//! Result images in S3, and the URLs tenants fetch them from: the CDN in
//! front of the bucket when one is configured, presigned GET URLs otherwise.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::domain::OutputFormat;
use crate::images::Image;

/// Presigned URLs live as long as SigV4 allows (7 days); with a CDN they are
/// not used at all.
const PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
#[error("S3 {op} failed: {message}")]
pub struct ResultsError {
    op: &'static str,
    message: String,
}

pub struct ResultStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
    cdn_base_url: Option<String>,
}

/// The S3 client for results, uploads and presigned URLs alike. With an
/// endpoint override (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3`: an
/// emulator, `sam local`) it addresses buckets by path (`host/bucket/key`):
/// virtual-host style would put the bucket in the emulator's host name
/// (`imagesaas-results.host.docker.internal`), which does not resolve. In
/// AWS (no override) it keeps the SDK's default, virtual-host style.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    // The override the S3 client itself will use: the service's own
    // (AWS_ENDPOINT_URL_S3, a profile's s3 endpoint_url), else the global one.
    let s3_only = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every field is set");
    let overridden = sdk.endpoint_url().is_some()
        || sdk
            .service_config()
            .and_then(|c| c.load_config(s3_only))
            .is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(overridden)
            .build(),
    )
}

/// `results/{tenantId}/{jobId}/{n}.{ext}`, the extension of the job's
/// `outputFormat`.
pub fn result_key(tenant_id: &str, job_id: &str, index: u32, format: OutputFormat) -> String {
    format!(
        "results/{tenant_id}/{job_id}/{index}.{}",
        format.extension()
    )
}

impl ResultStore {
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: String,
        cdn_base_url: Option<String>,
    ) -> ResultStore {
        ResultStore {
            s3,
            bucket,
            cdn_base_url: cdn_base_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }

    /// Uploads one image (the bytes are moved, not copied) and returns the
    /// URL to hand to the tenant. Keys are unique per job and attempt-free,
    /// so a retried upload overwrites with identical content: results are
    /// immutable and cached as such.
    pub async fn put(&self, key: &str, image: Image) -> Result<String, ResultsError> {
        self.put_object(
            key,
            &image.mime_type,
            Some("public, max-age=31536000, immutable"),
            image.bytes,
        )
        .await?;
        self.url(key).await
    }

    /// Stores a submitted `data:` input image (`domain::options::input_key`)
    /// for the worker to read; it expires with the results.
    pub async fn put_input(
        &self,
        key: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ResultsError> {
        self.put_object(key, media_type, None, bytes).await
    }

    /// The one PutObject of results and inputs alike.
    async fn put_object(
        &self,
        key: &str,
        content_type: &str,
        cache_control: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<(), ResultsError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_cache_control(cache_control.map(str::to_string))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| ResultsError {
                op: "PutObject",
                message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            })?;
        Ok(())
    }

    /// A stored input image's bytes; `Ok(None)` when it is gone (expired)
    /// or larger than `max_bytes`, which no input submit stored can be.
    pub async fn get_input(
        &self,
        key: &str,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, ResultsError> {
        let object = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(ResultsError {
                    op: "GetObject",
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                });
            }
        };
        if object
            .content_length()
            .is_some_and(|l| l < 0 || l as u64 > max_bytes as u64)
        {
            return Ok(None);
        }
        let bytes = object.body.collect().await.map_err(|e| ResultsError {
            op: "GetObject",
            message: e.to_string(),
        })?;
        let bytes = bytes.into_bytes();
        Ok((bytes.len() <= max_bytes).then(|| bytes.to_vec()))
    }

    pub async fn url(&self, key: &str) -> Result<String, ResultsError> {
        if let Some(base) = &self.cdn_base_url {
            return Ok(format!("{base}/{key}"));
        }
        let config = PresigningConfig::expires_in(PRESIGN_TTL).map_err(|e| ResultsError {
            op: "presign",
            message: e.to_string(),
        })?;
        let presigned = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| ResultsError {
                op: "presign",
                message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            })?;
        Ok(presigned.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};

    use super::*;

    fn sdk(endpoint: Option<&str>) -> aws_config::SdkConfig {
        let mut sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )));
        if let Some(endpoint) = endpoint {
            sdk = sdk.endpoint_url(endpoint);
        }
        sdk.build()
    }

    async fn presigned(endpoint: Option<&str>) -> String {
        let store = ResultStore::new(s3_client(&sdk(endpoint)), "imagesaas-results".into(), None);
        store.url("results/t/j/0.png").await.unwrap()
    }

    /// The URL a presigned GET and an upload go to (same client, same
    /// addressing): the bucket in the path with an endpoint override, in
    /// the host name without one.
    #[tokio::test]
    async fn an_endpoint_override_means_path_style_addressing() {
        let url = presigned(Some("http://host.docker.internal:4566")).await;
        assert!(
            url.starts_with(
                "http://host.docker.internal:4566/imagesaas-results/results/t/j/0.png?"
            ),
            "{url}"
        );
        let url = presigned(None).await;
        assert!(
            url.starts_with(
                "https://imagesaas-results.s3.us-east-1.amazonaws.com/results/t/j/0.png?"
            ),
            "{url}"
        );
    }
}
