//! Everything the Image SaaS Lambdas share: the domain (pure, no I/O), the
//! DynamoDB and SQS adapters, and the HTTP glue that turns a handler's
//! `Result<ApiResponse, ApiError>` into the contract's response.

pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod images;
pub mod netguard;
pub mod queue;
pub mod results;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod webhooks;

pub use app::{App, Needs};
pub use config::Config;
pub use error::ApiError;
pub use http::ApiResponse;
