//! Logging: JSON lines in Lambda (CloudWatch's JSON log format, one object
//! per event with the request span's fields), readable lines locally.
//! Nothing here ever sees an API key: only its tenant is recorded.

use tracing_subscriber::EnvFilter;

pub fn init() {
    // RUST_LOG wins; else Lambda's advanced logging level; else info.
    let filter = EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .and_then(|level| EnvFilter::try_new(level.to_lowercase()).ok())
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json =
        in_lambda || std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            // Lambda adds its own timestamp to every line.
            .without_time()
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // A second init (tests, the local stack) keeps the first subscriber.
    let _ = result;
}
