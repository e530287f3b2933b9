//! Every route's success shape and its error cases.

use reqwest::Method;
use serde_json::Value;

use system_tests::{TestStack, scope};

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn assert_iso_millis(v: &Value) {
    let s = v.as_str().expect("a time string");
    assert_eq!(s.len(), 24, "{s}");
    assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
    assert!(shared::time::parse_iso(s).is_some(), "{s}");
}

#[tokio::test]
async fn health_answers_without_auth() {
    let t = TestStack::start().await;
    let r = t.send(Method::GET, "/health", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.body), ["status", "timestamp"]);
    assert_eq!(r.body["status"], "ok");
    assert_iso_millis(&r.body["timestamp"]);
}

#[tokio::test]
async fn the_quick_start_works_end_to_end() {
    let t = TestStack::start().await;
    let key = t.dev_tenant().await;

    let submit = t
        .submit(
            &key,
            r#"{"prompt": "A cute cat sitting on a couch", "mode": "draft"}"#,
        )
        .await;
    assert_eq!(submit.status, 202, "{}", submit.body);
    assert_eq!(keys(&submit.body), ["jobId", "status"]);
    assert_eq!(submit.body["status"], "QUEUED");
    let job_id = submit.body["jobId"].as_str().unwrap().to_string();
    assert!(shared::ids::is_valid_id(&job_id), "{job_id}");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(submit.header(h).is_some(), "{h} missing");
    }
    assert_eq!(submit.header("x-ratelimit-limit"), Some("60"));
    assert_eq!(submit.header("x-ratelimit-remaining"), Some("59"));

    let got = t.get(&key, &format!("/v1/jobs/{job_id}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        keys(&got.body),
        [
            "createdAt",
            "deadlineAt",
            "error",
            "images",
            "jobId",
            "livemode",
            "request",
            "resultUrls",
            "status",
            "updatedAt",
            "usage"
        ]
    );
    assert_eq!(got.body["jobId"], job_id.as_str());
    assert_eq!(
        got.body["usage"],
        Value::Null,
        "a QUEUED job's usage is not known yet"
    );
    assert_eq!(got.body["status"], "QUEUED");
    assert_eq!(got.body["resultUrls"], serde_json::json!([]));
    assert_eq!(got.body["error"], Value::Null);
    assert_iso_millis(&got.body["createdAt"]);
    assert_iso_millis(&got.body["updatedAt"]);

    let list = t.get(&key, "/v1/jobs").await;
    assert_eq!(list.status, 200);
    assert_eq!(keys(&list.body), ["hasMore", "items", "nextCursor"]);
    assert_eq!(list.body["hasMore"], false);
    assert_eq!(list.body["nextCursor"], Value::Null);
    let item = &list.body["items"][0];
    assert_eq!(
        keys(item),
        [
            "aspectRatio",
            "createdAt",
            "deadlineAt",
            "errorCode",
            "errorMessage",
            "id",
            "images",
            "inputImageUrl",
            "livemode",
            "mode",
            "prompt",
            "request",
            "resultUrls",
            "status",
            "updatedAt",
            "usage"
        ]
    );
    assert_eq!(item["id"], job_id.as_str());
    assert_eq!(item["prompt"], "A cute cat sitting on a couch");
    assert_eq!(item["mode"], "draft");
    assert_eq!(item["aspectRatio"], "1:1");
    assert_eq!(item["inputImageUrl"], Value::Null);
    assert_eq!(item["livemode"], false, "the dev key is a test key");

    let canceled = t.cancel(&key, &job_id).await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(
        canceled.body,
        serde_json::json!({"jobId": job_id, "status": "CANCELED"})
    );
    let after = t.get(&key, &format!("/v1/jobs/{job_id}")).await;
    assert_eq!(after.body["status"], "CANCELED");
}

#[tokio::test]
async fn submit_stores_every_field() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let r = t
        .submit(
            &key,
            r#"{"prompt":"A fox","mode":"final","aspectRatio":"16:9","inputImageUrl":"http://127.0.0.1:9/fox.png"}"#,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let item = &t.get(&key, "/v1/jobs").await.body["items"][0];
    assert_eq!(item["mode"], "final");
    assert_eq!(item["aspectRatio"], "16:9");
    assert_eq!(item["inputImageUrl"], "http://127.0.0.1:9/fox.png");
}

