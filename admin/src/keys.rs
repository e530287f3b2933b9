//! `key create | list | revoke`. A full key exists only in `create`'s
//! output: the table keeps its SHA-256 and a short preview.

use serde_json::{Value, json};
use shared::domain::KeyMode;
use shared::store::{KeyCreateOutcome, NewApiKey, RevokeOutcome};
use shared::time;

use crate::Ctx;
use crate::cli::KeyCommand;
use crate::error::AdminError;
use crate::output::{Output, record, table};
use crate::{input, keygen};

/// A fresh 238-bit key practically never collides with a stored one; if it
/// did, another is drawn rather than failing the command.
const CREATE_ATTEMPTS: usize = 3;

pub async fn run(ctx: &Ctx, command: &KeyCommand) -> Result<Output, AdminError> {
    match command {
        KeyCommand::Create { tenant, mode } => create(ctx, tenant, (*mode).into()).await,
        KeyCommand::List { tenant } => list(ctx, tenant).await,
        KeyCommand::Revoke { key_id } => revoke(ctx, key_id).await,
    }
}

async fn create(ctx: &Ctx, tenant_id: &str, mode: KeyMode) -> Result<Output, AdminError> {
    let tenant_id = input::tenant_id(tenant_id)?;
    for _ in 0..CREATE_ATTEMPTS {
        let raw = keygen::new_key(mode);
        let new = NewApiKey::for_raw_key(tenant_id, &raw)
            .ok_or(AdminError::Internal("a generated key is malformed"))?;
        match ctx.store.create_api_key(&new).await? {
            KeyCreateOutcome::Created => return Ok(created(&new, &raw)),
            KeyCreateOutcome::UnknownTenant => {
                return Err(AdminError::UnknownTenant(tenant_id.to_string()));
            }
            KeyCreateOutcome::AlreadyExists => {
                // The SDK may have retried a create that committed: then
                // the stored key is this one, under this key id.
                if ctx.store.key_id_of(&new.hash).await?.as_deref() == Some(&new.key_id) {
                    return Ok(created(&new, &raw));
                }
            }
        }
    }
    Err(AdminError::Internal("could not store a fresh key"))
}

fn created(new: &NewApiKey, raw: &str) -> Output {
    let human = record(&[
        ("key id", new.key_id.clone()),
        ("tenant id", new.tenant_id.clone()),
        ("mode", new.mode.as_str().to_string()),
        ("key", raw.to_string()),
    ]) + "Store the key now: it is shown only this once and cannot be recovered.\n";
    Output::new(
        human,
        json!({
            "keyId": new.key_id,
            "tenantId": new.tenant_id,
            "mode": new.mode.as_str(),
            "key": raw,
            "preview": new.preview,
        }),
    )
}

async fn list(ctx: &Ctx, tenant_id: &str) -> Result<Output, AdminError> {
    let tenant_id = input::tenant_id(tenant_id)?;
    if ctx.store.get_tenant(tenant_id).await?.is_none() {
        return Err(AdminError::UnknownTenant(tenant_id.to_string()));
    }
    let keys = ctx.store.list_api_keys(tenant_id).await?;
    let json = keys
        .iter()
        .map(|k| {
            json!({
                "keyId": k.key_id,
                "tenantId": k.tenant_id,
                "preview": k.preview,
                "mode": k.mode.as_str(),
                "createdAt": time::iso_millis(&k.created_at),
                "revoked": k.revoked,
            })
        })
        .collect();
    let human = if keys.is_empty() {
        format!("no API keys for tenant {tenant_id}\n")
    } else {
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                vec![
                    k.key_id.clone(),
                    k.preview.clone(),
                    k.mode.as_str().to_string(),
                    time::iso_millis(&k.created_at),
                    if k.revoked { "yes" } else { "no" }.to_string(),
                ]
            })
            .collect();
        table(&["KEY ID", "KEY", "MODE", "CREATED", "REVOKED"], &rows)
    };
    Ok(Output::new(human, Value::Array(json)))
}

async fn revoke(ctx: &Ctx, key_id: &str) -> Result<Output, AdminError> {
    let key_id = input::key_id(key_id)?;
    let (tenant_id, already) = match ctx.store.revoke_api_key(key_id).await? {
        RevokeOutcome::Revoked { tenant_id } => (tenant_id, false),
        RevokeOutcome::AlreadyRevoked { tenant_id } => (tenant_id, true),
        RevokeOutcome::UnknownKey => return Err(AdminError::UnknownKey(key_id.to_string())),
    };
    let human = if already {
        format!("key {key_id} (tenant {tenant_id}) was already revoked\n")
    } else {
        format!(
            "revoked key {key_id} (tenant {tenant_id}); the API refuses it within AUTH_CACHE_TTL_SECONDS\n"
        )
    };
    Ok(Output::new(
        human,
        json!({
            "keyId": key_id,
            "tenantId": tenant_id,
            "revoked": true,
            "alreadyRevoked": already,
        }),
    ))
}
