//! `GET /v1/jobs/{jobId}`: one job of the caller's scope. Another tenant's
//! job, or the tenant's job of the other key mode, is simply not found: the
//! key includes tenant and mode, so it is never read.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::views::JobView;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("get-job", app, req, get_job).await
}

async fn get_job(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let (_, job) = http::caller_job(app, req).await?;
    Ok(ApiResponse::ok(&JobView::from(&job)))
}
