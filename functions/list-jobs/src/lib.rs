//! `GET /v1/jobs`: the caller's jobs, newest first, one index query per page
//! (never a scan, never a filter after the read), with cursors bound to the
//! scope (tenant and key mode) and the `status` filter.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use serde::Serialize;
use shared::domain::JobStatus;
use shared::views::JobListItem;
use shared::{ApiError, App};

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
        items: page.jobs.iter().map(JobListItem::from).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListView<'a> {
    items: Vec<JobListItem<'a>>,
    has_more: bool,
    next_cursor: Option<String>,
}
