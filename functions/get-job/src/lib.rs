//! `GET /v1/jobs/{jobId}`: one job of the caller's scope; with `?wait=N`, a
//! long poll that answers once the job is terminal or N seconds passed. Another tenant's
//! job, or the tenant's job of the other key mode, is simply not found: the
//! key includes tenant and mode, so it is never read.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::views::JobView;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("get-job", app, req, get_job).await
}

async fn get_job(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let (caller, job) = http::caller_job(app, req).await?;
    let Some(seconds) = shared::request::wait_param(http::query_once(req, "wait")?)? else {
        return Ok(ApiResponse::ok(&JobView::from(&job)));
    };
    let job = shared::waiting::until_terminal(
        &app.store,
        caller.scope(),
        job,
        std::time::Duration::from_secs(u64::from(seconds)),
    )
    .await?
    .ok_or(ApiError::JobNotFound)?;
    Ok(ApiResponse::ok(&JobView::from(&job)))
}
