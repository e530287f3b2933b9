#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_event(sweeper::Sweeper::from_env, sweeper::handle).await
}
