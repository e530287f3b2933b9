//! Judging operator input before anything is written: limits, names, ids,
//! dates and webhook URLs. Every rejection says what is wrong and what is
//! allowed, and echoes the input only in a safe, shortened form.

use chrono::{NaiveDate, TimeZone, Utc};
use shared::netguard::{self, UrlPolicy};
use shared::time::Timestamp;

use crate::error::AdminError;

pub const RPM_RANGE: std::ops::RangeInclusive<u32> = 1..=100_000;
pub const MAX_CONCURRENCY_RANGE: std::ops::RangeInclusive<u32> = 1..=1_000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MONTHLY_IMAGE_QUOTA_RANGE: std::ops::RangeInclusive<u32> =
    0..=shared::domain::usage::MAX_MONTHLY_IMAGE_QUOTA;
/// A week: a job untouched that long is stuck whatever the backlog.
pub const STALE_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=10_080;
/// A day: `stats` reads what the metrics show, not the billing history.
pub const STATS_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=1_440;
/// `stats --max-items`: at most this many items read by its scan.
pub const SCAN_ITEMS_RANGE: std::ops::RangeInclusive<u32> = 1..=100_000_000;

/// clap value parser for `--rpm`.
pub fn parse_rpm(s: &str) -> Result<u32, String> {
    parse_limit(s, RPM_RANGE)
}

/// clap value parser for `--max-concurrency`.
pub fn parse_max_concurrency(s: &str) -> Result<u32, String> {
    parse_limit(s, MAX_CONCURRENCY_RANGE)
}

/// clap value parser for `--monthly-image-quota` (0 allowed: it refuses
/// every submit).
pub fn parse_monthly_image_quota(s: &str) -> Result<u32, String> {
    parse_limit(s, MONTHLY_IMAGE_QUOTA_RANGE)
}

/// clap value parser for `tenant audit --stale-after`.
pub fn parse_stale_minutes(s: &str) -> Result<u32, String> {
    parse_limit(s, STALE_MINUTES_RANGE)
}

/// clap value parser for `stats --minutes`.
pub fn parse_stats_minutes(s: &str) -> Result<u32, String> {
    parse_limit(s, STATS_MINUTES_RANGE)
}

/// clap value parser for `stats --max-items`.
pub fn parse_scan_items(s: &str) -> Result<u32, String> {
    parse_limit(s, SCAN_ITEMS_RANGE)
}

fn parse_limit(s: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    let expected = || {
        format!(
            "must be a whole number from {} to {}",
            range.start(),
            range.end()
        )
    };
    // Digits only: `u32::from_str` would also take a leading `+`.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected());
    }
    match s.parse::<u32>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(expected()),
    }
}

/// clap value parser for `--name`: what operators will read in listings.
pub fn parse_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_string())
}

/// clap value parser for `webhook failed --since`: a UTC day as
/// `YYYY-MM-DD`, meaning its first millisecond.
pub fn parse_since(s: &str) -> Result<Timestamp, String> {
    let expected = || "must be a UTC date as YYYY-MM-DD, e.g. 2026-01-26".to_string();
    // The exact shape: chrono alone would also take `2026-1-5` or `+2026-01-05`.
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(expected());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| expected())?;
    Ok(Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)))
}

/// clap value parser for `--month`: a UTC month as `YYYY-MM`, meaning its
/// first day.
pub fn parse_month(s: &str) -> Result<NaiveDate, String> {
    let expected = || "must be a UTC month as YYYY-MM, e.g. 2026-03".to_string();
    // The exact shape, as for dates.
    let shaped = s.len() == 7
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(expected());
    }
    shared::domain::usage::parse_month(s).ok_or_else(expected)
}

/// A tenant id as given; one not of our shape cannot exist, so it is
/// "unknown" without a read.
pub fn tenant_id(s: &str) -> Result<&str, AdminError> {
    if shared::ids::is_valid_id(s) {
        Ok(s)
    } else {
        Err(AdminError::UnknownTenant(printable(s)))
    }
}

/// A key id as given, judged like `tenant_id`.
pub fn key_id(s: &str) -> Result<&str, AdminError> {
    if shared::store::is_key_id(s) {
        Ok(s)
    } else {
        Err(AdminError::UnknownKey(printable(s)))
    }
}

