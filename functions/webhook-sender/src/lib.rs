//! The webhook-sender Lambda, on the delivery queue: one attempt per
//! message receive. Per message: read the job (its event is built from the
//! terminal job, so every attempt carries the same body and `eventId`),
//! claim the next attempt number (a message of a superseded run, or of an
//! event already delivered or failed, is dropped here), sign and POST once,
//! and log the attempt together with the event's new state. A failed
//! attempt makes the message come back when the retry schedule says, by
//! changing its visibility (at most 12 hours, so the 10 h steps are one
//! change each); after the last attempt the event is failed and its message
//! moved to the dead-letter queue.

use std::convert::Infallible;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use runtime::sqs::Disposition;
use shared::domain::Job;
use shared::env::Env;
use shared::metrics::{self, Event, Subject};
use shared::queue::{DeliveryMessage, DeliveryQueue};
use shared::store::{Claim, Claimed, DeliveryAttempt, EventState, Store, StoreError, WebhookHold};
use shared::time::{self, Timestamp};
use shared::webhooks::{self, Attempted, Deliverer, Outcome, RetrySchedule, WebhookEvent};
use tracing::Instrument;

pub use shared::webhooks::delivery::{DEFAULT_HOLD, DEFAULT_TIMEOUT};

/// Receives of one message after which a hold no longer makes it wait:
/// with the schedule's 8 attempts, below the queue's `maxReceiveCount` (50).
const MAX_HELD_RECEIVES: u32 = 30;
/// This function's name in its metrics (`Function`).
const FUNCTION: &str = "webhook-sender";

/// An attempt's lease is its timeout and this: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

pub struct Sender {
    store: Store,
    queue: DeliveryQueue,
    deliverer: Deliverer,
    schedule: RetrySchedule,
    /// How long a timeout holds the endpoint's other events.
    hold: Duration,
}

impl Sender {
    pub fn new(
        store: Store,
        queue: DeliveryQueue,
        deliverer: Deliverer,
        schedule: RetrySchedule,
        hold: Duration,
    ) -> Sender {
        Sender {
            store,
            queue,
            deliverer,
            schedule,
            hold,
        }
    }

