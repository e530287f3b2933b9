//! Bearer-key authentication. A key is looked up by its SHA-256 only; a warm
//! function keeps recent look-ups for `auth_cache_ttl` (60 s by default) so a
//! submit costs one transaction and one queue send, not extra reads.
//!
//! Refusals are remembered too, for the same time and in the same bounded
//! cache: a flood of requests with an unknown or revoked key costs one read
//! per key and TTL, not one per request. A malformed key (wrong prefix,
//! length or characters) is refused before any read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderMap;

use crate::domain::{ApiKeyHash, KeyMode, TenantLimits};
use crate::store::Store;
use crate::{ApiError, request};

const MAX_CACHED_KEYS: usize = 10_000;

/// Who is calling: the tenant behind the key, the key's mode and the
/// tenant's limits as last read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub key_mode: KeyMode,
    pub limits: TenantLimits,
}

impl Caller {
    /// The (tenant, mode) this caller may see and change, and nothing else.
    pub fn scope(&self) -> crate::domain::Scope<'_> {
        crate::domain::Scope::new(&self.tenant_id, self.key_mode)
    }
}

/// What a look-up found: the caller, or why the key is refused.
#[derive(Clone, Debug)]
enum Verdict {
    Caller(Caller),
    Refused(&'static str),
}

pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<ApiKeyHash, (Instant, Verdict)>>,
}

impl Authenticator {
    pub fn new(ttl: Duration) -> Authenticator {
        Authenticator {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of a request (by its headers), or 401 for a missing,
    /// malformed, unknown or revoked key. Records the tenant on the request
    /// span.
    pub async fn authenticate(
        &self,
        store: &Store,
        headers: &HeaderMap,
    ) -> Result<Caller, ApiError> {
        let raw = bearer_key(headers)?;
        let key_mode = KeyMode::of_key(raw).ok_or(ApiError::InvalidApiKey("Invalid API key"))?;
        let hash = ApiKeyHash::of(raw);
        let verdict = match self.cached(&hash) {
            Some(verdict) => verdict,
            None => {
                let verdict = match self.look_up(store, &hash, key_mode).await {
                    Ok(caller) => Verdict::Caller(caller),
                    Err(ApiError::InvalidApiKey(why)) => Verdict::Refused(why),
                    // A failed read says nothing about the key: not cached.
                    Err(e) => return Err(e),
                };
                self.remember(hash, verdict.clone());
                verdict
            }
        };
        let caller = match verdict {
            Verdict::Caller(caller) => caller,
            Verdict::Refused(why) => return Err(ApiError::InvalidApiKey(why)),
        };
        tracing::Span::current().record("tenant_id", caller.tenant_id.as_str());
        Ok(caller)
    }

    async fn look_up(
        &self,
        store: &Store,
        hash: &ApiKeyHash,
        key_mode: KeyMode,
    ) -> Result<Caller, ApiError> {
        let record = store
            .get_key(hash)
            .await?
            .ok_or(ApiError::InvalidApiKey("Invalid API key"))?;
        if record.revoked {
            return Err(ApiError::InvalidApiKey("This API key has been revoked"));
        }
        if record.mode != key_mode {
            return Err(ApiError::InvalidApiKey("Invalid API key"));
        }
        let tenant = store
            .get_tenant(&record.tenant_id)
            .await?
            .ok_or(ApiError::InvalidApiKey("Invalid API key"))?;
        Ok(Caller {
            tenant_id: tenant.id,
            key_mode,
            limits: tenant.limits,
        })
    }

    fn cached(&self, hash: &ApiKeyHash) -> Option<Verdict> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, c)| c.clone())
    }

    fn remember(&self, hash: ApiKeyHash, verdict: Verdict) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(hash, (Instant::now(), verdict));
    }

    /// The table told us the tenant's limits differ from the cached ones.
    pub fn update_limits(&self, tenant_id: &str, limits: TenantLimits) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (_, verdict) in cache.values_mut() {
            if let Verdict::Caller(caller) = verdict
                && caller.tenant_id == tenant_id
            {
                caller.limits = limits;
            }
        }
    }
}

/// The key from `Authorization: Bearer <key>` (scheme case-insensitive).
fn bearer_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = request::header(headers, "authorization")
        .map_err(|_| ApiError::InvalidApiKey("Malformed Authorization header"))?
        .ok_or(ApiError::InvalidApiKey(
            "Missing Authorization header; send `Authorization: Bearer <api key>`",
        ))?;
    let (scheme, key) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidApiKey(
            "Authorization must use the Bearer scheme: `Authorization: Bearer <api key>`",
        ));
    }
    let key = key.trim();
    if key.is_empty() {
        return Err(ApiError::InvalidApiKey("Missing API key after `Bearer`"));
    }
    Ok(key)
}
