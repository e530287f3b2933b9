//! The system tests (`tests/api`, `tests/chaos`, the hostile corpus in
//! `tests/hostile/`, and the out-of-process checks in `browser/`,
//! `openapi/` and `lambda/`) and, here, the harness the Rust suites share:
//! one moto server per test binary (started on a free port, killed with
//! the process), and per test a fresh dev stack with its own table, queues
//! and bucket, served on its own free port. The doubles it works with
//! (fake Gemini, file server, webhook receiver) are in `testkit`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use devstack::provision::seed_tenant;
use devstack::{Stack, StackOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::domain::{KeyMode, Scope, TenantLimits};
use shared::ids;

/// The dev tenant's key (`make dev`'s).
pub use devstack::provision::DEV_API_KEY as DEV_KEY;

/// The scope a key's requests see: its tenant, in the key's mode.
pub fn scope<'a>(tenant_id: &'a str, key: &str) -> Scope<'a> {
    Scope::new(
        tenant_id,
        KeyMode::of_key(key).expect("a well-formed test or live key"),
    )
}

/// Every metric line the functions of this test process emitted, with the
/// tenant it is about: the stacks of concurrent tests share the process
/// (and its sink), so a test reads the lines of its own tenants.
#[derive(Default)]
struct CapturedMetrics {
    lines: std::sync::Mutex<Vec<(Option<String>, String)>>,
}

impl shared::metrics::Sink for CapturedMetrics {
    fn emit(&self, emitted: &shared::metrics::Emitted<'_>) {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((
                emitted.subject.tenant_id.map(str::to_string),
                emitted.line.clone(),
            ));
    }
}

static METRICS: std::sync::LazyLock<std::sync::Arc<CapturedMetrics>> =
    std::sync::LazyLock::new(|| {
        let sink = std::sync::Arc::new(CapturedMetrics::default());
        shared::metrics::set_sink(sink.clone());
        sink
    });

/// The EMF lines emitted so far about `tenant_id`, as JSON, in order.
pub fn metric_lines_of(tenant_id: &str) -> Vec<Value> {
    METRICS
        .lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(t, _)| t.as_deref() == Some(tenant_id))
        .map(|(_, line)| serde_json::from_str(line).expect("an EMF line is JSON"))
        .collect()
}

/// Every EMF line emitted so far in this process.
pub fn all_metric_lines() -> Vec<String> {
    METRICS
        .lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(_, line)| line.clone())
        .collect()
}

/// The test process's moto server (see `devstack::moto::process_wide_endpoint`).
pub fn moto_endpoint() -> String {
    devstack::moto::process_wide_endpoint()
}

