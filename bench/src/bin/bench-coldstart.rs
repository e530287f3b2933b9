//! Benchmark (not a test): cold starts of every function binary against
//! their floor, a hello-world `lambda_runtime` function (`bench-hello`,
//! built in the same cargo run), and a minimal Node.js handler, under two
//! runtime APIs:
//!
//! - (a) a Lambda Runtime API implemented here: for each start, process
//!   spawn → first `GET …/invocation/next` (init) and → first
//!   `POST …/response` (first response), over RUNS starts;
//! - (b) AWS's Runtime Interface Emulator (`aws-lambda-rie` from the SAM
//!   CLI package), run natively: its reported init and the client's invoke
//!   → answer, a fresh emulator per start (`coldstart/rie.rs`).
//!
//! Every figure is also given as a ratio to the hello-world's, against the
//! target of at most 1.2× its init; where a function misses, the pieces its
//! `main` builds are timed in fresh processes (`coldstart/phases.rs`) to say
//! where the difference goes. Functions that touch AWS run against moto
//! with the dev tenant and the sample jobs seeded, fed the files in
//! `events/`. The functions measured are the Makefile's `FUNCTIONS`.
//!
//! `make bench-coldstart` builds the release binaries first.

#[path = "../coldstart/phases.rs"]
mod phases;
#[path = "../coldstart/rie.rs"]
mod rie;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::{machine, median_p90_ms, write_section};
use devstack::moto::{Moto, free_port};
use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_sample_jobs, seed_tenant};
use devstack::{Stack, StackOptions};
use http_body_util::Full;
use hyper::body::Bytes;
use phases::Phase;
use shared::domain::TenantLimits;
use testkit::Loopback;
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts per subject under the benchmark's runtime API.
const RUNS: usize = 20;
/// Starts per subject under the emulator (each a fresh emulator).
const RIE_RUNS: usize = 10;
/// Fresh processes timing the init phases.
const PHASE_RUNS: usize = 10;
/// The target: a function's init at most this many times the hello-world's.
const TARGET_RATIO: f64 = 1.2;
/// The floor's binary (src/bin/bench-hello.rs).
const HELLO: &str = "bench-hello";

/// The event file each function is invoked with; a function not listed
/// here is given `events/<name>.json`.
const EVENTS: [(&str, &str); 11] = [
    ("health", "health.json"),
    ("generate", "generate.json"),
    ("list-jobs", "list-jobs.json"),
    ("get-job", "get-job.json"),
    ("cancel-job", "cancel-job.json"),
    ("deliveries", "deliveries-list.json"),
    ("usage", "usage.json"),
    ("worker", "worker-sqs.json"),
    ("webhooks", "webhooks-non-terminal.json"),
    ("webhook-sender", "webhook-sender-sqs.json"),
    ("sweeper", "sweeper-schedule.json"),
];

/// What each function's `main` builds before its first `next`, read from
/// the code (`runtime::run_http` → `App::from_env`; the event functions'
/// `from_env`), as the phases `coldstart/phases.rs` times. Every HTTP
/// function builds the S3 client here because the benchmark gives them
/// RESULTS_BUCKET.
fn phases_of(function: &str) -> Vec<&'static Phase> {
    use phases::{AWS_CLIENTS, HTTP_CLIENT, S3_CLIENT, SDK_CONFIG, TELEMETRY};
    match function {
        "worker" => vec![
            &TELEMETRY,
            &SDK_CONFIG,
            &S3_CLIENT,
            &AWS_CLIENTS,
            &HTTP_CLIENT,
        ],
        "webhook-sender" => vec![&TELEMETRY, &SDK_CONFIG, &AWS_CLIENTS, &HTTP_CLIENT],
        "webhooks" | "sweeper" => vec![&TELEMETRY, &SDK_CONFIG, &AWS_CLIENTS],
        _ => vec![&TELEMETRY, &SDK_CONFIG, &AWS_CLIENTS, &S3_CLIENT],
    }
}

