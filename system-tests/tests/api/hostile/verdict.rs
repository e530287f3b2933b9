//! Judging an answer, or a worker case's finished job, against what the
//! case documents. Each function returns the problems found (none: pass).

use std::panic::AssertUnwindSafe;

use serde_json::Value;

use super::corpus::{Case, JobOutcome, Layer};
use super::report::panic_text;
use super::wire::RawResponse;
use system_tests::Reply;

/// Never a 5xx; the documented status from the documented layer, with
/// `nosniff`; for our own refusals the contract's error shape with the
/// documented code and, if the case pins it, the reason in the message.
pub fn answer_problems(case: &Case, answer: &RawResponse) -> Vec<String> {
    let expect = &case.expect;
    let mut problems = Vec::new();
    if answer.status >= 500 {
        problems.push(format!("a {} (a 5xx is never acceptable)", answer.status));
    }
    if answer.status != expect.status {
        problems.push(format!(
            "status {}, expected {}: {}",
            answer.status,
            expect.status,
            answer.body_text()
        ));
    }
    let layer = answering_layer(answer);
    if layer != expect.answered_by {
        problems.push(format!(
            "answered by the {layer:?} layer, expected the {:?} layer",
            expect.answered_by
        ));
    }
    // Every answer of ours, and of the gateway's stand-in (contract 1.1);
    // hyper's own parse errors are not ours to shape.
    if layer != Layer::Transport && answer.header("x-content-type-options") != Some("nosniff") {
        problems.push("no `X-Content-Type-Options: nosniff`".to_string());
    }
    if let Some(code) = &expect.error {
        problems.extend(contract_error_problems(answer, expect.status, code));
    }
    if let Some(piece) = &expect.message_contains {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        if !body["message"]
            .as_str()
            .is_some_and(|m| m.contains(piece.as_str()))
        {
            problems.push(format!(
                "the message should contain {piece:?}: {}",
                answer.body_text()
            ));
        }
    }
    problems
}

/// A finished job (`GET /v1/jobs/{id}` body) against the documented end:
/// status, error code, the reason in the message, no results.
pub fn job_problems(expected: &JobOutcome, done: &Value) -> Vec<String> {
    let message = done["error"]["message"].as_str().unwrap_or_default();
    if done["status"] == expected.status.as_str()
        && done["error"]["code"] == expected.error_code.as_str()
        && message.contains(expected.error_message_contains.as_str())
        && done["resultUrls"] == serde_json::json!([])
    {
        return Vec::new();
    }
    vec![format!(
        "the job should end {} {} ({:?}) without results, not {done}",
        expected.status, expected.error_code, expected.error_message_contains
    )]
}

/// Our handlers tag every answer with `X-Request-Id`; the local server adds
/// CORS headers to everything it routes, including its API Gateway
/// stand-ins; hyper's own parse errors carry neither.
fn answering_layer(answer: &RawResponse) -> Layer {
    if answer.header("x-request-id").is_some() {
        Layer::Handler
    } else if answer.header("access-control-allow-origin").is_some() {
        Layer::Gateway
    } else {
        Layer::Transport
    }
}

/// The contract's error shape, judged by `Reply::assert_error` (the one
/// definition the suite has), its panic turned into a problem.
fn contract_error_problems(answer: &RawResponse, status: u16, code: &str) -> Vec<String> {
    let Ok(body) = serde_json::from_slice(&answer.body) else {
        return vec![format!("the body is not JSON: {:?}", answer.body_text())];
    };
    let reply = Reply {
        status: reqwest::StatusCode::from_u16(answer.status).unwrap_or_default(),
        headers: reqwest::header::HeaderMap::new(),
        body,
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| reply.assert_error(status, code))) {
        Ok(()) => Vec::new(),
        Err(panic) => vec![panic_text(panic)],
    }
}
