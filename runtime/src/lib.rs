//! The Lambda glue: everything a function's `main` does besides naming its
//! handler. Telemetry, the function's state built once per cold start and
//! kept for the life of the process, then the Lambda runtime calling the
//! handler for every invocation: [`run_http`] for the API's functions
//! (`lambda_http`, with [`http`]: the one place an `ApiError` becomes a
//! response), [`run_event`] for the queue, stream and schedule functions
//! (`lambda_runtime`), and [`sqs`]: how the queue functions answer a batch.
//!
//! The HTTP half is the `http` feature, so a crate that links an event
//! function (the fuzz targets link webhooks) does not compile `lambda_http`.

#[cfg(feature = "http")]
pub mod http;
pub mod sqs;

use std::fmt::Debug;
use std::future::Future;

pub use lambda_runtime::{Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Telemetry first (building the state may log), then the state, leaked:
/// it lives as long as the process, and every invocation borrows it.
async fn cold_start<S: 'static, E: Into<Error>>(
    build: impl AsyncFnOnce() -> Result<S, E>,
) -> Result<&'static S, Error> {
    shared::telemetry::init();
    let state = build().await.map_err(Into::into)?;
    Ok(Box::leak(Box::new(state)))
}

/// The whole of an HTTP function's `main`: `App` once per cold start, with
/// the secrets the function `needs`, then `handler` for every request.
#[cfg(feature = "http")]
pub async fn run_http<F, Fut>(needs: shared::Needs, handler: F) -> Result<(), Error>
where
    F: Fn(&'static shared::App, http::Request) -> Fut,
    Fut: Future<Output = http::Response<http::Body>> + Send,
{
    let app = cold_start(async || shared::App::from_env(needs).await).await?;
    lambda_http::run(lambda_http::service_fn(|req| {
        let fut = handler(app, req);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    }))
    .await
}

/// The whole of an event function's `main`: `build` once per cold start
/// (the function's `from_env`), then `handler` for every event.
pub async fn run_event<S, BuildError, A, R, HandlerError, Fut>(
    build: impl AsyncFnOnce() -> Result<S, BuildError>,
    handler: impl Fn(&'static S, LambdaEvent<A>) -> Fut,
) -> Result<(), Error>
where
    S: 'static,
    BuildError: Into<Error>,
    A: DeserializeOwned,
    R: Serialize,
    Fut: Future<Output = Result<R, HandlerError>>,
    HandlerError: Into<Diagnostic> + Debug,
{
    let state = cold_start(build).await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler(state, event))).await
}
