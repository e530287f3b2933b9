use lambda_runtime::service_fn;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let worker: &'static worker::Worker = Box::leak(Box::new(worker::Worker::from_env().await?));
    lambda_runtime::run(service_fn(|event| worker::handle(worker, event))).await
}
