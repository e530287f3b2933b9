//! The hostile-input corpus as data: the case files under
//! `system-tests/tests/hostile/` (format in that directory's README), read and
//! checked for consistency before anything is sent, so a typo in a case file
//! is reported as such rather than as a server bug.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use shared::netguard::UrlPolicy;

/// The corpus must stay at least this large: the issue asks for 60 cases.
pub const MIN_CASES: usize = 60;

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[allow(dead_code, reason = "documentation for the reader of the file")]
    about: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// One line: what the input tries, shown with any failure.
    pub why: String,
    /// Where the local stack and API Gateway part ways for this input.
    #[serde(default)]
    pub note: Option<String>,
    /// The URL policy of the API server the request goes to.
    #[serde(default)]
    pub api_policy: Policy,
    /// The URL policy of the worker; only for cases whose job is accepted
    /// and must fail in the worker.
    #[serde(default)]
    pub worker_policy: Option<Policy>,
    /// For worker cases: the loopback file server answers `/<name>` with a
    /// 302 to this location (`{{redirect_url}}` is that address).
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// For worker cases: the file server answers `/<name>` with 200 and
    /// these bytes (base64), e.g. a decompression bomb
    /// (`{{file_url}}` is that address).
    #[serde(default)]
    pub serve_base64: Option<String>,
    pub request: RequestSpec,
    pub expect: Expect,
    /// The file the case came from, for failure messages.
    #[serde(skip)]
    pub file: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    #[default]
    Production,
    Local,
}

impl From<Policy> for UrlPolicy {
    fn from(p: Policy) -> UrlPolicy {
        match p {
            Policy::Production => UrlPolicy::Production,
            Policy::Local => UrlPolicy::Local,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub method: String,
    /// The request target exactly as sent: path and query, not normalised.
    pub path: Bytes,
    /// Whether the runner adds `Authorization: Bearer <the tenant's key>`
    /// (it never does when the case sends its own `authorization`).
    #[serde(default = "yes")]
    pub auth: bool,
    #[serde(default)]
    pub headers: Vec<HeaderSpec>,
    /// With a body and no `content-type` of its own, the request is sent as
    /// `application/json`.
    #[serde(default)]
    pub body: Option<Bytes>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    pub name: String,
    pub value: Bytes,
}

/// Bytes to send: plain text, one part, or a list of parts concatenated.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Bytes {
    Text(String),
    Part(Part),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Part {
    /// UTF-8 text; `{{placeholder}}`s are filled in.
    Text { text: String },
    /// Arbitrary bytes (invalid UTF-8, NUL, bare CR).
    Base64 {
        #[serde(deserialize_with = "from_base64")]
        base64: Vec<u8>,
    },
    /// `repeat` written `times` times, so a 10 MB body is one line of data.
    Repeat { repeat: String, times: usize },
    /// A JSON value, written compactly, then `{{placeholder}}`s filled in
    /// (their values are URLs, ids and keys: nothing JSON would escape).
    Json { json: serde_json::Value },
}

fn from_base64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    STANDARD.decode(&text).map_err(serde::de::Error::custom)
}

/// Which layer answers: our handler, the local server standing in for API
/// Gateway (unknown routes, oversized payloads), or hyper's HTTP parser.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    #[default]
    Handler,
    Gateway,
    Transport,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    #[serde(default)]
    pub answered_by: Layer,
    /// The contract's error code (every refusal by our code has one).
    #[serde(default)]
    pub error: Option<String>,
    /// A piece of the message proving the refusal has the intended reason.
    #[serde(default)]
    pub message_contains: Option<String>,
    /// For a submit that must be accepted (202) and then fail in the worker.
    #[serde(default)]
    pub job: Option<JobOutcome>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobOutcome {
    pub status: String,
    pub error_code: String,
    /// Proves the refusal's reason: a guard that let the target through
    /// fails too, but with "could not be fetched".
    pub error_message_contains: String,
}

impl Case {
    /// Whether the request is accepted and judged later by the worker.
    pub fn is_worker_case(&self) -> bool {
        self.expect.job.is_some()
    }

    /// `file: name`, how failures name the case.
    pub fn label(&self) -> String {
        format!("{}: {}", self.file, self.name)
    }

    /// The label with the case's reason and note, for a failure report.
    pub fn described(&self) -> String {
        let mut text = format!("{} ({})", self.label(), self.why);
        if let Some(note) = &self.note {
            text.push_str(&format!(" [note: {note}]"));
        }
        text
    }

