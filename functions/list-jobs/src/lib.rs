//! `GET /v1/jobs`: the caller's jobs, newest first, one index query per page
//! (never a scan, never a filter after the read), with cursors bound to the
//! scope (tenant and key mode) and the `status` filter.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use serde::Serialize;
use shared::domain::{AspectRatio, Job, JobStatus, Mode};
use shared::{ApiError, App, time};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("list-jobs", app, req, list_jobs).await
}

async fn list_jobs(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let cursors = app.cursors()?;
    let query = http::query(req, &["status", "limit", "cursor"])?;
    let status = query
        .get("status")
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::InvalidRequest(format!(
                    "Query parameter `status` must be one of {}",
                    JobStatus::ALL.map(JobStatus::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::InvalidRequest(format!(
                    "Query parameter `limit` must be an integer from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    // An empty `cursor=` is the first page, so clients can always send it.
    let after = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(cursors.decode(caller.scope(), status, cursor)?),
    };

    let page = app
        .store
        .list_jobs(caller.scope(), status, limit, after.as_deref())
        .await?;
    let next_cursor = page
        .next
        .map(|position| cursors.encode(caller.scope(), status, &position));
    Ok(ApiResponse::ok(&ListView {
        items: page.jobs.iter().map(ItemView::from).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListView<'a> {
    items: Vec<ItemView<'a>>,
    has_more: bool,
    next_cursor: Option<String>,
}

/// The contract's list item shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemView<'a> {
    id: &'a str,
    status: JobStatus,
    prompt: &'a str,
    mode: Mode,
    input_image_url: Option<&'a str>,
    aspect_ratio: AspectRatio,
    result_urls: &'a [String],
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
    livemode: bool,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Job> for ItemView<'a> {
    fn from(job: &'a Job) -> Self {
        ItemView {
            id: &job.id,
            status: job.status,
            prompt: &job.prompt,
            mode: job.mode,
            input_image_url: job.input_image_url.as_deref(),
            aspect_ratio: job.aspect_ratio,
            result_urls: &job.result_urls,
            error_code: job.error.as_ref().map(|e| e.code.as_str()),
            error_message: job.error.as_ref().map(|e| e.message.as_str()),
            livemode: job.scope().livemode(),
            created_at: time::iso_millis(&job.created_at),
            updated_at: time::iso_millis(&job.updated_at),
        }
    }
}
