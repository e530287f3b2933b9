//! Cold starts under AWS's Runtime Interface Emulator (`aws-lambda-rie`,
//! shipped inside the SAM CLI package that `make .venv-lambda/.installed`
//! installs), run natively on loopback: the runtime API is AWS's code, not
//! the benchmark's.
//!
//! The emulator starts the runtime lazily, on the first invoke, so each
//! run is a fresh emulator: wait until it listens, then time the invoke
//! from the client (`POST …/functions/function/invocations` → answer:
//! process start, init and the first response, plus the emulator's own
//! hops), and read the emulator's log for its `INIT REPORT(durationMs: …)`
//! (runtime started → its first `next`) and `INVOKE RTDONE(… duration: …)`.
//! Its `REPORT … Init Duration` is not used: this build prints a figure
//! there that is not the init (under 1 ms for a Node.js start).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use devstack::moto::{dying_with_parent, free_port};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the emulator is: `AWS_LAMBDA_RIE` if set, else the host's build
/// inside the SAM CLI venv, else `aws-lambda-rie` on the PATH.
pub fn find(root: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AWS_LAMBDA_RIE") {
        return Some(PathBuf::from(path));
    }
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    let file = format!("aws-lambda-rie-{arch}");
    // .venv-lambda/lib/python3.X/site-packages/samcli/local/rapid/
    let lib = root.join(".venv-lambda/lib");
    let in_venv = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| {
                d.path()
                    .join("site-packages/samcli/local/rapid")
                    .join(&file)
            })
            .find(|p| p.is_file())
    });
    in_venv.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("aws-lambda-rie"))
                .find(|p| p.is_file())
        })
    })
}

/// One run's figures.
pub struct Run {
    /// The emulator's INIT REPORT.
    pub init: Duration,
    /// The emulator's INVOKE RTDONE: invoke handed over → response.
    pub invoke: Duration,
    /// The client's: invoke sent → answer read.
    pub client: Duration,
}

/// Kills the emulator's process group (the emulator and the runtime it
/// started) when dropped, also when a run fails half-way: killing only
/// the emulator with SIGKILL would leave its runtime behind.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The number after `field` on the emulator's first log line holding
/// `marker`, in milliseconds.
fn logged_ms(log: &str, marker: &str, field: &str) -> Option<Duration> {
    let line = log.lines().find(|l| l.contains(marker))?;
    let at = line.find(field)? + field.len();
    let number: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse::<f64>()
        .ok()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
}

/// One cold start of `cmd` (the bootstrap and its arguments) under a fresh
/// emulator, invoked with `event`.
pub async fn run_once(
    rie: &Path,
    name: &str,
    cmd: &[String],
    event: &str,
    env: &[(&str, String)],
    http: &reqwest::Client,
) -> Result<Run, BoxError> {
    let rie_port = free_port()?;
    let api_port = loop {
        let port = free_port()?;
        if port != rie_port {
            break port;
        }
    };
    let log_path = std::env::temp_dir().join(format!(
        "imagesaas-rie-{}-{rie_port}.log",
        std::process::id()
    ));
    let log = std::fs::File::create(&log_path)?;
    let mut command = dying_with_parent(rie);
    command
        .args(["--log-level", "info"])
        .args([
            "--runtime-interface-emulator-address",
            &format!("127.0.0.1:{rie_port}"),
        ])
        .args(["--runtime-api-address", &format!("127.0.0.1:{api_port}")])
        .args(cmd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own group, so that the runtime it starts is killed with it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()?;
    let group = Group(child.id().ok_or("the emulator exited at once")?);

    let result = async {
        bench::wait_for_port(rie_port).await?;
        let url = format!("http://127.0.0.1:{rie_port}/2015-03-31/functions/function/invocations");
        let start = Instant::now();
        let answer = http
            .post(&url)
            .body(event.to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        let status = answer.status();
        let body = answer.text().await?;
        let client = start.elapsed();
        // A function error comes back as 200 with the error's JSON.
        let failed = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .is_some_and(|v| v.get("errorType").is_some());
        if !status.is_success() || failed {
            return Err(format!("{name}: the emulator answered {status}: {body}").into());
        }
        Ok::<_, BoxError>(client)
    }
    .await;
    drop(group);
    let _ = child.wait().await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    let client = result?;
    let init = logged_ms(&log, "INIT REPORT(", "durationMs: ")
        .ok_or_else(|| format!("{name}: no INIT REPORT in the emulator's log:\n{log}"))?;
    let invoke = logged_ms(&log, "INVOKE RTDONE(", "duration: ")
        .ok_or_else(|| format!("{name}: no INVOKE RTDONE in the emulator's log:\n{log}"))?;
    Ok(Run {
        init,
        invoke,
        client,
    })
}

/// Median/p90 of (init, invoke, client) over `runs` cold starts.
pub type Stats = [(f64, f64); 3];

pub async fn measure(
    rie: &Path,
    name: &str,
    cmd: &[String],
    event: &str,
    env: &[(&str, String)],
    runs: usize,
) -> Result<Stats, BoxError> {
    let http = reqwest::Client::new();
    let (mut init, mut invoke, mut client) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let run = run_once(rie, name, cmd, event, env, &http).await?;
        init.push(run.init);
        invoke.push(run.invoke);
        client.push(run.client);
    }
    Ok([
        bench::median_p90_ms(&mut init),
        bench::median_p90_ms(&mut invoke),
        bench::median_p90_ms(&mut client),
    ])
}
