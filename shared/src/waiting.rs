//! Waiting for a job to end, for `Prefer: wait` on submit and the long poll
//! of `GET /v1/jobs/{jobId}?wait=N`: the job item is read again, eventually
//! consistent (`Store::peek_job`), 100 ms after the start, then at doubling
//! gaps up to one a second, and once more when the time is up. That is
//! about three reads in the first second and one a second after, each half
//! a read unit for a job item up to 4 KB (BENCHMARKS.md measures it). No
//! slot, lock or item is held meanwhile.

use std::time::Duration;

use crate::domain::{Job, Scope};
use crate::store::{Store, StoreError};

const FIRST_GAP: Duration = Duration::from_millis(100);
const LONGEST_GAP: Duration = Duration::from_secs(1);

/// The gaps between the reads of a wait of `wait`: doubling from 100 ms to
/// at most 1 s, the last cut short at the end of the wait.
pub fn poll_gaps(wait: Duration) -> Vec<Duration> {
    let mut gaps = Vec::new();
    let (mut waited, mut gap) = (Duration::ZERO, FIRST_GAP);
    while waited < wait {
        let this = gap.min(wait - waited);
        gaps.push(this);
        waited += this;
        gap = (gap * 2).min(LONGEST_GAP);
    }
    gaps
}

/// `job` again once it is terminal or `wait` has passed, whichever is
/// first: the last state read. `None` if it vanished meanwhile (deleted).
pub async fn until_terminal(
    store: &Store,
    scope: Scope<'_>,
    job: Job,
    wait: Duration,
) -> Result<Option<Job>, StoreError> {
    if job.status.is_terminal() {
        return Ok(Some(job));
    }
    let mut latest = job;
    for gap in poll_gaps(wait) {
        tokio::time::sleep(gap).await;
        match store.peek_job(scope, &latest.id).await? {
            Some(job) if job.status.is_terminal() => return Ok(Some(job)),
            Some(job) => latest = job,
            None => return Ok(None),
        }
    }
    Ok(Some(latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_reads_a_few_times_in_its_first_second_then_once_a_second() {
        let gaps = poll_gaps(Duration::from_secs(25));
        assert_eq!(gaps.iter().sum::<Duration>(), Duration::from_secs(25));
        let ms: Vec<u128> = gaps.iter().take(6).map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(gaps.len(), 28, "28 reads in 25 s");
        // At most two read units a waited second at half a unit a read.
        for n in 1..=25 {
            let reads = poll_gaps(Duration::from_secs(n)).len();
            assert!(reads as f64 * 0.5 <= 2.0 * n as f64, "{n} s: {reads} reads");
        }
        assert_eq!(
            poll_gaps(Duration::from_secs(1)).len(),
            4,
            "0.1, 0.3, 0.7, 1.0 s"
        );
        assert!(poll_gaps(Duration::ZERO).is_empty());
    }
}
