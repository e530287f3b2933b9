//! `webhook redeliver | failed`: an operator's view of a tenant's webhook
//! events, both key modes at once.
//!
//! `redeliver` does what `POST /v1/jobs/{jobId}/deliveries` does, for a job
//! found in either of the tenant's modes: a new delivery run of the job's
//! one terminal event (same `eventId`, the whole retry schedule again; an
//! attempt still scheduled of an older run is dropped when it comes), and a
//! message for it on the delivery queue. `failed` lists the events that
//! failed for good, from the items the webhook sender writes for them.

use serde_json::{Value, json};
use shared::domain::{Job, KeyMode, Scope};
use shared::env::Env;
use shared::queue::{DeliveryMessage, DeliveryQueue};
use shared::store::FailedEvent;
use shared::time::{self, Timestamp};
use shared::webhooks::{self, WebhookEvent};

use crate::Ctx;
use crate::cli::{WebhookCommand, WebhookRedeliverArgs};
use crate::error::AdminError;
use crate::input;
use crate::output::{Output, record, table};

pub async fn run(ctx: &Ctx, command: &WebhookCommand) -> Result<Output, AdminError> {
    match command {
        WebhookCommand::Redeliver(args) => redeliver(ctx, args).await,
        WebhookCommand::Failed { tenant, since } => failed(ctx, tenant, *since).await,
    }
}

async fn redeliver(ctx: &Ctx, args: &WebhookRedeliverArgs) -> Result<Output, AdminError> {
    let tenant_id = input::tenant_id(&args.tenant)?;
    let unknown_job = || AdminError::UnknownJob {
        job_id: input::printable(&args.job_id),
        tenant_id: tenant_id.to_string(),
    };
    // A job id not of our shape cannot exist (the API's 404 too).
    if !shared::ids::is_valid_id(&args.job_id) {
        return Err(unknown_job());
    }
    // Before any write: a run recorded without its message would wait for
    // a second redelivery.
    let queue_url = args
        .queue_url
        .clone()
        .or_else(|| Env::process().optional("DELIVERY_QUEUE_URL"))
        .filter(|u| !u.is_empty())
        .ok_or(AdminError::NoDeliveryQueue)?;
    let tenant = ctx
        .store
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| AdminError::UnknownTenant(tenant_id.to_string()))?;
    let job = find_job(ctx, tenant_id, &args.job_id)
        .await?
        .ok_or_else(unknown_job)?;
    let Some(event) = WebhookEvent::of(&job) else {
        return Err(AdminError::NotTerminal {
            job_id: job.id,
            status: job.status,
        });
    };
    let Some((url, _)) = webhooks::target(&job, &tenant) else {
        return Err(AdminError::NoWebhookTarget {
            job_id: job.id,
            tenant_id: tenant_id.to_string(),
        });
    };
    let scope = job.scope();
    let run = ctx
        .store
        .request_redelivery(scope, &job.id, &event.event_id, time::now())
        .await?;
    DeliveryQueue::new(aws_sdk_sqs::Client::new(&ctx.sdk), queue_url, None)
        .send(&DeliveryMessage::new(scope, &job.id, run))
        .await
        .map_err(|cause| AdminError::RedeliveryNotSent { run, cause })?;

    let human = record(&[
        ("event id", event.event_id.clone()),
        ("job id", job.id.clone()),
        ("tenant id", tenant_id.to_string()),
        ("mode", scope.mode.as_str().to_string()),
        ("url", url.to_string()),
        ("run", run.to_string()),
        ("status", "pending".to_string()),
    ]) + "The event is queued for delivery now, with the whole retry schedule; \
           the job's delivery log shows the attempts.\n";
    Ok(Output::new(
        human,
        json!({
            "eventId": event.event_id,
            "status": "pending",
            "jobId": job.id,
            "tenantId": tenant_id,
            "livemode": scope.livemode(),
            "url": url,
            "run": run,
        }),
    ))
}

/// The tenant's job `job_id` in whichever mode holds it (ids are unique,
/// so at most one does).
async fn find_job(ctx: &Ctx, tenant_id: &str, job_id: &str) -> Result<Option<Job>, AdminError> {
    let (test, live) = tokio::try_join!(
        ctx.store
            .get_job(Scope::new(tenant_id, KeyMode::Test), job_id),
        ctx.store
            .get_job(Scope::new(tenant_id, KeyMode::Live), job_id),
    )?;
    Ok(test.or(live))
}

