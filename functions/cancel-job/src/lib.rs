//! `DELETE /v1/jobs/{jobId}`: QUEUED or RETRYING → CANCELED, and the
//! tenant's concurrency slot back, in one conditional transaction. A job the
//! worker has claimed (RUNNING) is already being generated and cannot be
//! canceled; the worker never starts a CANCELED job.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::store::CancelOutcome;
use shared::{ApiError, App, time};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("cancel-job", app, req, cancel_job).await
}

async fn cancel_job(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let job_id = http::job_id_param(req)?;
    match app
        .store
        .cancel_job(caller.scope(), &job_id, time::now())
        .await?
    {
        CancelOutcome::Canceled => Ok(ApiResponse::ok(&serde_json::json!({
            "jobId": job_id,
            "status": "CANCELED",
        }))),
        CancelOutcome::NotFound => Err(ApiError::JobNotFound),
        CancelOutcome::NotCancelable(status) => Err(ApiError::InvalidState(format!(
            "Job {job_id} is {status}; only QUEUED or RETRYING jobs can be canceled"
        ))),
    }
}
