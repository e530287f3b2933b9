//! `tenant create | list | show | update` (`usage` and `audit` have their
//! own modules).

use serde_json::{Map, Value, json};
use shared::domain::{KeyMode, Scope, Tenant, TenantLimits};
use shared::store::{CreateOutcome, QuotaChange, TenantUpdate, UpdateOutcome, WebhookChange};
use shared::time;

use crate::Ctx;
use crate::cli::{TenantCommand, TenantCreate, TenantUpdateArgs};
use crate::error::AdminError;
use crate::input;
use crate::output::{Output, record, table};

pub async fn run(ctx: &Ctx, command: &TenantCommand) -> Result<Output, AdminError> {
    match command {
        TenantCommand::Create(args) => create(ctx, args).await,
        TenantCommand::List => list(ctx).await,
        TenantCommand::Show { id } => show(ctx, id).await,
        TenantCommand::Update(args) => update(ctx, args).await,
        TenantCommand::Usage(args) => crate::usage::run(ctx, args).await,
        TenantCommand::Audit(args) => crate::audit::run(ctx, args).await,
    }
}

async fn create(ctx: &Ctx, args: &TenantCreate) -> Result<Output, AdminError> {
    let webhook_url = args
        .webhook_url
        .as_deref()
        .map(|u| input::webhook_url(u, ctx.url_policy))
        .transpose()?;
    let tenant = Tenant {
        id: shared::ids::new_id(),
        name: args.name.clone(),
        limits: TenantLimits {
            rpm: args.rpm,
            max_concurrency: args.max_concurrency,
            monthly_image_quota: args.monthly_image_quota,
        },
        webhook_secret: webhook_url.as_ref().map(|_| shared::webhooks::new_secret()),
        webhook_url,
    };
    // `AlreadyExists` is success too: the id is fresh and random, so an
    // existing item is this very tenant, written by an attempt the SDK
    // retried after a timeout.
    let _: CreateOutcome = ctx.store.create_tenant(&tenant).await?;
    let mut out = tenant_json(&tenant);
    if let Some(secret) = &tenant.webhook_secret {
        out.insert("webhookSecret".into(), json!(secret));
    }
    let mut human = tenant_record(&tenant, tenant.webhook_secret.as_deref());
    if tenant.webhook_secret.is_some() {
        human.push_str(SECRET_NOTE);
    }
    Ok(Output::new(human, Value::Object(out)))
}

const SECRET_NOTE: &str = "The webhook secret is shown only now; give it to the tenant (rotate it with `tenant update ID --rotate-webhook-secret`).\n";

async fn list(ctx: &Ctx) -> Result<Output, AdminError> {
    let tenants = ctx.store.list_tenants().await?;
    let json = tenants
        .iter()
        .map(|t| {
            json!({
                "tenantId": t.id,
                "name": t.name,
                "createdAt": time::iso_millis(&t.created_at),
            })
        })
        .collect();
    let human = if tenants.is_empty() {
        "no tenants\n".to_string()
    } else {
        let rows: Vec<Vec<String>> = tenants
            .iter()
            .map(|t| {
                vec![
                    t.id.clone(),
                    t.name.clone(),
                    time::iso_millis(&t.created_at),
                ]
            })
            .collect();
        table(&["TENANT ID", "NAME", "CREATED"], &rows)
    };
    Ok(Output::new(human, Value::Array(json)))
}

async fn show(ctx: &Ctx, id: &str) -> Result<Output, AdminError> {
    let id = input::tenant_id(id)?;
    let tenant = ctx
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| AdminError::UnknownTenant(id.to_string()))?;
    let mut json = tenant_json(&tenant);
    let mut human = tenant_record(&tenant, None);
    // Test and live are counted apart, as the service admits them.
    let (mut active, mut jobs) = (Map::new(), Map::new());
    for mode in KeyMode::ALL {
        let scope = Scope::new(id, mode);
        let (counter, counts) = tokio::try_join!(
            ctx.store.active_jobs(scope),
            ctx.store.count_jobs_by_status(scope)
        )?;
        let counter = counter.unwrap_or(0);
        active.insert(mode.as_str().into(), json!(counter));
        jobs.insert(
            mode.as_str().into(),
            Value::Object(
                counts
                    .iter()
                    .map(|(status, n)| (status.as_str().to_string(), json!(n)))
                    .collect(),
            ),
        );
        human.push_str(&format!("{} active jobs: {counter}\n", mode.as_str()));
        human.push_str(&format!("{} jobs by status:\n", mode.as_str()));
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|(status, n)| vec![format!("  {status}"), n.to_string()])
            .collect();
        human.extend(
            table(&["", ""], &rows)
                .lines()
                .skip(1)
                .map(|l| format!("{l}\n")),
        );
    }
    json.insert("activeJobs".into(), Value::Object(active));
    json.insert("jobs".into(), Value::Object(jobs));
    Ok(Output::new(human, Value::Object(json)))
}