async fn failed(
    ctx: &Ctx,
    tenant_id: &str,
    since: Option<Timestamp>,
) -> Result<Output, AdminError> {
    let tenant_id = input::tenant_id(tenant_id)?;
    if ctx.store.get_tenant(tenant_id).await?.is_none() {
        return Err(AdminError::UnknownTenant(tenant_id.to_string()));
    }
    let (test, live) = tokio::try_join!(
        ctx.store
            .failed_deliveries(Scope::new(tenant_id, KeyMode::Test), since),
        ctx.store
            .failed_deliveries(Scope::new(tenant_id, KeyMode::Live), since),
    )?;
    let mut events: Vec<FailedEvent> = test.into_iter().chain(live).collect();
    events.sort_by(|a, b| {
        (a.failed_at, &a.job_id, a.livemode).cmp(&(b.failed_at, &b.job_id, b.livemode))
    });
    Ok(failed_listing(tenant_id, since, &events))
}

fn mode_of(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

fn failed_listing(tenant_id: &str, since: Option<Timestamp>, events: &[FailedEvent]) -> Output {
    let json = events
        .iter()
        .map(|e| {
            json!({
                "eventId": e.event_id,
                "jobId": e.job_id,
                "livemode": e.livemode,
                "failedAt": time::iso_millis(&e.failed_at),
                "attempts": e.attempts,
                "exhausted": e.exhausted,
                "reason": e.reason,
                "url": e.url,
            })
        })
        .collect();
    let human = if events.is_empty() {
        match since {
            None => format!("no failed webhook events for tenant {tenant_id}\n"),
            Some(t) => format!(
                "no failed webhook events for tenant {tenant_id} since {}\n",
                time::iso_millis(&t)
            ),
        }
    } else {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    e.event_id.clone(),
                    e.job_id.clone(),
                    mode_of(e.livemode).to_string(),
                    time::iso_millis(&e.failed_at),
                    e.attempts.to_string(),
                    if e.exhausted { "yes" } else { "no" }.to_string(),
                    e.reason.clone(),
                    e.url.clone(),
                ]
            })
            .collect();
        table(
            &[
                "EVENT ID",
                "JOB ID",
                "MODE",
                "FAILED AT",
                "ATTEMPTS",
                "EXHAUSTED",
                "REASON",
                "URL",
            ],
            &rows,
        )
    };
    Output::new(human, Value::Array(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(job: &str, livemode: bool, at: &str) -> FailedEvent {
        FailedEvent {
            event_id: webhooks::event_id(job, shared::domain::JobStatus::Canceled),
            job_id: job.into(),
            livemode,
            failed_at: time::parse_iso(at).expect("a time"),
            attempts: 8,
            exhausted: livemode,
            reason: "the receiver answered HTTP 503".into(),
            url: "https://hooks.example.com/h".into(),
        }
    }

    #[test]
    fn the_listing_shows_every_field_in_both_forms() {
        let events = [
            event("cjoba", false, "2026-01-26T12:00:00.000Z"),
            event("cjobb", true, "2026-01-27T08:30:00.500Z"),
        ];
        let out = failed_listing("ctenant", None, &events);
        let lines: Vec<&str> = out.human.lines().collect();
        assert_eq!(lines.len(), 3, "{}", out.human);
        assert!(lines[0].starts_with("EVENT ID") && lines[0].ends_with("URL"));
        assert!(lines[1].contains("cjoba") && lines[1].contains(" test "));
        assert!(lines[2].contains("2026-01-27T08:30:00.500Z") && lines[2].contains(" live "));
        assert!(lines[2].contains(" yes ") && lines[2].contains("HTTP 503"));
        assert_eq!(out.json[1]["livemode"], true);
        assert_eq!(out.json[1]["failedAt"], "2026-01-27T08:30:00.500Z");
        assert_eq!(out.json[0]["exhausted"], false);
        assert_eq!(out.json[0]["attempts"], 8);
    }

    #[test]
    fn an_empty_listing_says_so() {
        let out = failed_listing("ctenant", None, &[]);
        assert_eq!(out.human, "no failed webhook events for tenant ctenant\n");
        assert_eq!(out.json, json!([]));
        let since = time::parse_iso("2026-01-26T00:00:00.000Z");
        let out = failed_listing("ctenant", since, &[]);
        assert!(
            out.human.ends_with("since 2026-01-26T00:00:00.000Z\n"),
            "{}",
            out.human
        );
    }
}