    /// What makes a case self-contradictory; empty when it is sound.
    fn problems(&self) -> Vec<String> {
        let e = &self.expect;
        let mut problems = Vec::new();
        let mut require = |ok: bool, problem: &str| {
            if !ok {
                problems.push(problem.to_string());
            }
        };
        require(
            !self.name.is_empty()
                && self
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "name must be lowercase letters, digits and `_` (it becomes a URL path)",
        );
        require(
            (400..500).contains(&e.status) || e.status == 202,
            "status must be a 4xx, or 202 for a job the worker refuses",
        );
        require(
            (e.status == 202) == e.job.is_some(),
            "`expect.job` goes with status 202, and only with it",
        );
        require(
            e.job.is_some() == self.worker_policy.is_some(),
            "`worker_policy` goes with `expect.job`, and only with it",
        );
        require(
            self.redirect_to.is_none() || e.job.is_some(),
            "`redirect_to` is only for worker cases",
        );
        require(
            self.serve_base64.is_none() || (e.job.is_some() && self.redirect_to.is_none()),
            "`serve_base64` is only for worker cases, and not with `redirect_to`",
        );
        require(
            e.job.is_some() || (e.answered_by == Layer::Transport) == e.error.is_none(),
            "every refusal by our code has an error code; the transport's has none",
        );
        require(
            e.job.is_none() || (e.error.is_none() && e.message_contains.is_none()),
            "an accepted job has no error code",
        );
        require(
            e.job.is_none() || e.answered_by == Layer::Handler,
            "an accepted job is answered by the handler",
        );
        problems
    }
}

/// Every case of every `*.json` file in the corpus directory, in file and
/// then case order; an error names each malformed file or unsound case.
pub fn load(dir: &Path) -> Result<Vec<Case>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<CaseFile>(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(contents) => cases.extend(contents.cases.into_iter().map(|mut case| {
                case.file = file.to_string();
                case
            })),
            Err(e) => errors.push(format!("{file}: {e}")),
        }
    }
    let mut names = HashSet::new();
    for case in &cases {
        if !names.insert(case.name.as_str()) {
            errors.push(format!("{}: the name is used twice", case.label()));
        }
        for problem in case.problems() {
            errors.push(format!("{}: {problem}", case.label()));
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors.join("\n"))
    }
}

/// Values made at run time (another tenant's cursor, a server's address),
/// and the ones this machine cannot provide, with the reason.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    values: HashMap<String, String>,
    unavailable: HashMap<String, String>,
}

#[derive(Debug)]
pub enum Unresolved {
    /// The corpus names a placeholder the runner does not make: a defect.
    Unknown(String),
    /// The placeholder cannot be made on this machine: the case is skipped.
    Unavailable { name: String, reason: String },
}

impl Placeholders {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), value.into());
    }

    pub fn set_unavailable(&mut self, name: &str, reason: impl Into<String>) {
        self.unavailable.insert(name.to_string(), reason.into());
    }

    /// `text` with every `{{name}}` replaced.
    pub fn fill(&self, text: &str) -> Result<String, Unresolved> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            let name = &rest[start + 2..start + 2 + len];
            let value = self
                .values
                .get(name)
                .ok_or_else(|| match self.unavailable.get(name) {
                    Some(reason) => Unresolved::Unavailable {
                        name: name.to_string(),
                        reason: reason.clone(),
                    },
                    None => Unresolved::Unknown(name.to_string()),
                })?;
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl Bytes {
    pub fn render(&self, placeholders: &Placeholders) -> Result<Vec<u8>, Unresolved> {
        let parts = match self {
            Bytes::Text(text) => return Ok(placeholders.fill(text)?.into_bytes()),
            Bytes::Part(part) => std::slice::from_ref(part),
            Bytes::Parts(parts) => parts.as_slice(),
        };
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Text { text } => out.extend(placeholders.fill(text)?.into_bytes()),
                Part::Base64 { base64 } => out.extend_from_slice(base64),
                Part::Repeat { repeat, times } => out.extend(repeat.repeat(*times).bytes()),
                Part::Json { json } => {
                    out.extend(placeholders.fill(&json.to_string())?.into_bytes())
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expect: &str, extra: &str) -> Result<Case, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"name": "c", "why": "w", "request": {{"method": "GET", "path": "/"}},
                "expect": {expect} {extra}}}"#
        ))
    }

    #[test]
    fn self_contradictory_cases_are_reported() {
        for (expect, extra) in [
            (r#"{"status": 500, "error": "UNKNOWN_ERROR"}"#, ""),
            (r#"{"status": 200, "error": "X"}"#, ""),
            (r#"{"status": 400}"#, ""),
            (
                r#"{"status": 400, "answered_by": "transport", "error": "X"}"#,
                "",
            ),
            (r#"{"status": 202}"#, r#", "worker_policy": "local""#),
            (
                r#"{"status": 400, "error": "X", "job": {"status": "FAILED", "error_code": "E", "error_message_contains": "m"}}"#,
                r#", "worker_policy": "local""#,
            ),
            (
                r#"{"status": 400, "error": "X"}"#,
                r#", "redirect_to": "/x""#,
            ),
        ] {
            let case = case(expect, extra).unwrap();
            assert!(!case.problems().is_empty(), "{expect} {extra}");
        }
        assert!(
            case(r#"{"status": 400, "error": "X"}"#, "")
                .unwrap()
                .problems()
                .is_empty()
        );
    }

    #[test]
    fn misspelt_fields_and_parts_do_not_load() {
        assert!(case(r#"{"status": 400, "eror": "X"}"#, "").is_err());
        let part = |json: &str| serde_json::from_str::<Bytes>(json);
        assert!(part(r#"{"text": "a", "times": 2}"#).is_err());
        assert!(part(r#"{"base64": "not base64!"}"#).is_err());
        assert!(part(r#"[{"repeat": "ab", "times": 2}, {"base64": "AA=="}]"#).is_ok());
    }

    #[test]
    fn placeholders_fill_or_say_why_not() {
        let mut p = Placeholders::default();
        p.set("a", "1");
        p.set_unavailable("b", "no such thing here");
        let bytes: Bytes =
            serde_json::from_str(r#"[{"text": "x{{a}}y"}, {"json": {"k": "{{a}}"}}]"#).unwrap();
        assert_eq!(bytes.render(&p).unwrap(), br#"x1y{"k":"1"}"#);
        assert!(matches!(
            p.fill("{{b}}"),
            Err(Unresolved::Unavailable { .. })
        ));
        assert!(matches!(p.fill("{{c}}"), Err(Unresolved::Unknown(name)) if name == "c"));
    }
}
