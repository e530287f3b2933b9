//! `POST /v1/images/generate`: authenticate, validate, admit the job in one
//! transaction (rate window, concurrency slot, idempotency key, job), queue
//! it, answer 202. Every answer to an authenticated caller carries the
//! `X-RateLimit-*` headers, and the `X-Quota-*` headers when its tenant has
//! a monthly image quota.

use std::time::Duration;

use runtime::http::{self, ApiResponse, Body, Request, Response, StatusCode};
use shared::auth::Caller;
use shared::domain::options::input_key;
use shared::domain::submit::InputImage;
use shared::domain::usage;
use shared::domain::{Job, SubmitRequest};
use shared::metrics::{self, Event, Refusal, Subject};
use shared::queue::JobMessage;
use shared::store::{IdempotencyRecord, NewJob, StoreError, SubmitOutcome};
use shared::time::{self, Timestamp};
use shared::views::JobView;
use shared::{ApiError, App, ids};

/// Concurrent submits of one tenant contend on its counters; DynamoDB
/// cancels the losers with `TransactionConflict`, and we retry this often.
const MAX_ATTEMPTS: u32 = 8;
/// When a concurrency slot frees is unknown; this is a polite first retry.
const CONCURRENCY_RETRY_AFTER_SECS: u64 = 5;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// This function's name in its metrics (`Function`) and its request span.
const FUNCTION: &str = "generate";

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::serve(FUNCTION, app, req, generate).await
}

async fn generate(app: &App, req: &Request) -> ApiResponse {
    let mut caller = match app.auth.authenticate(&app.store, req.headers()).await {
        Ok(caller) => caller,
        Err(e) => return ApiResponse::error(&e),
    };
    let now = app.clock.now();
    let submitted = submit(app, req, &mut caller, now).await;
    count(&caller, req, submitted.as_ref());
    let (result, known) = match submitted {
        Ok(accepted) => {
            let known = accepted.known;
            match shared::request::prefer_wait(req.headers()) {
                Some(seconds) => (waited(app, accepted, seconds).await, known),
                None => (Ok(accepted.response), known),
            }
        }
        Err(e) => (Err(e), Known::default()),
    };
    let mut resp = ApiResponse::from(result);
    let (window, month) = tokio::join!(
        window_used(app, &caller, now, known.window_used),
        month_used(app, &caller, now, known.month_used)
    );
    add_rate_limit_headers(&caller, now, window, &mut resp);
    add_quota_headers(&caller, now, month, &mut resp);
    resp
}

/// A submit in the metrics: a job admitted (a replay admits nothing), or
/// one refused for its input. The limits' refusals are counted where they
/// are decided, in `admit`.
fn count(caller: &Caller, req: &Request, outcome: Result<&Accepted, &ApiError>) {
    let request_id = http::request_id(req);
    let subject = Subject {
        tenant_id: Some(&caller.tenant_id),
        job_id: None,
        request_id: Some(&request_id),
    };
    let event = match outcome {
        Ok(accepted) if !accepted.replayed => Event::JobAdmitted {
            mode: accepted.job.mode,
        },
        Err(ApiError::InvalidRequest(_) | ApiError::IdempotencyKeyReused) => Event::SubmitRefused {
            reason: Refusal::Invalid,
        },
        _ => return,
    };
    let job_id = outcome.ok().map(|a| a.job.id.as_str());
    metrics::emit(FUNCTION, event, Subject { job_id, ..subject });
}

/// A refusal by the tenant's limits, in the metrics.
fn refused(caller: &Caller, reason: Refusal) {
    metrics::emit(
        FUNCTION,
        Event::SubmitRefused { reason },
        Subject::tenant(&caller.tenant_id),
    );
}

/// The counts the headers show, when the submit read them alongside its
/// last call, so the headers need no read of their own.
#[derive(Clone, Copy, Default)]
struct Known {
    /// The rate window's count.
    window_used: Option<u32>,
    /// The month's images, for a tenant with a quota.
    month_used: Option<i64>,
}

