#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    // The only function given the cursor secret: without it, it does not start.
    runtime::run_http(shared::Needs::CURSOR_SECRET, list_jobs::handle).await
}
