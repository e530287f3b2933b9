#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::run_http(shared::Needs::NOTHING, usage::handle).await
}
