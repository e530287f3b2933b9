//! What the HTTP functions read from a request besides the body: the
//! listing's query string, the `{jobId}` path parameter and single-valued
//! headers such as `Idempotency-Key`. Whatever the client sends, the answer
//! is the value the contract describes or a 4xx: unknown or repeated query
//! parameters are 400, an id not of our shape is 404 without a database
//! read, a header sent twice or not printable is 400.
//!
//! Input: line 1 is a query string (`status=QUEUED&limit=10`), line 2 the
//! path's job id, every further line one `Idempotency-Key` header value
//! and, the same lines, one `Prefer` header value. The query string is also
//! read as the long poll's (`wait`) and as `GET /v1/usage`'s (`from`,
//! `to`).

//!
//! The readers are `shared::request`'s pure functions, which the functions'
//! Lambda glue (`runtime::http`) hands the request's parts: the query as
//! API Gateway groups it (every value of a name), the path parameter, the
//! header map.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use shared::request::{self, Query};

use crate::contract::assert_client_error;

/// The listing's parameters (`GET /v1/jobs`).
const LIST_PARAMS: [&str; 3] = ["status", "limit", "cursor"];
const HEADER: &str = "idempotency-key";

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let query = lines.next().unwrap_or("");
    let job_id = lines.next().unwrap_or("");
    check_query(query);
    check_wait(query);
    check_usage(query);
    check_job_id(job_id);
    let headers: Vec<&[u8]> = lines.map(str::as_bytes).collect();
    check_header(&headers);
    check_prefer(&headers);
}

/// The long poll reads `wait` alone: 1 to 25 in decimal digits, once, or
/// a 400; every other parameter is ignored.
pub fn check_wait(query: &str) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let waits: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "wait")
        .map(|(_, v)| v.as_str())
        .collect();
    let read = Query::once(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())), "wait")
        .and_then(request::wait_param);
    match (read, waits.as_slice()) {
        (Ok(None), []) => {}
        (Ok(Some(n)), [raw]) => {
            assert!(
                (1..=request::MAX_WAIT_SECS).contains(&n),
                "{query:?}: wait {n}"
            );
            assert!(
                raw.bytes().all(|b| b.is_ascii_digit()),
                "{raw:?} read as {n}"
            );
            assert_eq!(raw.parse::<u32>().ok(), Some(n));
        }
        (Ok(read), _) => panic!("{query:?}: wait read as {read:?}"),
        (Err(e), _) => {
            assert!(!waits.is_empty(), "{query:?} refused without a wait: {e}");
            assert_client_error(&e, 400, "INVALID_REQUEST");
        }
    }
}

/// `GET /v1/usage` reads `from` and `to`, each once, each exactly a real
/// `YYYY-MM-DD` day: an accepted range runs forwards, spans 1 to 92 days,
/// is the days given (or the defaults: today, and the first of `to`'s
/// month), and lists every one of them once; anything else is a 400.
pub fn check_usage(query: &str) {
    use shared::domain::usage::{DayRange, MAX_USAGE_DAYS};
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let today = shared::domain::usage::parse_day("2026-12-01").expect("a date");
    let read = Query::parse(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &["from", "to"],
    )
    .and_then(|q| {
        DayRange::of_query(q.get("from"), q.get("to"), today)
            .map_err(shared::ApiError::InvalidRequest)
            .map(|range| {
                (
                    range,
                    q.get("from").map(str::to_string),
                    q.get("to").map(str::to_string),
                )
            })
    });
    match read {
        Ok((range, from, to)) => {
            assert!(range.from <= range.to, "{query:?}: {range:?}");
            let days: Vec<_> = range.days().collect();
            assert_eq!(
                days.len() as i64,
                (range.to - range.from).num_days() + 1,
                "{query:?}"
            );
            assert!(
                (1..=MAX_USAGE_DAYS).contains(&(days.len() as i64)),
                "{query:?}"
            );
            let (from_spelled, to_spelled) = (
                range.from.format("%Y-%m-%d").to_string(),
                range.to.format("%Y-%m-%d").to_string(),
            );
            match to {
                Some(raw) => assert_eq!(raw, to_spelled, "{query:?}"),
                None => assert_eq!(range.to, today, "{query:?}"),
            }
            match from {
                Some(raw) => assert_eq!(raw, from_spelled, "{query:?}"),
                None => assert_eq!(
                    from_spelled,
                    format!("{}-01", &to_spelled[..7]),
                    "{query:?}"
                ),
            }
        }
        Err(e) => assert_client_error(&e, 400, "INVALID_REQUEST"),
    }
}

