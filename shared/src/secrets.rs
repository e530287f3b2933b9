//! Secrets, read once per cold start.
//!
//! A function is given a secret `NAME` in one of two ways:
//!
//! - `NAME_ARN`: the ARN (or name) of a Secrets Manager secret whose
//!   `SecretString` is the value. This is how the template does it, so the
//!   value is not in the function's configuration, and only the functions
//!   whose role may `GetSecretValue` on that ARN can read it.
//! - `NAME`: the value itself, for the local stack and the tests.
//!
//! `NAME_ARN` wins when both are set. An empty variable or an empty secret
//! counts as absent, as the other variables do.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// Where a secret's value comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A Secrets Manager secret, by ARN or name.
    SecretsManager(String),
    /// The value, straight from the environment.
    Env(String),
    Absent,
}

/// A value is never printed; an ARN is not secret.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::SecretsManager(arn) => write!(f, "SecretsManager({arn})"),
            SecretSource::Env(_) => f.write_str("Env(..)"),
            SecretSource::Absent => f.write_str("Absent"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{name}_ARN (a Secrets Manager secret) or {name} is required")]
    Missing { name: &'static str },
    #[error("could not read {name} from Secrets Manager ({arn}): {cause}")]
    Read {
        name: &'static str,
        arn: String,
        cause: String,
    },
    #[error("the Secrets Manager secret {arn} for {name} holds no text value")]
    NotText { name: &'static str, arn: String },
}

/// One secret of a function's configuration.
#[derive(Clone, Debug)]
pub struct Secret {
    name: &'static str,
    source: SecretSource,
}

impl Secret {
    /// `name` as the process environment gives it.
    pub fn from_env(name: &'static str) -> Secret {
        let env = crate::env::Env::process();
        Secret::from_vars(name, |var| env.optional(var))
    }

    /// `name` as `lookup` gives the variables: tests pass their own instead
    /// of changing the process environment.
    pub fn from_vars(name: &'static str, lookup: impl Fn(&str) -> Option<String>) -> Secret {
        let var = |var: &str| lookup(var).filter(|v| !v.is_empty());
        let source = match (var(&format!("{name}_ARN")), var(name)) {
            (Some(arn), _) => SecretSource::SecretsManager(arn),
            (None, Some(value)) => SecretSource::Env(value),
            (None, None) => SecretSource::Absent,
        };
        Secret { name, source }
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// The value, `None` if the function was given none. Reading from
    /// Secrets Manager is one `GetSecretValue` call; a secret that was
    /// configured but cannot be read is an error, never "absent", so a
    /// missing permission or a wrong ARN fails the cold start loudly.
    pub async fn value(&self, sdk: &SdkConfig) -> Result<Option<String>, SecretError> {
        let arn = match &self.source {
            SecretSource::Absent => return Ok(None),
            SecretSource::Env(value) => return Ok(Some(value.clone())),
            SecretSource::SecretsManager(arn) => arn,
        };
        let out = aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| SecretError::Read {
                name: self.name,
                arn: arn.clone(),
                cause: DisplayErrorContext(e).to_string(),
            })?;
        match out.secret_string {
            Some(value) => Ok(Some(value).filter(|v| !v.is_empty())),
            None => Err(SecretError::NotText {
                name: self.name,
                arn: arn.clone(),
            }),
        }
    }

    /// The value, for a function that cannot work without it.
    pub async fn required(&self, sdk: &SdkConfig) -> Result<String, SecretError> {
        self.value(sdk)
            .await?
            .ok_or(SecretError::Missing { name: self.name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_plain_variable_is_the_value_when_no_arn_is_set() {
        let secret = Secret::from_vars("CURSOR_SECRET", vars(&[("CURSOR_SECRET", "s3cret")]));
        assert_eq!(secret.source(), &SecretSource::Env("s3cret".into()));
    }

    #[test]
    fn an_arn_wins_over_the_plain_variable() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor-AbCdEf";
        let secret = Secret::from_vars(
            "CURSOR_SECRET",
            vars(&[("CURSOR_SECRET", "s3cret"), ("CURSOR_SECRET_ARN", arn)]),
        );
        assert_eq!(secret.source(), &SecretSource::SecretsManager(arn.into()));
    }

    #[test]
    fn empty_variables_count_as_absent() {
        let secret = Secret::from_vars(
            "GEMINI_API_KEY",
            vars(&[("GEMINI_API_KEY", ""), ("GEMINI_API_KEY_ARN", "")]),
        );
        assert_eq!(secret.source(), &SecretSource::Absent);
    }

    #[test]
    fn a_value_from_the_environment_is_never_printed() {
        let secret = Secret::from_vars("CURSOR_SECRET", vars(&[("CURSOR_SECRET", "s3cret")]));
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn the_missing_error_names_both_variables() {
        let message = SecretError::Missing {
            name: "CURSOR_SECRET",
        }
        .to_string();
        assert!(message.contains("CURSOR_SECRET_ARN") && message.contains("CURSOR_SECRET"));
    }
}
