//! The whole of an HTTP function's `main`: telemetry, `App` once per cold
//! start (with the secrets the function needs), then the Lambda runtime
//! calling the handler for every request.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

use crate::{App, Needs};

pub async fn run_http<F, Fut>(needs: Needs, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    // Lives as long as the process: every invocation borrows it.
    let app: &'static App = Box::leak(Box::new(App::from_env(needs).await?));
    lambda_http::run(service_fn(|req| {
        let fut = handler(app, req);
        async move { Ok::<_, Infallible>(fut.await) }
    }))
    .await
}
