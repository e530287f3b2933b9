//! The worker: an SQS-triggered Lambda that turns QUEUED jobs into images.
//!
//! Per message: claim the job (conditional, so a duplicate delivery or a
//! canceled job never generates), generate (Gemini for live keys, the
//! offline renderer for test keys), upload to S3, then move the job to its
//! outcome in a conditional transaction. Messages that must run again are
//! reported in `batchItemFailures` with their visibility set to the backoff,
//! so one slow or failing job never re-runs its batch-mates.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use image::RgbImage;
use lambda_runtime::LambdaEvent;
use runtime::sqs::Disposition;
use shared::domain::options::{MAX_DATA_URL_BYTES, MAX_TOTAL_INPUT_BYTES, is_stored_input};
use shared::domain::{
    FailureCode, ImageSize, Job, JobError, JobStatus, KeyMode, Metering, MicroUsd, Mode,
    PriceTable, ResultImage,
};
use shared::env::{Env, EnvError};
use shared::images::gemini::{GeminiClient, GeminiConfig, Models, PreparedCall};
use shared::images::input::{InputFetcher, InputImageError, decode_bounded};
use shared::images::{HttpClientError, Image, Outcome, Prompt, offline, output};
use shared::metrics::{self, Event, Subject};
use shared::netguard::UrlPolicy;
use shared::queue::{JobMessage, JobQueue};
use shared::results::{ResultStore, ResultsError, result_key};
use shared::secrets::Secret;
use shared::store::{ClaimOutcome, Finish, Store, StoreError};
use shared::time::{self, Timestamp};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Test mode's renders, one at a time per process (see `produce`).
static RENDERS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

/// SQS refuses a visibility timeout above 12 hours; backoffs stay far below.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// This function's name in its metrics (`Function`).
const FUNCTION: &str = "worker";

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub table_name: String,
    pub queue_url: String,
    pub results_bucket: String,
    pub cdn_base_url: Option<String>,
    /// `None`: live-key jobs cannot run (they end PROVIDER_UNAVAILABLE).
    pub gemini: Option<GeminiConfig>,
    pub url_policy: UrlPolicy,
    /// Attempts per job, including the first.
    pub max_attempts: u32,
    /// Backoff after the n-th failed attempt: base × 2^(n-1), or the
    /// provider's own `retryDelay` if longer.
    pub retry_base_delay: Duration,
    /// How long a claim is exclusive. Longer than the function's timeout, so
    /// a live invocation is never overtaken; after it, a crashed run's job is
    /// reclaimed when its message comes back.
    pub lease: Duration,
    /// What a live job's images cost (`PRICE_TABLE`, JSON; the default is
    /// `usage::DEFAULT_PRICE_TABLE`). It prices every configured model.
    pub prices: PriceTable,
}

impl WorkerConfig {
    /// Everything but the Gemini key, which is a secret read by
    /// `Worker::from_env` (from Secrets Manager in Lambda).
    pub fn from_env(env: &Env, gemini_api_key: Option<String>) -> Result<WorkerConfig, EnvError> {
        let defaults = Models::default();
        let gemini = gemini_api_key.map(|api_key| GeminiConfig {
            base_url: env
                .optional("GEMINI_BASE_URL")
                .unwrap_or_else(|| "https://generativelanguage.googleapis.com".into()),
            api_key,
            models: Models {
                draft_model: env.optional("DRAFT_MODEL").unwrap_or(defaults.draft_model),
                draft_size: env
                    .optional("DRAFT_IMAGE_SIZE")
                    .unwrap_or(defaults.draft_size),
                final_model: env.optional("FINAL_MODEL").unwrap_or(defaults.final_model),
                final_size: env
                    .optional("FINAL_IMAGE_SIZE")
                    .unwrap_or(defaults.final_size),
            },
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(env.parsed_or("GEMINI_TIMEOUT_SECONDS", 120)),
        });
        let prices = match env.optional("PRICE_TABLE") {
            Some(json) => PriceTable::parse(&json).map_err(|problem| EnvError::Invalid {
                name: "PRICE_TABLE",
                problem,
            })?,
            None => PriceTable::default(),
        };
        if let Some(gemini) = &gemini {
            let models = &gemini.models;
            prices
                .covers([models.draft_model.as_str(), models.final_model.as_str()])
                .map_err(|problem| EnvError::Invalid {
                    name: "PRICE_TABLE",
                    problem,
                })?;
        }
        Ok(WorkerConfig {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            results_bucket: env.required("RESULTS_BUCKET")?,
            cdn_base_url: env.optional("CDN_BASE_URL"),
            gemini,
            url_policy: env.url_policy(),
            max_attempts: env.parsed_or("MAX_ATTEMPTS", 3u64).max(1) as u32,
            retry_base_delay: Duration::from_secs(env.parsed_or("RETRY_BASE_DELAY_SECONDS", 10)),
            lease: Duration::from_secs(env.parsed_or("LEASE_SECONDS", 300)),
            prices,
        })
    }
}

