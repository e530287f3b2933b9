//! `tenant usage ID [--month YYYY-MM]`: for each key mode, the month's
//! successful jobs, images and cost by UTC day and generation mode (the
//! daily usage items `GET /v1/usage` reads), and the month's image counter
//! against the tenant's quota. Test and live are counted apart, each
//! against the same quota, as the service admits them.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, json};
use shared::domain::usage::{DayRange, MicroUsd};
use shared::domain::{KeyMode, Mode, Scope};
use shared::store::UsageDay;
use shared::time;
use shared::views::UsageReport;

use crate::Ctx;
use crate::cli::TenantUsageArgs;
use crate::error::AdminError;
use crate::input;
use crate::output::{Output, record, table};

pub async fn run(ctx: &Ctx, args: &TenantUsageArgs) -> Result<Output, AdminError> {
    let id = input::tenant_id(&args.id)?;
    let tenant = ctx
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| AdminError::UnknownTenant(id.to_string()))?;
    let today = time::now().date_naive();
    let month = args.month.unwrap_or(today);
    let name = month_name(month);
    // The current month so far (as `GET /v1/usage` answers by default);
    // any other month whole.
    let mut range = whole_month(month);
    if (range.from..=range.to).contains(&today) {
        range.to = today;
    }
    let quota = tenant.limits.monthly_image_quota;

    let mut human = record(&[
        ("tenant id", id.to_string()),
        ("month", name.clone()),
        ("monthly image quota", crate::tenants::quota_text(quota)),
    ]);
    let mut modes = Map::new();
    for mode in KeyMode::ALL {
        let scope = Scope::new(id, mode);
        let (items, used) = tokio::try_join!(
            ctx.store.usage_days(scope, range),
            ctx.store.month_images(scope, &name)
        )?;
        let remaining = quota.map(|q| (i64::from(q) - used).max(0));
        human.push_str(&mode_text(mode, range, &items, quota, used, remaining));
        modes.insert(
            mode.as_str().to_string(),
            json!({
                "usedOrReserved": used,
                "remaining": remaining,
                "usage": UsageReport::of(mode == KeyMode::Live, range, &items),
            }),
        );
    }
    let json = json!({
        "tenantId": id,
        "month": name,
        "monthlyImageQuota": quota,
        "modes": modes,
    });
    Ok(Output::new(human, json))
}

/// Every day of `month`'s UTC month (any day of it).
pub fn whole_month(month: NaiveDate) -> DayRange {
    let from = month.with_day(1).unwrap_or(month);
    let to = from
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(from);
    DayRange { from, to }
}

/// `YYYY-MM`, as the month counter's key names it.
pub fn month_name(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

/// One key mode's section: its days with usage, a total line per
/// generation mode, and the quota line.
fn mode_text(
    mode: KeyMode,
    range: DayRange,
    items: &[UsageDay],
    quota: Option<u32>,
    used: i64,
    remaining: Option<i64>,
) -> String {
    let mut rows: Vec<Vec<String>> = items
        .iter()
        .map(|d| {
            vec![
                d.date.clone(),
                d.mode.as_str().to_string(),
                d.jobs.to_string(),
                d.images.to_string(),
                dollars(d.cost_micro_usd),
            ]
        })
        .collect();
    for generation in [Mode::Draft, Mode::Final] {
        let of_mode = || items.iter().filter(|d| d.mode == generation);
        rows.push(vec![
            "total".to_string(),
            generation.as_str().to_string(),
            of_mode().map(|d| d.jobs).sum::<u64>().to_string(),
            of_mode().map(|d| d.images).sum::<u64>().to_string(),
            dollars(of_mode().map(|d| d.cost_micro_usd).sum()),
        ]);
    }
    let quota_line = match (quota, remaining) {
        (Some(q), Some(left)) => {
            format!("quota: {q} images/month, {used} used or reserved, {left} left\n")
        }
        _ => format!("quota: none, {used} used or reserved\n"),
    };
    format!(
        "\n{} mode, {} to {}:\n{}{quota_line}",
        mode.as_str(),
        range.from.format("%Y-%m-%d"),
        range.to.format("%Y-%m-%d"),
        table(&["DATE", "MODE", "JOBS", "IMAGES", "COST USD"], &rows),
    )
}

/// Micro-dollars as dollars, exactly: at least cents, at most the
/// millionths that are not zero.
fn dollars(micro: MicroUsd) -> String {
    let fraction = format!("{:06}", micro % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    format!("{}.{fraction:0<2}", micro / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> NaiveDate {
        shared::domain::usage::parse_day(raw).expect("a date")
    }

    #[test]
    fn a_month_is_every_day_of_it() {
        let feb = whole_month(date("2028-02-17"));
        assert_eq!((feb.from, feb.to), (date("2028-02-01"), date("2028-02-29")));
        let dec = whole_month(date("2026-12-01"));
        assert_eq!(dec.to, date("2026-12-31"));
        assert_eq!(month_name(dec.from), "2026-12");
    }

    #[test]
    fn dollars_are_exact_and_show_cents_at_least() {
        assert_eq!(dollars(0), "0.00");
        assert_eq!(dollars(402_000), "0.402");
        assert_eq!(dollars(1_500_000), "1.50");
        assert_eq!(dollars(67_000), "0.067");
        assert_eq!(dollars(12_345_678_901), "12345.678901");
        assert_eq!(dollars(100_000), "0.10");
    }

    #[test]
    fn a_section_lists_days_with_usage_then_totals_and_the_quota() {
        let range = whole_month(date("2026-03-01"));
        let items = [
            UsageDay {
                date: "2026-03-02".into(),
                mode: Mode::Draft,
                jobs: 2,
                images: 3,
                cost_micro_usd: 201_000,
            },
            UsageDay {
                date: "2026-03-05".into(),
                mode: Mode::Final,
                jobs: 1,
                images: 1,
                cost_micro_usd: 134_000,
            },
        ];
        let text = mode_text(KeyMode::Live, range, &items, Some(10), 5, Some(5));
        assert_eq!(
            text,
            "\nlive mode, 2026-03-01 to 2026-03-31:\n\
             DATE        MODE   JOBS  IMAGES  COST USD\n\
             2026-03-02  draft  2     3       0.201\n\
             2026-03-05  final  1     1       0.134\n\
             total       draft  2     3       0.201\n\
             total       final  1     1       0.134\n\
             quota: 10 images/month, 5 used or reserved, 5 left\n"
        );
        let none = mode_text(KeyMode::Test, range, &[], None, 0, None);
        assert!(
            none.ends_with("quota: none, 0 used or reserved\n"),
            "{none}"
        );
    }
}