const NODE_HANDLER: &str = r"
const base = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;
(async () => {
  for (;;) {
    const next = await fetch(`${base}/next`);
    const id = next.headers.get('lambda-runtime-aws-request-id');
    await next.json();
    const body = JSON.stringify({ status: 'ok', timestamp: new Date().toISOString() });
    await fetch(`${base}/${id}/response`, {
      method: 'POST',
      body: JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body }),
    });
  }
})();
";

/// What the runtime API saw of one process.
#[derive(Debug)]
enum Seen {
    Next,
    Response,
    Error(String),
}

/// One row: a process started the same way under both harnesses.
struct Subject {
    /// How the report names it.
    label: String,
    /// Its function name (AWS_LAMBDA_FUNCTION_NAME), the key of `phases_of`.
    function: String,
    cmd: Vec<String>,
    event: String,
    /// Variables besides the common ones.
    extra_env: Vec<(&'static str, String)>,
    binary: Option<PathBuf>,
    /// A function of this repository (the rows the target is about).
    ours: bool,
}

type Stats = (f64, f64);

/// A subject's figures under the benchmark's runtime API: (init, first).
type LocalResult = Result<(Stats, Stats), String>;
/// Under the emulator.
type RieResult = Result<rie::Stats, String>;

/// The Makefile's `FUNCTIONS`: every function the service deploys.
fn makefile_functions(root: &Path) -> Result<Vec<String>, BoxError> {
    let makefile = std::fs::read_to_string(root.join("Makefile"))?;
    let line = makefile
        .lines()
        .find_map(|l| l.strip_prefix("FUNCTIONS :="))
        .ok_or("no `FUNCTIONS :=` line in the Makefile")?;
    Ok(line.split_whitespace().map(str::to_string).collect())
}

fn command_output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().nth(1).as_deref() == Some(phases::CHILD_ARG) {
        return phases::child().await;
    }
    bench::discard_metrics();
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release");
    let functions = makefile_functions(&root)?;
    for name in functions.iter().map(String::as_str).chain([HELLO]) {
        if !release.join(name).exists() {
            return Err(format!(
                "build the release binaries first: target/release/{name} is missing (see make bench-coldstart)"
            )
            .into());
        }
    }

    let moto = Moto::start(free_port()?).await?;
    let stack = Stack::provision(&moto.endpoint, StackOptions::named("imagesaas")).await?;
    seed_tenant(
        &stack.app.store,
        DEV_TENANT_ID,
        "Dev tenant",
        DEV_API_KEY,
        TenantLimits {
            rpm: 100_000,
            max_concurrency: 10_000,
            monthly_image_quota: None,
        },
    )
    .await?;
    seed_sample_jobs(&stack.app.store).await?;
    let env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("TABLE_NAME", stack.options.table.clone()),
        ("QUEUE_URL", stack.queue_url.clone()),
        ("DELIVERY_QUEUE_URL", stack.delivery_queue_url.clone()),
        ("DELIVERY_DLQ_URL", stack.delivery_dlq_url.clone()),
        ("RESULTS_BUCKET", stack.options.bucket.clone()),
        // Given as the value, so no init here includes a Secrets Manager
        // call, except the row that takes list-jobs' Lambda path (its
        // CURSOR_SECRET_ARN wins over this).
        (
            "CURSOR_SECRET",
            devstack::provision::LOCAL_CURSOR_SECRET.into(),
        ),
        ("LOCAL_MODE", "1".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
    ];
    // The cursor secret as the template gives it to list-jobs.
    let secret_arn = phases::put_secret(
        &moto.endpoint,
        "imagesaas-bench-cursor-secret",
        devstack::provision::LOCAL_CURSOR_SECRET,
    )
    .await?;

    // The same processes with a one-certificate root store: what loading
    // the system's TLS roots costs, measured rather than guessed.
    // rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR when set.
    let one_root = one_root_env()?;

