//! The retry schedule between delivery attempts: Standard Webhooks'
//! recommendation by default, `WEBHOOK_RETRY_SCHEDULE_SECONDS` otherwise
//! (the tests run it compressed).

use std::time::Duration;

/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_SECONDS: [u32; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// A delay is a visibility change of the delivery message, and SQS refuses
/// one above 12 hours.
pub const MAX_DELAY_SECONDS: u32 = 12 * 60 * 60;
/// Below the delivery queue's `maxReceiveCount` (50), so the queue's own
/// redrive never cuts a schedule short.
pub const MAX_DELAYS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<u32>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS must be a comma list of at most {MAX_DELAYS} whole seconds, each 0 to {MAX_DELAY_SECONDS}: {0}"
)]
pub struct BadSchedule(String);

impl Default for RetrySchedule {
    fn default() -> RetrySchedule {
        RetrySchedule {
            delays: DEFAULT_SECONDS.to_vec(),
        }
    }
}

impl std::str::FromStr for RetrySchedule {
    type Err = BadSchedule;

    /// `"5,300,1800"`; spaces around entries are allowed, an empty list is
    /// not (a deployment without retries is a mistake, not a setting).
    fn from_str(s: &str) -> Result<RetrySchedule, BadSchedule> {
        let delays = s
            .split(',')
            .map(|part| {
                let part = part.trim();
                part.parse::<u32>()
                    .ok()
                    .filter(|d| *d <= MAX_DELAY_SECONDS)
                    .ok_or_else(|| BadSchedule(format!("`{part}` is not one")))
            })
            .collect::<Result<Vec<u32>, BadSchedule>>()?;
        RetrySchedule::from_seconds(delays)
    }
}

impl RetrySchedule {
    pub fn from_seconds(delays: Vec<u32>) -> Result<RetrySchedule, BadSchedule> {
        if delays.len() > MAX_DELAYS {
            return Err(BadSchedule(format!("{} delays are too many", delays.len())));
        }
        match delays.iter().find(|d| **d > MAX_DELAY_SECONDS) {
            Some(d) => Err(BadSchedule(format!("{d} is too long"))),
            None => Ok(RetrySchedule { delays }),
        }
    }

    /// Attempts one event gets in a run: the first, then one per delay.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// The wait after the `n`th attempt of a run failed (1-based), or `None`
    /// when that was the last one.
    pub fn after(&self, n: u32) -> Option<Duration> {
        let index = usize::try_from(n.checked_sub(1)?).ok()?;
        self.delays
            .get(index)
            .map(|d| Duration::from_secs(u64::from(*d)))
    }

    pub fn to_env_value(&self) -> String {
        self.delays
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_standard_webhooks_schedule() {
        let s = RetrySchedule::default();
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.after(1), Some(Duration::from_secs(5)));
        assert_eq!(s.after(2), Some(Duration::from_secs(300)));
        assert_eq!(s.after(7), Some(Duration::from_secs(36_000)));
        assert_eq!(s.after(8), None, "the eighth failure is the last");
        assert_eq!(s.after(0), None);
        assert_eq!(s.to_env_value(), "5,300,1800,7200,18000,36000,36000");
    }

    #[test]
    fn a_schedule_parses_from_a_comma_list_or_is_refused() {
        let s: RetrySchedule = " 1, 2 ,3".parse().unwrap();
        assert_eq!(s.attempts(), 4);
        assert_eq!(s.after(3), Some(Duration::from_secs(3)));
        for bad in ["", "1,,2", "-1", "1.5", "43201", "5m", "1;2"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad:?}");
        }
        assert!("0,43200".parse::<RetrySchedule>().is_ok());
        assert!(RetrySchedule::from_seconds(vec![43_201]).is_err());
        assert!(RetrySchedule::from_seconds(vec![1; 21]).is_err());
        assert!(RetrySchedule::from_seconds(vec![1; 20]).is_ok());
    }
}
