//! The contract's shapes of a job, in one place: the job of
//! `GET /v1/jobs/{jobId}` and the list item of `GET /v1/jobs`. The two differ
//! where the contract does (`jobId` and an error object; `id`, the request's
//! fields and a flat error); what a job says about its mode and times is
//! built once, by [`Stamps`].

use serde::Serialize;

use crate::domain::options::is_stored_input;
use crate::domain::usage::usd;
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
    usage: Option<UsageView>,
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
            usage: UsageView::of(job),
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

/// A job's `usage` (1.1): `null` until it is terminal. Only a SUCCEEDED
/// job's images are billable, so a job that ended otherwise shows 0 images
/// and costs nothing, whatever calls it made.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    images: usize,
    provider_calls: u32,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cost_usd: f64,
}

impl UsageView {
    pub fn of(job: &Job) -> Option<UsageView> {
        if !job.status.is_terminal() {
            return None;
        }
        let succeeded = job.status == JobStatus::Succeeded;
        Some(UsageView {
            images: if succeeded { job.images.len() } else { 0 },
            provider_calls: job.metering.provider_calls,
            input_tokens: job.metering.input_tokens,
            output_tokens: job.metering.output_tokens,
            cost_usd: if succeeded {
                usd(job.cost_micro_usd)
            } else {
                0.0
            },
        })
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
    usage: Option<UsageView>,
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
            usage: UsageView::of(job),
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

/// `GET /v1/usage`: every day of the range, both generation modes, and the
/// total. Days without a success show zeros, so a client can chart the
/// answer as it is.
#[derive(Debug, PartialEq, Serialize)]
pub struct UsageReport {
    pub livemode: bool,
    pub from: String,
    pub to: String,
    pub days: Vec<UsageDayView>,
    pub total: UsageTotals,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct UsageDayView {
    pub date: String,
    pub draft: UsageTotals,
    #[serde(rename = "final")]
    pub final_: UsageTotals,
}

/// Jobs, images and cost of a day, a mode or the whole range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    pub jobs: u64,
    pub images: u64,
    /// Dollars, from micro-dollars summed exactly.
    pub cost_usd: f64,
    #[serde(skip)]
    cost_micro_usd: u64,
}

impl UsageTotals {
    fn add(&mut self, jobs: u64, images: u64, cost_micro_usd: u64) {
        self.jobs += jobs;
        self.images += images;
        self.cost_micro_usd += cost_micro_usd;
        self.cost_usd = usd(self.cost_micro_usd);
    }
}

impl UsageReport {
    /// The report of `range` from the scope's usage items (`usage_days`).
    pub fn of(
        livemode: bool,
        range: crate::domain::usage::DayRange,
        items: &[crate::store::UsageDay],
    ) -> UsageReport {
        let mut total = UsageTotals::default();
        let days = range
            .days()
            .map(|date| {
                let date = date.format("%Y-%m-%d").to_string();
                let mut day = UsageDayView {
                    date,
                    draft: UsageTotals::default(),
                    final_: UsageTotals::default(),
                };
                for item in items.iter().filter(|i| i.date == day.date) {
                    let totals = match item.mode {
                        Mode::Draft => &mut day.draft,
                        Mode::Final => &mut day.final_,
                    };
                    totals.add(item.jobs, item.images, item.cost_micro_usd);
                    total.add(item.jobs, item.images, item.cost_micro_usd);
                }
                day
            })
            .collect();
        UsageReport {
            livemode,
            from: range.from.format("%Y-%m-%d").to_string(),
            to: range.to.format("%Y-%m-%d").to_string(),
            days,
            total,
        }
    }
}

#[cfg(test)]
mod usage_tests {
    use super::*;
    use crate::domain::usage::{DayRange, parse_day};
    use crate::store::UsageDay;

    #[test]
    fn a_usage_report_lists_every_day_and_sums_exactly() {
        let range = DayRange {
            from: parse_day("2026-11-29").unwrap(),
            to: parse_day("2026-12-01").unwrap(),
        };
        let item = |date: &str, mode, jobs, images, cost| UsageDay {
            date: date.into(),
            mode,
            jobs,
            images,
            cost_micro_usd: cost,
        };
        let items = [
            item("2026-11-29", Mode::Final, 3, 3, 402_000),
            item("2026-12-01", Mode::Draft, 1, 4, 268_000),
            item("2026-12-01", Mode::Final, 1, 1, 134_000),
        ];
        let report = UsageReport::of(true, range, &items);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["from"], "2026-11-29");
        assert_eq!(json["days"].as_array().unwrap().len(), 3);
        assert_eq!(
            json["days"][1],
            serde_json::json!({"date": "2026-11-30",
                "draft": {"jobs": 0, "images": 0, "costUsd": 0.0},
                "final": {"jobs": 0, "images": 0, "costUsd": 0.0}})
        );
        assert_eq!(json["days"][2]["draft"]["images"], 4);
        assert_eq!(
            json["total"],
            serde_json::json!({"jobs": 5, "images": 8, "costUsd": 0.804})
        );
        assert_eq!(json["livemode"], true);
    }
}