/// A 202, with the counts read alongside the job's queueing or replay, and
/// the job as it was then (for `Prefer: wait`).
struct Accepted {
    response: ApiResponse,
    known: Known,
    job: Job,
    replayed: bool,
}

/// `Prefer: wait=N` applied: the job's view once it is terminal (200) or
/// after `seconds` (202, with where to poll). A replay says so, as its 202
/// would have.
async fn waited(app: &App, accepted: Accepted, seconds: u32) -> Result<ApiResponse, ApiError> {
    let job = shared::waiting::until_terminal(
        &app.store,
        accepted.job.scope(),
        accepted.job.clone(),
        Duration::from_secs(u64::from(seconds)),
    )
    .await?
    .ok_or_else(|| ApiError::internal("the job vanished while the submit waited for it"))?;
    let terminal = job.status.is_terminal();
    let status = if terminal {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = ApiResponse::json(status, &JobView::from(&job));
    if !terminal {
        response.set_header("location", &format!("/v1/jobs/{}", job.id));
    }
    response.set_header("preference-applied", &format!("wait={seconds}"));
    if accepted.replayed {
        response.set_header("idempotent-replayed", "true");
    }
    Ok(response)
}

/// What the submit transaction's retries came to.
enum Admission {
    Created,
    /// The key's first request made the job: this is its answer.
    Replayed(Box<Accepted>),
}

async fn submit(
    app: &App,
    req: &Request,
    caller: &mut Caller,
    now: Timestamp,
) -> Result<Accepted, ApiError> {
    let idempotency_key = idempotency_key(req)?;
    require_json_body(req)?;
    let request = SubmitRequest::from_body(req.body().as_ref(), app.config.url_policy)?;
    if request.webhook_url.is_some() {
        require_webhook_secret(app, caller).await?;
    }
    let fingerprint = request.fingerprint();
    let job_id = ids::new_id();
    // A key's record is read beside the submit's first write, never before
    // it, so that a first submit with a key takes the round trips of one
    // without (two). That write is the upload of the `data:` inputs if there
    // are any (a replay then leaves its copies to expire unnamed, as a
    // refused submit does), else the transaction, in `admit`.
    let key_read_beside_transaction = match idempotency_key {
        Some(key) if has_data_inputs(&request) => {
            let (record, stored) = tokio::join!(
                live_record(app, caller, key, now),
                store_data_inputs(app, &caller.tenant_id, &job_id, &request)
            );
            if let Some(record) = record? {
                return Box::pin(replay(app, caller, record, &fingerprint, now)).await;
            }
            stored?;
            false
        }
        Some(_) => true,
        None => {
            store_data_inputs(app, &caller.tenant_id, &job_id, &request).await?;
            false
        }
    };
    let job = Job::queued(
        job_id,
        caller.tenant_id.clone(),
        request,
        caller.key_mode,
        now,
    );
    let mut new = NewJob {
        job: &job,
        idempotency: idempotency_key.map(|k| (k, fingerprint.as_str())),
        limits: caller.limits,
        minute: minute_of(now),
    };
    // Boxed, as each of the requests it makes is a large future: inline,
    // the submit's would be past clippy's `large_futures` limit.
    match Box::pin(admit(
        app,
        caller,
        &mut new,
        now,
        key_read_beside_transaction,
    ))
    .await?
    {
        Admission::Created => Box::pin(queue(app, &new)).await,
        Admission::Replayed(replayed) => Ok(*replayed),
    }
}

fn has_data_inputs(request: &SubmitRequest) -> bool {
    request
        .inputs
        .iter()
        .any(|input| matches!(input, InputImage::Data { .. }))
}

/// Stores the request's `data:` input images where the job will name them
/// (`options::input_key`), all at once, before the job exists: the job item
/// and the queue message carry keys, never images. A submit refused after
/// this leaves objects no job names; they expire with the results.
async fn store_data_inputs(
    app: &App,
    tenant_id: &str,
    job_id: &str,
    request: &SubmitRequest,
) -> Result<(), ApiError> {
    let uploads: Vec<_> = request
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(index, input)| match input {
            InputImage::Data { media_type, bytes } => Some((index, *media_type, bytes)),
            InputImage::Url(_) => None,
        })
        .collect();
    if uploads.is_empty() {
        return Ok(());
    }
    let inputs = app.inputs()?;
    futures_util::future::try_join_all(uploads.into_iter().map(|(index, media_type, bytes)| {
        let key = input_key(tenant_id, job_id, index, media_type);
        async move { inputs.put_input(&key, media_type, bytes.clone()).await }
    }))
    .await
    .map_err(|e| ApiError::internal(format!("storing a data: input image failed: {e}")))?;
    Ok(())
}

