//! The harness: one moto server per test binary (killed with the process),
//! per test fresh resources (own table, queues, bucket), the CLI run as a
//! real process against them, and the handlers the checks need (submit,
//! cancel, the worker) called in-process. No dev stack: the other
//! functions are not built for these tests.

use std::sync::Arc;
use std::time::Duration;

use devstack::{Resources, StackOptions, apigw};
use lambda_http::Body;
use serde_json::Value;
use shared::domain::{Job, JobStatus, KeyMode, Mode, Scope};
use shared::store::{NewJob, SubmitOutcome};
use shared::time::Timestamp;
use shared::{App, ids};

/// The test process's moto server (see `devstack::moto::process_wide_endpoint`).
pub fn moto_endpoint() -> String {
    devstack::moto::process_wide_endpoint()
}

/// One run of the CLI.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout parsed as JSON.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, Some(0), "{self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {self:?}"))
    }

    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{self:?}");
        &self.stdout
    }

    /// Asserts a failure: non-zero exit, nothing on stdout, exactly one
    /// line on stderr that contains `expected`.
    pub fn fails_with(&self, expected: &str) {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "exits non-zero: {self:?}"
        );
        assert!(self.stdout.is_empty(), "nothing on stdout: {self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "one line: {self:?}");
        assert!(self.stderr.ends_with('\n'), "{self:?}");
        assert!(
            self.stderr.contains(expected),
            "stderr mentions {expected:?}: {self:?}"
        );
    }
}

pub struct Env {
    pub resources: Resources,
    pub app: Arc<App>,
    endpoint: String,
}

impl Env {
    /// Fresh resources with the API's key cache off, so a revocation or a
    /// limit change shows on the very next request.
    pub async fn start() -> Env {
        Env::start_with(None).await
    }

    /// The same, with the worker's live mode calling Gemini at `base_url`
    /// (a `testkit` fake).
    pub async fn start_with_gemini(base_url: &str) -> Env {
        Env::start_with(Some(base_url)).await
    }

    async fn start_with(gemini: Option<&str>) -> Env {
        let endpoint = moto_endpoint();
        let mut options = StackOptions::named(&format!("a{}", &ids::new_id()[1..13]));
        options.auth_cache_ttl = Duration::ZERO;
        options.gemini = gemini.map(|url| (url.to_string(), "test-gemini-key".to_string()));
        let resources = Resources::create(&endpoint, options)
            .await
            .expect("provisioning on moto");
        let app = Arc::new(App::new(&resources.sdk, resources.config()));
        Env {
            resources,
            app,
            endpoint,
        }
    }

    pub fn table(&self) -> &str {
        &self.resources.options.table
    }

    pub fn queue_url(&self) -> &str {
        &self.resources.queue_url
    }

    /// Runs the worker on the jobs queue, as the SQS event source would,
    /// until the handle is aborted.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let worker = self.resources.worker().expect("the worker starts");
        tokio::spawn(devstack::drain::drain_queue(
            aws_sdk_sqs::Client::new(&self.resources.sdk),
            self.resources.queue_url.clone(),
            Arc::new(worker),
            1,
        ))
    }

    /// Runs the worker until every one of `jobs` (job id and its scope) has
    /// SUCCEEDED; fails the test if one ends otherwise or they take longer
    /// than 30 s.
    pub async fn run_to_success(&self, jobs: &[(Scope<'_>, &str)]) {
        let worker = self.spawn_worker();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        for (scope, job_id) in jobs {
            loop {
                let job = self
                    .app
                    .store
                    .get_job(*scope, job_id)
                    .await
                    .expect("a read of the job")
                    .expect("the job exists");
                if job.status == JobStatus::Succeeded {
                    break;
                }
                assert!(
                    !job.status.is_terminal(),
                    "job {job_id} ended {}: {job:?}",
                    job.status
                );
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "job {job_id} still {}",
                    job.status
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        worker.abort();
    }

    /// Runs `imagesaas-admin args…` against this stack's table, with only
    /// the environment an operator would set (no profile, no host config).
    pub async fn admin(&self, args: &[&str]) -> Run {
        self.admin_with(args, &[]).await
    }

    pub async fn admin_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_imagesaas-admin"))
            .args(args)
            .env_clear()
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TABLE_NAME", self.table())
            .envs(extra_env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("the CLI runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// `tenant create --json` with these extra flags; returns the output.
    pub async fn create_tenant(&self, extra: &[&str]) -> Value {
        let mut args = vec!["tenant", "create", "--name", "Acme", "--json"];
        args.extend_from_slice(extra);
        self.admin(&args).await.json()
    }

    /// `key create --json`; returns `(keyId, key)`.
    pub async fn create_key(&self, tenant_id: &str, mode: &str) -> (String, String) {
        let out = self
            .admin(&[
                "key", "create", "--tenant", tenant_id, "--mode", mode, "--json",
            ])
            .await
            .json();
        (
            out["keyId"].as_str().expect("keyId").to_string(),
            out["key"].as_str().expect("key").to_string(),
        )
    }

    /// A request to the real handler its Lambda runs (submit or cancel, the
    /// two these tests need); returns the status, the response headers and
    /// the JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<&str>,
    ) -> (u16, lambda_http::http::HeaderMap, Value) {
        let mut req = lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
            .expect("a request");
        let req = apigw::as_api_gateway(req);
        let resp = match (method, path.strip_prefix("/v1/jobs/")) {
            ("DELETE", Some(id)) => {
                cancel_job::handle(&self.app, apigw::with_job_id(req, id)).await
            }
            ("POST", None) if path == "/v1/images/generate" => {
                generate::handle(&self.app, req).await
            }
            _ => panic!("no handler here for {method} {path}"),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = match resp.into_body() {
            Body::Text(t) => t,
            Body::Binary(b) => String::from_utf8(b).expect("a UTF-8 body"),
            _ => String::new(),
        };
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// `POST /v1/images/generate` with this body; asserts it is accepted and
    /// returns the job id.
    pub async fn submit_accepted(&self, key: &str, body: &str) -> String {
        let (status, _, answer) = self
            .call("POST", "/v1/images/generate", key, Some(body))
            .await;
        assert_eq!(status, 202, "{body} is accepted: {answer}");
        answer["jobId"].as_str().expect("a jobId").to_string()
    }

    /// A QUEUED job of the tenant created at `created`, written by the
    /// submit's own transaction (without its queue message).
    pub async fn plant_job(
        &self,
        tenant_id: &str,
        key_mode: KeyMode,
        mode: Mode,
        created: Timestamp,
    ) -> Job {
        let store = &self.app.store;
        let mut job = devstack::provision::test_job(
            &ids::new_id(),
            tenant_id,
            JobStatus::Queued,
            "A lighthouse at dusk",
            created,
        );
        job.key_mode = key_mode;
        job.mode = mode;
        let limits = store
            .get_tenant(tenant_id)
            .await
            .expect("a read")
            .expect("the tenant")
            .limits;
        let new = NewJob {
            job: &job,
            idempotency: None,
            limits,
            minute: created.timestamp().div_euclid(60),
        };
        assert_eq!(
            store.create_job(&new).await.expect("a submit"),
            SubmitOutcome::Created
        );
        job
    }

    /// `POST /v1/images/generate` with a draft prompt.
    pub async fn submit(&self, key: &str) -> (u16, lambda_http::http::HeaderMap, Value) {
        self.call(
            "POST",
            "/v1/images/generate",
            key,
            Some(r#"{"prompt":"A cat","mode":"draft"}"#),
        )
        .await
    }
}
