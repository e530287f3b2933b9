//! The contract's time formats: ISO-8601 UTC with milliseconds everywhere,
//! epoch milliseconds only in webhook payloads.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

pub fn now() -> Timestamp {
    Utc::now()
}

/// The time an HTTP function reads: the system's, or (in tests) the
/// system's shifted by a fixed offset, which puts a request just before or
/// after a month's end without waiting for one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    offset: chrono::Duration,
}

impl Clock {
    /// The system's time shifted so that it reads `at` now.
    pub fn reading(at: Timestamp) -> Clock {
        Clock {
            offset: at - Utc::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        Utc::now() + self.offset
    }
}

/// `2026-01-26T09:36:16.288Z`. Fixed width, so these strings also sort in
/// time order, which the listing indexes rely on.
pub fn iso_millis(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_iso(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        let t = parse_iso("2026-01-26T09:36:16.288Z").unwrap();
        assert_eq!(iso_millis(&t), "2026-01-26T09:36:16.288Z");
        let whole = parse_iso("2026-01-26T09:36:16Z").unwrap();
        assert_eq!(iso_millis(&whole), "2026-01-26T09:36:16.000Z");
    }
}
