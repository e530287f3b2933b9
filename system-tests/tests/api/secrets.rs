//! Secrets at cold start (`shared::secrets`): read from Secrets Manager
//! (moto's, for real) when a function is given `<NAME>_ARN`, from the plain
//! variable otherwise; and only list-jobs needs the cursor secret.

use shared::secrets::{Secret, SecretError, SecretSource};

use system_tests::{TestStack, moto_endpoint};

fn vars(pairs: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> {
    let pairs = pairs.to_vec();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &shared::ids::new_id()[1..13])
}

#[tokio::test]
async fn a_secret_given_by_arn_is_read_from_secrets_manager() {
    let sdk = devstack::resources::sdk_for(&moto_endpoint()).await;
    let arn = devstack::provision::put_secret(
        &aws_sdk_secretsmanager::Client::new(&sdk),
        &unique("cursor-secret"),
        "from-secrets-manager",
    )
    .await
    .unwrap();
    let secret = Secret::from_vars(
        "CURSOR_SECRET",
        vars(&[
            ("CURSOR_SECRET_ARN", arn.clone()),
            ("CURSOR_SECRET", "from-the-environment".into()),
        ]),
    );
    assert_eq!(secret.source(), &SecretSource::SecretsManager(arn));
    assert_eq!(
        secret.required(&sdk).await.unwrap(),
        "from-secrets-manager",
        "the ARN wins over the plain variable"
    );
}

#[tokio::test]
async fn a_new_version_of_the_secret_is_what_the_next_cold_start_reads() {
    let sdk = devstack::resources::sdk_for(&moto_endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = unique("gemini-api-key");
    let arn = devstack::provision::put_secret(&secrets, &name, "first-key")
        .await
        .unwrap();
    // What an operator does: `aws secretsmanager put-secret-value`.
    let same_arn = devstack::provision::put_secret(&secrets, &name, "second-key")
        .await
        .unwrap();
    assert_eq!(arn, same_arn);
    let secret = Secret::from_vars("GEMINI_API_KEY", vars(&[("GEMINI_API_KEY_ARN", arn)]));
    assert_eq!(
        secret.value(&sdk).await.unwrap().as_deref(),
        Some("second-key")
    );
}

#[tokio::test]
async fn the_plain_variable_is_used_without_any_aws_call_when_no_arn_is_set() {
    // Nothing listens on port 1: any call would fail.
    let unreachable = devstack::resources::sdk_for("http://127.0.0.1:1").await;
    let secret = Secret::from_vars(
        "CURSOR_SECRET",
        vars(&[("CURSOR_SECRET", "from-the-environment".into())]),
    );
    assert_eq!(
        secret.required(&unreachable).await.unwrap(),
        "from-the-environment"
    );
    let absent = Secret::from_vars("GEMINI_API_KEY", vars(&[]));
    assert_eq!(absent.value(&unreachable).await.unwrap(), None);
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_fails_the_cold_start_and_says_which() {
    let sdk = devstack::resources::sdk_for(&moto_endpoint()).await;
    let missing_arn =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf".to_string();
    let secret = Secret::from_vars(
        "GEMINI_API_KEY",
        vars(&[
            ("GEMINI_API_KEY_ARN", missing_arn.clone()),
            // Never a silent fallback to another source.
            ("GEMINI_API_KEY", "from-the-environment".into()),
        ]),
    );
    let err = secret.value(&sdk).await.unwrap_err();
    assert!(
        matches!(&err, SecretError::Read { name: "GEMINI_API_KEY", arn, .. } if *arn == missing_arn),
        "{err}"
    );
    let required = Secret::from_vars("CURSOR_SECRET", vars(&[]));
    let err = required.required(&sdk).await.unwrap_err();
    assert!(matches!(err, SecretError::Missing { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "CURSOR_SECRET_ARN (a Secrets Manager secret) or CURSOR_SECRET is required"
    );
}

#[tokio::test]
async fn only_listing_needs_the_cursor_secret() {
    let t = TestStack::start().await;
    let key = t.dev_tenant().await;
    let submit = t.submit(&key, r#"{"prompt": "A cat"}"#).await;
    assert_eq!(submit.status, 202, "{}", submit.body);
    let job_id = submit.body["jobId"].as_str().unwrap().to_string();

    // The other routes' functions are not given the secret, and work.
    let without = t.variant(|config| config.cursor_secret = None).await;
    let read = without.get(&key, &format!("/v1/jobs/{job_id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let again = without.submit(&key, r#"{"prompt": "Another cat"}"#).await;
    assert_eq!(again.status, 202, "{}", again.body);
    // A listing function built without it answers in the contract's shape
    // (in Lambda it would not have started: `Needs::CURSOR_SECRET`).
    without
        .get(&key, "/v1/jobs")
        .await
        .assert_error(500, "UNKNOWN_ERROR");
    let listed = t.get(&key, "/v1/jobs").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
}
