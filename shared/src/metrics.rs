//! The service's metrics, as CloudWatch Embedded Metric Format (EMF) log
//! lines: one JSON object a line on stdout, which CloudWatch Logs turns into
//! metrics of the namespace `ImageSaaS` with no SDK call, no agent and no
//! extra latency (the line is the whole cost: a log event).
//!
//! Written here rather than with a crate: the format is one small JSON shape
//! (`serde_json`, which every function links already), and the maintained
//! crates (`metrics_cloudwatch_embedded`, `aws-embedded-metrics`) bring the
//! `metrics` facade or their own async sink for what is a `println!`.
//!
//! [`CATALOG`] is the one list of what may be emitted: each metric's name,
//! unit and dimension sets. Every [`Event`] names its metrics from it, the
//! template's alarms and dashboard are checked against it
//! (system-tests/tests/api/template.rs), and [`check_line`] validates a
//! line against the EMF specification and the catalog.
//!
//! Dimensions are few and bounded (`Function`, `Mode`, a status, a reason, a
//! failure code, an HTTP status): the tenant and the job are properties of
//! the line, searchable in Logs Insights, never dimensions, so the number of
//! metrics does not grow with the tenants.
//!
//! Where the lines go is a process-wide [`Sink`]: stdout by default
//! (Lambda), a per-minute summary in `make dev` (devstack), a buffer in the
//! system tests.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value, json};

use crate::domain::{FailureCode, JobStatus, Mode};

pub const NAMESPACE: &str = "ImageSaaS";

/// At most this many dimension keys in a set (the EMF specification's limit).
pub const MAX_DIMENSIONS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric the service emits: its name, unit and the dimension sets
/// CloudWatch aggregates it by.
#[derive(Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub dimensions: &'static [&'static [&'static str]],
    /// Dimension sets used only when the line has every key of the set
    /// (`FailureCode` exists only for FAILED jobs).
    pub optional_dimensions: &'static [&'static [&'static str]],
}

pub const JOBS_ADMITTED: Metric = Metric {
    name: "JobsAdmitted",
    unit: Unit::Count,
    dimensions: &[&["Function", "Mode"]],
    optional_dimensions: &[],
};
/// `Reason`: `rpm`, `concurrency`, `quota` or `invalid` (400 and 422).
pub const SUBMIT_REFUSED: Metric = Metric {
    name: "SubmitRefused",
    unit: Unit::Count,
    dimensions: &[&["Function", "Reason"]],
    optional_dimensions: &[],
};
/// A job reaching a terminal status, whichever function wrote it (worker,
/// cancel-job, sweeper): by `Status` service-wide (the failure-rate alarm),
/// by `Mode` and `Status`, and for FAILED by `FailureCode`.
pub const JOBS_FINISHED: Metric = Metric {
    name: "JobsFinished",
    unit: Unit::Count,
    dimensions: &[&["Status"], &["Mode", "Status"]],
    optional_dimensions: &[&["Status", "FailureCode"]],
};
/// One attempt's time in the worker after its inputs are loaded: the
/// provider calls (or the offline renderer), conversion and upload.
pub const GENERATION_MS: Metric = Metric {
    name: "GenerationMs",
    unit: Unit::Milliseconds,
    dimensions: &[&["Function", "Mode"]],
    optional_dimensions: &[],
};
/// From the job's creation to its first claim by the worker.
pub const QUEUE_WAIT_MS: Metric = Metric {
    name: "QueueWaitMs",
    unit: Unit::Milliseconds,
    dimensions: &[&["Function", "Mode"]],
    optional_dimensions: &[],
};
/// A provider (Gemini) answer that was an HTTP error, by its status (`0`:
/// no answer: a timeout or a connection error).
pub const PROVIDER_ERRORS: Metric = Metric {
    name: "ProviderErrors",
    unit: Unit::Count,
    dimensions: &[&["Function", "HttpStatus"]],
    optional_dimensions: &[],
};
/// A provider answer of 429 (or `RESOURCE_EXHAUSTED`): the project's quota.
pub const PROVIDER_THROTTLED: Metric = Metric {
    name: "ProviderThrottled",
    unit: Unit::Count,
    dimensions: &[&["Function"]],
    optional_dimensions: &[],
};
pub const WEBHOOK_ATTEMPTS: Metric = Metric {
    name: "WebhookAttempts",
    unit: Unit::Count,
    dimensions: &[&["Function"]],
    optional_dimensions: &[],
};
/// An attempt that was not a 2xx answer (it is retried on the schedule).
pub const WEBHOOK_FAILURES: Metric = Metric {
    name: "WebhookFailures",
    unit: Unit::Count,
    dimensions: &[&["Function"]],
    optional_dimensions: &[],
};
/// A stuck job the sweeper sent to the queue again.
pub const SWEEPER_REQUEUED: Metric = Metric {
    name: "SweeperRequeued",
    unit: Unit::Count,
    dimensions: &[&["Function"]],
    optional_dimensions: &[],
};