pub struct TestStack {
    pub stack: Stack,
    pub base: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.server.abort();
        for task in self.tasks.lock().expect("the task list's lock").drain(..) {
            task.abort();
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error shape: exactly `error` and `message`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.body);
        let obj = self.body.as_object().expect("an error body is an object");
        assert_eq!(
            obj.len(),
            2,
            "error body has exactly two keys: {}",
            self.body
        );
        assert_eq!(obj["error"], code, "{}", self.body);
        assert!(
            obj["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message is a non-empty string: {}",
            self.body
        );
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

impl TestStack {
    /// A stack with the auth cache off, so every request sees the table.
    pub async fn start() -> TestStack {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut StackOptions)) -> TestStack {
        if std::env::var_os("TEST_LOG").is_some() {
            shared::telemetry::init();
        }
        let mut options = StackOptions::named(&format!("t{}", &ids::new_id()[1..13]));
        options.auth_cache_ttl = Duration::ZERO;
        adjust(&mut options);
        let stack = Stack::provision(&moto_endpoint(), options)
            .await
            .expect("provisioning on moto");
        Self::serve(stack).await
    }

    /// A stack whose worker runs, with live keys calling the (fake) Gemini
    /// at `gemini_base_url`, and transient failures retried after a second.
    pub async fn pipeline(gemini_base_url: &str) -> TestStack {
        Self::pipeline_with(gemini_base_url, |_| {}).await
    }

    /// `pipeline`, with further options.
    pub async fn pipeline_with(
        gemini_base_url: &str,
        adjust: impl FnOnce(&mut StackOptions),
    ) -> TestStack {
        let t = Self::start_with(|o| {
            o.gemini = Some((gemini_base_url.to_string(), "fake-gemini-key".into()));
            o.retry_base_delay = Duration::from_secs(1);
            adjust(o);
        })
        .await;
        t.start_worker();
        t
    }

    /// Runs the worker on this stack's queue until the stack is dropped.
    pub fn start_worker(&self) {
        let task = self.stack.spawn_worker();
        self.tasks.lock().expect("the task list's lock").push(task);
    }

    /// Feeds the table's stream to the webhooks handler until dropped.
    pub fn start_webhooks(&self) {
        let task = self.stack.spawn_webhooks();
        self.tasks.lock().expect("the task list's lock").push(task);
    }

    pub async fn serve(stack: Stack) -> TestStack {
        // The functions' metrics go to the capture, not to the test's output.
        std::sync::LazyLock::force(&METRICS);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let server = tokio::spawn(devstack::server::serve(listener, stack.app.clone()));
        TestStack {
            stack,
            base,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            server,
            tasks: std::sync::Mutex::default(),
        }
    }

    /// Another server on the same resources, whose handlers see a changed
    /// configuration (a missing queue, a missing table, …).
    pub async fn variant(&self, change: impl FnOnce(&mut shared::Config)) -> TestStack {
        let mut config = self.stack.app.config.clone();
        change(&mut config);
        Self::serve(self.with_app(shared::App::new(&self.stack.sdk, config))).await
    }

    /// This stack's resources and functions, with `app` serving.
    fn with_app(&self, app: shared::App) -> Stack {
        Stack {
            sdk: self.stack.sdk.clone(),
            options: self.stack.options.clone(),
            queue_url: self.stack.queue_url.clone(),
            app: std::sync::Arc::new(app),
            worker: self.stack.worker.clone(),
            notifier: self.stack.notifier.clone(),
            sender: self.stack.sender.clone(),
            webhook_failures_url: self.stack.webhook_failures_url.clone(),
            delivery_queue_url: self.stack.delivery_queue_url.clone(),
            delivery_dlq_url: self.stack.delivery_dlq_url.clone(),
        }
    }

    /// Another server on the same resources whose handlers read the clock
    /// as if it were `at` now (for what happens at a month's end).
    pub async fn at(&self, at: shared::time::Timestamp) -> TestStack {
        let mut app = shared::App::new(&self.stack.sdk, self.stack.app.config.clone());
        app.clock = shared::time::Clock::reading(at);
        Self::serve(self.with_app(app)).await
    }

    /// Sets (or with `None` removes) the tenant's monthly image quota, the
    /// way `tenant update` does.
    pub async fn set_quota(&self, tenant_id: &str, quota: Option<u32>) {
        let change = shared::store::TenantUpdate {
            rpm: None,
            max_concurrency: None,
            monthly_image_quota: match quota {
                Some(n) => shared::store::QuotaChange::Set(n),
                None => shared::store::QuotaChange::Remove,
            },
            webhook: shared::store::WebhookChange::Keep,
        };
        let outcome = self
            .stack
            .app
            .store
            .update_tenant(tenant_id, &change)
            .await
            .expect("updating the tenant");
        assert!(
            matches!(outcome, shared::store::UpdateOutcome::Updated(_)),
            "{outcome:?}"
        );
    }

    /// A new tenant with these limits and a fresh test key; returns the key.
    pub async fn tenant(&self, rpm: u32, max_concurrency: u32) -> (String, String) {
        self.tenant_with_prefix("img_test_", rpm, max_concurrency)
            .await
    }

    /// A tenant whose key is a live key (its jobs call Gemini).
    pub async fn live_tenant(&self, rpm: u32, max_concurrency: u32) -> (String, String) {
        self.tenant_with_prefix("img_live_", rpm, max_concurrency)
            .await
    }

    async fn tenant_with_prefix(
        &self,
        prefix: &str,
        rpm: u32,
        max_concurrency: u32,
    ) -> (String, String) {
        let tenant_id = ids::new_id();
        let key = format!("{prefix}{}", ids::new_id());
        seed_tenant(
            &self.stack.app.store,
            &tenant_id,
            "test tenant",
            &key,
            TenantLimits {
                rpm,
                max_concurrency,
                monthly_image_quota: None,
            },
        )
        .await
        .expect("seeding a tenant");
        (tenant_id, key)
    }

    /// Another key of an existing tenant, of the mode `prefix` names
    /// (`img_test_` or `img_live_`), stored the way the admin CLI stores it.
    pub async fn add_key(&self, tenant_id: &str, prefix: &str) -> String {
        let raw = format!("{prefix}{}", ids::new_id());
        let key =
            shared::store::NewApiKey::for_raw_key(tenant_id, &raw).expect("a well-formed key");
        let outcome = self
            .stack
            .app
            .store
            .create_api_key(&key)
            .await
            .expect("storing the key");
        assert_eq!(outcome, shared::store::KeyCreateOutcome::Created);
        raw
    }

    /// The active-job counter of a scope, as stored.
    pub async fn active_jobs(&self, scope: Scope<'_>) -> i64 {
        let counter = self
            .stack
            .app
            .store
            .active_jobs(scope)
            .await
            .expect("reading the counter");
        counter.expect("the tenant exists")
    }

    /// A job as stored (it must exist).
    pub async fn stored_job(&self, scope: Scope<'_>, job_id: &str) -> shared::domain::Job {
        self.stack
            .app
            .store
            .get_job(scope, job_id)
            .await
            .expect("reading the job")
            .expect("the job is stored")
    }

    /// Revokes a key the way an operator does (`imagesaas-admin key revoke`).
    pub async fn revoke(&self, raw_key: &str) {
        let store = &self.stack.app.store;
        let hash = shared::domain::ApiKeyHash::of(raw_key);
        let id = store
            .key_id_of(&hash)
            .await
            .expect("looking up the key")
            .expect("a listed key");
        store.revoke_api_key(&id).await.expect("revoking the key");
    }

    /// The dev tenant of `make dev`, with its default limits.
    pub async fn dev_tenant(&self) -> String {
        devstack::provision::seed_dev_tenant(&self.stack.app.store)
            .await
            .expect("seeding the dev tenant");
        DEV_KEY.to_string()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("the local server answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn submit(&self, key: &str, body: &str) -> Reply {
        self.send(
            Method::POST,
            "/v1/images/generate",
            Some(key),
            Some(body),
            &[],
        )
        .await
    }

    /// Submits `body`, which must be accepted: the new job's id.
    pub async fn submit_job(&self, key: &str, body: &str) -> String {
        let reply = self.submit(key, body).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        reply.body["jobId"].as_str().expect("a jobId").to_string()
    }

    /// Submits `body` and waits for the job to end: its last view.
    pub async fn run_job(&self, key: &str, body: &str) -> Value {
        let job = self.submit_job(key, body).await;
        wait_for_job(self, key, &job, is_terminal).await.1
    }

    /// Every attribute of the stack's job queue, as SQS reports it.
    pub async fn queue_attributes(&self) -> HashMap<QueueAttributeName, String> {
        aws_sdk_sqs::Client::new(&self.stack.sdk)
            .get_queue_attributes()
            .queue_url(&self.stack.queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .expect("the queue's attributes")
            .attributes
            .expect("attributes in the answer")
    }

    /// Messages on a queue, visible or in flight (SQS's approximate counts,
    /// exact on the emulator).
    pub async fn messages_on(&self, queue_url: &str) -> u64 {
        let attributes = aws_sdk_sqs::Client::new(&self.stack.sdk)
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("the queue's attributes")
            .attributes
            .unwrap_or_default();
        attributes
            .values()
            .map(|v| v.parse::<u64>().expect("a count"))
            .sum()
    }

    pub async fn submit_with_key(&self, key: &str, body: &str, idempotency_key: &str) -> Reply {
        self.send(
            Method::POST,
            "/v1/images/generate",
            Some(key),
            Some(body),
            &[("idempotency-key", idempotency_key)],
        )
        .await
    }

    /// Submits all bodies at once (concurrently), in order of the replies.
    pub async fn submit_all(
        &self,
        key: &str,
        bodies: impl IntoIterator<Item = String>,
    ) -> Vec<Reply> {
        futures_util::future::join_all(
            bodies
                .into_iter()
                .map(|body| async move { self.submit(key, &body).await }),
        )
        .await
    }

    pub async fn get(&self, key: &str, path: &str) -> Reply {
        self.send(Method::GET, path, Some(key), None, &[]).await
    }

    pub async fn cancel(&self, key: &str, job_id: &str) -> Reply {
        self.send(
            Method::DELETE,
            &format!("/v1/jobs/{job_id}"),
            Some(key),
            None,
            &[],
        )
        .await
    }

    /// `GET /v1/jobs/{jobId}/deliveries`.
    pub async fn deliveries(&self, key: &str, job_id: &str) -> Reply {
        self.get(key, &format!("/v1/jobs/{job_id}/deliveries"))
            .await
    }

    /// `POST /v1/jobs/{jobId}/deliveries`, without a body.
    pub async fn redeliver(&self, key: &str, job_id: &str) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/jobs/{job_id}/deliveries"),
            Some(key),
            None,
            &[],
        )
        .await
    }

    /// Polls the job's delivery log until `done` holds for its items
    /// (newest first), which it returns. Panics after a generous 120 s.
    pub async fn wait_for_deliveries(
        &self,
        key: &str,
        job_id: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.deliveries(key, job_id).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let items = r.body["items"].as_array().expect("items").clone();
            if done(&items) {
                return items;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {job_id}'s deliveries never settled: {items:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every page of a listing, following `nextCursor`.
    pub async fn list_all(&self, key: &str, query: &str) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/jobs?{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let reply = self.get(key, &path).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            pages.push(reply.body["items"].as_array().expect("items").clone());
            let has_more = reply.body["hasMore"].as_bool().expect("hasMore");
            match reply.body["nextCursor"].as_str() {
                Some(next) => {
                    assert!(has_more, "nextCursor without hasMore");
                    cursor = Some(next.to_string());
                }
                None => {
                    assert!(!has_more, "hasMore without nextCursor");
                    return pages;
                }
            }
            assert!(pages.len() < 1000, "listing does not end");
        }
    }
}

/// Polls a job until `done` holds for its status, returning every status
/// seen on the way (deduplicated) and the final body. Panics after a
/// generous 180 s (on a busy machine a job may wait behind others).
pub async fn wait_for_job(
    t: &TestStack,
    key: &str,
    job_id: &str,
    done: impl Fn(&str) -> bool,
) -> (Vec<String>, Value) {
    let mut seen: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let r = t.get(key, &format!("/v1/jobs/{job_id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let status = r.body["status"].as_str().unwrap_or_default().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if done(&status) {
            return (seen, r.body);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id} stuck; statuses seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn is_terminal(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELED")
}
