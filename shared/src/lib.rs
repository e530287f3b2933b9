//! Everything the Image SaaS Lambdas share: the domain (pure, no I/O), the
//! DynamoDB and SQS adapters, the typed environment and the AWS SDK
//! configuration, and the pure readers of a request's parts. No Lambda
//! types: the Lambda glue (and `ApiError` -> response) is the `runtime`
//! crate.

pub mod app;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod env;
pub mod error;
pub mod ids;
pub mod images;
pub mod metrics;
pub mod netguard;
pub mod queue;
pub mod request;
pub mod results;
pub mod sdk;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod views;
pub mod waiting;
pub mod webhooks;

pub use app::{App, Needs};
pub use config::Config;
pub use error::ApiError;