/// Every metric the service emits.
pub const CATALOG: [&Metric; 10] = [
    &JOBS_ADMITTED,
    &SUBMIT_REFUSED,
    &JOBS_FINISHED,
    &GENERATION_MS,
    &QUEUE_WAIT_MS,
    &PROVIDER_ERRORS,
    &PROVIDER_THROTTLED,
    &WEBHOOK_ATTEMPTS,
    &WEBHOOK_FAILURES,
    &SWEEPER_REQUEUED,
];

pub fn metric(name: &str) -> Option<&'static Metric> {
    CATALOG.into_iter().find(|m| m.name == name)
}

/// Why a submit was refused (the `Reason` dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Rpm,
    Concurrency,
    Quota,
    Invalid,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::Rpm,
        Refusal::Concurrency,
        Refusal::Quota,
        Refusal::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Rpm => "rpm",
            Refusal::Concurrency => "concurrency",
            Refusal::Quota => "quota",
            Refusal::Invalid => "invalid",
        }
    }
}

/// Who a line is about: properties, never dimensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub tenant_id: Option<&'a str>,
    pub job_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn job(tenant_id: &'a str, job_id: &'a str) -> Subject<'a> {
        Subject {
            tenant_id: Some(tenant_id),
            job_id: Some(job_id),
            request_id: None,
        }
    }

    pub fn tenant(tenant_id: &'a str) -> Subject<'a> {
        Subject {
            tenant_id: Some(tenant_id),
            ..Subject::default()
        }
    }
}

/// What happened, as the functions say it. Each event is one EMF line.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    JobAdmitted {
        mode: Mode,
    },
    SubmitRefused {
        reason: Refusal,
    },
    JobFinished {
        mode: Mode,
        status: JobStatus,
        failure_code: Option<FailureCode>,
    },
    Generation {
        mode: Mode,
        millis: u64,
    },
    QueueWait {
        mode: Mode,
        millis: u64,
    },
    /// `http_status` 0: no answer (timeout, connection error).
    ProviderError {
        http_status: u16,
    },
    ProviderThrottled,
    WebhookAttempt {
        failed: bool,
    },
    SweeperRequeued {
        jobs: u64,
    },
}

