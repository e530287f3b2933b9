#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_event(webhook_sender::Sender::from_env, webhook_sender::handle).await
}
