//! The contract's shapes of a job, in one place: the job of
//! `GET /v1/jobs/{jobId}` and the list item of `GET /v1/jobs`. The two differ
//! where the contract does (`jobId` and an error object; `id`, the request's
//! fields and a flat error); what a job says about its mode and times is
//! built once, by [`Stamps`].

use serde::Serialize;

use crate::domain::{AspectRatio, Job, JobError, JobStatus, Mode};
use crate::time;

/// A job as `GET /v1/jobs/{jobId}` returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView<'a> {
    job_id: &'a str,
    status: JobStatus,
    result_urls: &'a [String],
    error: Option<&'a JobError>,
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
            stamps: Stamps::of(job),
        }
    }
}

/// One item of `GET /v1/jobs`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobListItem<'a> {
    id: &'a str,
    status: JobStatus,
    prompt: &'a str,
    mode: Mode,
    input_image_url: Option<&'a str>,
    aspect_ratio: AspectRatio,
    result_urls: &'a [String],
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
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
            input_image_url: job.input_image_url.as_deref(),
            aspect_ratio: job.aspect_ratio,
            result_urls: &job.result_urls,
            error_code: job.error.as_ref().map(|e| e.code.as_str()),
            error_message: job.error.as_ref().map(|e| e.message.as_str()),
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