/// A line's metrics with their values.
type Values = Vec<(&'static Metric, f64)>;
/// A line's dimension members.
type Dimensions = Vec<(&'static str, String)>;

impl Event {
    /// The metrics this event sets, with their values, and the dimension
    /// members of the line.
    fn contents(&self) -> (Values, Dimensions) {
        match *self {
            Event::JobAdmitted { mode } => (
                vec![(&JOBS_ADMITTED, 1.0)],
                vec![("Mode", mode.as_str().into())],
            ),
            Event::SubmitRefused { reason } => (
                vec![(&SUBMIT_REFUSED, 1.0)],
                vec![("Reason", reason.as_str().into())],
            ),
            Event::JobFinished {
                mode,
                status,
                failure_code,
            } => {
                let mut dims = vec![
                    ("Mode", mode.as_str().into()),
                    ("Status", status.as_str().into()),
                ];
                if let Some(code) = failure_code {
                    dims.push(("FailureCode", code.as_str().into()));
                }
                (vec![(&JOBS_FINISHED, 1.0)], dims)
            }
            Event::Generation { mode, millis } => (
                vec![(&GENERATION_MS, millis as f64)],
                vec![("Mode", mode.as_str().into())],
            ),
            Event::QueueWait { mode, millis } => (
                vec![(&QUEUE_WAIT_MS, millis as f64)],
                vec![("Mode", mode.as_str().into())],
            ),
            Event::ProviderError { http_status } => (
                vec![(&PROVIDER_ERRORS, 1.0)],
                vec![("HttpStatus", http_status.to_string())],
            ),
            Event::ProviderThrottled => (vec![(&PROVIDER_THROTTLED, 1.0)], vec![]),
            Event::WebhookAttempt { failed } => (
                vec![
                    (&WEBHOOK_ATTEMPTS, 1.0),
                    (&WEBHOOK_FAILURES, if failed { 1.0 } else { 0.0 }),
                ],
                vec![],
            ),
            Event::SweeperRequeued { jobs } => (vec![(&SWEEPER_REQUEUED, jobs as f64)], vec![]),
        }
    }
}

/// The EMF line of one event: the metadata, the dimension members, the
/// metric values and the subject's properties.
pub fn line(function: &str, event: &Event, subject: &Subject<'_>, at_millis: i64) -> String {
    let (values, dims) = event.contents();
    let mut root = Map::new();
    root.insert("Function".into(), json!(function));
    for (key, value) in &dims {
        root.insert((*key).into(), json!(value));
    }
    // One directive per dimension-set shape, so that a metric with its own
    // sets (JobsFinished) never lends them to another on the same line.
    let mut directives = Vec::new();
    for (metric, value) in &values {
        root.insert(metric.name.into(), json!(value));
        let sets: Vec<&[&str]> = metric
            .dimensions
            .iter()
            .copied()
            .chain(
                metric
                    .optional_dimensions
                    .iter()
                    .copied()
                    .filter(|set| set.iter().all(|k| root.contains_key(*k))),
            )
            .collect();
        directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": sets,
            "Metrics": [{"Name": metric.name, "Unit": metric.unit.as_str()}],
        }));
    }
    if let Some(t) = subject.tenant_id {
        root.insert("tenantId".into(), json!(t));
    }
    if let Some(j) = subject.job_id {
        root.insert("jobId".into(), json!(j));
    }
    if let Some(r) = subject.request_id {
        root.insert("requestId".into(), json!(r));
    }
    root.insert(
        "_aws".into(),
        json!({"Timestamp": at_millis, "CloudWatchMetrics": directives}),
    );
    Value::Object(root).to_string()
}

/// One emitted event: what the function said, and its EMF line.
#[derive(Debug)]
pub struct Emitted<'a> {
    pub function: &'a str,
    pub event: Event,
    pub subject: Subject<'a>,
    pub line: String,
}

/// Where emitted events go.
pub trait Sink: Send + Sync {
    fn emit(&self, emitted: &Emitted<'_>);
}

/// Lambda: the line on stdout, which the runtime sends to CloudWatch Logs
/// as one event.
struct Stdout;

impl Sink for Stdout {
    fn emit(&self, emitted: &Emitted<'_>) {
        println!("{}", emitted.line);
    }
}

static SINK: OnceLock<Arc<dyn Sink>> = OnceLock::new();

/// Sends every event of this process to `sink` instead of stdout; the first
/// call wins (the local stack and the tests set theirs before any event),
/// and says whether it did.
pub fn set_sink(sink: Arc<dyn Sink>) -> bool {
    SINK.set(sink).is_ok()
}

fn sink() -> &'static Arc<dyn Sink> {
    SINK.get_or_init(|| Arc::new(Stdout))
}

/// Emits one event of `function` (the function's short name: `generate`,
/// `worker`, …) about `subject`, timed now.
pub fn emit(function: &str, event: Event, subject: Subject<'_>) {
    let at = crate::time::now().timestamp_millis();
    let line = line(function, &event, &subject, at);
    sink().emit(&Emitted {
        function,
        event,
        subject,
        line,
    });
}

