//! `GET /v1/jobs/{jobId}`: one job of the caller's scope. Another tenant's
//! job, or the tenant's job of the other key mode, is simply not found: the
//! key includes tenant and mode, so it is never read.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use serde::Serialize;
use shared::domain::{Job, JobError, JobStatus};
use shared::{ApiError, App, time};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("get-job", app, req, get_job).await
}

async fn get_job(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let job_id = http::job_id_param(req)?;
    let job = app
        .store
        .get_job(caller.scope(), &job_id)
        .await?
        .ok_or(ApiError::JobNotFound)?;
    Ok(ApiResponse::ok(&JobView::from(&job)))
}

/// The contract's job shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobView<'a> {
    job_id: &'a str,
    status: JobStatus,
    result_urls: &'a [String],
    error: Option<&'a JobError>,
    livemode: bool,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Job> for JobView<'a> {
    fn from(job: &'a Job) -> Self {
        JobView {
            job_id: &job.id,
            status: job.status,
            result_urls: &job.result_urls,
            error: job.error.as_ref(),
            livemode: job.scope().livemode(),
            created_at: time::iso_millis(&job.created_at),
            updated_at: time::iso_millis(&job.updated_at),
        }
    }
}
