//! Configuration from the environment, read once per cold start.

use std::time::Duration;

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
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is required")]
pub struct MissingEnv(pub &'static str);

impl Config {
    /// `TABLE_NAME` and `QUEUE_URL` are required; `LOCAL_MODE=1` relaxes
    /// the outbound URL policy for the local stack; `AUTH_CACHE_TTL_SECONDS`
    /// defaults to 60. Secrets are not read here (one may take a Secrets
    /// Manager call): `App::from_env` adds the ones the function needs.
    pub fn from_env() -> Result<Config, MissingEnv> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or(MissingEnv(name))
        };
        let local = matches!(std::env::var("LOCAL_MODE").as_deref(), Ok("1") | Ok("true"));
        Ok(Config {
            table_name: var("TABLE_NAME")?,
            queue_url: var("QUEUE_URL")?,
            cursor_secret: None,
            url_policy: if local {
                UrlPolicy::Local
            } else {
                UrlPolicy::Production
            },
            auth_cache_ttl: Duration::from_secs(
                std::env::var("AUTH_CACHE_TTL_SECONDS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(60),
            ),
        })
    }
}