/// What is wrong with an EMF line, by the specification
/// (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
/// and by the catalog: empty when nothing is.
pub fn check_line(line: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
        return vec![format!("not a JSON object: {line}")];
    };
    let Some(Value::Object(aws)) = root.get("_aws") else {
        return vec!["no `_aws` object".into()];
    };
    if aws
        .get("Timestamp")
        .and_then(Value::as_i64)
        .is_none_or(|t| t <= 0)
    {
        problems.push("`_aws.Timestamp` is not epoch milliseconds".into());
    }
    let Some(Value::Array(directives)) = aws.get("CloudWatchMetrics") else {
        return vec!["no `_aws.CloudWatchMetrics` array".into()];
    };
    if directives.is_empty() {
        problems.push("`CloudWatchMetrics` is empty".into());
    }
    for d in directives {
        if d.get("Namespace").and_then(Value::as_str) != Some(NAMESPACE) {
            problems.push(format!("a directive's Namespace is not {NAMESPACE}: {d}"));
        }
        let Some(sets) = d.get("Dimensions").and_then(Value::as_array) else {
            problems.push(format!("a directive has no Dimensions array: {d}"));
            continue;
        };
        let Some(metrics) = d.get("Metrics").and_then(Value::as_array) else {
            problems.push(format!("a directive has no Metrics array: {d}"));
            continue;
        };
        if metrics.is_empty() || metrics.len() > 100 {
            problems.push(format!(
                "{} metrics in a directive (1 to 100)",
                metrics.len()
            ));
        }
        let mut allowed: Vec<Vec<&str>> = Vec::new();
        for m in metrics {
            let name = m.get("Name").and_then(Value::as_str).unwrap_or_default();
            let Some(known) = metric(name) else {
                problems.push(format!("metric {name:?} is not in the catalog"));
                continue;
            };
            if m.get("Unit").and_then(Value::as_str) != Some(known.unit.as_str()) {
                problems.push(format!("{name}'s unit is not {}", known.unit.as_str()));
            }
            if !root.get(name).is_some_and(Value::is_number) {
                problems.push(format!("{name} has no numeric value on the line"));
            }
            allowed.extend(
                known
                    .dimensions
                    .iter()
                    .chain(known.optional_dimensions)
                    .map(|s| s.to_vec()),
            );
        }
        for set in sets {
            let Some(keys) = set.as_array() else {
                problems.push(format!("a dimension set is not an array: {set}"));
                continue;
            };
            if keys.is_empty() || keys.len() > MAX_DIMENSIONS {
                problems.push(format!(
                    "a dimension set of {} keys (1 to {MAX_DIMENSIONS})",
                    keys.len()
                ));
            }
            let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
            for k in &keys {
                if root
                    .get(*k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!(
                        "dimension {k} is not a non-empty string on the line"
                    ));
                }
            }
            if !allowed.contains(&keys) {
                problems.push(format!("dimension set {keys:?} is not the catalog's"));
            }
        }
    }
    if line.len() > 256 * 1024 {
        problems.push("longer than a log event may be".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every event, as the functions emit them.
    fn every_event() -> Vec<Event> {
        let mut events = vec![
            Event::JobAdmitted { mode: Mode::Draft },
            Event::JobFinished {
                mode: Mode::Final,
                status: JobStatus::Succeeded,
                failure_code: None,
            },
            Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Failed,
                failure_code: Some(FailureCode::ContentBlocked),
            },
            Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Canceled,
                failure_code: None,
            },
            Event::Generation {
                mode: Mode::Draft,
                millis: 1234,
            },
            Event::QueueWait {
                mode: Mode::Final,
                millis: 56,
            },
            Event::ProviderError { http_status: 503 },
            Event::ProviderError { http_status: 0 },
            Event::ProviderThrottled,
            Event::WebhookAttempt { failed: false },
            Event::WebhookAttempt { failed: true },
            Event::SweeperRequeued { jobs: 3 },
        ];
        events.extend(Refusal::ALL.map(|reason| Event::SubmitRefused { reason }));
        events
    }

    #[test]
    fn every_event_is_a_valid_emf_line_of_catalog_metrics() {
        let subject = Subject::job("ctenant", "cjob");
        for event in every_event() {
            let l = line("worker", &event, &subject, 1_764_633_600_000);
            assert_eq!(check_line(&l), Vec::<String>::new(), "{l}");
        }
    }

    #[test]
    fn every_catalog_metric_is_emitted_by_some_event() {
        let lines: Vec<Value> = every_event()
            .iter()
            .map(|e| serde_json::from_str(&line("f", e, &Subject::default(), 1)).expect("JSON"))
            .collect();
        for m in CATALOG {
            assert!(
                lines.iter().any(|l| l.get(m.name).is_some()),
                "{} never emitted",
                m.name
            );
        }
    }

    #[test]
    fn a_line_carries_the_tenant_and_job_as_properties_never_as_dimensions() {
        let l: Value = serde_json::from_str(&line(
            "generate",
            &Event::JobAdmitted { mode: Mode::Draft },
            &Subject {
                tenant_id: Some("ct1"),
                job_id: Some("cj1"),
                request_id: Some("req-1"),
            },
            1_764_633_600_000,
        ))
        .expect("JSON");
        assert_eq!(
            (&l["tenantId"], &l["jobId"], &l["requestId"]),
            (&json!("ct1"), &json!("cj1"), &json!("req-1"))
        );
        let directive = &l["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Function", "Mode"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "JobsAdmitted", "Unit": "Count"}])
        );
        assert_eq!(l["_aws"]["Timestamp"], json!(1_764_633_600_000_i64));
        assert_eq!(
            (&l["Function"], &l["Mode"], &l["JobsAdmitted"]),
            (&json!("generate"), &json!("draft"), &json!(1.0))
        );
    }

    #[test]
    fn a_failure_code_is_a_dimension_only_of_a_failed_job() {
        let failed: Value = serde_json::from_str(&line(
            "worker",
            &Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Failed,
                failure_code: Some(FailureCode::Timeout),
            },
            &Subject::default(),
            1,
        ))
        .expect("JSON");
        assert_eq!(
            failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Status"], ["Mode", "Status"], ["Status", "FailureCode"]])
        );
        let done: Value = serde_json::from_str(&line(
            "worker",
            &Event::JobFinished {
                mode: Mode::Draft,
                status: JobStatus::Succeeded,
                failure_code: None,
            },
            &Subject::default(),
            1,
        ))
        .expect("JSON");
        assert_eq!(
            done["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Status"], ["Mode", "Status"]])
        );
    }

    #[test]
    fn a_webhook_attempt_counts_its_failure_as_zero_or_one() {
        let l: Value = serde_json::from_str(&line(
            "webhook-sender",
            &Event::WebhookAttempt { failed: false },
            &Subject::default(),
            1,
        ))
        .expect("JSON");
        assert_eq!(
            (&l["WebhookAttempts"], &l["WebhookFailures"]),
            (&json!(1.0), &json!(0.0))
        );
    }

    #[test]
    fn the_checker_names_what_breaks_the_specification() {
        let good = line("worker", &Event::ProviderThrottled, &Subject::default(), 5);
        let mut broken: Value = serde_json::from_str(&good).expect("JSON");
        broken["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["Function", "Tenant"]]);
        broken
            .as_object_mut()
            .expect("object")
            .remove("ProviderThrottled");
        broken["_aws"]["Timestamp"] = json!("yesterday");
        let problems = check_line(&broken.to_string());
        assert!(
            problems.iter().any(|p| p.contains("Timestamp")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("dimension Tenant")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("no numeric value")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("not the catalog's")),
            "{problems:?}"
        );
        assert_eq!(
            check_line("text"),
            vec!["not a JSON object: text".to_string()]
        );
        let too_many: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
        broken["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([too_many]);
        assert!(
            check_line(&broken.to_string())
                .iter()
                .any(|p| p.contains("31 keys"))
        );
    }
}
