//! What the HTTP functions read from a request besides its body, as pure
//! functions of the request's parts (no Lambda types): the query string's
//! parameters, the `{jobId}` path parameter, single-valued headers, and the
//! two ways of asking to wait (`Prefer: wait`, `?wait=`).
//! `runtime::http` hands them the parts of the Lambda request; the fuzz
//! targets call them directly.

use http::HeaderMap;

use crate::ApiError;

/// Records the job id on the current request span.
pub fn record_job_id(job_id: &str) {
    tracing::Span::current().record("job_id", job_id);
}

/// A single-valued header as text; a header that is present but not visible
/// ASCII is a client error, not "absent".
pub fn header<'r>(headers: &'r HeaderMap, name: &str) -> Result<Option<&'r str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest(format!(
            "Header `{name}` must be sent once"
        )));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::InvalidRequest(format!("Header `{name}` must be printable ASCII")))
}

/// The `{jobId}` path parameter. A missing or malformed id is simply not a
/// job of this tenant.
pub fn job_id(raw: Option<&str>) -> Result<String, ApiError> {
    let id = raw.ok_or(ApiError::JobNotFound)?;
    if !crate::ids::is_valid_id(id) {
        return Err(ApiError::JobNotFound);
    }
    record_job_id(id);
    Ok(id.to_string())
}

/// The longest a request waits for its job: well inside API Gateway's 30 s
/// integration limit, with the function's 29 s timeout for the rest.
pub const MAX_WAIT_SECS: u32 = 25;

/// The `wait` preference of the request's `Prefer` headers (RFC 7240), in
/// seconds: bare `wait` is the longest; `wait=N` is N, at most the longest
/// (a server may honour less). Every header and comma-separated preference
/// is read, names case-insensitively, parameters after `;` ignored. A
/// `wait` that is not a positive whole number, or given twice, is ignored,
/// as RFC 7240 asks of a preference a server cannot make sense of: never
/// an error.
pub fn prefer_wait(headers: &HeaderMap) -> Option<u32> {
    let mut waits = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| {
            let token = pref.split(';').next().unwrap_or_default().trim();
            let (name, value) = match token.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (token, None),
            };
            name.eq_ignore_ascii_case("wait").then_some(value)
        });
    let (Some(value), None) = (waits.next(), waits.next()) else {
        return None;
    };
    let Some(value) = value else {
        return Some(MAX_WAIT_SECS);
    };
    let digits = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: only too large to parse means "very long", the longest.
    let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
    (seconds >= 1)
        .then(|| u32::try_from(seconds.min(u64::from(MAX_WAIT_SECS))).unwrap_or(MAX_WAIT_SECS))
}

/// The long poll's `?wait=N`: whole seconds, 1 to `MAX_WAIT_SECS`, in
/// decimal digits; anything else is the client's mistake, named.
pub fn wait_param(raw: Option<&str>) -> Result<Option<u32>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u32>().ok())
        .flatten()
        .filter(|n| (1..=MAX_WAIT_SECS).contains(n))
        .map(Some)
        .ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "Query parameter `wait` must be an integer from 1 to {MAX_WAIT_SECS}"
            ))
        })
}

/// The query string, refusing parameters the route does not define and
/// parameters given twice, so a typo (`?stauts=`) is an error rather than a
/// silently ignored filter.
pub struct Query<'r> {
    params: Vec<(&'r str, &'r str)>,
}

impl<'r> Query<'r> {
    /// `pairs`: every `(name, value)` of the query string, a name given
    /// twice appearing twice.
    pub fn parse(
        pairs: impl IntoIterator<Item = (&'r str, &'r str)>,
        allowed: &[&str],
    ) -> Result<Query<'r>, ApiError> {
        let mut params = Vec::new();
        for (name, value) in pairs {
            if !allowed.contains(&name) {
                return Err(ApiError::InvalidRequest(format!(
                    "Unknown query parameter `{}`; allowed: {}",
                    crate::domain::submit::printable(name),
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if params.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::InvalidRequest(format!(
                    "Query parameter `{name}` must be given once"
                )));
            }
            params.push((name, value));
        }
        Ok(Query { params })
    }

    /// The one value of `name` among `pairs`, ignoring every other
    /// parameter (for a route whose 1.0 form read no query string, so a
    /// client's extra parameters keep working); twice is an error.
    pub fn once(
        pairs: impl IntoIterator<Item = (&'r str, &'r str)>,
        name: &str,
    ) -> Result<Option<&'r str>, ApiError> {
        let mut values = pairs
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v);
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            _ => Err(ApiError::InvalidRequest(format!(
                "Query parameter `{name}` must be given once"
            ))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Option<u32> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("prefer", v.parse().expect("a header value"));
        }
        prefer_wait(&headers)
    }

    #[test]
    fn prefer_wait_reads_rfc_7240_and_ignores_what_it_cannot_use() {
        assert_eq!(prefer(&["wait"]), Some(25));
        assert_eq!(prefer(&["wait=10"]), Some(10));
        assert_eq!(prefer(&["WAIT=1"]), Some(1));
        assert_eq!(prefer(&["respond-async, wait=5"]), Some(5));
        assert_eq!(prefer(&["return=minimal", "wait=7; x=y"]), Some(7));
        assert_eq!(prefer(&["wait=\"12\""]), Some(12));
        assert_eq!(
            prefer(&["wait=60"]),
            Some(25),
            "more than the longest: the longest"
        );
        assert_eq!(prefer(&["wait=99999999999999999999999"]), Some(25));
        for ignored in [
            "wait=0",
            "wait=-1",
            "wait=1.5",
            "wait=abc",
            "wait=",
            "wait=10, wait=5",
            "respond-async",
            "waiting=5",
            "",
        ] {
            assert_eq!(prefer(&[ignored]), None, "{ignored:?}");
        }
        assert_eq!(prefer(&[]), None);
        assert_eq!(
            prefer(&["wait=3", "wait=4"]),
            None,
            "twice over two headers"
        );
    }

    #[test]
    fn the_wait_parameter_is_a_whole_number_of_seconds_from_1_to_25() {
        assert_eq!(wait_param(None).unwrap(), None);
        assert_eq!(wait_param(Some("1")).unwrap(), Some(1));
        assert_eq!(wait_param(Some("25")).unwrap(), Some(25));
        for bad in ["0", "26", "abc", "1.5", "", "-1", "+5", " 5", "99999999999"] {
            assert!(wait_param(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn once_ignores_other_parameters_and_refuses_a_repeat() {
        assert_eq!(
            Query::once([("a", "1"), ("wait", "3")], "wait").unwrap(),
            Some("3")
        );
        assert_eq!(Query::once([("a", "1")], "wait").unwrap(), None);
        assert!(Query::once([("wait", "1"), ("wait", "2")], "wait").is_err());
    }
}
