#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_event(worker::Worker::from_env, worker::handle).await
}
