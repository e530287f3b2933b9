#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::run_http(generate::handle).await
}
