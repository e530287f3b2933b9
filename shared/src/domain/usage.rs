//! Usage: what a job consumed (provider calls and the model's token
//! counts), what its images cost by the configured price table, and the
//! UTC day and month it counts in. Pure: the store keeps the counts, the
//! worker meters, the views show.
//!
//! A job counts on the UTC day it was *submitted*, and its quota
//! reservation is that day's month: the reservation and the usage it turns
//! into are then always the same month's, whenever the job finishes.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::domain::{ImageSize, KeyMode};
use crate::time::Timestamp;

/// `GET /v1/usage` covers at most this many days.
pub const MAX_USAGE_DAYS: i64 = 92;

/// The largest monthly image quota an operator may set.
pub const MAX_MONTHLY_IMAGE_QUOTA: u32 = 1_000_000_000;

/// What a job's provider calls came to, summed over its attempts.
/// `None` tokens: no call reported `usageMetadata` (always, in test mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metering {
    pub provider_calls: u32,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

impl Metering {
    /// One call, with the token counts its answer reported.
    pub fn call(input_tokens: Option<u64>, output_tokens: Option<u64>) -> Metering {
        Metering {
            provider_calls: 1,
            input_tokens,
            output_tokens,
        }
    }

    /// Both together: calls add up, and so do the tokens of the calls that
    /// reported them.
    #[must_use]
    pub fn plus(self, other: Metering) -> Metering {
        let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        Metering {
            provider_calls: self.provider_calls.saturating_add(other.provider_calls),
            input_tokens: add(self.input_tokens, other.input_tokens),
            output_tokens: add(self.output_tokens, other.output_tokens),
        }
    }
}

/// The images a job holds in a month's quota counter until it ends: given
/// back if it ends without SUCCEEDED. No month: a job submitted before
/// quotas existed, which holds nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reservation {
    pub month: Option<String>,
    pub images: u8,
}

/// US dollars in millionths, so sums are exact integers.
pub type MicroUsd = u64;

pub fn usd(micro: MicroUsd) -> f64 {
    micro as f64 / 1_000_000.0
}

/// What one output image costs, per model and image size. Configuration
/// (`PRICE_TABLE`), because Google changes prices; the default is
/// Google's list price as of March 2026 (README, "Usage and quotas").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceTable {
    /// Model id → micro-dollars per image at 1K, 2K, 4K.
    prices: BTreeMap<String, [MicroUsd; 3]>,
}

/// The default table's JSON: the shape `PRICE_TABLE` takes.
pub const DEFAULT_PRICE_TABLE: &str = r#"{
  "gemini-3-pro-image": {"1K": 0.134, "2K": 0.134, "4K": 0.24},
  "gemini-3.1-flash-image": {"1K": 0.067, "2K": 0.101, "4K": 0.151}
}"#;

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable::parse(DEFAULT_PRICE_TABLE).unwrap_or(PriceTable {
            prices: BTreeMap::new(),
        })
    }
}

impl PriceTable {
    /// `{"<model>": {"1K": usd, "2K": usd, "4K": usd}, …}`: every model
    /// priced at every size, each price a number from 0 to 100 dollars.
    pub fn parse(json: &str) -> Result<PriceTable, String> {
        let raw: BTreeMap<String, BTreeMap<String, f64>> = serde_json::from_str(json)
            .map_err(|e| format!("PRICE_TABLE must be a JSON object of models: {e}"))?;
        let mut prices = BTreeMap::new();
        for (model, sizes) in raw {
            let mut row = [0; 3];
            for (size, slot) in ImageSize::ALL.iter().zip(row.iter_mut()) {
                let price = sizes.get(size.as_str()).copied().ok_or_else(|| {
                    format!(
                        "PRICE_TABLE: model {model} has no price for {}",
                        size.as_str()
                    )
                })?;
                if !(0.0..=100.0).contains(&price) {
                    return Err(format!(
                        "PRICE_TABLE: the price of {model} at {} must be 0 to 100 dollars",
                        size.as_str()
                    ));
                }
                *slot = (price * 1_000_000.0).round() as MicroUsd;
            }
            if let Some(other) = sizes
                .keys()
                .find(|s| ImageSize::parse(s.as_str()).is_none())
            {
                return Err(format!("PRICE_TABLE: model {model} names no size {other}"));
            }
            prices.insert(model, row);
        }
        Ok(PriceTable { prices })
    }