/// Runs the submit transaction until it decides: created, replayed, or
/// refused. Stale limits are refreshed and tried again, conflicts backed
/// off, both at most `MAX_ATTEMPTS` times in all. With `read_key`, the
/// idempotency key's record is read beside the first attempt: a retry of
/// an admitted submit is then answered with its job, also when the limits
/// would refuse a new one now.
async fn admit(
    app: &App,
    caller: &mut Caller,
    new: &mut NewJob<'_>,
    now: Timestamp,
    read_key: bool,
) -> Result<Admission, ApiError> {
    let mut record = None;
    for attempt in 1..=MAX_ATTEMPTS {
        let outcome = match new.idempotency {
            Some((key, _)) if read_key && attempt == 1 => {
                let (outcome, read) =
                    tokio::join!(create(app, new), live_record(app, caller, key, now));
                // Read after the transaction landed, the record may be this
                // submit's own: it is only used when the job was not created.
                record = read?;
                outcome?
            }
            _ => create(app, new).await?,
        };
        let (reason, refusal) = match outcome {
            SubmitOutcome::Created => return Ok(Admission::Created),
            SubmitOutcome::IdempotencyKeyTaken => {
                let (key, fingerprint) = new.idempotency.unwrap_or_default();
                // The record read beside may predate the holder's write.
                let holder = match record.take() {
                    Some(record) => Some(record),
                    None => live_record(app, caller, key, now).await?,
                };
                if let Some(holder) = holder {
                    let replayed = Box::pin(replay(app, caller, holder, fingerprint, now)).await?;
                    return Ok(Admission::Replayed(Box::new(replayed)));
                }
                // Taken back (or expired) since: the key is free again.
                continue;
            }
            SubmitOutcome::LimitsChanged(limits) => {
                app.auth.update_limits(&caller.tenant_id, limits);
                caller.limits = limits;
                new.limits = limits;
                continue;
            }
            SubmitOutcome::Conflict => {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            SubmitOutcome::TenantGone => return Err(ApiError::InvalidApiKey("Invalid API key")),
            SubmitOutcome::RateLimited => (
                Refusal::Rpm,
                ApiError::RateLimited {
                    message: format!(
                        "Rate limit exceeded: at most {} submits per minute for this tenant",
                        caller.limits.rpm
                    ),
                    retry_after_secs: seconds_to_next_minute(now),
                },
            ),
            SubmitOutcome::QuotaExceeded { used } => {
                (Refusal::Quota, quota_exceeded(caller, new.job, used, now))
            }
            SubmitOutcome::ConcurrencyLimited => (
                Refusal::Concurrency,
                ApiError::RateLimited {
                    message: format!(
                        "Concurrency limit exceeded: at most {} jobs may be queued or running at once for this tenant",
                        caller.limits.max_concurrency
                    ),
                    retry_after_secs: CONCURRENCY_RETRY_AFTER_SECS,
                },
            ),
        };
        return refuse_unless_replayed(app, caller, new, record, reason, refusal, now).await;
    }
    // Its own submits at once, more than the counters' conflicts let
    // through: a concurrency refusal in the metrics.
    let refusal = ApiError::RateLimited {
        message: "Too many simultaneous submits for this tenant; retry shortly".into(),
        retry_after_secs: 1,
    };
    refuse_unless_replayed(app, caller, new, record, Refusal::Concurrency, refusal, now).await
}

/// A refusal by the limits, unless the key's record says this is a retry
/// of a submit they admitted: then its answer. Counted in the metrics only
/// when it is the answer.
async fn refuse_unless_replayed(
    app: &App,
    caller: &Caller,
    new: &NewJob<'_>,
    record: Option<IdempotencyRecord>,
    reason: Refusal,
    refusal: ApiError,
    now: Timestamp,
) -> Result<Admission, ApiError> {
    if let (Some(record), Some((_, fingerprint))) = (record, new.idempotency) {
        let replayed = Box::pin(replay(app, caller, record, fingerprint, now)).await?;
        return Ok(Admission::Replayed(Box::new(replayed)));
    }
    refused(caller, reason);
    Err(refusal)
}

/// One submit transaction. Without a definite answer (a timeout) it may
/// have landed: it is taken back, and the client told what that means.
async fn create(app: &App, new: &NewJob<'_>) -> Result<SubmitOutcome, ApiError> {
    match app.store.create_job(new).await {
        Err(e @ StoreError::OutcomeUnknown { .. }) => {
            Err(taken_back(e.into(), app.store.undo_create_job(new).await))
        }
        outcome => Ok(outcome?),
    }
}

/// Sends the created job's message; the 202.
async fn queue(app: &App, new: &NewJob<'_>) -> Result<Accepted, ApiError> {
    let job = new.job;
    http::record_job_id(&job.id);
    let message = JobMessage::of(job);
    // The headers need the window and the month as this submit left them,
    // and the transaction returns no values: read them while the message
    // is sent (two round trips in all: the transaction, then these).
    let (sent, window_used, month_used) = tokio::join!(
        app.queue.send(&message),
        app.store.rate_window_count(job.scope(), new.minute),
        read_month(app, job.scope(), new.limits, job.created_at)
    );
    if let Err(send_error) = sent {
        // Never leave a job QUEUED that no message will ever run: take the
        // whole submit back and let the client retry.
        match app.store.undo_create_job(new).await {
            // The job already left QUEUED (canceled, or run after the
            // sweeper queued it): it exists, so it was accepted.
            Ok(false) => {
                tracing::warn!(error = %send_error, "queue send failed but the job moved on")
            }
            undone => return Err(taken_back(send_error.into(), undone)),
        }
    }
    tracing::info!(mode = job.mode.as_str(), "job queued");
    Ok(Accepted {
        response: ApiResponse::json(
            StatusCode::ACCEPTED,
            &serde_json::json!({ "jobId": job.id, "status": job.status }),
        ),
        known: Known {
            window_used: window_used.ok(),
            month_used,
        },
        job: job.clone(),
        replayed: false,
    })
}

const NOT_CREATED: &str =
    "The job could not be queued and was not created. Please retry the request.";
/// The sweeper queues a job left without a message within minutes, so a job
/// that exists will run; only an idempotent retry can tell the client its id.
const MAYBE_CREATED: &str = "The job may have been created and, if so, will run. Retry with the same Idempotency-Key to get its id without creating another.";

/// The 500 of a submit that failed after its transaction may have landed
/// (no definite outcome, or no queue message), given what undoing it did.
/// The undo is conditional on the job being QUEUED: when it took the job
/// back (`Ok(true)`), nothing was created. When it found no job
/// (`Ok(false)`), a transaction whose outcome was unknown may still land
/// after it (a request held up in the network or in DynamoDB), and the job
/// then exists and runs: the client is told it may, never that it was not
/// created. The same when the undo fails too.
fn taken_back(cause: shared::error::Internal, undone: Result<bool, StoreError>) -> ApiError {
    match undone {
        Ok(true) => ApiError::Internal {
            source: cause,
            public: Some(NOT_CREATED),
        },
        Ok(false) => ApiError::Internal {
            source: format!("{cause}; there was no job to take back, and the write may land later")
                .into(),
            public: Some(MAYBE_CREATED),
        },
        Err(undo_error) => ApiError::Internal {
            source: format!("{cause}; undoing the submit failed too: {undo_error}").into(),
            public: Some(MAYBE_CREATED),
        },
    }
}

/// The key's record, if it exists and has not expired (TTL deletion lags).
async fn live_record(
    app: &App,
    caller: &Caller,
    key: &str,
    now: Timestamp,
) -> Result<Option<IdempotencyRecord>, ApiError> {
    let record = app.store.get_idempotency(caller.scope(), key).await?;
    Ok(record.filter(|record| record.expires_at >= now.timestamp()))
}

/// The answer to a repeated key: the original job if the body is the same,
/// 422 if not. The job and the rate window (for the headers) are read side
/// by side.
async fn replay(
    app: &App,
    caller: &Caller,
    record: IdempotencyRecord,
    fingerprint: &str,
    now: Timestamp,
) -> Result<Accepted, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    http::record_job_id(&record.job_id);
    let (job, window_used, month_used) = tokio::join!(
        app.store.get_job(caller.scope(), &record.job_id),
        app.store.rate_window_count(caller.scope(), minute_of(now)),
        read_month(app, caller.scope(), caller.limits, now)
    );
    let job =
        job?.ok_or_else(|| ApiError::internal("idempotency record points at a missing job"))?;
    let mut response = ApiResponse::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "jobId": job.id, "status": job.status }),
    );
    response.set_header("idempotent-replayed", "true");
    Ok(Accepted {
        response,
        known: Known {
            window_used: window_used.ok(),
            month_used,
        },
        job,
        replayed: true,
    })
}

