//! The cold-start floor (`make bench-coldstart`): a Lambda function that is
//! only `lambda_runtime` and a handler returning a fixed JSON answer. It is
//! built in the same cargo run as the functions (`make bench-build`), so
//! with the same release profile and toolchain: what a function's init
//! costs beyond this one is its own code (telemetry, SDK configuration,
//! clients, secrets), not the runtime's.
//!
//! No telemetry, no SDK, no state: the handler ignores the event and
//! answers what API Gateway expects of an HTTP function.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({
            "statusCode": 200,
            "headers": { "content-type": "application/json" },
            "body": "{\"status\":\"ok\"}",
        }))
    }))
    .await
}