    let node_script =
        std::env::temp_dir().join(format!("imagesaas-node-handler-{}.mjs", std::process::id()));
    std::fs::write(&node_script, NODE_HANDLER)?;
    let event = |file: &str| std::fs::read_to_string(root.join("events").join(file));
    let binary = |name: &str| release.join(name).to_string_lossy().into_owned();

    let mut subjects = vec![Subject {
        label: format!("**hello-world** (`{HELLO}`, the floor)"),
        function: HELLO.into(),
        cmd: vec![binary(HELLO)],
        event: event("health.json")?,
        extra_env: vec![],
        binary: Some(release.join(HELLO)),
        ours: false,
    }];
    for name in &functions {
        let file = EVENTS
            .iter()
            .find(|(f, _)| f == name)
            .map_or_else(|| format!("{name}.json"), |(_, e)| (*e).to_string());
        subjects.push(Subject {
            label: name.clone(),
            function: name.clone(),
            cmd: vec![binary(name)],
            event: event(&file).map_err(|e| format!("events/{file} for {name}: {e}"))?,
            extra_env: vec![],
            binary: Some(release.join(name)),
            ours: true,
        });
        if let (Some(roots), "health" | "webhook-sender") = (&one_root, name.as_str()) {
            subjects.push(Subject {
                label: format!("{name}, one TLS root (SSL_CERT_FILE: 1 certificate)"),
                function: name.clone(),
                cmd: vec![binary(name)],
                event: event(&file)?,
                extra_env: roots.env.clone(),
                binary: Some(release.join(name)),
                ours: true,
            });
        }
        if name == "list-jobs" {
            subjects.push(Subject {
                label: "list-jobs, secret from Secrets Manager (its Lambda path)".into(),
                function: name.clone(),
                cmd: vec![binary(name)],
                event: event(&file)?,
                extra_env: vec![("CURSOR_SECRET_ARN", secret_arn.clone())],
                binary: Some(release.join(name)),
                ours: true,
            });
        }
    }
    let node_version = command_output("node", &["--version"], &root).unwrap_or_default();
    subjects.push(Subject {
        label: format!("Node.js {node_version} minimal handler"),
        function: "node-baseline".into(),
        cmd: vec!["node".into(), node_script.to_string_lossy().into_owned()],
        event: event("health.json")?,
        extra_env: vec![],
        binary: None,
        ours: false,
    });

    let env_of = |s: &Subject| {
        let mut e = env.clone();
        e.extend(s.extra_env.iter().cloned());
        e
    };

    // (a) The benchmark's runtime API. A subject that fails is reported as
    // such; the others still run.
    let mut local: Vec<LocalResult> = Vec::new();
    for s in &subjects {
        let result = measure(&s.function, &s.cmd, &s.event, &env_of(s))
            .await
            .map_err(|e| e.to_string());
        match &result {
            Ok((init, first)) => println!(
                "runtime API  {:<58} init {:.1} / {:.1} ms, first response {:.1} / {:.1} ms (median / p90)",
                s.label, init.0, init.1, first.0, first.1
            ),
            Err(e) => println!("runtime API  {:<58} failed: {e}", s.label),
        }
        local.push(result);
    }

    // Where the init goes: the pieces, each timed in fresh processes.
    let mut phase_env = env.clone();
    phase_env.push(("CURSOR_SECRET_ARN", secret_arn.clone()));
    let phase_times = phases::measure(&phase_env, PHASE_RUNS)
        .await
        .map_err(|e| e.to_string());
    let phase_times_one_root = match &one_root {
        Some(roots) => {
            let mut env = phase_env.clone();
            env.extend(roots.env.iter().cloned());
            phases::measure(&env, PHASE_RUNS).await.ok()
        }
        None => None,
    };
    match &phase_times {
        Ok(times) => {
            for phase in phases::ALL {
                if let Some((m, p)) = times.get(phase.key) {
                    println!("phase {:<18} {m:.2} / {p:.2} ms", phase.key);
                }
            }
        }
        Err(e) => println!("phases failed: {e}"),
    }

