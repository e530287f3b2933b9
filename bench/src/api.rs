//! The API called in-process: each request shaped as API Gateway hands it
//! to a function and routed by the dev server's `dispatch` to the very
//! handler its Lambda runs, with no HTTP in between.

use lambda_http::Body;
use lambda_http::http::Method;
use serde_json::Value;
use shared::App;

#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error("building the request: {0}")]
    Request(#[from] lambda_http::http::Error),
    #[error("{method} {path} answered {status}, expected {expected}: {body}")]
    Unexpected {
        method: Method,
        path: String,
        status: u16,
        expected: u16,
        body: String,
    },
    #[error("{0} answered without a JSON body")]
    NotJson(String),
}

/// A tenant's view of the API: its key on every request.
pub struct InProcessApi<'a> {
    app: &'a App,
    authorization: String,
}

/// A request: method, path (with its query) and optional JSON body and
/// `Idempotency-Key`.
pub struct ApiRequest<'r> {
    pub method: Method,
    pub path: &'r str,
    pub body: Option<&'r str>,
    pub idempotency_key: Option<&'r str>,
}

impl<'r> ApiRequest<'r> {
    pub fn get(path: &'r str) -> Self {
        ApiRequest {
            method: Method::GET,
            path,
            body: None,
            idempotency_key: None,
        }
    }

    pub fn delete(path: &'r str) -> Self {
        ApiRequest {
            method: Method::DELETE,
            ..ApiRequest::get(path)
        }
    }

    pub fn submit(body: &'r str, idempotency_key: Option<&'r str>) -> Self {
        ApiRequest {
            method: Method::POST,
            path: "/v1/images/generate",
            body: Some(body),
            idempotency_key,
        }
    }
}

impl<'a> InProcessApi<'a> {
    pub fn new(app: &'a App, api_key: &str) -> Self {
        InProcessApi {
            app,
            authorization: format!("Bearer {api_key}"),
        }
    }

    /// Sends the request; `Err` unless it is answered `expected`.
    pub async fn expect(
        &self,
        request: ApiRequest<'_>,
        expected: u16,
    ) -> Result<Value, ApiCallError> {
        let mut builder = lambda_http::http::Request::builder()
            .method(request.method.clone())
            .uri(request.path)
            .header("authorization", &self.authorization);
        if let Some(key) = request.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        let body = match request.body {
            Some(text) => {
                builder = builder.header("content-type", "application/json");
                Body::Text(text.to_string())
            }
            None => Body::Empty,
        };
        let response = devstack::server::dispatch(self.app, builder.body(body)?).await;
        let text = match response.body() {
            Body::Text(text) => text.as_str(),
            _ => "",
        };
        let status = response.status().as_u16();
        if status != expected {
            return Err(ApiCallError::Unexpected {
                method: request.method,
                path: request.path.to_string(),
                status,
                expected,
                body: text.to_string(),
            });
        }
        serde_json::from_str(text).map_err(|_| ApiCallError::NotJson(request.path.to_string()))
    }

    /// Submits a job (202 expected) and returns its id.
    pub async fn submit(
        &self,
        body: &str,
        idempotency_key: Option<&str>,
    ) -> Result<String, ApiCallError> {
        let reply = self
            .expect(ApiRequest::submit(body, idempotency_key), 202)
            .await?;
        reply["jobId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiCallError::NotJson("/v1/images/generate".into()))
    }
}