/// What the worker builds once per cold start.
pub struct Worker {
    store: Store,
    queue: JobQueue,
    results: ResultStore,
    gemini: Option<GeminiClient>,
    inputs: InputFetcher,
    config: WorkerConfig,
}

impl Worker {
    /// `s3` is separate from `sdk` because the local stack needs path-style
    /// addressing against the emulator.
    pub fn new(
        sdk: &SdkConfig,
        s3: aws_sdk_s3::Client,
        config: WorkerConfig,
    ) -> Result<Worker, HttpClientError> {
        let gemini = config.gemini.clone().map(GeminiClient::new).transpose()?;
        Ok(Worker {
            store: Store::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.table_name.clone(),
            ),
            queue: JobQueue::new(aws_sdk_sqs::Client::new(sdk), config.queue_url.clone()),
            results: ResultStore::new(
                s3,
                config.results_bucket.clone(),
                config.cdn_base_url.clone(),
            ),
            gemini,
            inputs: InputFetcher::new(config.url_policy)?,
            config,
        })
    }

    /// The Gemini key is `GEMINI_API_KEY_ARN` (a Secrets Manager secret,
    /// read once here) or `GEMINI_API_KEY`; see `shared::secrets`.
    pub async fn from_env() -> Result<Worker, Box<dyn std::error::Error + Send + Sync>> {
        let sdk = shared::sdk::sdk_config().await;
        let gemini_api_key = Secret::from_env("GEMINI_API_KEY").value(&sdk).await?;
        let config = WorkerConfig::from_env(&Env::process(), gemini_api_key)?;
        if config.gemini.is_none() {
            tracing::warn!(
                "no Gemini API key (GEMINI_API_KEY_ARN or GEMINI_API_KEY): jobs of live keys will fail with PROVIDER_UNAVAILABLE"
            );
        }
        // Path-style whenever an endpoint override is set (sam local).
        let s3 = shared::results::s3_client(&sdk);
        Ok(Worker::new(&sdk, s3, config)?)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Processes every record of a batch concurrently; the failures are
    /// the messages to run again.
    pub async fn process_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        runtime::sqs::each_message(
            &event,
            |m| self.process_message(m),
            |receipt, delay| self.delay_message(receipt, delay),
        )
        .await
    }

    async fn delay_message(&self, receipt: &str, delay: Duration) {
        if let Err(e) = self.queue.delay(receipt, delay.min(MAX_BACKOFF)).await {
            // The message still comes back, after the queue's own timeout.
            tracing::warn!(error = %e, "could not set the message's backoff");
        }
    }

    async fn process_message(&self, message: &SqsMessage) -> Disposition {
        let span = tracing::info_span!(
            "message",
            message_id = message.message_id.as_deref().unwrap_or("-"),
            tenant_id = tracing::field::Empty,
            job_id = tracing::field::Empty,
        );
        async {
            let parsed = message.body.as_deref().map(JobMessage::from_body);
            let Some(Ok(msg)) = parsed else {
                // Poison: every receive fails it, until the queue's redrive
                // policy moves it to the dead-letter queue.
                tracing::error!("message is not a job message; leaving it for the dead-letter queue");
                return Disposition::Again(Some(self.config.retry_base_delay));
            };
            tracing::Span::current().record("tenant_id", msg.tenant_id.as_str());
            tracing::Span::current().record("job_id", msg.job_id.as_str());
            match self.run(&msg).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "job processing failed; the message will be retried");
                    Disposition::Again(None)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One job message: claim the job, run it, record what came of it.
    async fn run(&self, msg: &JobMessage) -> Result<Disposition, BoxError> {
        let job = match self.claim(msg, time::now()).await? {
            ControlFlow::Continue(job) => job,
            ControlFlow::Break(disposition) => return Ok(disposition),
        };
        tracing::info!(attempt = job.attempts, "job claimed");
        if job.attempts == 1 {
            let waited = (time::now() - job.created_at).num_milliseconds().max(0);
            emit(
                &job,
                Event::QueueWait {
                    mode: job.mode,
                    millis: waited.unsigned_abs(),
                },
            );
        }
        if job.attempts > self.config.max_attempts {
            // Only reached when runs crashed or timed out: transient provider
            // errors stop at the budget in `after_transient`.
            let timeout = JobError::new(
                FailureCode::Timeout,
                "The job did not finish within its attempts",
            );
            self.finish(&job, Finish::Failed(timeout), job.metering)
                .await?;
            return Ok(Disposition::Done);
        }
        let (next, metering) = self.attempt(&job).await?;
        // Every attempt's calls, this one's included, go with the write
        // that follows it.
        let metering = job.metering.plus(metering);
        match next {
            Next::Finish(finish) => {
                self.finish(&job, finish, metering).await?;
                Ok(Disposition::Done)
            }
            Next::Retry {
                reason,
                delay,
                stored,
            } => Ok(self.retry(&job, &reason, delay, &stored, metering).await?),
        }
    }

    /// The job, if this message may run it; otherwise what to do with the
    /// message.
    async fn claim(
        &self,
        msg: &JobMessage,
        now: Timestamp,
    ) -> Result<ControlFlow<Disposition, Box<Job>>, StoreError> {
        let claimed = self
            .store
            .claim_job(msg.scope(), &msg.job_id, now, self.config.lease)
            .await?;
        Ok(match claimed {
            ClaimOutcome::Claimed(job) => ControlFlow::Continue(job),
            ClaimOutcome::Gone => {
                tracing::info!("job does not exist; message dropped");
                ControlFlow::Break(Disposition::Done)
            }
            ClaimOutcome::Finished(status) => {
                tracing::info!(%status, "job already finished; duplicate message dropped");
                ControlFlow::Break(Disposition::Done)
            }
            ClaimOutcome::PastDeadline(job) => {
                if self
                    .store
                    .expire_job(msg.scope(), &msg.job_id, &job.reservation(), now)
                    .await?
                {
                    tracing::info!("deadline passed before generation started; job FAILED TIMEOUT");
                    emit(
                        &job,
                        finished(job.mode, JobStatus::Failed, Some(FailureCode::Timeout)),
                    );
                }
                ControlFlow::Break(Disposition::Done)
            }
            ClaimOutcome::Busy { lease_until } => {
                // Another invocation is running it. Keep the message until its
                // lease ends: if that run crashed, this copy reclaims the job.
                let wait =
                    (lease_until - now).to_std().unwrap_or_default() + Duration::from_secs(1);
                tracing::info!(
                    wait_secs = wait.as_secs(),
                    "job is being run elsewhere; message deferred"
                );
                ControlFlow::Break(Disposition::Again(Some(wait)))
            }
        })
    }

    /// One attempt at the job's images, and what follows from it: every
    /// image stored and the job succeeded, a failure code, or a retry that
    /// keeps the images this attempt did store; with the attempt's
    /// provider calls.
    async fn attempt(&self, job: &Job) -> Result<(Next, Metering), ResultsError> {
        let failed = |code, reason: &str| Next::Finish(Finish::Failed(JobError::new(code, reason)));
        let inputs = match self.load_inputs(job).await? {
            Ok(inputs) => inputs,
            Err(problem) => {
                return Ok((
                    failed(FailureCode::InputImageInvalid, &problem),
                    Metering::default(),
                ));
            }
        };
        let wanted = u32::from(job.options.number_of_images);
        let mut stored: Vec<ResultImage> = job
            .images
            .iter()
            .filter(|i| i.index < wanted)
            .cloned()
            .collect();
        let missing: Vec<u32> = (0..wanted)
            .filter(|index| !stored.iter().any(|i| i.index == *index))
            .collect();
        // One provider call per missing image, all at once, sharing one
        // request body; each image is converted (one at a time per
        // process) and stored as it arrives.
        let call = match (job.key_mode, &self.gemini) {
            (KeyMode::Live, Some(gemini)) => Some(gemini.prepare(Prompt {
                text: &job.prompt,
                mode: job.mode,
                aspect_ratio: job.aspect_ratio,
                image_size: job.options.image_size,
                inputs: &inputs.images,
            })),
            _ => None,
        };
        let started = std::time::Instant::now();
        let produced = futures_util::future::join_all(
            missing
                .iter()
                .map(|&index| self.produce(job, &inputs, call.as_ref(), index)),
        )
        .await;
        if !missing.is_empty() {
            emit(
                job,
                Event::Generation {
                    mode: job.mode,
                    millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                },
            );
        }
        let (mut blocked, mut unusable, mut transient) = (None, None, None);
        let mut metering = Metering::default();
        for result in produced {
            let (produced, call) = result?;
            metering = metering.plus(call);
            match produced {
                Produced::Stored(image) => stored.push(image),
                Produced::Failed(Outcome::Blocked(reason)) => blocked = Some(reason),
                Produced::Failed(Outcome::NoImage(reason) | Outcome::Rejected(reason)) => {
                    unusable = Some(reason);
                }
                Produced::Failed(Outcome::Transient {
                    reason,
                    retry_after,
                }) => {
                    let later = transient
                        .as_ref()
                        .and_then(|(_, r): &(String, Option<Duration>)| *r);
                    transient = Some((reason, retry_after.max(later)));
                }
                Produced::Failed(Outcome::Images(_)) => {
                    unusable = Some("The model answered without an image".into());
                }
            }
        }
        stored.sort_by_key(|i| i.index);
        let next = if let Some(reason) = blocked {
            failed(FailureCode::ContentBlocked, &reason)
        } else if let Some(reason) = unusable {
            failed(FailureCode::GenerationFailed, &reason)
        } else if let Some((reason, retry_after)) = transient {
            self.after_transient(job, reason, retry_after, stored)
        } else {
            Next::Finish(Finish::Succeeded {
                images: stored,
                cost_micro_usd: self.cost(job),
            })
        };
        Ok((next, metering))
    }

    /// What the job's images cost by the price table: the model its mode
    /// is configured with, at its image size. Test mode costs nothing.
    fn cost(&self, job: &Job) -> MicroUsd {
        let Some(gemini) = &self.config.gemini else {
            return 0;
        };
        // The size the call asked for: the job's, else the deployment's for
        // the mode (as `gemini::request_body` sends it).
        let (model, configured) = gemini.models.for_mode(job.mode);
        let size = job
            .options
            .image_size
            .or_else(|| ImageSize::parse(configured))
            .unwrap_or_else(|| job.options.image_size_for(job.mode));
        self.config
            .prices
            .cost(job.key_mode, model, size, job.options.number_of_images)
    }

    /// The job's input images, fetched (URLs, through the outbound guard)
    /// or read back (uploaded `data:` images), each decoded within the
    /// bounds; `Ok(Err(problem))` when one is unusable or all of them
    /// together are more than the model takes.
    async fn load_inputs(&self, job: &Job) -> Result<Result<Inputs, String>, ResultsError> {
        let test_mode = job.key_mode == KeyMode::Test;
        let listed = !job.input_image_urls.is_empty();
        let (mut images, mut previews) = (Vec::new(), Vec::new());
        let mut total = 0;
        for (index, reference) in job.inputs().enumerate() {
            let field = if listed {
                format!("inputImageUrls[{index}]")
            } else {
                "inputImageUrl".to_string()
            };
            let bytes = if is_stored_input(reference) {
                match self
                    .results
                    .get_input(reference, MAX_DATA_URL_BYTES)
                    .await?
                {
                    Some(bytes) => bytes,
                    None => return Ok(Err(format!("{field} is no longer stored"))),
                }
            } else {
                match self.inputs.fetch(reference).await {
                    Ok(bytes) => bytes,
                    Err(e) => return Ok(Err(named(&field, &e))),
                }
            };
            let decoded = match decode_bounded(bytes, test_mode).await {
                Ok(decoded) => decoded,
                Err(e) => return Ok(Err(named(&field, &e))),
            };
            total += decoded.image.bytes.len();
            if total > MAX_TOTAL_INPUT_BYTES {
                return Ok(Err(format!(
                    "The input images are more than {MAX_TOTAL_INPUT_BYTES} bytes together"
                )));
            }
            images.push(decoded.image);
            previews.extend(decoded.preview);
        }
        Ok(Ok(Inputs {
            images,
            previews: Arc::new(previews),
        }))
    }

    /// One image of the job: generated (Gemini for live keys, the offline
    /// renderer for test keys), converted to the job's format and stored;
    /// with the call it took (a render counts as one, without tokens).
    async fn produce(
        &self,
        job: &Job,
        inputs: &Inputs,
        call: Option<&PreparedCall>,
        index: u32,
    ) -> Result<(Produced, Metering), ResultsError> {
        let mut metering = Metering::call(None, None);
        let produced = self
            .produce_metered(job, inputs, call, index, &mut metering)
            .await?;
        Ok((produced, metering))
    }

    async fn produce_metered(
        &self,
        job: &Job,
        inputs: &Inputs,
        call: Option<&PreparedCall>,
        index: u32,
        metering: &mut Metering,
    ) -> Result<Produced, ResultsError> {
        let options = job.options;
        let encoded = match job.key_mode {
            KeyMode::Test => {
                let (text, mode, ratio) = (job.prompt.clone(), job.mode, job.aspect_ratio);
                let previews = Arc::clone(&inputs.previews);
                // One render at a time in a process: a 4K picture is 50 MB
                // before it is encoded, so four at once would be 200 MB.
                // The semaphore is never closed, so acquiring cannot fail.
                let _permit = RENDERS.acquire().await.ok();
                let rendered = tokio::task::spawn_blocking(move || {
                    offline::render(
                        Prompt {
                            text: &text,
                            mode,
                            aspect_ratio: ratio,
                            image_size: options.image_size,
                            inputs: &[],
                        },
                        index,
                        &previews,
                    )
                })
                .await;
                let encoded = match rendered {
                    Ok(picture) => {
                        output::encode_bounded(picture, options.output_format, options.quality())
                            .await
                    }
                    Err(_) => Err(output::OutputError::NotAnImage),
                };
                match encoded {
                    Ok(encoded) => encoded,
                    Err(_) => {
                        return Ok(Produced::Failed(Outcome::NoImage(
                            "The offline renderer failed".into(),
                        )));
                    }
                }
            }
            KeyMode::Live => {
                let (Some(gemini), Some(call)) = (&self.gemini, call) else {
                    // No call was made.
                    *metering = Metering::default();
                    return Ok(Produced::Failed(Outcome::Transient {
                        reason: "The image provider is not configured".into(),
                        retry_after: None,
                    }));
                };
                let answer = gemini.send(call).await;
                count_provider_answer(job, answer.http_status);
                *metering = answer.metering;
                let answer = match answer.outcome {
                    Outcome::Images(images) => images.into_iter().next(),
                    other => return Ok(Produced::Failed(other)),
                };
                let Some(answer) = answer else {
                    return Ok(Produced::Failed(Outcome::NoImage(
                        "The model returned no image".into(),
                    )));
                };
                match output::convert_bounded(answer, options.output_format, options.quality())
                    .await
                {
                    Ok(encoded) => encoded,
                    Err(e) => {
                        return Ok(Produced::Failed(Outcome::NoImage(format!(
                            "The model's image could not be converted ({e})"
                        ))));
                    }
                }
            }
        };
        let key = result_key(&job.tenant_id, &job.id, index, options.output_format);
        let (width, height) = (encoded.width, encoded.height);
        let bytes = encoded.image.bytes.len() as u64;
        let content_type = encoded.image.mime_type.clone();
        let url = self.results.put(&key, encoded.image).await?;
        Ok(Produced::Stored(ResultImage {
            index,
            url,
            content_type,
            width,
            height,
            bytes,
        }))
    }

    /// A transient provider failure: another attempt after the backoff (or
    /// the provider's own `retryDelay` if longer), unless this was the last,
    /// or the next attempt would start after the job's deadline.
    fn after_transient(
        &self,
        job: &Job,
        reason: String,
        retry_after: Option<Duration>,
        stored: Vec<ResultImage>,
    ) -> Next {
        if job.attempts >= self.config.max_attempts {
            let message = format!("{reason}; gave up after {} attempts", job.attempts);
            return Next::Finish(Finish::Failed(JobError::new(
                FailureCode::ProviderUnavailable,
                message,
            )));
        }
        let backoff = self.config.retry_base_delay * 2u32.saturating_pow(job.attempts - 1);
        let delay = retry_after
            .map_or(backoff, |r| r.max(backoff))
            .min(MAX_BACKOFF);
        if job.past_deadline_after(time::now(), delay) {
            return Next::Finish(Finish::Failed(JobError::new(
                FailureCode::Timeout,
                shared::domain::job::DEADLINE_PASSED,
            )));
        }
        Next::Retry {
            reason,
            delay,
            stored,
        }
    }

    /// RUNNING → RETRYING, and the message back after `delay`.
    async fn retry(
        &self,
        job: &Job,
        reason: &str,
        delay: Duration,
        stored: &[ResultImage],
        metering: Metering,
    ) -> Result<Disposition, StoreError> {
        if self
            .store
            .retry_job(job, stored, metering, time::now())
            .await?
        {
            tracing::info!(%reason, delay_secs = delay.as_secs(), "transient failure; job will retry");
            return Ok(Disposition::Again(Some(delay)));
        }
        tracing::warn!("lost the job's lease before marking it RETRYING");
        Ok(Disposition::Done)
    }

    async fn finish(
        &self,
        job: &Job,
        finish: Finish,
        metering: Metering,
    ) -> Result<(), StoreError> {
        let label = match &finish {
            Finish::Succeeded { images, .. } => format!("SUCCEEDED with {} image(s)", images.len()),
            Finish::Failed(e) => format!("FAILED {}", e.code),
        };
        let event = match &finish {
            Finish::Succeeded { .. } => finished(job.mode, JobStatus::Succeeded, None),
            Finish::Failed(e) => finished(job.mode, JobStatus::Failed, Some(e.code)),
        };
        if self
            .store
            .finish_job(job, finish, metering, time::now())
            .await?
        {
            tracing::info!("job {label}");
            emit(job, event);
        } else {
            tracing::warn!(
                "job finished after losing its lease; another attempt owns it ({label} discarded)"
            );
        }
        Ok(())
    }
}

