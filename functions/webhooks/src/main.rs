#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_event(webhooks::Notifier::from_env, webhooks::handle).await
}
