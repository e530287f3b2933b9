//! `GET /v1/jobs/{jobId}/deliveries`: the job's webhook attempts, newest
//! first. `POST /v1/jobs/{jobId}/deliveries`: its terminal event again, now,
//! with the same `eventId`. Scoped like every job route: another tenant's
//! or the other mode's job is not found, because the key that would read
//! it includes tenant and mode.

use runtime::http::{self, ApiResponse, Body, Method, Request, Response, StatusCode};
use shared::queue::DeliveryMessage;
use shared::views::DeliveryView;
use shared::webhooks::WebhookEvent;
use shared::{ApiError, App, time};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    if req.method() == Method::POST {
        http::serve("redeliver", app, req, redeliver).await
    } else {
        http::serve("list-deliveries", app, req, list).await
    }
}

async fn list(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let (caller, job) = http::caller_job(app, req).await?;
    let attempts = app.store.delivery_attempts(caller.scope(), &job.id).await?;
    Ok(ApiResponse::ok(&DeliveryList {
        items: attempts.iter().map(DeliveryView::from).collect(),
    }))
}

/// A struct, not `json!`, so the items keep the contract's key order.
#[derive(serde::Serialize)]
struct DeliveryList<'a> {
    items: Vec<DeliveryView<'a>>,
}

async fn redeliver(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let (caller, job) = http::caller_job(app, req).await?;
    require_no_body(req)?;
    let Some(event) = WebhookEvent::of(&job) else {
        return Err(ApiError::InvalidState(format!(
            "Job {} is {}; only a SUCCEEDED, FAILED or CANCELED job has an event to redeliver",
            job.id, job.status
        )));
    };
    let tenant = app.store.get_tenant(&job.tenant_id).await?;
    let has_target = tenant.is_some_and(|t| shared::webhooks::target(&job, &t).is_some());
    if !has_target {
        return Err(ApiError::InvalidRequest(
            "This job has no webhook target: it has no `webhookUrl` and the tenant has no webhook URL and secret".into(),
        ));
    }
    let run = app
        .store
        .request_redelivery(caller.scope(), &job.id, &event.event_id, time::now())
        .await?;
    app.deliveries()?
        .send(&DeliveryMessage::new(caller.scope(), &job.id, run))
        .await
        .map_err(ApiError::internal)?;
    Ok(ApiResponse::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "eventId": event.event_id, "status": "pending" }),
    ))
}

/// Redelivery takes no body; `{}` is accepted as none, so clients that
/// always send a JSON object work, and anything else is a mistake to show.
fn require_no_body(req: &Request) -> Result<(), ApiError> {
    let body = req.body().as_ref();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(fields)) if fields.is_empty() => Ok(()),
        _ => Err(ApiError::InvalidRequest(
            "This request takes no body (or an empty JSON object `{}`)".into(),
        )),
    }
}
