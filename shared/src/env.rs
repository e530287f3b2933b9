//! The one reader of the process environment. Every function, the admin
//! CLI and the dev stack read their settings through [`Env`], so a variable
//! means the same thing wherever it is read:
//!
//! - an unset and an empty variable are the same: absent;
//! - [`Env::required`] fails with [`EnvError::Missing`] naming the variable;
//! - [`Env::parsed`] fails with [`EnvError::Bad`] on a value that does not
//!   parse, where [`Env::parsed_or`] keeps the default (and logs a warning);
//! - [`Env::flag`] is on for `1` and `true`, off for anything else. That is
//!   what the functions accepted for `LOCAL_MODE` before it was read here
//!   (the admin CLI took only `1`).
//!
//! The variables, and who reads them:
//!
//! | variable | read by |
//! |---|---|
//! | `TABLE_NAME` | every function, admin (or `--table`) |
//! | `QUEUE_URL` | HTTP functions, worker, sweeper, admin (or `--queue-url`) |
//! | `RESULTS_BUCKET`, `CDN_BASE_URL` | worker |
//! | `LOCAL_MODE` | HTTP functions, worker, webhook-sender, admin: loopback and `http` URLs allowed |
//! | `DELIVERY_QUEUE_URL` | webhooks, webhook-sender, deliveries, admin (or `--queue-url` of `webhook redeliver`) |
//! | `DELIVERY_DLQ_URL`, `WEBHOOK_TIMEOUT_SECONDS`, `WEBHOOK_HOLD_SECONDS` | webhook-sender (timeout default 10, hold 30); the DLQ URL also admin `stats` |
//! | `JOBS_DLQ_URL` | admin `stats` (or `--jobs-dlq-url`) |
//! | `WEBHOOK_RETRY_SCHEDULE_SECONDS` | webhook-sender, the dev server (strict: at most 20 whole seconds, each 0 to 43200) |
//! | `AUTH_CACHE_TTL_SECONDS` | HTTP functions (default 60) |
//! | `CURSOR_SECRET[_ARN]` | list-jobs (see `secrets`) |
//! | `GEMINI_API_KEY[_ARN]`, `GEMINI_BASE_URL`, `GEMINI_TIMEOUT_SECONDS` | worker |
//! | `DRAFT_MODEL`, `DRAFT_IMAGE_SIZE`, `FINAL_MODEL`, `FINAL_IMAGE_SIZE` | worker |
//! | `MAX_ATTEMPTS`, `RETRY_BASE_DELAY_SECONDS`, `LEASE_SECONDS` | worker |
//! | `STALE_AFTER_MINUTES` | sweeper (strict: 1 to 10080) |
//! | `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_FUNCTION_NAME`, `LOG_FORMAT` | telemetry (`RUST_LOG` too, through `tracing_subscriber`) |
//! | `PORT`, `HOST`, `MOTO_PORT`, `AWS_ENDPOINT_URL`, `DEV_WEBHOOK_URL`, `DEV_WEBHOOK_SECRET` | the dev server (`make dev`; with `AUTH_CACHE_TTL_SECONDS`, `GEMINI_API_KEY`, `GEMINI_BASE_URL`) |
//!
//! The AWS SDK reads its own (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials)
//! in [`crate::sdk::sdk_config`].

use std::collections::HashMap;
use std::str::FromStr;

/// A setting that is missing or unusable: the cold start (or the command)
/// fails with this, naming the variable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} must be {expected}")]
    Bad {
        name: &'static str,
        expected: &'static str,
    },
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// Where the variables come from: the process, or a fixed set (tests and
/// tools pass their own instead of changing the process environment).
pub struct Env {
    fixed: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env { fixed: None }
    }

    /// Exactly these variables, nothing from the process.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env {
            fixed: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }
    }

    /// The value, `None` when unset, empty or not Unicode.
    pub fn optional(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing(name))
    }

    /// The value parsed as `T`; absent is `Ok(None)`, unparsable an error
    /// that says what was `expected`.
    pub fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>, EnvError> {
        self.optional(name)
            .map(|v| v.parse().map_err(|_| EnvError::Bad { name, expected }))
            .transpose()
    }

    /// The value parsed as `T`, or `default` when absent or unparsable. For
    /// the tuning settings that have always fallen back to their default
    /// rather than stopping the function; the fallback is logged.
    pub fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> T {
        match self.parsed(name, "a number") {
            Ok(Some(value)) => value,
            Ok(None) => default,
            Err(e) => {
                tracing::warn!(error = %e, "using the default");
                default
            }
        }
    }

    /// On for `1` and `true`; off for anything else, absent included.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.optional(name).as_deref(), Some("1" | "true"))
    }

    /// `LOCAL_MODE`: the local stack, where outbound URLs may be `http` and
    /// loopback (the worker's input images, webhooks).
    pub fn local_mode(&self) -> bool {
        self.flag("LOCAL_MODE")
    }

    /// The outbound URL policy `LOCAL_MODE` selects.
    pub fn url_policy(&self) -> crate::netguard::UrlPolicy {
        if self.local_mode() {
            crate::netguard::UrlPolicy::Local
        } else {
            crate::netguard::UrlPolicy::Production
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netguard::UrlPolicy;

    #[test]
    fn an_empty_variable_is_an_absent_one() {
        let env = Env::from_pairs(&[("TABLE_NAME", "")]);
        assert_eq!(env.optional("TABLE_NAME"), None);
        assert_eq!(
            env.required("TABLE_NAME"),
            Err(EnvError::Missing("TABLE_NAME"))
        );
    }

    #[test]
    fn local_mode_is_on_for_1_and_true_only() {
        for on in ["1", "true"] {
            assert!(Env::from_pairs(&[("LOCAL_MODE", on)]).local_mode(), "{on}");
        }
        for off in ["", "0", "false", "TRUE", "yes", " 1"] {
            assert!(
                !Env::from_pairs(&[("LOCAL_MODE", off)]).local_mode(),
                "{off:?}"
            );
        }
        assert!(!Env::from_pairs(&[]).local_mode());
        assert_eq!(
            Env::from_pairs(&[("LOCAL_MODE", "true")]).url_policy(),
            UrlPolicy::Local
        );
        assert_eq!(Env::from_pairs(&[]).url_policy(), UrlPolicy::Production);
    }

    #[test]
    fn a_value_that_does_not_parse_is_an_error_naming_the_variable() {
        let env = Env::from_pairs(&[("MAX_ATTEMPTS", "three")]);
        let err = env
            .parsed::<u32>("MAX_ATTEMPTS", "a whole number")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAX_ATTEMPTS must be a whole number"
        );
        assert_eq!(env.parsed::<u32>("LEASE_SECONDS", "a number"), Ok(None));
    }

    #[test]
    fn a_tuning_setting_that_does_not_parse_keeps_its_default() {
        let env = Env::from_pairs(&[("MAX_ATTEMPTS", "three"), ("LEASE_SECONDS", "30")]);
        assert_eq!(env.parsed_or("MAX_ATTEMPTS", 3u64), 3);
        assert_eq!(env.parsed_or("LEASE_SECONDS", 300u64), 30);
        assert_eq!(env.parsed_or("RETRY_BASE_DELAY_SECONDS", 10u64), 10);
    }
}
