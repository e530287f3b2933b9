//! SQS delivers at least once; this makes "more than once" happen often.
//! For a share of accepted jobs a second copy of the job's queue message is
//! sent: at once (the two copies race for the claim), or after a delay (the
//! copy meets a running job, whose lease defers it, or a finished one).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::queue::{JobMessage, JobQueue};
use testkit::seeded::SeededRng;
use tokio::task::JoinSet;

/// Percent of accepted jobs that get a duplicate.
const SHARE_PERCENT: u64 = 40;
/// Delayed duplicates arrive within this.
const MAX_DELAY: Duration = Duration::from_secs(3);

pub struct DuplicateDeliveries {
    queue: Arc<JobQueue>,
    sent: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    pending: Mutex<JoinSet<()>>,
}

impl DuplicateDeliveries {
    pub fn new(stack: &devstack::Stack) -> DuplicateDeliveries {
        DuplicateDeliveries {
            queue: Arc::new(JobQueue::new(
                aws_sdk_sqs::Client::new(&stack.sdk),
                stack.queue_url.clone(),
            )),
            sent: Arc::default(),
            failed: Arc::default(),
            pending: Mutex::default(),
        }
    }

    /// Maybe sends a second message for this job, now or a little later.
    pub fn maybe_duplicate(&self, tenant_id: &str, job_id: &str, rng: &mut SeededRng) {
        if !rng.chance(SHARE_PERCENT) {
            return;
        }
        let delay = if rng.chance(50) {
            Duration::ZERO
        } else {
            Duration::from_millis(rng.below(MAX_DELAY.as_millis() as u64))
        };
        // The chaos tenants submit with live keys.
        let message = JobMessage::new(
            shared::domain::Scope::new(tenant_id, shared::domain::KeyMode::Live),
            job_id,
        );
        let (queue, sent, failed) = (self.queue.clone(), self.sent.clone(), self.failed.clone());
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .spawn(async move {
                tokio::time::sleep(delay).await;
                match queue.send(&message).await {
                    Ok(()) => sent.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            });
    }

    /// Waits for the delayed copies; returns `(sent, failed to send)`.
    pub async fn settle(&self) -> (usize, usize) {
        let mut pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        while pending.join_next().await.is_some() {}
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
