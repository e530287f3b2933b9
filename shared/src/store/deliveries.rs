//! Webhook deliveries, three items in the job's (tenant, mode) partition,
//! all written here:
//!
//! - the event's state, `WEBHOOK#<jobId>`: its id, `pending` / `delivered`
//!   / `failed`, the attempt counter, and the current delivery run (0 from
//!   the stream; each redelivery starts the next, and the attempt number it
//!   starts at), so a message of a superseded run is recognised and dropped;
//! - one item per attempt, `DELIVERY#<jobId>#<attempt>`: what
//!   `GET /v1/jobs/{jobId}/deliveries` shows (never the receiver's body);
//! - one per event that failed for good, `WEBHOOK_FAILED#<failedAt>#<jobId>`:
//!   what `imagesaas-admin webhook failed` lists, by time.
//!
//! All three expire 30 days after their last write (TTL).
//!
//! And one per tenant, `TENANT#<tid>`/`WEBHOOK_HOLD`: the endpoint that
//! last ran into the sender's timeout, and until when the events due for it
//! wait instead of holding more senders (expires with its hold).

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};

use crate::domain::Scope;
use crate::store::items::{n, s};
use crate::store::refusals::{canceled, condition_failed};
use crate::store::{Item, Store, StoreError, build_err, key, schema, tx_put, tx_update};
use crate::time::{self, Timestamp};

/// How long the log, the state and the failed list keep an event.
pub const DELIVERY_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// `GET /v1/jobs/{jobId}/deliveries` shows at most this many attempts,
/// the newest.
pub const MAX_LISTED_ATTEMPTS: i32 = 100;

/// One attempt as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub event_id: String,
    /// 1-based, counted over every run of the event.
    pub attempt: u32,
    pub url: String,
    pub at: Timestamp,
    pub delivered: bool,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// When the next attempt is scheduled, after a failed one.
    pub next_attempt_at: Option<Timestamp>,
}

/// A claimed attempt: its number over all runs, and within its run (what
/// the retry schedule counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub attempt: u32,
    pub in_run: u32,
}

/// What a message's claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// This message makes the next attempt.
    Attempt(Claim),
    /// Another copy of the message is making an attempt right now (SQS
    /// delivers at least once; the stream may queue an event twice): try
    /// again once its lease ends, by when it has recorded its outcome or
    /// crashed.
    Busy { until: Timestamp },
    /// Nothing to do: delivered or failed already, or a newer run owns the
    /// event.
    Stale,
}

/// What an attempt leaves the event as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventState {
    Delivered,
    /// Failed; the next attempt is scheduled.
    Retrying,
    /// Failed for good: `exhausted` when the schedule ran out (the message
    /// goes to the dead-letter queue), otherwise a final answer (410, a
    /// refused URL, no target).
    Failed {
        exhausted: bool,
    },
}

/// An event that failed for good, as `webhook failed` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedEvent {
    pub event_id: String,
    pub job_id: String,
    pub livemode: bool,
    pub failed_at: Timestamp,
    pub attempts: u32,
    pub exhausted: bool,
    pub reason: String,
    pub url: String,
}

/// A tenant's endpoint that is timing out: events due for `url` before
/// `until` wait rather than tie up senders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookHold {
    pub url: String,
    pub until: Timestamp,
}

const PENDING: &str = "pending";
const HOLD: &str = "WEBHOOK_HOLD";

fn expires(now: Timestamp) -> i64 {
    now.timestamp() + DELIVERY_TTL_SECS
}

/// The values both writes of the state item use: its identity (set on
/// whichever write makes it), the status and counter constants, the time.
fn identity(
    update: UpdateItemFluentBuilder,
    job_id: &str,
    event_id: &str,
    now: Timestamp,
) -> UpdateItemFluentBuilder {
    update
        .expression_attribute_values(":type", s("WEBHOOK_EVENT"))
        .expression_attribute_values(":job", s(job_id))
        .expression_attribute_values(":event", s(event_id))
        .expression_attribute_values(":pending", s(PENDING))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", s(time::iso_millis(&now)))
        .expression_attribute_values(":ttl", n(expires(now)))
}
const IDENTITY: &str = "#type = if_not_exists(#type, :type), jobId = if_not_exists(jobId, :job), eventId = if_not_exists(eventId, :event)";

