//! A case's request as the bytes to send.

use super::corpus::{Case, Placeholders, Unresolved};
use super::wire::RawRequest;

/// The case's request with its placeholders filled; `Authorization: Bearer
/// <key>` unless the case sends its own or none; `application/json` as the
/// content type of a body unless the case names one.
pub fn raw_request(
    case: &Case,
    placeholders: &Placeholders,
    key: &str,
) -> Result<RawRequest, Unresolved> {
    let spec = &case.request;
    let has = |name: &str| {
        spec.headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    let mut headers = Vec::new();
    if spec.auth && !has("authorization") {
        headers.push((
            "authorization".to_string(),
            format!("Bearer {key}").into_bytes(),
        ));
    }
    if spec.body.is_some() && !has("content-type") {
        headers.push(("content-type".to_string(), b"application/json".to_vec()));
    }
    for header in &spec.headers {
        headers.push((header.name.clone(), header.value.render(placeholders)?));
    }
    Ok(RawRequest {
        method: spec.method.clone(),
        target: spec.path.render(placeholders)?,
        headers,
        body: spec
            .body
            .as_ref()
            .map(|b| b.render(placeholders))
            .transpose()?,
    })
}