    // (b) The emulator.
    let rie_path = rie::find(&root);
    let mut emulated: Vec<RieResult> = Vec::new();
    if let Some(path) = &rie_path {
        for s in &subjects {
            let result = rie::measure(path, &s.function, &s.cmd, &s.event, &env_of(s), RIE_RUNS)
                .await
                .map_err(|e| e.to_string());
            match &result {
                Ok([init, invoke, client]) => println!(
                    "emulator     {:<58} init {:.1} / {:.1} ms, invoke {:.1} / {:.1} ms, client {:.1} / {:.1} ms",
                    s.label, init.0, init.1, invoke.0, invoke.1, client.0, client.1
                ),
                Err(e) => println!("emulator     {:<58} failed: {e}", s.label),
            }
            emulated.push(result);
        }
    } else {
        println!("aws-lambda-rie not found: the emulator's table is left out");
    }
    let _ = std::fs::remove_file(&node_script);
    if let Some(roots) = &one_root
        && let Some((_, file)) = roots.env.first()
        && let Some(dir) = Path::new(file).parent()
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    moto.stop().await;

    let report = report(&Report {
        subjects: &subjects,
        local: &local,
        emulated: &emulated,
        rie: rie_path
            .as_ref()
            .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string()),
        phases: phase_times.as_ref(),
        phases_one_root: phase_times_one_root.as_ref(),
        roots: one_root.as_ref().map(|r| r.system.clone()),
        toolchain: command_output("rustc", &["--version"], &root).unwrap_or_default(),
        elapsed: started.elapsed(),
    });
    println!("{report}");
    write_section("coldstart", &report)?;
    Ok(())
}

struct Report<'a> {
    subjects: &'a [Subject],
    local: &'a [LocalResult],
    emulated: &'a [RieResult],
    /// The emulator, as the report names it (None: not found).
    rie: Option<String>,
    phases: Result<&'a std::collections::BTreeMap<&'static str, Stats>, &'a String>,
    /// The same with a one-certificate root store.
    phases_one_root: Option<&'a std::collections::BTreeMap<&'static str, Stats>>,
    /// Where the system's roots come from here.
    roots: Option<String>,
    toolchain: String,
    elapsed: Duration,
}

fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 && value.is_finite() {
        format!("{:.2}×", value / floor)
    } else {
        "–".into()
    }
}

fn verdict(value: f64, floor: f64) -> &'static str {
    if value <= floor * TARGET_RATIO {
        "met"
    } else {
        "**missed**"
    }
}

/// Why a function's init is above the floor, from the phases it runs.
fn reason(
    subject: &Subject,
    excess: f64,
    times: &std::collections::BTreeMap<&'static str, Stats>,
    one_root: Option<&std::collections::BTreeMap<&'static str, Stats>>,
) -> String {
    let has = |var: &str| subject.extra_env.iter().any(|(k, _)| *k == var);
    // A row started with one root is explained by the phases timed so.
    let (times, one_root) = match one_root {
        Some(one) if has("SSL_CERT_FILE") => (one, None),
        other => (times, other),
    };
    let mut built = phases_of(&subject.function);
    if has("CURSOR_SECRET_ARN") {
        built.push(&phases::SECRET);
    }
    let mut parts = Vec::new();
    let mut sum = 0.0;
    let mut roots = 0.0;
    for phase in &built {
        if let Some((median, _)) = times.get(phase.key) {
            sum += median;
            if let Some((one, _)) = one_root.and_then(|o| o.get(phase.key))
                && [phases::SDK_CONFIG.key, phases::HTTP_CLIENT.key].contains(&phase.key)
            {
                roots += (median - one).max(0.0);
            }
            let short = phase.label.split(" (").next().unwrap_or(phase.label);
            parts.push(format!("{short} {median:.2}"));
        }
    }
    let rest = excess - sum;
    let rest = if rest > 0.05 {
        format!(
            "; the other {rest:.1} ms is not in these phases and not broken down here (what is left: loading a larger binary, the runtime crates' own set-up)"
        )
    } else {
        "; these phases account for all of it".into()
    };
    let roots = if roots > 0.05 {
        format!("; of it, {roots:.1} ms is loading the TLS roots, measured against one root")
    } else {
        String::new()
    };
    format!(
        "+{excess:.1} ms over the floor; its init builds {} ms (sum {sum:.1} ms{roots}){rest}",
        parts.join(", ")
    )
}

