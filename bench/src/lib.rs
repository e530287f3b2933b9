//! The benchmarks: the binaries in `src/bin/bench-*.rs` print figures and
//! write their section of BENCHMARKS.md; none of them asserts a timing.
//! Shared by them: [`api`] (the API called in-process), [`meter`] (an
//! HTTP client for the AWS SDK that counts and prices every call), [`wrk`]
//! (one run of the HTTP load generator) and the helpers below.

pub mod api;
pub mod meter;
pub mod scale;
pub mod wrk;

use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Waits until something listens on a loopback port (30 s at most).
pub async fn wait_for_port(port: u16) -> Result<(), BoxError> {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("nothing listens on port {port}").into())
}

/// The median and the 90th percentile of some durations, in milliseconds.
pub fn median_p90_ms(samples: &mut [Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.9))
}

/// CPU time (user + system) a running process has used so far, from
/// `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    // utime and stime: the 14th and 15th fields.
    stat_ticks(&format!("/proc/{pid}/stat"), 11)
}

/// CPU time (user + system) of this process's children that have exited
/// and been waited for (what `getrusage(RUSAGE_CHILDREN)` reports, here
/// in clock ticks).
pub fn exited_children_cpu() -> Duration {
    // cutime and cstime: the 16th and 17th fields.
    stat_ticks("/proc/self/stat", 13).unwrap_or_default()
}

/// The sum of two adjacent tick counts of a `stat` file, `index` counted
/// among the fields after the command name (which is in parentheses and
/// may hold spaces), as a duration.
fn stat_ticks(path: &str, index: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 =
        fields.get(index)?.parse::<u64>().ok()? + fields.get(index + 1)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second(),
    ))
}

/// The kernel's clock tick (`sysconf(_SC_CLK_TCK)`), from the auxiliary
/// vector the kernel gave this process (`AT_CLKTCK`); 100, Linux's value
/// everywhere, if it cannot be read.
fn clock_ticks_per_second() -> f64 {
    const AT_CLKTCK: u64 = 17;
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or_default());
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|auxv| {
            auxv.chunks_exact(16)
                .find(|pair| word(&pair[..8]) == AT_CLKTCK)
                .map(|pair| word(&pair[8..]))
        })
        .filter(|&ticks| ticks > 0)
        .map_or(100.0, |ticks| ticks as f64)
}

/// The 1-minute load average: how busy the (shared) machine was.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What machine the figures come from and how busy it was (the load of
/// the minute before the call: benchmarks call it once they have measured).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    // The load is the shared machine's: other work on it slows timings.
    let load = load_average().map_or_else(
        || "load average unknown".to_string(),
        |l| format!("1-minute load average {l:.2} over the run's last minute"),
    );
    format!(
        "{cores} cores ({cpu}), {mem_gib:.0} GiB RAM, {}, {load}",
        std::env::consts::ARCH
    )
}

/// Replaces this benchmark's section of BENCHMARKS.md (between markers),
/// keeping the other benchmarks' sections.
pub fn write_section(name: &str, text: &str) -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Benchmarks\n\nFigures measured on this repository's machines; each section says how to reproduce it.\n".to_string()
    });
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let section = format!("{start}\n{text}{end}");
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{}{}", &current[..a], section, &current[b + end.len()..])
        }
        _ => format!("{}\n{}\n", current.trim_end(), section),
    };
    std::fs::write(path, updated)
}

/// The `q` quantile of sorted durations (nearest rank), in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

/// A latency table's row: label, count, p50, p99 and max of sorted
/// samples, in milliseconds.
pub fn latency_row(label: &str, sorted: &[Duration]) -> String {
    format!(
        "| {label} | {} | {:.0} | {:.0} | {:.0} |\n",
        sorted.len(),
        percentile_ms(sorted, 0.5),
        percentile_ms(sorted, 0.99),
        percentile_ms(sorted, 1.0),
    )
}

/// The functions' metric lines, built as in Lambda (that cost stays in the
/// figures) and then dropped, so a benchmark's output is its figures. The
/// benchmarks that run functions in process call it first.
pub fn discard_metrics() {
    struct Discard;
    impl shared::metrics::Sink for Discard {
        fn emit(&self, _: &shared::metrics::Emitted<'_>) {}
    }
    shared::metrics::set_sink(std::sync::Arc::new(Discard));
}

/// Lambda's logging, as `shared::telemetry` sets it up there (a JSON line
/// per event at `info`, the current span, no target, no time), into
/// `writer`: its formatting is part of a handler's cost. `Err` if a
/// subscriber was set already.
pub fn lambda_logging<W>(writer: W) -> Result<(), BoxError>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        .try_init()
}