impl Store {
    /// Takes the next attempt number for a message of delivery run `run`,
    /// leased until `lease_until` (longer than the attempt can take): one
    /// attempt of an event at a time. The first message of an event creates
    /// its state.
    pub async fn claim_delivery_attempt(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        event_id: &str,
        run: u32,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claimed, StoreError> {
        let update = identity(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(
                    schema::scope_pk(scope),
                    schema::webhook_event_sk(job_id),
                )))
                .update_expression(format!(
                    "SET {IDENTITY}, #status = if_not_exists(#status, :pending), \
                     run = if_not_exists(run, :zero), runFirst = if_not_exists(runFirst, :one), \
                     leaseUntil = :lease, updatedAt = :now, expiresAt = :ttl ADD attempts :one"
                ))
                .condition_expression(
                    "attribute_not_exists(PK) OR (#status = :pending AND run = :run \
                     AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now))",
                )
                .expression_attribute_values(":lease", s(time::iso_millis(&lease_until)))
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .expression_attribute_names("#type", "type")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":run", n(run))
                .return_values(ReturnValue::AllNew),
            job_id,
            event_id,
            now,
        )
        .send()
        .await;
        match update {
            Ok(out) => {
                let item = Item(out.attributes.unwrap_or_default());
                let attempt: u32 = item.num("attempts")?;
                let first: u32 = item.num("runFirst")?;
                Ok(Claimed::Attempt(Claim {
                    attempt,
                    in_run: attempt.saturating_sub(first) + 1,
                }))
            }
            Err(e) if condition_failed(&e) => {
                let old = e
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.clone(),
                        _ => None,
                    })
                    .map(Item);
                refused_claim(old.as_ref(), run, now)
            }
            Err(e) => Err(StoreError::aws("UpdateItem", e)),
        }
    }

    /// Logs an attempt and moves the event's state, in one transaction. A
    /// redelivery that started a newer run meanwhile owns the state: the
    /// attempt is then logged alone (the receiver did see it).
    pub async fn record_delivery_attempt(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        run: u32,
        attempt: &DeliveryAttempt,
        state: EventState,
    ) -> Result<(), StoreError> {
        let log = attempt_item(&self.table, scope, job_id, attempt)?;
        let mut items = vec![
            tx_put(log.clone()),
            tx_update(state_after(
                &self.table,
                scope,
                job_id,
                run,
                attempt,
                state,
            )?),
        ];
        if let EventState::Failed { exhausted } = state {
            items.push(tx_put(failed_item(
                &self.table,
                scope,
                job_id,
                attempt,
                exhausted,
            )?));
        }
        // The same token on the SDK's own retries: a transaction that landed
        // but whose answer was lost succeeds again instead of failing its
        // log item's condition.
        let token = record_token(&attempt.event_id, attempt.attempt);
        match self.transact(items, &token).await {
            Ok(()) => Ok(()),
            Err(e) => match canceled(&e) {
                Some(c) if c.condition_failed(1) => {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(log.item))
                        .send()
                        .await
                        .map_err(|e| StoreError::aws("PutItem", e))?;
                    Ok(())
                }
                _ => Err(StoreError::aws("TransactWriteItems", e)),
            },
        }
    }

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        token: &str,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    > {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await
            .map(|_| ())
    }

    /// Starts a new delivery run of a terminal job's event: `pending`, the
    /// schedule from its start, counted from the next attempt number. Any
    /// attempt still scheduled of an older run is dropped when it comes.
    /// Returns the new run, for its message.
    pub async fn request_redelivery(
        &self,
        scope: Scope<'_>,
        job_id: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let out = identity(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(schema::scope_pk(scope), schema::webhook_event_sk(job_id))))
                .update_expression(format!(
                    "SET {IDENTITY}, #status = :pending, run = if_not_exists(run, :zero) + :one, \
                     runFirst = if_not_exists(attempts, :zero) + :one, updatedAt = :now, expiresAt = :ttl \
                     REMOVE nextAttemptAt, leaseUntil"
                ))
                .expression_attribute_names("#type", "type")
                .expression_attribute_names("#status", "status")
                .return_values(ReturnValue::AllNew),
            job_id,
            event_id,
            now,
        )
        .send()
        .await
        .map_err(|e| StoreError::aws("UpdateItem", e))?;
        Ok(Item(out.attributes.unwrap_or_default()).num("run")?)
    }

    /// The tenant's hold on a timing-out endpoint, if any (expired or not).
    pub async fn webhook_hold(&self, tenant_id: &str) -> Result<Option<WebhookHold>, StoreError> {
        let Some(item) = self.get(schema::tenant_pk(tenant_id), HOLD.into()).await? else {
            return Ok(None);
        };
        Ok(Some(WebhookHold {
            url: item.str("url")?.to_string(),
            until: item.time("until")?,
        }))
    }

    /// Holds `url`'s events until `until` (the latest hold wins: a later
    /// timeout extends it).
    pub async fn hold_webhook(
        &self,
        tenant_id: &str,
        hold: &WebhookHold,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(schema::PK, s(schema::tenant_pk(tenant_id)))
            .item(schema::SK, s(HOLD))
            .item("type", s("WEBHOOK_HOLD"))
            .item("url", s(&hold.url))
            .item("until", s(time::iso_millis(&hold.until)))
            .item(schema::TTL_ATTRIBUTE, n(hold.until.timestamp() + 60))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }

    /// Lifts the hold on `url` (it answered), unless a hold on another URL
    /// replaced it meanwhile.
    pub async fn release_webhook_hold(&self, tenant_id: &str, url: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(schema::tenant_pk(tenant_id), HOLD.into())))
            .condition_expression("#url = :url")
            .expression_attribute_names("#url", "url")
            .expression_attribute_values(":url", s(url))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::aws("DeleteItem", e)),
        }
    }

    /// The job's attempts, newest first: the newest `MAX_LISTED_ATTEMPTS`
    /// (one page by design, not a partial read).
    pub async fn delivery_attempts(
        &self,
        scope: Scope<'_>,
        job_id: &str,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let out = self
            .prefix_query(schema::scope_pk(scope), schema::delivery_prefix(job_id))
            .scan_index_forward(false)
            .limit(MAX_LISTED_ATTEMPTS)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|i| attempt_from_item(&Item(i)))
            .collect()
    }

    /// The scope's events that failed for good, oldest first, from `since`.
    pub async fn failed_deliveries(
        &self,
        scope: Scope<'_>,
        since: Option<Timestamp>,
    ) -> Result<Vec<FailedEvent>, StoreError> {
        let from = schema::failed_delivery_sk(
            &since.map(|t| time::iso_millis(&t)).unwrap_or_default(),
            "",
        );
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", s(schema::scope_pk(scope)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(
                ":to",
                s(format!("{}\u{10FFFF}", schema::FAILED_DELIVERY_PREFIX)),
            )
            .consistent_read(true);
        crate::store::pages::query_items(query)
            .await?
            .iter()
            .map(|item| failed_from_item(item, scope.livemode()))
            .collect()
    }
}

