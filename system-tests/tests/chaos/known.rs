//! What the clients of one tenant learned from the API's answers: the jobs
//! it accepted, the idempotency keys in play and the jobs they are bound
//! to, what listings showed, which cancels succeeded and which terminal
//! statuses were seen. The traffic checks each answer against it; the
//! invariant checker compares the table with it afterwards.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use shared::domain::TenantLimits;

use system_tests::TestStack;

pub struct Tenant {
    pub label: &'static str,
    pub id: String,
    pub key: String,
    pub limits: TenantLimits,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// Jobs created for this tenant by a 202 that was not a replay.
    accepted: Vec<String>,
    keys: Vec<IdempotencyKey>,
    listed: HashSet<String>,
    canceled: HashSet<String>,
    /// The first terminal status a read showed per job: it never changes.
    terminal: HashMap<String, String>,
    /// Minutes (epoch seconds / 60) in which a submit was refused for the
    /// per-minute limit.
    rate_refused: BTreeSet<i64>,
}

/// An idempotency key, the body it is always sent with, and the job the
/// service bound it to once a submit with it was accepted.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    pub key: String,
    pub body: crate::traffic::Body,
    pub job: Option<String>,
}

impl Tenant {
    /// Seeds a live tenant (its jobs call the fake Gemini).
    pub async fn seed(t: &TestStack, label: &'static str, limits: TenantLimits) -> Tenant {
        let (id, key) = t.live_tenant(limits.rpm, limits.max_concurrency).await;
        Tenant::new(label, id, key, limits)
    }

    /// A tenant that knows nothing yet.
    pub fn new(label: &'static str, id: String, key: String, limits: TenantLimits) -> Tenant {
        Tenant {
            label,
            id,
            key,
            limits,
            known: Mutex::default(),
        }
    }

    /// Points the tenant's webhooks at `url`.
    pub async fn hook(&self, t: &TestStack, url: &str, secret: &str) {
        t.stack
            .app
            .store
            .set_tenant_webhook(&self.id, Some((url, secret)))
            .await
            .expect("setting a webhook");
    }

    /// Submits a job with this prompt, which must be accepted, and knows
    /// it: its id.
    pub async fn submit(&self, t: &TestStack, prompt: &str) -> String {
        let body = serde_json::json!({ "prompt": prompt }).to_string();
        let job = t.submit_job(&self.key, &body).await;
        self.accept(&job);
        job
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn accept(&self, job_id: &str) {
        self.known().accepted.push(job_id.to_string());
    }

    pub fn accepted(&self) -> Vec<String> {
        self.known().accepted.clone()
    }

    /// Whether a 202 announced this job, without copying the list.
    pub fn has_accepted(&self, job_id: &str) -> bool {
        self.known().accepted.iter().any(|id| id == job_id)
    }

    pub fn pick_accepted(&self, rng: &mut testkit::seeded::SeededRng) -> Option<String> {
        rng.pick(&self.known().accepted).cloned()
    }

    /// One of the `n` jobs accepted last: likely still QUEUED or RETRYING,
    /// so a cancel races the worker's claim.
    pub fn pick_recent(&self, rng: &mut testkit::seeded::SeededRng, n: usize) -> Option<String> {
        let known = self.known();
        let recent = &known.accepted[known.accepted.len().saturating_sub(n)..];
        rng.pick(recent).cloned()
    }

    /// Registers a new key (unbound) and returns its index.
    pub fn add_key(&self, key: IdempotencyKey) -> usize {
        let mut known = self.known();
        known.keys.push(key);
        known.keys.len() - 1
    }

    pub fn pick_key(
        &self,
        rng: &mut testkit::seeded::SeededRng,
        bound_only: bool,
    ) -> Option<(usize, IdempotencyKey)> {
        let known = self.known();
        let candidates: Vec<usize> = (0..known.keys.len())
            .filter(|&i| !bound_only || known.keys[i].job.is_some())
            .collect();
        let &i = rng.pick(&candidates)?;
        Some((i, known.keys[i].clone()))
    }

    /// Records that key `index` answered with `job_id`; `Err` with the job
    /// it was bound to before if that is another job.
    pub fn bind_key(&self, index: usize, job_id: &str) -> Result<(), String> {
        let mut known = self.known();
        let entry = &mut known.keys[index];
        match &entry.job {
            None => {
                entry.job = Some(job_id.to_string());
                Ok(())
            }
            Some(bound) if bound == job_id => Ok(()),
            Some(bound) => Err(bound.clone()),
        }
    }

    pub fn keys(&self) -> Vec<IdempotencyKey> {
        self.known().keys.clone()
    }

    pub fn listed(&self, ids: impl IntoIterator<Item = String>) {
        self.known().listed.extend(ids);
    }

    pub fn listed_ids(&self) -> HashSet<String> {
        self.known().listed.clone()
    }

    pub fn canceled(&self, job_id: &str) {
        self.known().canceled.insert(job_id.to_string());
    }

    pub fn canceled_ids(&self) -> HashSet<String> {
        self.known().canceled.clone()
    }

    pub fn refused_for_rate(&self, minute: i64) {
        self.known().rate_refused.insert(minute);
    }

    pub fn rate_refused_minutes(&self) -> BTreeSet<i64> {
        self.known().rate_refused.clone()
    }

    /// Records a terminal status read for a job; `Err` with the earlier one
    /// if it differs (a terminal status changed).
    pub fn saw_terminal(&self, job_id: &str, status: &str) -> Result<(), String> {
        let mut known = self.known();
        match known.terminal.get(job_id) {
            Some(first) if first != status => Err(first.clone()),
            Some(_) => Ok(()),
            None => {
                known
                    .terminal
                    .insert(job_id.to_string(), status.to_string());
                Ok(())
            }
        }
    }
}