#[tokio::test]
async fn invalid_submit_bodies_are_400_naming_the_field() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(1000, 1000).await;
    let long_prompt = serde_json::json!({ "prompt": "a".repeat(8001) }).to_string();
    let cases: Vec<(&str, &str)> = vec![
        ("{not json", "JSON"),
        ("", "body"),
        ("[]", "object"),
        ("{}", "prompt"),
        (r#"{"prompt":""}"#, "prompt"),
        (r#"{"prompt":"   "}"#, "prompt"),
        (&long_prompt, "prompt"),
        (r#"{"prompt":123}"#, "prompt"),
        (r#"{"prompt":["a"]}"#, "prompt"),
        (r#"{"prompt":"a","mode":"turbo"}"#, "mode"),
        (r#"{"prompt":"a","mode":true}"#, "mode"),
        (r#"{"prompt":"a","aspectRatio":"2:1"}"#, "aspectRatio"),
        (
            r#"{"prompt":"a","inputImageUrl":"not-a-url"}"#,
            "inputImageUrl",
        ),
        (
            r#"{"prompt":"a","inputImageUrl":"ftp://example.com/x.png"}"#,
            "inputImageUrl",
        ),
        (r#"{"prompt":"a","inputImageUrl":42}"#, "inputImageUrl"),
        (r#"{"prompt":"a","size":"large"}"#, "size"),
        (r#"{"prompt":"a","prompt":"b"}"#, "prompt"),
    ];
    for (body, field) in cases {
        let r = t.submit(&key, body).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(
            r.message().contains(field),
            "{body:?}: message {:?} should name {field}",
            r.message()
        );
        assert!(
            r.header("x-ratelimit-limit").is_some(),
            "{body:?}: rate-limit headers on 400"
        );
    }
    // Nothing was created by any of them.
    let list = t.get(&key, "/v1/jobs").await;
    assert_eq!(list.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_idempotency_keys_are_400() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let too_long = "k".repeat(256);
    for bad in ["", too_long.as_str(), "tab\there"] {
        let r = t.submit_with_key(&key, r#"{"prompt":"a"}"#, bad).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains("Idempotency-Key"), "{}", r.message());
    }
    let max = "k".repeat(255);
    let ok = t.submit_with_key(&key, r#"{"prompt":"a"}"#, &max).await;
    assert_eq!(ok.status, 202, "{}", ok.body);
}

#[tokio::test]
async fn unknown_jobs_and_routes_are_404() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    t.get(&key, "/v1/jobs/cmkuz35wf00034rk15ycgzvce")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.get(&key, "/v1/jobs/..%2F..%2Fetc%2Fpasswd")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.get(&key, "/v1/jobs/NOT-AN-ID")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.cancel(&key, "cmkuz35wf00034rk15ycgzvce")
        .await
        .assert_error(404, "JOB_NOT_FOUND");
    t.get(&key, "/v1/nothing")
        .await
        .assert_error(404, "NOT_FOUND");
    t.send(Method::PUT, "/v1/jobs", Some(&key), None, &[])
        .await
        .assert_error(404, "NOT_FOUND");
    // An empty path segment is no route, as on API Gateway.
    for path in ["//v1/jobs", "//health", "/v1//jobs"] {
        t.get(&key, path).await.assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn every_answer_says_nosniff() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    let accepted = t.submit(&key, r#"{"prompt":"a"}"#).await;
    let answers = [
        t.send(Method::GET, "/health", None, None, &[]).await,
        accepted,
        t.submit(&key, "{").await,
        t.get(&key, "/v1/jobs").await,
        t.get("img_test_unknown123456", "/v1/jobs").await,
        t.get(&key, "/v1/nothing").await,
    ];
    for answer in answers {
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{} {:?}",
            answer.status,
            answer.headers
        );
    }
    // The docs page and a CORS preflight, which carry no JSON.
    for (method, path) in [(Method::GET, "/docs"), (Method::OPTIONS, "/v1/jobs")] {
        let resp = t
            .http
            .request(method, format!("{}{path}", t.base))
            .send()
            .await
            .expect("an answer");
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_longest_prompt_is_accepted_however_it_is_escaped() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(60, 5).await;
    // 8,000 characters as `\u` surrogate pairs: 96 KB on the wire.
    let body = format!(r#"{{"prompt":"{}"}}"#, "\\ud83d\\ude00".repeat(8_000));
    assert!(body.len() > 96_000);
    let r = t.submit(&key, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let too_big = format!(r#"{{"prompt":"a","x":"{}"}}"#, "a".repeat(256 * 1024));
    t.submit(&key, &too_big)
        .await
        .assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn only_queued_or_retrying_jobs_cancel() {
    let t = TestStack::start().await;
    let (tenant, key) = t.tenant(60, 5).await;
    let job_id = t.submit(&key, r#"{"prompt":"a"}"#).await.body["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(t.cancel(&key, &job_id).await.status, 200);
    let again = t.cancel(&key, &job_id).await;
    again.assert_error(400, "INVALID_STATE");
    assert!(again.message().contains("CANCELED"), "{}", again.message());

    // A job the worker is running is not cancelable either.
    let running = t.submit(&key, r#"{"prompt":"b"}"#).await.body["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    set_status(&t, scope(&tenant, &key), &running, "RUNNING").await;
    let r = t.cancel(&key, &running).await;
    r.assert_error(400, "INVALID_STATE");
    assert!(r.message().contains("RUNNING"), "{}", r.message());

    // RETRYING is.
    set_status(&t, scope(&tenant, &key), &running, "RETRYING").await;
    assert_eq!(t.cancel(&key, &running).await.status, 200);
    assert_eq!(
        t.active_jobs(scope(&tenant, &key)).await,
        0,
        "both cancels released their slot"
    );
}

/// Moves a job as the worker would (status and its index key together).
pub async fn set_status(
    t: &TestStack,
    scope: shared::domain::Scope<'_>,
    job_id: &str,
    status: &str,
) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    t.stack
        .app
        .store
        .client()
        .update_item()
        .table_name(t.stack.app.store.table())
        .key("PK", S(shared::store::schema::scope_pk(scope)))
        .key("SK", S(shared::store::schema::job_sk(job_id)))
        .update_expression("SET #s = :s, GSI2PK = :pk")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", S(status.to_string()))
        .expression_attribute_values(
            ":pk",
            S(shared::store::schema::status_pk(
                scope,
                shared::domain::JobStatus::parse(status).expect("a status"),
            )),
        )
        .send()
        .await
        .expect("update");
}

#[tokio::test]
async fn browsers_may_call_the_api_from_any_origin() {
    let t = TestStack::start().await;
    let key = t.dev_tenant().await;
    let pre = t
        .http
        .request(Method::OPTIONS, format!("{}/v1/images/generate", t.base))
        .header("origin", "null")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("DELETE")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("idempotency-key")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("prefer"),
        "a page may ask to wait"
    );

    let r = t.submit(&key, r#"{"prompt":"a"}"#).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let exposed = r.header("access-control-expose-headers").unwrap();
    for h in [
        "x-ratelimit-remaining",
        "x-quota-remaining",
        "x-quota-limit",
        "retry-after",
        "idempotent-replayed",
        "x-request-id",
        "location",
        "preference-applied",
    ] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    let err = t.get("img_test_nope_nope_nope", "/v1/jobs").await;
    assert_eq!(
        err.header("access-control-allow-origin"),
        Some("*"),
        "errors too"
    );
}

#[tokio::test]
async fn the_docs_and_the_spec_are_served() {
    let t = TestStack::start().await;
    for (path, content_type, needle) in [
        ("/docs", "text/html; charset=utf-8", "<html"),
        ("/openapi.yaml", "application/yaml", "openapi: 3.1"),
    ] {
        let resp = t
            .http
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type);
        let text = resp.text().await.unwrap();
        assert!(text.to_lowercase().contains(needle), "{path}");
    }
}