    /// `TABLE_NAME`, `DELIVERY_QUEUE_URL`, `DELIVERY_DLQ_URL`,
    /// `WEBHOOK_RETRY_SCHEDULE_SECONDS` (default: Standard Webhooks'),
    /// `WEBHOOK_TIMEOUT_SECONDS` (10), `WEBHOOK_HOLD_SECONDS` (30); `LOCAL_MODE`
    /// allows http to loopback.
    pub async fn from_env() -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
        let env = Env::process();
        let table = env.required("TABLE_NAME")?;
        let queue_url = env.required("DELIVERY_QUEUE_URL")?;
        let dead_letters = env.optional("DELIVERY_DLQ_URL");
        let schedule: RetrySchedule = env
            .parsed(
                "WEBHOOK_RETRY_SCHEDULE_SECONDS",
                "a comma list of whole seconds",
            )?
            .unwrap_or_default();
        let timeout = Duration::from_secs(
            env.parsed_or("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT.as_secs()),
        );
        let sdk = shared::sdk::sdk_config().await;
        Ok(Sender::new(
            Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            DeliveryQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url, dead_letters),
            Deliverer::new(env.url_policy(), timeout)?,
            schedule,
            Duration::from_secs(env.parsed_or("WEBHOOK_HOLD_SECONDS", DEFAULT_HOLD.as_secs())),
        ))
    }

    /// Every message of the batch concurrently (one tenant's slow receiver
    /// holds up only its own attempts); the failures are the messages that
    /// come back later.
    pub async fn process_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        runtime::sqs::each_message(
            &event,
            |m| self.process_message(m),
            |receipt, delay| async move {
                if let Err(e) = self.queue.delay(receipt, delay).await {
                    // It still comes back, after the queue's own timeout.
                    tracing::warn!(error = %e, "could not schedule the next attempt");
                }
            },
        )
        .await
    }

    async fn process_message(&self, message: &SqsMessage) -> Disposition {
        let Some(Ok(msg)) = message.body.as_deref().map(DeliveryMessage::from_body) else {
            tracing::error!(
                message_id = message.message_id.as_deref().unwrap_or("-"),
                "message is not a delivery message; dropped"
            );
            return Disposition::Done;
        };
        let span = tracing::info_span!("delivery", tenant_id = %msg.tenant_id, job_id = %msg.job_id, run = msg.run);
        async {
            let receives = message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1);
            // Boxed: the attempt's reads, claim, POST and writes make a
            // large future, one per message of the batch.
            match Box::pin(self.deliver(&msg, receives)).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "delivery failed on our side; the message will come back");
                    Disposition::Again(None)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One message, received `receives` times so far (SQS's count).
    async fn deliver(
        &self,
        msg: &DeliveryMessage,
        receives: u32,
    ) -> Result<Disposition, StoreError> {
        let scope = msg.scope();
        let (job, tenant, hold) = tokio::join!(
            self.store.get_job(scope, &msg.job_id),
            self.store.get_tenant(&msg.tenant_id),
            self.store.webhook_hold(&msg.tenant_id)
        );
        let Some((job, event)) = job?.and_then(|j| WebhookEvent::of(&j).map(|e| (j, e))) else {
            tracing::warn!("the job is gone or not terminal; nothing to deliver");
            return Ok(Disposition::Done);
        };
        let (tenant, hold) = (tenant?, hold?);
        let target = tenant.as_ref().and_then(|t| webhooks::target(&job, t));
        let now = time::now();
        // Waiting is bounded: a message held this often is attempted
        // anyway, so it never reaches the queue's redrive by waiting.
        if let (Some((url, _)), Some(hold)) = (target, &hold)
            && hold.url == url
            && hold.until > now
            && receives < MAX_HELD_RECEIVES
        {
            tracing::info!(event_id = %event.event_id, "the endpoint is timing out; the event waits");
            return Ok(Disposition::Again(Some(held_wait(
                hold.until, now, self.hold,
            ))));
        }
        let claim = match self.claim(msg, &job, &event, now).await? {
            Ok(claim) => claim,
            Err(disposition) => return Ok(disposition),
        };
        let (url, attempted) = match target {
            Some((url, secret)) => (
                url.to_string(),
                self.deliverer.attempt(url, secret, &event).await,
            ),
            None => (
                job.webhook_url
                    .clone()
                    .or_else(|| tenant.as_ref().and_then(|t| t.webhook_url.clone()))
                    .unwrap_or_default(),
                no_target(),
            ),
        };
        self.mind_the_endpoint(&msg.tenant_id, &url, &attempted, hold.as_ref(), now)
            .await;
        let (state, next) = match attempted.outcome {
            Outcome::Delivered => (EventState::Delivered, None),
            Outcome::Final => (EventState::Failed { exhausted: false }, None),
            Outcome::Retryable => match self.schedule.after(claim.in_run) {
                Some(delay) => (EventState::Retrying, Some(delay)),
                None => (EventState::Failed { exhausted: true }, None),
            },
        };
        let attempt = DeliveryAttempt {
            event_id: event.event_id.clone(),
            attempt: claim.attempt,
            url,
            at: now,
            delivered: attempted.outcome == Outcome::Delivered,
            http_status: attempted.http_status,
            error: attempted.error.clone(),
            duration_ms: u64::try_from(attempted.duration.as_millis()).unwrap_or(u64::MAX),
            next_attempt_at: next.map(|d| now + d),
        };
        self.store
            .record_delivery_attempt(scope, &job.id, msg.run, &attempt, state)
            .await?;
        metrics::emit(
            FUNCTION,
            Event::WebhookAttempt {
                failed: !attempt.delivered,
            },
            Subject::job(&job.tenant_id, &job.id),
        );
        tracing::info!(
            event_id = %event.event_id,
            attempt = claim.attempt,
            http_status = ?attempted.http_status,
            error = attempted.error.as_deref().unwrap_or(""),
            ?state,
            "webhook attempt"
        );
        Ok(self.after(msg, state, next).await)
    }

    /// The next attempt number for this message, or what to do with a
    /// message that is not to make one.
    async fn claim(
        &self,
        msg: &DeliveryMessage,
        job: &Job,
        event: &WebhookEvent,
        now: Timestamp,
    ) -> Result<Result<Claim, Disposition>, StoreError> {
        let lease_until = now + self.deliverer.timeout() + LEASE_MARGIN;
        Ok(
            match self
                .store
                .claim_delivery_attempt(
                    msg.scope(),
                    &job.id,
                    &event.event_id,
                    msg.run,
                    now,
                    lease_until,
                )
                .await?
            {
                Claimed::Attempt(claim) => Ok(claim),
                Claimed::Stale => {
                    tracing::info!(event_id = %event.event_id, "stale message: delivered, failed or superseded");
                    Err(Disposition::Done)
                }
                Claimed::Busy { until } => {
                    // Back when the other copy's attempt is over: then it is
                    // stale, or (that copy crashed) this one takes over.
                    let wait = (until - now).to_std().unwrap_or_default() + Duration::from_secs(1);
                    tracing::info!(event_id = %event.event_id, "another copy is attempting the event; checking back later");
                    Err(Disposition::Again(Some(wait)))
                }
            },
        )
    }

    /// A timeout holds the endpoint's other events for a while, so a
    /// hanging receiver ties up one sender per hold rather than one per
    /// event (its events wait, other tenants' go out); an answer lifts the
    /// hold. Best effort: without it the events are simply attempted.
    async fn mind_the_endpoint(
        &self,
        tenant_id: &str,
        url: &str,
        attempted: &Attempted,
        hold: Option<&WebhookHold>,
        now: Timestamp,
    ) {
        let result = if attempted.timed_out {
            let until = now + attempted.duration + self.hold;
            self.store
                .hold_webhook(
                    tenant_id,
                    &WebhookHold {
                        url: url.to_string(),
                        until,
                    },
                )
                .await
        } else if attempted.http_status.is_some() && hold.is_some_and(|h| h.url == url) {
            self.store.release_webhook_hold(tenant_id, url).await
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record the endpoint's hold");
        }
    }

    /// What becomes of the message once its attempt is logged.
    async fn after(
        &self,
        msg: &DeliveryMessage,
        state: EventState,
        next: Option<Duration>,
    ) -> Disposition {
        match state {
            EventState::Retrying => Disposition::Again(next),
            EventState::Failed { exhausted: true } => {
                if let Err(e) = self.queue.dead_letter(msg).await {
                    // The event is failed and listed either way; only the
                    // alarm's signal is lost.
                    tracing::error!(error = %e, "could not move the exhausted event to the dead-letter queue");
                }
                Disposition::Done
            }
            EventState::Delivered | EventState::Failed { .. } => Disposition::Done,
        }
    }
}

/// The attempt of an event whose tenant no longer has a URL or a secret.
fn no_target() -> Attempted {
    Attempted {
        outcome: Outcome::Final,
        http_status: None,
        error: Some("no webhook target: the tenant has no webhook URL or secret".into()),
        duration: Duration::ZERO,
        timed_out: false,
    }
}

/// Until the hold ends, and a random part of one more hold: the held
/// events come back spread out, so the first probes the endpoint (and, if
/// it still hangs, holds the rest again) rather than all at once.
fn held_wait(until: Timestamp, now: Timestamp, hold: Duration) -> Duration {
    let mut b = [0u8; 2];
    shared::ids::fill_random(&mut b);
    let spread = hold.mul_f64(f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX));
    (until - now).to_std().unwrap_or_default() + spread + Duration::from_secs(1)
}

/// The Lambda entry point.
pub async fn handle(
    sender: &Sender,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Infallible> {
    // Boxed: the batch's future inside the runtime's is laid out past the
    // compiler's depth limit.
    Ok(Box::pin(sender.process_batch(event.payload)).await)
}
