use lambda_runtime::service_fn;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let notifier: &'static webhooks::Notifier =
        Box::leak(Box::new(webhooks::Notifier::from_env().await?));
    lambda_runtime::run(service_fn(|event| webhooks::handle(notifier, event))).await
}