fn report(r: &Report) -> String {
    let floor_local = r.local.first().and_then(|x| x.as_ref().ok()).copied();
    let floor_rie = r.emulated.first().and_then(|x| x.as_ref().ok()).copied();

    // (a)
    let mut local = String::from(
        "| function | init median | init p90 | init ÷ floor | ≤ 1.2× | first response median | first response p90 | first ÷ floor | binary |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut missed_local = Vec::new();
    for (s, result) in r.subjects.iter().zip(r.local) {
        let size = s
            .binary
            .as_ref()
            .and_then(|b| std::fs::metadata(b).ok())
            .map_or_else(
                || "–".to_string(),
                |m| format!("{:.1} MB", m.len() as f64 / 1_048_576.0),
            );
        match (result, floor_local) {
            (Ok((init, first)), Some((floor_init, floor_first))) => {
                let target = if s.ours {
                    verdict(init.0, floor_init.0)
                } else {
                    "–"
                };
                if s.ours && target != "met" {
                    missed_local.push((s, init.0 - floor_init.0, init.0 / floor_init.0));
                }
                local.push_str(&format!(
                    "| {} | {:.1} ms | {:.1} ms | {} | {target} | {:.1} ms | {:.1} ms | {} | {size} |\n",
                    s.label,
                    init.0,
                    init.1,
                    ratio(init.0, floor_init.0),
                    first.0,
                    first.1,
                    ratio(first.0, floor_first.0),
                ));
            }
            (Ok((init, first)), None) => local.push_str(&format!(
                "| {} | {:.1} ms | {:.1} ms | – | – | {:.1} ms | {:.1} ms | – | {size} |\n",
                s.label, init.0, init.1, first.0, first.1
            )),
            (Err(e), _) => local.push_str(&format!(
                "| {} | failed: {} | | | | | | | {size} |\n",
                s.label,
                e.replace('|', "\\|").replace('\n', " ")
            )),
        }
    }

    // Why the misses miss.
    let mut why = String::new();
    match r.phases {
        Ok(times) => {
            let mut t = String::from(
                "| phase (in a fresh process, the functions' order) | median | p90 | median, one TLS root |\n|---|---|---|---|\n",
            );
            for phase in phases::ALL {
                if let Some((m, p)) = times.get(phase.key) {
                    let one = r
                        .phases_one_root
                        .and_then(|o| o.get(phase.key))
                        .map_or_else(|| "–".to_string(), |(m, _)| format!("{m:.2} ms"));
                    t.push_str(&format!(
                        "| {} | {m:.2} ms | {p:.2} ms | {one} |\n",
                        phase.label
                    ));
                }
            }
            if let (Some(one), Some(roots)) = (r.phases_one_root, &r.roots) {
                let saved: f64 = [phases::SDK_CONFIG.key, phases::HTTP_CLIENT.key]
                    .iter()
                    .filter_map(|k| Some(times.get(k)?.0 - one.get(k)?.0))
                    .sum();
                t.push_str(&format!(
                    "\nThe last column is the same children with `SSL_CERT_FILE` naming a file of one \
                     certificate and `SSL_CERT_DIR` an empty directory (rustls-native-certs reads both): \
                     loading the system's roots ({roots}) is {saved:.1} ms of SDK config and the first \
                     reqwest client together. Every reqwest client loads them again (the second \
                     client's row).\n"
                ));
            }
            let first_call = times.get(phases::SECRET.key).map(|s| s.0);
            let again = times.get(phases::SECRET_AGAIN.key).map(|s| s.0);
            why.push_str(&format!(
                "Where the init goes: each piece a function's `main` builds before its first `next`, \
                 timed by the benchmark's own binary started {PHASE_RUNS} times with the functions' \
                 environment (`bench-coldstart --phases`, `bench/src/coldstart/phases.rs`):\n\n{t}\n"
            ));
            if let (Some(first_call), Some(again)) = (first_call, again) {
                why.push_str(&format!(
                    "The first AWS call of a process takes {:.1} ms more than the same call again \
                     ({first_call:.1} against {again:.1} ms): the SDK builds its HTTP client (connector, \
                     TLS roots) on first use. That is in every AWS-touching function's first response, \
                     not its init, except where the init itself fetches a secret.\n\n",
                    first_call - again
                ));
            }
            if missed_local.is_empty() {
                why.push_str(
                    "Every function meets the target under the benchmark's runtime API.\n\n",
                );
            } else {
                why.push_str("Functions that miss the target under the benchmark's runtime API, and why:\n\n");
                for (s, excess, ratio) in &missed_local {
                    why.push_str(&format!(
                        "- {} ({ratio:.2}×): {}.\n",
                        s.label,
                        reason(s, *excess, times, r.phases_one_root)
                    ));
                }
                why.push('\n');
            }
        }
        Err(e) => why.push_str(&format!(
            "The init phases could not be timed ({e}), so the misses are not explained here.\n\n"
        )),
    }

    // (b)
    let emulated = match &r.rie {
        None => "**Not measured**: `aws-lambda-rie` was not found (looked for `AWS_LAMBDA_RIE`, the SAM CLI \
                 package in `.venv-lambda` (`make .venv-lambda/.installed`), and `aws-lambda-rie` on the PATH).\n"
            .to_string(),
        Some(shown) => {
            let mut table = format!(
                "Under AWS's Runtime Interface Emulator (`{shown}`, run natively on loopback with \
                 `--runtime-interface-emulator-address` and `--runtime-api-address` on free ports), \
                 {RIE_RUNS} cold starts each, a fresh emulator per start. **init** is the emulator's \
                 `INIT REPORT(durationMs)` (runtime started → its first `next`); **invoke** its \
                 `INVOKE RTDONE` duration (event handed over → response); **client** is the invoke \
                 request → answer as the caller sees it (the emulator starts the runtime on the \
                 first invoke, so this is spawn, init, first response and the emulator's hops). \
                 Its `REPORT … Init Duration` is not used: INIT REPORT is the one that times the \
                 runtime's start.\n\n\
                 | function | init median | init p90 | init ÷ floor | ≤ 1.2× | invoke median | client median | client p90 | client ÷ floor |\n|---|---|---|---|---|---|---|---|---|\n"
            );
            let mut missed = Vec::new();
            for (s, result) in r.subjects.iter().zip(r.emulated) {
                match (result, floor_rie) {
                    (Ok([init, invoke, client]), Some([floor_init, _, floor_client])) => {
                        let target = if s.ours { verdict(init.0, floor_init.0) } else { "–" };
                        if s.ours && target != "met" {
                            missed.push(s.label.clone());
                        }
                        table.push_str(&format!(
                            "| {} | {:.1} ms | {:.1} ms | {} | {target} | {:.1} ms | {:.1} ms | {:.1} ms | {} |\n",
                            s.label,
                            init.0,
                            init.1,
                            ratio(init.0, floor_init.0),
                            invoke.0,
                            client.0,
                            client.1,
                            ratio(client.0, floor_client.0),
                        ));
                    }
                    (Ok([init, invoke, client]), None) => table.push_str(&format!(
                        "| {} | {:.1} ms | {:.1} ms | – | – | {:.1} ms | {:.1} ms | {:.1} ms | – |\n",
                        s.label, init.0, init.1, invoke.0, client.0, client.1
                    )),
                    (Err(e), _) => table.push_str(&format!(
                        "| {} | failed: {} | | | | | | | |\n",
                        s.label,
                        e.replace('|', "\\|").replace('\n', " ")
                    )),
                }
            }
            if missed.is_empty() {
                table.push_str("\nEvery function meets the target under the emulator.\n");
            } else {
                table.push_str(&format!(
                    "\nMissed under the emulator: {} (the same processes as above, so the same phases explain them).\n",
                    missed.join("; ")
                ));
            }
            table
        }
    };

    // The Node.js comparison, as before.
    let find = |label_start: &str| {
        r.subjects
            .iter()
            .position(|s| s.label.starts_with(label_start))
            .and_then(|i| r.local.get(i))
            .and_then(|x| x.as_ref().ok())
            .copied()
    };
    let node = find("Node.js");
    let health = find("health");
    let versus = match (health, node, floor_local) {
        (Some(health), Some(node), Some(floor)) => format!(
            "health vs the Node.js handler started the same way: init {:.1}× faster, first response \
             {:.1}× faster (the hello-world: {:.1}× and {:.1}×).",
            node.0.0 / health.0.0,
            node.1.0 / health.1.0,
            node.0.0 / floor.0.0,
            node.1.0 / floor.1.0
        ),
        _ => "The Node.js comparison is missing (see the failed rows).".into(),
    };

    format!(
        "## Cold start\n\n\
         `make bench-coldstart` starts every function of the Makefile's `FUNCTIONS` beside its floor, \
         a hello-world function (`bench/src/bin/bench-hello.rs`: `lambda_runtime` and a handler \
         returning a fixed JSON, no telemetry, no SDK). The hello-world is built in the same cargo run \
         as the functions (`make bench-build`), so with the same release profile and the same \
         toolchain ({toolchain}). Target: each function's init **at most {TARGET_RATIO}× the \
         hello-world's** (median), marked per function. Functions that read or write AWS do so \
         against moto on loopback (so their first response includes moto's latency); list-jobs is \
         also started as in Lambda, its cursor secret read from Secrets Manager (moto) at init. The \
         binaries are the host's (x86_64) release builds of the same code as the arm64 Lambda \
         artifacts: an arm64 binary cannot run natively here, and timing it under emulation would \
         say nothing about Lambda.\n\n\
         ### Under the benchmark's Runtime API\n\n\
         Each is started {RUNS} times against a Lambda Runtime API implemented in the benchmark \
         (`/2018-06-01/runtime/invocation/next`, `/response`, `/error`, `/init/error`) and given the \
         matching file from `events/`; **init** is process start → first `next` request, **first \
         response** is process start → first `/response`.\n\n{local}\n{why}\
         ### Under aws-lambda-rie\n\n{emulated}\n\
         Earlier targets: init under 25 ms (every function), first response under 40 ms (health). \
         {versus}\n\n\
         Machine: {machine}. The whole benchmark took {elapsed:.0} s.\n",
        toolchain = if r.toolchain.is_empty() {
            "rust-toolchain.toml's"
        } else {
            r.toolchain.as_str()
        },
        machine = machine(),
        elapsed = r.elapsed.as_secs_f64(),
    )
}

/// A one-certificate root store (the first certificate of the system's
/// bundle) and an empty certificate directory, as variables.
struct OneRoot {
    env: Vec<(&'static str, String)>,
    /// The system's roots as this process would load them, for the report.
    system: String,
}

fn one_root_env() -> Result<Option<OneRoot>, BoxError> {
    let bundle = std::env::var("SSL_CERT_FILE")
        .unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".to_string());
    let Ok(pem) = std::fs::read_to_string(&bundle) else {
        return Ok(None);
    };
    let end = "-----END CERTIFICATE-----";
    let Some(at) = pem.find(end) else {
        return Ok(None);
    };
    let certificates = pem.matches(end).count();
    let dir = std::env::temp_dir().join(format!("imagesaas-one-root-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("empty"))?;
    let file = dir.join("one.pem");
    std::fs::write(&file, &pem[..at + end.len()])?;
    let system = match std::env::var("SSL_CERT_DIR") {
        Ok(d) => format!(
            "`SSL_CERT_FILE` {bundle}, {certificates} certificates, and `SSL_CERT_DIR` {d}, {} entries, both set on this machine",
            std::fs::read_dir(&d).map_or(0, |r| r.count())
        ),
        Err(_) => format!("{bundle}, {certificates} certificates"),
    };
    Ok(Some(OneRoot {
        env: vec![
            ("SSL_CERT_FILE", file.to_string_lossy().into_owned()),
            (
                "SSL_CERT_DIR",
                dir.join("empty").to_string_lossy().into_owned(),
            ),
        ],
        system,
    }))
}

/// Starts `cmd` RUNS times under a fresh runtime API and returns (init,
/// first response) median/p90.
async fn measure(
    name: &str,
    cmd: &[String],
    event: &str,
    env: &[(&str, String)],
) -> Result<(Stats, Stats), BoxError> {
    let mut inits = Vec::with_capacity(RUNS);
    let mut firsts = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let port = free_port()?;
        let api = runtime_api(port, event.to_string(), format!("req-{run}"), tx).await?;
        let start = Instant::now();
        let mut child = tokio::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut init = None;
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                seen = rx.recv() => match seen {
                    Some(Seen::Next) if init.is_none() => init = Some(start.elapsed()),
                    Some(Seen::Next) => {}
                    Some(Seen::Response) => { firsts.push(start.elapsed()); break; }
                    Some(Seen::Error(e)) => return Err(format!("{name}: the function reported an error: {e}").into()),
                    None => return Err(format!("{name}: the runtime API stopped").into()),
                },
                () = &mut deadline => return Err(format!("{name}: no response within 30 s").into()),
            }
        }
        inits.push(init.ok_or("a response before any next")?);
        let _ = child.kill().await;
        drop(api);
    }
    Ok((median_p90_ms(&mut inits), median_p90_ms(&mut firsts)))
}

/// One invocation's worth of the Lambda Runtime API: the first `next` gets
/// the event, later ones wait forever (the process is killed after its
/// first response).
async fn runtime_api(
    port: u16,
    event: String,
    request_id: String,
    seen: mpsc::UnboundedSender<Seen>,
) -> std::io::Result<Loopback> {
    let served = Arc::new(Mutex::new(false));
    Loopback::http_on(port, move |req: hyper::Request<hyper::body::Incoming>| {
        let (event, request_id, seen, served) = (
            event.clone(),
            request_id.clone(),
            seen.clone(),
            served.clone(),
        );
        async move {
            let path = req.uri().path().to_string();
            let body = testkit::loopback::body_of(req).await;
            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
            if path.ends_with("/invocation/next") {
                let _ = seen.send(Seen::Next);
                let first = {
                    let mut s = served.lock().unwrap_or_else(|p| p.into_inner());
                    !std::mem::replace(&mut *s, true)
                };
                if !first {
                    std::future::pending::<()>().await;
                }
                *resp.body_mut() = Full::new(Bytes::from(event));
                let deadline = (std::time::SystemTime::now() + Duration::from_secs(60))
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let h = resp.headers_mut();
                h.insert(
                    "lambda-runtime-aws-request-id",
                    request_id.parse().expect("ascii"),
                );
                h.insert(
                    "lambda-runtime-deadline-ms",
                    deadline.to_string().parse().expect("digits"),
                );
                h.insert(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench"
                        .parse()
                        .expect("ascii"),
                );
                h.insert(
                    "lambda-runtime-trace-id",
                    "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                        .parse()
                        .expect("ascii"),
                );
                h.insert("content-type", "application/json".parse().expect("ascii"));
            } else if path.ends_with("/response") {
                let _ = seen.send(Seen::Response);
                *resp.status_mut() = hyper::StatusCode::ACCEPTED;
            } else if path.ends_with("/error") {
                let _ = seen.send(Seen::Error(String::from_utf8_lossy(&body).into_owned()));
                *resp.status_mut() = hyper::StatusCode::ACCEPTED;
            } else {
                *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
            }
            resp
        }
    })
    .await
}
