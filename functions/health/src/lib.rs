//! `GET /health`: no auth, no I/O; answers as long as the function runs.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::{ApiError, App, time};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("health", app, req, health).await
}

async fn health(_: &App, _: &Request) -> Result<ApiResponse, ApiError> {
    Ok(ApiResponse::ok(&serde_json::json!({
        "status": "ok",
        "timestamp": time::iso_millis(&time::now()),
    })))
}
