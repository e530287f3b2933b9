//! The `lambda_http` glue every HTTP function shares: one request span with
//! the ids the logs need, one conversion from `ApiError` to the contract's
//! error body, and small typed readers for headers, path and query.

use std::time::Instant;

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use tracing::Instrument;

use crate::{ApiError, App};

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
fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
    .unwrap_or_else(|| "-".to_string())
}

/// Records the job id on the current request span.
pub fn record_job_id(job_id: &str) {
    tracing::Span::current().record("job_id", job_id);
}

/// A single-valued header as text; a header that is present but not visible
/// ASCII is a client error, not "absent".
pub fn header<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>, ApiError> {
    let mut values = req.headers().get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest(format!(
            "Header `{name}` must be sent once"
        )));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::InvalidRequest(format!("Header `{name}` must be printable ASCII")))
}

/// The `{jobId}` path parameter. A missing or malformed id is simply not a
/// job of this tenant.
pub fn job_id_param(req: &Request) -> Result<String, ApiError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("jobId"))
        .ok_or(ApiError::JobNotFound)?;
    if !crate::ids::is_valid_id(id) {
        return Err(ApiError::JobNotFound);
    }
    record_job_id(id);
    Ok(id.to_string())
}

/// The query string, refusing parameters the route does not define and
/// parameters given twice, so a typo (`?stauts=`) is an error rather than a
/// silently ignored filter.
pub struct Query<'r> {
    params: Vec<(&'r str, &'r str)>,
}

impl<'r> Query<'r> {
    pub fn parse(req: &'r Request, allowed: &[&str]) -> Result<Query<'r>, ApiError> {
        let mut params = Vec::new();
        if let Some(map) = req.query_string_parameters_ref() {
            for (name, value) in map.iter() {
                if !allowed.contains(&name) {
                    return Err(ApiError::InvalidRequest(format!(
                        "Unknown query parameter `{}`; allowed: {}",
                        crate::domain::submit::printable(name),
                        allowed
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                if params.iter().any(|(n, _)| *n == name) {
                    return Err(ApiError::InvalidRequest(format!(
                        "Query parameter `{name}` must be given once"
                    )));
                }
                params.push((name, value));
            }
        }
        Ok(Query { params })
    }

    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}
