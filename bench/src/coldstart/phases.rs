//! Where a function's init goes beyond the hello-world's: the pieces its
//! `main` builds before the first `next` (see `runtime::cold_start`,
//! `shared::App::from_env` and the event functions' `from_env`), each
//! timed in a fresh process, as a function builds them once per cold start.
//!
//! The parent (`measure`) starts this benchmark's own binary with
//! `--phases` under the functions' environment; the child (`child`) builds
//! the pieces in the functions' order and prints one JSON object of
//! milliseconds. A fresh process each time because the first of a kind is
//! what a cold start pays (lazily built statics, the TLS provider), and
//! an in-process repeat would time the second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shared::env::Env;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The argument that makes the benchmark binary the child.
pub const CHILD_ARG: &str = "--phases";

/// A phase: its key in the child's output and how the report names it.
pub struct Phase {
    pub key: &'static str,
    pub label: &'static str,
}

pub const TELEMETRY: Phase = Phase {
    key: "telemetry",
    label: "telemetry (`shared::telemetry::init`: the JSON tracing subscriber, RUST_LOG filter)",
};
pub const SDK_CONFIG: Phase = Phase {
    key: "sdk_config",
    label: "SDK config (`shared::sdk::sdk_config`: region, credentials and endpoint chain)",
};
pub const AWS_CLIENTS: Phase = Phase {
    key: "aws_clients",
    label: "DynamoDB and SQS clients (`Client::new` of each)",
};
pub const S3_CLIENT: Phase = Phase {
    key: "s3_client",
    label: "S3 client (`shared::results::s3_client`)",
};
pub const HTTP_CLIENT: Phase = Phase {
    key: "http_client",
    label: "first reqwest client (`netguard::guarded_client`: rustls with its crypto provider and platform verifier)",
};
pub const HTTP_CLIENT_AGAIN: Phase = Phase {
    key: "http_client_again",
    label: "a second reqwest client in the same process",
};
pub const SECRET: Phase = Phase {
    key: "secret",
    label: "secrets fetch (`Secret::required`: GetSecretValue, the process's first AWS call, against moto)",
};
pub const SECRET_AGAIN: Phase = Phase {
    key: "secret_again",
    label: "the same GetSecretValue again (moto's round trip alone)",
};

pub const ALL: [&Phase; 8] = [
    &TELEMETRY,
    &SDK_CONFIG,
    &AWS_CLIENTS,
    &S3_CLIENT,
    &HTTP_CLIENT,
    &HTTP_CLIENT_AGAIN,
    &SECRET,
    &SECRET_AGAIN,
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The child: builds each piece once, in the functions' order, and prints
/// the times. `CURSOR_SECRET_ARN` must name a secret (the parent creates
/// it in moto), as the template gives list-jobs its cursor secret.
pub async fn child() -> Result<(), BoxError> {
    let mut times = BTreeMap::new();
    let t = Instant::now();
    shared::telemetry::init();
    times.insert(TELEMETRY.key, ms(t.elapsed()));

    let t = Instant::now();
    let sdk = shared::sdk::sdk_config().await;
    times.insert(SDK_CONFIG.key, ms(t.elapsed()));

    let t = Instant::now();
    let clients = (
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
    );
    times.insert(AWS_CLIENTS.key, ms(t.elapsed()));

    let t = Instant::now();
    let s3 = shared::results::s3_client(&sdk);
    times.insert(S3_CLIENT.key, ms(t.elapsed()));

    // The worker's input fetcher and the webhook sender's deliverer are
    // both this client; the Gemini client is another reqwest client.
    let policy = Env::process().url_policy();
    let t = Instant::now();
    let http =
        shared::netguard::guarded_client(policy, Duration::from_secs(5), Duration::from_secs(20))?;
    times.insert(HTTP_CLIENT.key, ms(t.elapsed()));
    let t = Instant::now();
    let http_again =
        shared::netguard::guarded_client(policy, Duration::from_secs(5), Duration::from_secs(20))?;
    times.insert(HTTP_CLIENT_AGAIN.key, ms(t.elapsed()));

    // Last, so that the phases above are the same in every run: the first
    // AWS call also builds the SDK's HTTP client (its connector and TLS
    // roots), which the repeat does not.
    let secret = shared::secrets::Secret::from_env("CURSOR_SECRET");
    let t = Instant::now();
    secret.required(&sdk).await?;
    times.insert(SECRET.key, ms(t.elapsed()));
    let t = Instant::now();
    secret.required(&sdk).await?;
    times.insert(SECRET_AGAIN.key, ms(t.elapsed()));

    drop((clients, s3, http, http_again));
    println!("{}", serde_json::to_string(&times)?);
    Ok(())
}

/// Median and p90 of every phase over `runs` children started with `env`.
pub async fn measure(
    env: &[(&str, String)],
    runs: usize,
) -> Result<BTreeMap<&'static str, (f64, f64)>, BoxError> {
    let exe = std::env::current_exe()?;
    let mut samples: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for _ in 0..runs {
        let out = tokio::process::Command::new(&exe)
            .arg(CHILD_ARG)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", "phases")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await?;
        if !out.status.success() {
            return Err(format!(
                "the phase child failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        // The child's last line: telemetry may have written before it.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .last()
            .ok_or("the phase child printed nothing")?;
        let times: BTreeMap<String, f64> = serde_json::from_str(line)?;
        for phase in ALL {
            let value = times
                .get(phase.key)
                .ok_or_else(|| format!("the phase child did not time {}", phase.key))?;
            samples
                .entry(phase.key)
                .or_default()
                .push(Duration::from_secs_f64(value / 1e3));
        }
    }
    Ok(samples
        .into_iter()
        .map(|(k, mut v)| (k, bench::median_p90_ms(&mut v)))
        .collect())
}

/// Creates a Secrets Manager secret in moto and returns its ARN. Raw JSON
/// protocol rather than the SDK's client: the benchmark does not link the
/// Secrets Manager crate, and moto does not check signatures (the
/// credential scope in `Authorization` only names the service and region).
pub async fn put_secret(endpoint: &str, name: &str, value: &str) -> Result<String, BoxError> {
    // reqwest's `json` feature is not enabled here: the body as text.
    let text = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(serde_json::json!({ "Name": name, "SecretString": value }).to_string())
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let answer: serde_json::Value = serde_json::from_str(&text)?;
    answer["ARN"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("CreateSecret {name}: no ARN in {answer}").into())
}