    /// The price of one image of `model` at `size`; `None` for a model the
    /// table does not know.
    pub fn per_image(&self, model: &str, size: ImageSize) -> Option<MicroUsd> {
        let index = ImageSize::ALL.iter().position(|s| *s == size)?;
        self.prices.get(model).map(|row| row[index])
    }

    /// Every model in `models` is priced: the worker refuses to start
    /// otherwise, so no success is ever counted at an unknown price.
    pub fn covers<'a>(&self, models: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        match models.into_iter().find(|m| !self.prices.contains_key(*m)) {
            Some(model) => Err(format!("PRICE_TABLE has no prices for model {model}")),
            None => Ok(()),
        }
    }

    /// What `images` images of `model` at `size` cost a job of `key_mode`:
    /// nothing in test mode.
    pub fn cost(&self, key_mode: KeyMode, model: &str, size: ImageSize, images: u8) -> MicroUsd {
        if key_mode == KeyMode::Test {
            return 0;
        }
        self.per_image(model, size).unwrap_or(0) * u64::from(images)
    }
}

/// The UTC day a job submitted at `t` counts on: `YYYY-MM-DD`.
pub fn usage_day(t: Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The UTC month whose quota a job submitted at `t` uses: `YYYY-MM`.
pub fn quota_month(t: Timestamp) -> String {
    t.format("%Y-%m").to_string()
}

/// The first instant of the UTC month after `t`'s.
pub fn next_month_start(t: Timestamp) -> Timestamp {
    let (year, month) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(t)
}

/// Whole seconds from `now` to the next month (at least 1): a
/// `QUOTA_EXCEEDED`'s `Retry-After`.
pub fn seconds_to_next_month(now: Timestamp) -> u64 {
    let left = next_month_start(now) - now;
    // Rounded up: retrying on the second given is never too early.
    let millis = left.num_milliseconds().max(1);
    (millis as u64).div_ceil(1000)
}

/// A month as `--month` and the audit name it: `YYYY-MM`.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    if raw.len() != 7 || raw.as_bytes()[4] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

/// A day as `GET /v1/usage` takes it: exactly `YYYY-MM-DD`, a real date.
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// The days a usage query covers, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    /// `from` and `to` as the query gave them: `to` defaults to `today`,
    /// `from` to the first day of `to`'s month. The message names the
    /// parameter at fault.
    pub fn of_query(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<DayRange, String> {
        let day = |name: &str, raw: &str| {
            parse_day(raw).ok_or_else(|| {
                format!("Query parameter `{name}` must be a date written YYYY-MM-DD (UTC)")
            })
        };
        let to = match to {
            Some(raw) => day("to", raw)?,
            None => today,
        };
        let from = match from {
            Some(raw) => day("from", raw)?,
            None => to.with_day(1).unwrap_or(to),
        };
        if from > to {
            return Err("Query parameter `from` must not be after `to`".into());
        }
        if (to - from).num_days() + 1 > MAX_USAGE_DAYS {
            return Err(format!(
                "Query parameters `from` and `to` may span at most {MAX_USAGE_DAYS} days"
            ));
        }
        Ok(DayRange { from, to })
    }

    /// Every day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_iso;

    fn date(raw: &str) -> NaiveDate {
        parse_day(raw).unwrap()
    }

    #[test]
    fn tokens_add_up_over_the_calls_that_reported_them() {
        let none = Metering::call(None, None);
        assert_eq!(none.plus(none).input_tokens, None);
        let total = Metering::default()
            .plus(Metering::call(Some(10), Some(1290)))
            .plus(none)
            .plus(Metering::call(Some(5), None));
        assert_eq!(total.provider_calls, 3);
        assert_eq!(total.input_tokens, Some(15));
        assert_eq!(total.output_tokens, Some(1290));
    }

    #[test]
    fn the_default_price_table_prices_the_default_models_exactly() {
        let table = PriceTable::default();
        assert_eq!(
            table.per_image("gemini-3-pro-image", ImageSize::K4),
            Some(240_000)
        );
        assert_eq!(
            table.cost(KeyMode::Live, "gemini-3-pro-image", ImageSize::K2, 3),
            402_000
        );
        assert_eq!(
            table.cost(KeyMode::Test, "gemini-3-pro-image", ImageSize::K2, 3),
            0
        );
        let defaults = crate::images::gemini::Models::default();
        table
            .covers([defaults.draft_model.as_str(), defaults.final_model.as_str()])
            .unwrap();
        assert!(table.covers(["gemini-9-image"]).is_err());
        assert!((usd(402_000) - 0.402).abs() < 1e-12);
    }

    #[test]
    fn a_price_table_must_price_every_size_within_reason() {
        assert!(PriceTable::parse(r#"{"m": {"1K": 0.1, "2K": 0.2}}"#).is_err());
        assert!(PriceTable::parse(r#"{"m": {"1K": 0.1, "2K": 0.2, "4K": -1}}"#).is_err());
        assert!(PriceTable::parse(r#"{"m": {"1K": 0.1, "2K": 0.2, "4K": 0.3, "8K": 1}}"#).is_err());
        assert!(PriceTable::parse("[]").is_err());
        let t = PriceTable::parse(r#"{"m": {"1K": 0.1, "2K": 0.2, "4K": 0.3}}"#).unwrap();
        assert_eq!(t.per_image("m", ImageSize::K1), Some(100_000));
    }

    #[test]
    fn a_job_counts_on_its_submit_day_and_month() {
        let t = parse_iso("2026-01-31T23:59:59.999Z").unwrap();
        assert_eq!(usage_day(t), "2026-01-31");
        assert_eq!(quota_month(t), "2026-01");
        assert_eq!(
            next_month_start(t),
            parse_iso("2026-02-01T00:00:00.000Z").unwrap()
        );
        // The last millisecond of the month still waits a whole second.
        assert_eq!(seconds_to_next_month(t), 1);
        let december = parse_iso("2026-12-15T12:00:00.000Z").unwrap();
        assert_eq!(
            next_month_start(december),
            parse_iso("2027-01-01T00:00:00.000Z").unwrap()
        );
        assert_eq!(seconds_to_next_month(december), (16 * 24 + 12) * 3600);
    }

    #[test]
    fn a_usage_range_defaults_to_the_month_so_far_and_refuses_what_it_cannot_answer() {
        let today = date("2026-12-01");
        let whole = DayRange::of_query(None, None, today).unwrap();
        assert_eq!((whole.from, whole.to), (today, today));
        let r = DayRange::of_query(None, Some("2026-02-20"), today).unwrap();
        assert_eq!(r.from, date("2026-02-01"));
        assert_eq!(r.days().count(), 20);
        assert_eq!(
            DayRange::of_query(Some("2026-01-01"), Some("2026-04-02"), today)
                .unwrap()
                .days()
                .count(),
            92
        );
        for (from, to, names) in [
            (Some("2026-01-01"), Some("2026-04-03"), "92 days"),
            (Some("2026-03-02"), Some("2026-03-01"), "after"),
            (Some("2026-02-30"), None, "`from`"),
            (Some("2026-1-01"), None, "`from`"),
            (None, Some("20261201"), "`to`"),
            (None, Some("+2026-12-01"), "`to`"),
            (None, Some("2026-12-01T00:00:00Z"), "`to`"),
            (None, Some(""), "`to`"),
        ] {
            let e = DayRange::of_query(from, to, today).unwrap_err();
            assert!(e.contains(names), "{from:?} {to:?}: {e}");
        }
        assert_eq!(parse_month("2026-12"), Some(date("2026-12-01")));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
    }
}
