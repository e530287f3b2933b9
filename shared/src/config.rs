//! Configuration from the environment, read once per cold start.

use std::time::Duration;

use crate::env::{Env, EnvError};
use crate::netguard::UrlPolicy;

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub queue_url: String,
    /// Key for the cursor HMAC, only in the function that lists jobs (the
    /// others are not given it: see `Needs`). Rotating it invalidates
    /// outstanding cursors (clients get 400 and restart their listing),
    /// nothing else.
    pub cursor_secret: Option<String>,
    pub url_policy: UrlPolicy,
    /// How long a warm function trusts a key look-up: a revoked key or a
    /// changed limit takes effect within this time (the concurrency limit at
    /// once: it is checked in the database on every submit).
    pub auth_cache_ttl: Duration,
    /// The webhook delivery queue (`DELIVERY_QUEUE_URL`), for the function
    /// that takes redelivery requests; the others have none.
    pub delivery_queue_url: Option<String>,
    /// The results bucket (`RESULTS_BUCKET`), for the function that stores
    /// submitted `data:` input images under `inputs/`; the others have none.
    pub results_bucket: Option<String>,
}

impl Config {
    /// `TABLE_NAME` and `QUEUE_URL` are required; `LOCAL_MODE` relaxes the
    /// outbound URL policy for the local stack; `AUTH_CACHE_TTL_SECONDS`
    /// defaults to 60. Secrets are not read here (one may take a Secrets
    /// Manager call): `App::from_env` adds the ones the function needs.
    pub fn from_env(env: &Env) -> Result<Config, EnvError> {
        Ok(Config {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            cursor_secret: None,
            url_policy: env.url_policy(),
            auth_cache_ttl: Duration::from_secs(env.parsed_or("AUTH_CACHE_TTL_SECONDS", 60)),
            delivery_queue_url: env.optional("DELIVERY_QUEUE_URL"),
            results_bucket: env.optional("RESULTS_BUCKET"),
        })
    }
}
