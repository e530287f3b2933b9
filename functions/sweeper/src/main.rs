use lambda_runtime::service_fn;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let sweeper: &'static sweeper::Sweeper =
        Box::leak(Box::new(sweeper::Sweeper::from_env().await?));
    lambda_runtime::run(service_fn(|event| sweeper::handle(sweeper, event))).await
}
