#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::run_http(get_job::handle).await
}