/// A job's own `webhookUrl` is signed with the tenant's secret, so a tenant
/// without one cannot use it (one read, only for submits that name a URL).
async fn require_webhook_secret(app: &App, caller: &Caller) -> Result<(), ApiError> {
    let tenant = app.store.get_tenant(&caller.tenant_id).await?;
    if tenant.is_some_and(|t| t.webhook_secret.is_some()) {
        return Ok(());
    }
    Err(ApiError::InvalidRequest(
        "Field `webhookUrl` needs the tenant's webhook secret to sign with, and this tenant has none; ask the operator to set a webhook".into(),
    ))
}

/// `Idempotency-Key`: 1–255 printable ASCII characters.
fn idempotency_key(req: &Request) -> Result<Option<&str>, ApiError> {
    let invalid = || {
        ApiError::InvalidRequest(format!(
            "Header `Idempotency-Key` must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
        ))
    };
    let Some(key) = http::header(req, "idempotency-key").map_err(|_| invalid())? else {
        return Ok(None);
    };
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| (0x20..=0x7e).contains(&b))
    {
        return Err(invalid());
    }
    Ok(Some(key))
}

/// The contract's bodies are `application/json`: a body declared as
/// anything else (`text/plain`, a form) is refused even if it parses, so a
/// client's mistake shows at once. Without a `Content-Type` it is read as
/// JSON; parameters such as `charset` are left to the parser.
fn require_json_body(req: &Request) -> Result<(), ApiError> {
    let Some(value) = http::header(req, "content-type")? else {
        return Ok(());
    };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::InvalidRequest(format!(
        "Header `Content-Type` must be `application/json`, not `{}`",
        shared::domain::submit::printable(media_type)
    )))
}

