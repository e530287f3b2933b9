//! The `lambda_http` glue every HTTP function shares: one request span with
//! the ids the logs need, one conversion from `ApiError` to the contract's
//! error body, and the request's headers, path and query handed to the pure
//! readers of `shared::request`.

use std::time::Instant;

use lambda_http::RequestExt;
use lambda_http::http::HeaderMap;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
pub use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
pub use lambda_http::{Body, Request, Response};
use serde::Serialize;
pub use shared::request::{Query, record_job_id};
use shared::{ApiError, App};
use tracing::Instrument;

/// A successful (or, for generate, fully built) response.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub body: String,
    pub headers: HeaderMap,
}

impl ApiResponse {
    pub fn json(status: StatusCode, body: &impl Serialize) -> ApiResponse {
        ApiResponse {
            status,
            // Serializing our own plain structs cannot fail.
            body: serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string()),
            headers: HeaderMap::new(),
        }
    }

    pub fn ok(body: &impl Serialize) -> ApiResponse {
        ApiResponse::json(StatusCode::OK, body)
    }

    /// The one place an `ApiError` becomes the contract's error response:
    /// `{"error": CODE, "message": …}`. Internal errors are logged here with
    /// their cause and answered with a fixed message.
    pub fn error(err: &ApiError) -> ApiResponse {
        if let ApiError::Internal { source, .. } = err {
            tracing::error!(error = %source, "request failed");
        }
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = ApiResponse::json(
            status,
            &serde_json::json!({ "error": err.code(), "message": err.public_message() }),
        );
        if let ApiError::RateLimited {
            retry_after_secs, ..
        }
        | ApiError::QuotaExceeded {
            retry_after_secs, ..
        } = err
        {
            resp.set_header("retry-after", &retry_after_secs.to_string());
        }
        resp
    }

    pub fn set_header(&mut self, name: &'static str, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut resp = Response::new(Body::Text(self.body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // A browser must never read a JSON answer (which may echo a
        // prompt) as HTML or script.
        headers.insert(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        );
        headers.extend(self.headers);
        resp
    }
}

impl From<Result<ApiResponse, ApiError>> for ApiResponse {
    fn from(r: Result<ApiResponse, ApiError>) -> Self {
        r.unwrap_or_else(|e| ApiResponse::error(&e))
    }
}

/// Runs one route's handler inside a request span (`request_id`, `route`,
/// and `tenant_id` / `job_id` once the handler knows them), logs one line per
/// request, and answers with the contract's shapes.
pub async fn serve<R>(
    route: &'static str,
    app: &App,
    req: Request,
    handler: impl AsyncFnOnce(&App, &Request) -> R,
) -> Response<Body>
where
    R: Into<ApiResponse>,
{
    let request_id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route,
        tenant_id = tracing::field::Empty,
        job_id = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let resp: ApiResponse = handler(app, &req).await.into();
        tracing::info!(
            status = resp.status.as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request completed"
        );
        let mut resp = resp.into_response();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        resp
    }
    .instrument(span)
    .await
}

/// The API Gateway request id (or the local stack's), for logs and support.
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
    .unwrap_or_else(|| "-".to_string())
}

/// A single-valued header as text (see `shared::request::header`).
pub fn header<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>, ApiError> {
    shared::request::header(req.headers(), name)
}

/// The caller and the job the path names, of the caller's scope: another
/// tenant's job, or the tenant's job of the other mode, is not found (its
/// key is never built).
pub async fn caller_job(
    app: &App,
    req: &Request,
) -> Result<(shared::auth::Caller, shared::domain::Job), ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let job_id = job_id_param(req)?;
    let job = app
        .store
        .get_job(caller.scope(), &job_id)
        .await?
        .ok_or(ApiError::JobNotFound)?;
    Ok((caller, job))
}

/// The `{jobId}` path parameter (see `shared::request::job_id`).
pub fn job_id_param(req: &Request) -> Result<String, ApiError> {
    let job_id = shared::request::job_id(req.path_parameters_ref().and_then(|p| p.first("jobId")))?;
    // Every line of the request about this job carries its id.
    record_job_id(&job_id);
    Ok(job_id)
}

/// The one value of query parameter `name`, others ignored (see
/// `shared::request::Query::once`).
pub fn query_once<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>, ApiError> {
    Query::once(
        req.query_string_parameters_ref()
            .into_iter()
            .flat_map(|map| map.iter()),
        name,
    )
}

/// The query string, with only the `allowed` parameters, each once (see
/// `shared::request::Query`).
pub fn query<'r>(req: &'r Request, allowed: &[&str]) -> Result<Query<'r>, ApiError> {
    Query::parse(
        req.query_string_parameters_ref()
            .into_iter()
            .flat_map(|map| map.iter()),
        allowed,
    )
}
