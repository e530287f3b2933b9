#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::run_http(shared::Needs::NOTHING, generate::handle).await
}