/// At most 36 characters: a digest of the attempt's identity.
fn record_token(event_id: &str, attempt: u32) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{event_id}#{attempt}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Why a claim was refused, from the state it found: busy only when that
/// state is this run's, pending and leased.
fn refused_claim(old: Option<&Item>, run: u32, now: Timestamp) -> Result<Claimed, StoreError> {
    let Some(old) = old else {
        return Ok(Claimed::Stale);
    };
    let current = old.str("status")? == PENDING && old.num::<u32>("run")? == run;
    match old.opt_str("leaseUntil")? {
        Some(_) if current => {
            let until = old.time("leaseUntil")?;
            Ok(if until >= now {
                Claimed::Busy { until }
            } else {
                Claimed::Stale
            })
        }
        _ => Ok(Claimed::Stale),
    }
}

fn attempt_item(
    table: &str,
    scope: Scope<'_>,
    job_id: &str,
    a: &DeliveryAttempt,
) -> Result<Put, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .item(schema::PK, s(schema::scope_pk(scope)))
        .item(schema::SK, s(schema::delivery_sk(job_id, a.attempt)))
        .item("type", s("DELIVERY"))
        .item("jobId", s(job_id))
        .item("eventId", s(&a.event_id))
        .item("attempt", n(a.attempt))
        .item("url", s(&a.url))
        .item("at", s(time::iso_millis(&a.at)))
        .item(
            "status",
            s(if a.delivered { "delivered" } else { "failed" }),
        )
        .item("durationMs", n(a.duration_ms))
        .item(schema::TTL_ATTRIBUTE, n(expires(a.at)))
        .condition_expression("attribute_not_exists(PK)");
    if let Some(status) = a.http_status {
        put = put.item("httpStatus", n(status));
    }
    if let Some(error) = &a.error {
        put = put.item("error", s(error));
    }
    if let Some(next) = &a.next_attempt_at {
        put = put.item("nextAttemptAt", s(time::iso_millis(next)));
    }
    put.build().map_err(build_err)
}