fn emit(job: &Job, event: Event) {
    metrics::emit(FUNCTION, event, Subject::job(&job.tenant_id, &job.id));
}

fn finished(mode: Mode, status: JobStatus, failure_code: Option<FailureCode>) -> Event {
    Event::JobFinished {
        mode,
        status,
        failure_code,
    }
}

/// A provider answer other than 200 (or none at all), in the metrics; a 429
/// is the project's quota, throttling.
fn count_provider_answer(job: &Job, http_status: Option<u16>) {
    match http_status {
        Some(200) => {}
        status => {
            let http_status = status.unwrap_or(0);
            emit(job, Event::ProviderError { http_status });
            if http_status == 429 {
                emit(job, Event::ProviderThrottled);
            }
        }
    }
}

/// What an attempt leads to.
#[derive(Debug)]
enum Next {
    Finish(Finish),
    /// A transient failure with attempts left: RETRYING, and the message
    /// back after `delay`; the images this attempt stored are kept.
    Retry {
        reason: String,
        delay: Duration,
        stored: Vec<ResultImage>,
    },
}

/// One image's part of an attempt.
enum Produced {
    Stored(ResultImage),
    /// Why there is no image: what the generator answered instead.
    Failed(Outcome),
}

/// A job's input images as the generators take them: the bytes for the
/// model, in order, and (test mode) their small previews.
struct Inputs {
    images: Vec<Image>,
    /// Shared by the job's renders, never copied per image.
    previews: Arc<Vec<RgbImage>>,
}

/// An input's error, naming the field it came in (`inputImageUrls[3]` for
/// an entry of the list).
fn named(field: &str, error: &InputImageError) -> String {
    error.to_string().replacen("inputImageUrl", field, 1)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The Lambda entry point.
pub async fn handle(
    worker: &Worker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Infallible> {
    Ok(worker.process_batch(event.payload).await)
}
