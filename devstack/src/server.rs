//! One HTTP server for every route, calling the Lambdas' own handler
//! functions with the request shaped as API Gateway (HTTP API, payload 2.0)
//! would hand it to them: path and query parameters, request id.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use lambda_http::http::{HeaderValue, Method};
use runtime::http::ApiResponse;
use shared::{ApiError, App};
use tokio::net::TcpListener;

use crate::apigw;

/// API Gateway refuses larger payloads before any Lambda runs.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// CORS, as the template's `HttpApi` `CorsConfiguration` declares it (a
/// test keeps the two equal), so `docs/api.html` works from `file://` or any
/// origin. No credentials are involved: the key travels in a header.
pub const CORS_ALLOW_METHODS: [&str; 4] = ["GET", "POST", "DELETE", "OPTIONS"];
pub const CORS_ALLOW_HEADERS: [&str; 4] =
    ["authorization", "content-type", "idempotency-key", "prefer"];
pub const CORS_EXPOSE_HEADERS: [&str; 11] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-quota-limit",
    "x-quota-remaining",
    "x-quota-reset",
    "retry-after",
    "idempotent-replayed",
    "x-request-id",
    "location",
    "preference-applied",
];
pub const CORS_MAX_AGE_SECS: u32 = 600;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(&app, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(app: &App, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let mut resp = route(app, req).await;
    let headers = resp.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    // On every answer, the docs and preflights included (contract 1.1).
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&CORS_EXPOSE_HEADERS.join(", ")) {
        headers.insert("access-control-expose-headers", v);
    }
    resp
}

async fn route(app: &App, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::OPTIONS, _) => return preflight(),
        (&Method::GET, "/docs" | "/docs/" | "/docs/api.html") => {
            return static_file("api.html", "text/html; charset=utf-8");
        }
        (&Method::GET, "/openapi.yaml") => return static_file("openapi.yaml", "application/yaml"),
        _ => {}
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return to_hyper(
                ApiResponse::error(&ApiError::InvalidRequest(format!(
                    "Request body is larger than {MAX_BODY_BYTES} bytes"
                )))
                .into_response(),
            );
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let request = lambda_http::Request::from_parts(parts, body);
    to_hyper(dispatch(app, request).await)
}

/// Routes a request to the handler its Lambda would run.
pub async fn dispatch(app: &App, req: lambda_http::Request) -> lambda_http::Response<Body> {
    let path = req.uri().path().to_string();
    let req = apigw::as_api_gateway(req);
    // One leading slash only: `//v1/jobs` has an empty first segment and is
    // no route, as on API Gateway.
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(&path).split('/').collect();
    match (req.method().clone(), segments.as_slice()) {
        (Method::GET, ["health"]) => health::handle(app, req).await,
        (Method::POST, ["v1", "images", "generate"]) => generate::handle(app, req).await,
        (Method::GET, ["v1", "jobs"]) => list_jobs::handle(app, req).await,
        (Method::GET, ["v1", "usage"]) => usage::handle(app, req).await,
        (Method::GET | Method::POST, ["v1", "jobs", id, "deliveries"]) if !id.is_empty() => {
            deliveries::handle(app, apigw::with_job_id(req, id)).await
        }
        (method @ (Method::GET | Method::DELETE), ["v1", "jobs", id]) if !id.is_empty() => {
            let req = apigw::with_job_id(req, id);
            if method == Method::GET {
                get_job::handle(app, req).await
            } else {
                cancel_job::handle(app, req).await
            }
        }
        _ => ApiResponse::error(&ApiError::NotFound).into_response(),
    }
}

/// A CORS preflight: what API Gateway answers for the HTTP API.
fn preflight() -> hyper::Response<Full<Bytes>> {
    let mut resp = hyper::Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = hyper::StatusCode::NO_CONTENT;
    let headers = resp.headers_mut();
    for (name, value) in [
        (
            "access-control-allow-methods",
            CORS_ALLOW_METHODS.join(", "),
        ),
        (
            "access-control-allow-headers",
            CORS_ALLOW_HEADERS.join(", "),
        ),
        ("access-control-max-age", CORS_MAX_AGE_SECS.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    resp
}

/// The interactive docs and the OpenAPI file, read from `docs/` on each
/// request so edits show without a restart.
fn static_file(name: &str, content_type: &'static str) -> hyper::Response<Full<Bytes>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut resp = hyper::Response::new(Full::new(Bytes::from(bytes)));
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            resp
        }
        Err(_) => to_hyper(ApiResponse::error(&ApiError::NotFound).into_response()),
    }
}

fn to_hyper(resp: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