/// `Prefer` never fails a request: whatever the values, the wait read is
/// none or 1 to 25 seconds, and none unless some value names `wait`.
pub fn check_prefer(values: &[&[u8]]) {
    let mut headers = HeaderMap::new();
    for value in values
        .iter()
        .filter_map(|v| HeaderValue::from_bytes(v).ok())
    {
        headers.append("prefer", value);
    }
    if let Some(wait) = request::prefer_wait(&headers) {
        assert!((1..=request::MAX_WAIT_SECS).contains(&wait), "wait {wait}");
        assert!(
            headers.get_all("prefer").iter().any(|v| v
                .to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("wait"))),
            "a wait read from {values:?}"
        );
    }
}

/// `Query::parse` accepts exactly the query strings whose parameters are
/// all defined and each given once, and then reads their values back.
pub fn check_query(query: &str) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut grouped: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in &pairs {
        grouped.entry(name.clone()).or_default().push(value.clone());
    }
    let as_lambda_hands_them = grouped.iter().flat_map(|(name, values)| {
        values
            .iter()
            .map(move |value| (name.as_str(), value.as_str()))
    });
    let well_formed = grouped
        .iter()
        .all(|(name, values)| LIST_PARAMS.contains(&name.as_str()) && values.len() == 1);
    match Query::parse(as_lambda_hands_them, &LIST_PARAMS) {
        Ok(parsed) => {
            assert!(well_formed, "{query:?} accepted");
            for name in LIST_PARAMS {
                let expected = grouped.get(name).map(|values| values[0].as_str());
                assert_eq!(parsed.get(name), expected, "{query:?}: `{name}` read wrong");
            }
        }
        Err(e) => {
            assert!(!well_formed, "{query:?} refused: {e}");
            assert_client_error(&e, 400, "INVALID_REQUEST");
        }
    }
}

/// Only `c` and 24 lowercase base-36 characters is a job id; anything else
/// is `404 JOB_NOT_FOUND`.
pub fn check_job_id(raw: &str) {
    let our_shape = raw.len() == 25
        && raw.starts_with('c')
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    match request::job_id(Some(raw)) {
        Ok(id) => {
            assert!(our_shape, "{raw:?} taken for a job id");
            assert_eq!(id, raw);
        }
        Err(e) => {
            assert!(!our_shape, "{raw:?} refused as a job id");
            assert_client_error(&e, 404, "JOB_NOT_FOUND");
        }
    }
}

/// A header is read only when sent once with a printable value.
pub fn check_header(values: &[&[u8]]) {
    let mut headers = HeaderMap::new();
    let sent: Vec<HeaderValue> = values
        .iter()
        .filter_map(|v| HeaderValue::from_bytes(v).ok())
        .collect();
    for value in &sent {
        headers.append(HEADER, value.clone());
    }
    match request::header(&headers, HEADER) {
        Ok(None) => assert!(sent.is_empty(), "a sent header read as absent"),
        Ok(Some(read)) => {
            assert_eq!(sent.len(), 1, "a repeated header was read");
            assert_eq!(read.as_bytes(), sent[0].as_bytes());
            assert!(
                read.bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                "{read:?} read as printable"
            );
        }
        Err(e) => {
            let printable = sent.len() == 1 && sent[0].to_str().is_ok();
            assert!(!printable, "a single printable header refused: {e}");
            assert_client_error(&e, 400, "INVALID_REQUEST");
        }
    }
}
