#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // The only function given the cursor secret: without it, it does not start.
    shared::bootstrap::run_http(shared::Needs::CURSOR_SECRET, list_jobs::handle).await
}
