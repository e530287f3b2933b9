//! `GET /v1/usage`: the caller's usage (its tenant and key mode) by UTC day
//! and generation mode, from the daily usage items the worker's finishing
//! transaction counts: one query, whatever the number of jobs.

use runtime::http::{self, ApiResponse, Body, Request, Response};
use shared::domain::usage::DayRange;
use shared::views::UsageReport;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve("usage", app, req, usage).await
}

async fn usage(app: &App, req: &Request) -> Result<ApiResponse, ApiError> {
    let caller = app.auth.authenticate(&app.store, req.headers()).await?;
    let query = http::query(req, &["from", "to"])?;
    let today = app.clock.now().date_naive();
    let range = DayRange::of_query(query.get("from"), query.get("to"), today)
        .map_err(ApiError::InvalidRequest)?;
    let items = app.store.usage_days(caller.scope(), range).await?;
    Ok(ApiResponse::ok(&UsageReport::of(
        caller.scope().livemode(),
        range,
        &items,
    )))
}
