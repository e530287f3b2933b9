#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_http(shared::Needs::NOTHING, deliveries::handle).await
}
