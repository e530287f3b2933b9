//! What the HTTP functions read from a request besides its body, as pure
//! functions of the request's parts (no Lambda types): the query string's
//! parameters, the `{jobId}` path parameter and single-valued headers.
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

    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}
