#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::run_http(health::handle).await
}