async fn update(ctx: &Ctx, args: &TenantUpdateArgs) -> Result<Output, AdminError> {
    let id = input::tenant_id(&args.id)?;
    let url = args
        .webhook_url
        .as_deref()
        .map(|u| input::webhook_url(u, ctx.url_policy))
        .transpose()?;
    let webhook = match (url, args.no_webhook, args.rotate_webhook_secret) {
        // clap refuses --webhook-url or --rotate-webhook-secret with
        // --no-webhook; refuse here too rather than pick one.
        (Some(_), true, _) | (None, true, true) => {
            return Err(AdminError::Internal(
                "--no-webhook cannot be combined with other webhook flags",
            ));
        }
        (None, true, false) => WebhookChange::Remove,
        (Some(url), false, true) => WebhookChange::SetUrlAndSecret {
            url,
            secret: shared::webhooks::new_secret(),
        },
        (Some(url), false, false) => WebhookChange::SetUrl {
            url,
            secret_if_none: shared::webhooks::new_secret(),
        },
        (None, false, true) => WebhookChange::RotateSecret {
            secret: shared::webhooks::new_secret(),
        },
        (None, false, false) => WebhookChange::Keep,
    };
    let quota = match (args.monthly_image_quota, args.no_quota) {
        // clap refuses both together; refuse here too rather than pick one.
        (Some(_), true) => {
            return Err(AdminError::Internal(
                "--no-quota cannot be combined with --monthly-image-quota",
            ));
        }
        (Some(quota), false) => QuotaChange::Set(quota),
        (None, true) => QuotaChange::Remove,
        (None, false) => QuotaChange::Keep,
    };
    if args.rpm.is_none()
        && args.max_concurrency.is_none()
        && quota == QuotaChange::Keep
        && webhook == WebhookChange::Keep
    {
        return Err(AdminError::NothingToUpdate);
    }
    let change = TenantUpdate {
        rpm: args.rpm,
        max_concurrency: args.max_concurrency,
        monthly_image_quota: quota,
        webhook,
    };
    let tenant = match ctx.store.update_tenant(id, &change).await? {
        UpdateOutcome::Updated(tenant) => tenant,
        UpdateOutcome::UnknownTenant => return Err(AdminError::UnknownTenant(id.to_string())),
        UpdateOutcome::NoWebhook => return Err(AdminError::NoWebhook(id.to_string())),
    };
    // A secret is shown when this command made the one now stored.
    let new_secret = match &change.webhook {
        WebhookChange::SetUrl { secret_if_none, .. } => Some(secret_if_none),
        WebhookChange::SetUrlAndSecret { secret, .. } | WebhookChange::RotateSecret { secret } => {
            Some(secret)
        }
        WebhookChange::Keep | WebhookChange::Remove => None,
    }
    .filter(|s| tenant.webhook_secret.as_ref() == Some(*s));
    let mut json = tenant_json(&tenant);
    if let Some(secret) = new_secret {
        json.insert("webhookSecret".into(), json!(secret));
    }
    let mut human = tenant_record(&tenant, new_secret.map(String::as_str));
    if new_secret.is_some() {
        human.push_str(SECRET_NOTE);
    }
    Ok(Output::new(human, Value::Object(json)))
}

/// A tenant's fields for `--json`; the secret only where a command adds it.
fn tenant_json(t: &Tenant) -> Map<String, Value> {
    Map::from_iter([
        ("tenantId".to_string(), json!(t.id)),
        ("name".to_string(), json!(t.name)),
        ("rpm".to_string(), json!(t.limits.rpm)),
        (
            "maxConcurrency".to_string(),
            json!(t.limits.max_concurrency),
        ),
        (
            "monthlyImageQuota".to_string(),
            json!(t.limits.monthly_image_quota),
        ),
        ("webhookUrl".to_string(), json!(t.webhook_url)),
        (
            "webhookSecretSet".to_string(),
            json!(t.webhook_secret.is_some()),
        ),
    ])
}

fn tenant_record(t: &Tenant, new_secret: Option<&str>) -> String {
    let mut fields = vec![
        ("tenant id", t.id.clone()),
        ("name", t.name.clone()),
        ("rpm", t.limits.rpm.to_string()),
        ("max concurrency", t.limits.max_concurrency.to_string()),
        (
            "monthly image quota",
            quota_text(t.limits.monthly_image_quota),
        ),
        (
            "webhook URL",
            t.webhook_url.clone().unwrap_or_else(|| "(none)".into()),
        ),
    ];
    if let Some(secret) = new_secret {
        fields.push(("webhook secret", secret.to_string()));
    }
    record(&fields)
}

/// A monthly image quota as the records show it.
pub fn quota_text(quota: Option<u32>) -> String {
    quota.map_or_else(|| "(none)".into(), |q| format!("{q} images/month"))
}