/// A webhook URL the delivery guard would accept, normalised as it will be
/// stored.
pub fn webhook_url(raw: &str, policy: UrlPolicy) -> Result<String, AdminError> {
    netguard::check_url(raw, policy)
        .map(|url| url.to_string())
        .map_err(|reason| AdminError::BadWebhookUrl {
            url: printable(raw),
            reason,
        })
}

pub use shared::domain::submit::printable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_in_range() {
        assert_eq!(parse_rpm("1"), Ok(1));
        assert_eq!(parse_rpm("100000"), Ok(100_000));
        for bad in [
            "0",
            "100001",
            "abc",
            "",
            "-1",
            "+5",
            " 5",
            "1.5",
            "99999999999",
        ] {
            assert!(parse_rpm(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_max_concurrency("1000"), Ok(1000));
        assert!(parse_max_concurrency("1001").is_err());
        assert!(parse_rpm("0").unwrap_err().contains("from 1 to 100000"));
        assert_eq!(parse_stats_minutes("1440"), Ok(1440));
        assert!(parse_stats_minutes("0").is_err());
        assert!(
            parse_stats_minutes("1441")
                .unwrap_err()
                .contains("from 1 to 1440")
        );
        assert_eq!(parse_scan_items("100000000"), Ok(100_000_000));
        assert!(parse_scan_items("0").is_err());
    }

    #[test]
    fn a_monthly_quota_may_be_zero_up_to_the_maximum() {
        assert_eq!(parse_monthly_image_quota("0"), Ok(0));
        assert_eq!(parse_monthly_image_quota("1000000000"), Ok(1_000_000_000));
        for bad in ["1000000001", "-1", "+5", "", "ten", "1e3", "4294967296"] {
            let err = parse_monthly_image_quota(bad).expect_err(bad);
            assert!(err.contains("from 0 to 1000000000"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_month_is_a_real_utc_month() {
        assert_eq!(
            parse_month("2026-02"),
            Ok(NaiveDate::from_ymd_opt(2026, 2, 1).expect("a date"))
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "+202-01",
            "2026-02-01",
            "",
            "202601",
            " 2026-01",
        ] {
            let err = parse_month(bad).expect_err(bad);
            assert!(err.contains("YYYY-MM"), "{bad}: {err}");
        }
    }

    #[test]
    fn since_is_the_start_of_a_utc_day() {
        let t = parse_since("2026-01-26").expect("a date");
        assert_eq!(shared::time::iso_millis(&t), "2026-01-26T00:00:00.000Z");
        assert!(parse_since("2028-02-29").is_ok());
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-1-5",
            "+2026-01-05",
            "2026-01-26T00:00:00Z",
            "26/01/2026",
            "yesterday",
            " 2026-01-26",
        ] {
            let err = parse_since(bad).expect_err(bad);
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }

    #[test]
    fn names_are_trimmed_and_printable() {
        assert_eq!(parse_name("  Acme  "), Ok("Acme".into()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name("a\nb").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn webhook_urls_follow_the_delivery_guard() {
        let prod = UrlPolicy::Production;
        assert!(webhook_url("https://hooks.example.com/x", prod).is_ok());
        for bad in [
            "http://10.0.0.1/x",
            "https://10.0.0.1/x",
            "http://hooks.example.com/x",
            "https://169.254.169.254/latest",
            "not a url",
        ] {
            assert!(webhook_url(bad, prod).is_err(), "{bad}");
        }
        assert!(webhook_url("http://127.0.0.1:9999/hooks", UrlPolicy::Local).is_ok());
        assert!(webhook_url("http://10.0.0.1/x", UrlPolicy::Local).is_err());
    }

    #[test]
    fn ids_of_the_wrong_shape_are_unknown() {
        assert!(tenant_id("cmkuz35wf00034rk15ycgzvce").is_ok());
        assert!(matches!(
            tenant_id("nope"),
            Err(AdminError::UnknownTenant(_))
        ));
        assert!(matches!(key_id("key_x"), Err(AdminError::UnknownKey(_))));
        assert_eq!(printable("a\nb"), "a\u{FFFD}b");
    }
}