/// The 429 of a submit whose images do not fit what is left of the month.
fn quota_exceeded(caller: &Caller, job: &Job, used: i64, now: Timestamp) -> ApiError {
    let quota = caller.limits.monthly_image_quota.unwrap_or(0);
    let mode = if caller.scope().livemode() {
        "live"
    } else {
        "test"
    };
    ApiError::QuotaExceeded {
        message: format!(
            "Monthly image quota exceeded: this tenant may generate {quota} images a month in {mode} mode; used or reserved this month: {used}; this request asks for {}. The quota resets at {}",
            job.options.number_of_images,
            time::iso_millis(&usage::next_month_start(now))
        ),
        retry_after_secs: usage::seconds_to_next_month(now),
    }
}

/// The month's images for the headers of a tenant with a quota; `None`
/// without a quota (or if the read failed: the headers are left out then,
/// never wrong).
async fn read_month(
    app: &App,
    scope: shared::domain::Scope<'_>,
    limits: shared::domain::TenantLimits,
    now: Timestamp,
) -> Option<i64> {
    limits.monthly_image_quota?;
    match app
        .store
        .month_images(scope, &usage::quota_month(now))
        .await
    {
        Ok(used) => Some(used),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the month's images for headers");
            None
        }
    }
}

/// The rate window's count: as the submit left it, or read now.
async fn window_used(
    app: &App,
    caller: &Caller,
    now: Timestamp,
    known: Option<u32>,
) -> Option<u32> {
    if known.is_some() {
        return known;
    }
    match app
        .store
        .rate_window_count(caller.scope(), minute_of(now))
        .await
    {
        Ok(used) => Some(used),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the rate window for headers");
            None
        }
    }
}