fn state_after(
    table: &str,
    scope: Scope<'_>,
    job_id: &str,
    run: u32,
    a: &DeliveryAttempt,
    state: EventState,
) -> Result<Update, StoreError> {
    let (status, next) = match state {
        EventState::Delivered => ("delivered", None),
        EventState::Retrying => (PENDING, a.next_attempt_at),
        EventState::Failed { .. } => ("failed", None),
    };
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(
            schema::scope_pk(scope),
            schema::webhook_event_sk(job_id),
        )))
        .condition_expression("run = :run")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", s(status))
        .expression_attribute_values(":run", n(run))
        .expression_attribute_values(":url", s(&a.url))
        .expression_attribute_values(":now", s(time::iso_millis(&a.at)))
        .expression_attribute_values(":ttl", n(expires(a.at)));
    update = match next {
        Some(next) => update
            .update_expression("SET #status = :status, lastUrl = :url, updatedAt = :now, expiresAt = :ttl, nextAttemptAt = :next REMOVE leaseUntil")
            .expression_attribute_values(":next", s(time::iso_millis(&next))),
        None => update.update_expression(
            "SET #status = :status, lastUrl = :url, updatedAt = :now, expiresAt = :ttl REMOVE nextAttemptAt, leaseUntil",
        ),
    };
    update.build().map_err(build_err)
}

fn failed_item(
    table: &str,
    scope: Scope<'_>,
    job_id: &str,
    a: &DeliveryAttempt,
    exhausted: bool,
) -> Result<Put, StoreError> {
    let at = time::iso_millis(&a.at);
    Put::builder()
        .table_name(table)
        .item(schema::PK, s(schema::scope_pk(scope)))
        .item(schema::SK, s(schema::failed_delivery_sk(&at, job_id)))
        .item("type", s("WEBHOOK_FAILED"))
        .item("jobId", s(job_id))
        .item("eventId", s(&a.event_id))
        .item("failedAt", s(at))
        .item("attempts", n(a.attempt))
        .item(
            "exhausted",
            aws_sdk_dynamodb::types::AttributeValue::Bool(exhausted),
        )
        .item("reason", s(a.error.as_deref().unwrap_or("failed")))
        .item("url", s(&a.url))
        .item(schema::TTL_ATTRIBUTE, n(expires(a.at)))
        .build()
        .map_err(build_err)
}

/// An attempt item's `status`: `delivered` (true) or `failed` (false).
pub fn attempt_delivered(status: &str) -> Option<bool> {
    match status {
        "delivered" => Some(true),
        "failed" => Some(false),
        _ => None,
    }
}

fn attempt_from_item(item: &Item) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        event_id: item.str("eventId")?.to_string(),
        attempt: item.num("attempt")?,
        url: item.str("url")?.to_string(),
        at: item.time("at")?,
        delivered: item.parsed("status", attempt_delivered)?,
        http_status: item.opt_num("httpStatus")?,
        error: item.opt_str("error")?.map(str::to_string),
        duration_ms: item.num("durationMs")?,
        next_attempt_at: match item.opt_str("nextAttemptAt")? {
            None => None,
            Some(_) => Some(item.time("nextAttemptAt")?),
        },
    })
}

fn failed_from_item(item: &Item, livemode: bool) -> Result<FailedEvent, StoreError> {
    Ok(FailedEvent {
        event_id: item.str("eventId")?.to_string(),
        job_id: item.str("jobId")?.to_string(),
        livemode,
        failed_at: item.time("failedAt")?,
        attempts: item.num("attempts")?,
        exhausted: item.bool("exhausted")?,
        reason: item.str("reason")?.to_string(),
        url: item.str("url")?.to_string(),
    })
}
