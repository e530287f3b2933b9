//! One `wrk` run (the HTTP load generator, Debian package `wrk`) with
//! `bench/wrk.lua`, which takes the request from the environment and
//! prints a JSON summary: requests, duration, latency percentiles, errors.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum WrkError {
    #[error("could not run wrk ({0}); install it with: apt-get install -y wrk")]
    Spawn(std::io::Error),
    #[error("wrk failed: {0}")]
    Failed(String),
    #[error("wrk printed no summary: {0}")]
    NoSummary(String),
}

/// What to send, how hard and how long.
#[derive(Clone, Debug)]
pub struct Load {
    pub url: String,
    pub method: &'static str,
    pub body: Option<String>,
    pub authorization: Option<String>,
    pub connections: u32,
    pub duration: Duration,
}

/// wrk's figures for one run (times in microseconds).
#[derive(Clone, Debug, Deserialize)]
pub struct Summary {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub non_2xx: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub timeouts: u64,
}

impl Summary {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    pub fn errors(&self) -> u64 {
        self.non_2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wrk.lua")
}

/// Runs wrk to completion; one thread per connection, at most one per core.
pub async fn run(load: &Load) -> Result<Summary, WrkError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let threads = load.connections.clamp(1, cores);
    let output = tokio::process::Command::new("wrk")
        .arg(format!("--threads={threads}"))
        .arg(format!("--connections={}", load.connections))
        .arg(format!("--duration={}s", load.duration.as_secs().max(1)))
        .arg("--timeout=10s")
        .arg(format!("--script={}", script().display()))
        .arg(&load.url)
        .env("WRK_METHOD", load.method)
        .env("WRK_BODY", load.body.as_deref().unwrap_or_default())
        .env(
            "WRK_AUTHORIZATION",
            load.authorization.as_deref().unwrap_or_default(),
        )
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(WrkError::Spawn)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(WrkError::Failed(format!(
            "{}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| WrkError::NoSummary(stdout.to_string()))
}
