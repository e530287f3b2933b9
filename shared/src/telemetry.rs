//! Logging: JSON lines in Lambda (CloudWatch's JSON log format, one object
//! per event with the request span's fields), readable lines locally.
//! Nothing here ever sees an API key: only its tenant is recorded.

use tracing_subscriber::EnvFilter;

use crate::env::Env;

pub fn init() {
    let env = Env::process();
    // RUST_LOG wins; else Lambda's advanced logging level; else info.
    let filter = EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| {
            env.optional("AWS_LAMBDA_LOG_LEVEL")
                .and_then(|level| EnvFilter::try_new(level.to_lowercase()).ok())
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    let in_lambda = env.optional("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = in_lambda
        || env
            .optional("LOG_FORMAT")
            .is_some_and(|f| f.eq_ignore_ascii_case("json"));
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