/// The month's images: as the submit left them, or read now.
async fn month_used(app: &App, caller: &Caller, now: Timestamp, known: Option<i64>) -> Option<i64> {
    if known.is_some() {
        return known;
    }
    read_month(app, caller.scope(), caller.limits, now).await
}

/// `X-RateLimit-Limit` (submits per minute), `-Remaining` (in the current
/// minute) and `-Reset` (epoch seconds when the window resets).
fn add_rate_limit_headers(
    caller: &Caller,
    now: Timestamp,
    used: Option<u32>,
    resp: &mut ApiResponse,
) {
    let Some(used) = used else { return };
    let minute = minute_of(now);
    resp.set_header("x-ratelimit-limit", &caller.limits.rpm.to_string());
    resp.set_header(
        "x-ratelimit-remaining",
        &caller.limits.rpm.saturating_sub(used).to_string(),
    );
    resp.set_header("x-ratelimit-reset", &((minute + 1) * 60).to_string());
}

/// `X-Quota-Limit` (images a month), `-Remaining` (this UTC month, never
/// below 0) and `-Reset` (epoch seconds when the month ends), for a tenant
/// with a quota.
fn add_quota_headers(caller: &Caller, now: Timestamp, used: Option<i64>, resp: &mut ApiResponse) {
    let (Some(quota), Some(used)) = (caller.limits.monthly_image_quota, used) else {
        return;
    };
    let remaining = (i64::from(quota) - used).max(0);
    resp.set_header("x-quota-limit", &quota.to_string());
    resp.set_header("x-quota-remaining", &remaining.to_string());
    resp.set_header(
        "x-quota-reset",
        &usage::next_month_start(now).timestamp().to_string(),
    );
}

fn minute_of(t: Timestamp) -> i64 {
    t.timestamp().div_euclid(60)
}

fn seconds_to_next_minute(now: Timestamp) -> u64 {
    let next = (minute_of(now) + 1) * 60;
    (next - now.timestamp()).max(1) as u64
}

/// Exponential backoff with full jitter: 10 ms, 20 ms, … capped at 640 ms.
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = 10u64 << attempt.min(6);
    let mut b = [0u8; 8];
    ids::fill_random(&mut b);
    Duration::from_millis(u64::from_le_bytes(b) % ceiling_ms + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(e: ApiError) -> Option<&'static str> {
        match e {
            ApiError::Internal { public, .. } => public,
            _ => None,
        }
    }

    #[test]
    fn a_500_says_not_created_only_when_the_undo_took_the_job_back() {
        assert_eq!(
            public(taken_back("timed out".into(), Ok(true))),
            Some(NOT_CREATED)
        );
        // No job to take back: the timed-out write may still land.
        assert_eq!(
            public(taken_back("timed out".into(), Ok(false))),
            Some(MAYBE_CREATED)
        );
        let undo_failed = Err(StoreError::Aws {
            op: "TransactWriteItems",
            message: "unreachable".into(),
        });
        assert_eq!(
            public(taken_back("timed out".into(), undo_failed)),
            Some(MAYBE_CREATED)
        );
    }
}
