//! Result images in S3, and the URLs tenants fetch them from: the CDN in
//! front of the bucket when one is configured, presigned GET URLs otherwise.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

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

/// `results/{tenantId}/{jobId}/{n}.{ext}`.
pub fn result_key(tenant_id: &str, job_id: &str, index: usize, image: &Image) -> String {
    format!("results/{tenant_id}/{job_id}/{index}.{}", image.extension())
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
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&image.mime_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(image.bytes))
            .send()
            .await
            .map_err(|e| ResultsError {
                op: "PutObject",
                message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            })?;
        self.url(key).await
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
