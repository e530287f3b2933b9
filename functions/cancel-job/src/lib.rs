//! `DELETE /v1/jobs/{jobId}`: QUEUED or RETRYING → CANCELED, and the
//! tenant's concurrency slot back, in one conditional transaction. A job the
//! worker has claimed (RUNNING) is already being generated and cannot be
//! canceled; the worker never starts a CANCELED job.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::domain::JobStatus;
use shared::metrics::{self, Event, Subject};
use shared::store::CancelOutcome;
use shared::{ApiError, App, time};

/// This function's name in its metrics (`Function`) and its request span.
const FUNCTION: &str = "cancel-job";

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve(FUNCTION, app, req, cancel_job).await
}

async fn cancel_job(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let job_id = http::job_id_param(req)?;
    match app
        .store
        .cancel_job(caller.scope(), &job_id, time::now())
        .await?
    {
        CancelOutcome::Canceled(mode) => {
            metrics::emit(
                FUNCTION,
                Event::JobFinished {
                    mode,
                    status: JobStatus::Canceled,
                    failure_code: None,
                },
                Subject::job(&caller.tenant_id, &job_id),
            );
            Ok(ApiResponse::ok(&serde_json::json!({
                "jobId": job_id,
                "status": "CANCELED",
            })))
        }
        CancelOutcome::NotFound => Err(ApiError::JobNotFound),
        CancelOutcome::NotCancelable(status) => Err(ApiError::InvalidState(format!(
            "Job {job_id} is {status}; only QUEUED or RETRYING jobs can be canceled"
        ))),
    }
}
