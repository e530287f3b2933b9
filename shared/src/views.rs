//! The contract's shapes of a job, in one place: the job of
//! `GET /v1/jobs/{jobId}` and the list item of `GET /v1/jobs`. The two differ
//! where the contract does (`jobId` and an error object; `id`, the request's
//! fields and a flat error); what a job says about its mode and times is
//! built once, by [`Stamps`].

use serde::Serialize;

use crate::domain::options::is_stored_input;
use crate::domain::{AspectRatio, ImageSize, Job, JobError, JobStatus, Mode, OutputFormat};
use crate::time;

/// A job as `GET /v1/jobs/{jobId}` returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView<'a> {
    job_id: &'a str,
    status: JobStatus,
    result_urls: &'a [String],
    error: Option<&'a JobError>,
    images: Vec<ImageView>,
    request: RequestView,
    #[serde(flatten)]
    stamps: Stamps,
}

impl<'a> From<&'a Job> for JobView<'a> {
    fn from(job: &'a Job) -> Self {
        JobView {
            job_id: &job.id,
            status: job.status,
            result_urls: &job.result_urls,
            error: job.error.as_ref(),
            images: ImageView::list(job),
            request: RequestView::of(job),
            stamps: Stamps::of(job),
        }
    }
}

/// One entry of a job's `images` (1.1), in `resultUrls` order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    url: String,
    content_type: String,
    width: u32,
    height: u32,
    bytes: u64,
}

impl ImageView {
    /// The job's result images: every image once it has SUCCEEDED, none
    /// before (the images a retried attempt kept are not results yet).
    pub fn list(job: &Job) -> Vec<ImageView> {
        if job.status != JobStatus::Succeeded {
            return Vec::new();
        }
        job.images
            .iter()
            .map(|i| ImageView {
                url: i.url.clone(),
                content_type: i.content_type.clone(),
                width: i.width,
                height: i.height,
                bytes: i.bytes,
            })
            .collect()
    }
}

/// A job's `request` (1.1): its options as accepted, defaults resolved;
/// of its inputs only how many there were, never a data URL's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    mode: Mode,
    aspect_ratio: AspectRatio,
    image_size: ImageSize,
    number_of_images: u8,
    output_format: OutputFormat,
    output_quality: Option<u8>,
    deadline_seconds: Option<i64>,
    input_images: usize,
}

impl RequestView {
    pub fn of(job: &Job) -> RequestView {
        let options = &job.options;
        RequestView {
            mode: job.mode,
            aspect_ratio: job.aspect_ratio,
            image_size: options.image_size_for(job.mode),
            number_of_images: options.number_of_images,
            output_format: options.output_format,
            output_quality: options.output_format.is_lossy().then(|| options.quality()),
            deadline_seconds: job
                .deadline_at
                .map(|deadline| (deadline - job.created_at).num_seconds()),
            input_images: job.inputs().count(),
        }
    }
}

/// What a list item's 1.0 `inputImageUrl` shows: the URL, or for an
/// uploaded `data:` image its type without its contents.
fn shown_input(reference: &str) -> String {
    if !is_stored_input(reference) {
        return reference.to_string();
    }
    let media_type = match reference.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "image/png",
    };
    format!("data:{media_type};base64,…")
}

/// One item of `GET /v1/jobs`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobListItem<'a> {
    id: &'a str,
    status: JobStatus,
    prompt: &'a str,
    mode: Mode,
    input_image_url: Option<String>,
    aspect_ratio: AspectRatio,
    result_urls: &'a [String],
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
    images: Vec<ImageView>,
    request: RequestView,
    #[serde(flatten)]
    stamps: Stamps,
}

impl<'a> From<&'a Job> for JobListItem<'a> {
    fn from(job: &'a Job) -> Self {
        JobListItem {
            id: &job.id,
            status: job.status,
            prompt: &job.prompt,
            mode: job.mode,
            input_image_url: job.input_image_url.as_deref().map(shown_input),
            aspect_ratio: job.aspect_ratio,
            result_urls: &job.result_urls,
            error_code: job.error.as_ref().map(|e| e.code.as_str()),
            error_message: job.error.as_ref().map(|e| e.message.as_str()),
            images: ImageView::list(job),
            request: RequestView::of(job),
            stamps: Stamps::of(job),
        }
    }
}

/// The last keys of both shapes, in this order: whether the job is live-mode
/// data, and its times as ISO 8601 with milliseconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stamps {
    livemode: bool,
    created_at: String,
    updated_at: String,
    /// 1.1: when the job's last attempt may start, or `null`.
    deadline_at: Option<String>,
}

impl Stamps {
    fn of(job: &Job) -> Stamps {
        Stamps {
            livemode: job.scope().livemode(),
            created_at: time::iso_millis(&job.created_at),
            updated_at: time::iso_millis(&job.updated_at),
            deadline_at: job.deadline_at.as_ref().map(time::iso_millis),
        }
    }
}

/// One entry of `GET /v1/jobs/{jobId}/deliveries`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView<'a> {
    event_id: &'a str,
    attempt: u32,
    url: &'a str,
    at: String,
    status: &'static str,
    http_status: Option<u16>,
    error: Option<&'a str>,
    duration_ms: u64,
    next_attempt_at: Option<String>,
}

impl<'a> From<&'a crate::store::DeliveryAttempt> for DeliveryView<'a> {
    fn from(a: &'a crate::store::DeliveryAttempt) -> Self {
        DeliveryView {
            event_id: &a.event_id,
            attempt: a.attempt,
            url: &a.url,
            at: time::iso_millis(&a.at),
            status: if a.delivered { "delivered" } else { "failed" },
            http_status: a.http_status,
            error: a.error.as_deref(),
            duration_ms: a.duration_ms,
            next_attempt_at: a.next_attempt_at.as_ref().map(time::iso_millis),
        }
    }
}
