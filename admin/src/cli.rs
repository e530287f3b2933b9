//! The command line: every command and flag with its help text. Values
//! that can be judged without the table (limits, key modes) are parsed here,
//! so a bad one is refused before any AWS call.

use chrono::NaiveDate;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::domain::{KeyMode, TenantLimits};
use shared::time::Timestamp;

use crate::input;

/// Administer Image SaaS tenants, API keys and webhook deliveries; read the
/// service's figures.
///
/// Works on the DynamoDB table the standard AWS configuration reaches
/// (profile, region, AWS_ENDPOINT_URL for the local stack). Human-readable
/// output by default; `--json` for scripts.
#[derive(Debug, Parser)]
#[command(name = "imagesaas-admin", version, arg_required_else_help = true)]
pub struct Cli {
    /// The service's DynamoDB table (default: $TABLE_NAME).
    #[arg(long, global = true, value_name = "NAME")]
    pub table: Option<String>,

    /// Print JSON instead of tables (errors too, as {"error": "..."} on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, show and update tenants.
    #[command(subcommand, arg_required_else_help = true)]
    Tenant(TenantCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand, arg_required_else_help = true)]
    Key(KeyCommand),
    /// Redeliver a job's webhook event; list events that failed for good.
    #[command(subcommand, arg_required_else_help = true)]
    Webhook(WebhookCommand),
    /// The service's figures for the last N minutes, from the table and the
    /// queues.
    ///
    /// What the metrics give, read back: jobs admitted, jobs finished (by
    /// status and failure code) and the failure rate, queue-wait and attempt
    /// times, webhook attempts and failures, the queues' depths and the
    /// oldest waiting job.
    ///
    /// Every tenant at once, so it scans the whole table: the scan reads
    /// every item (the filter only trims what comes back), eventually
    /// consistent, which costs about (table size / 4 KB) / 2 read units per
    /// run, and stops after --max-items items with a warning. The figures
    /// the table cannot give (refused submits, provider errors, sweeper
    /// requeues, the worker's own generation time) are listed as such.
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The window: this many minutes up to now (1 to 1440).
    #[arg(
        long,
        value_name = "N",
        value_parser = input::parse_stats_minutes,
        allow_negative_numbers = true,
        default_value_t = 15
    )]
    pub minutes: u32,
    /// Stop the scan after reading this many items (1 to 100000000); the
    /// figures then cover only part of the table, and the output says so.
    #[arg(
        long,
        value_name = "N",
        value_parser = input::parse_scan_items,
        allow_negative_numbers = true,
        default_value_t = 100_000
    )]
    pub max_items: u32,
    /// The jobs queue (default: $QUEUE_URL; the stack's `JobsQueueUrl`).
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
    /// The jobs dead-letter queue (default: $JOBS_DLQ_URL).
    #[arg(long, value_name = "URL")]
    pub jobs_dlq_url: Option<String>,
    /// The webhook delivery queue (default: $DELIVERY_QUEUE_URL; the
    /// stack's `DeliveryQueueUrl`).
    #[arg(long, value_name = "URL")]
    pub delivery_queue_url: Option<String>,
    /// The webhook delivery dead-letter queue (default: $DELIVERY_DLQ_URL).
    #[arg(long, value_name = "URL")]
    pub delivery_dlq_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its id (and its webhook secret, once).
    Create(TenantCreate),
    /// List every tenant (id, name, creation time).
    List,
    /// Show a tenant: limits (the monthly image quota too), webhook, active
    /// jobs and job counts by status.
    Show {
        /// The tenant id (`c` + 24 characters).
        #[arg(value_name = "TENANT_ID")]
        id: String,
    },
    /// Change a tenant's limits or webhook; limits apply to its next submit.
    Update(TenantUpdateArgs),
    /// A month's usage, test and live: successful jobs, images and cost by
    /// day and generation mode, and the images used or reserved against the
    /// monthly quota.
    Usage(TenantUsageArgs),
    /// Check a tenant's active-job counter against its QUEUED, RUNNING and
    /// RETRYING jobs and its month image counter against those jobs'
    /// reservations and the month's SUCCEEDED jobs, compare the daily usage
    /// with the SUCCEEDED jobs, and list jobs stuck past their lease or
    /// waiting too long. Exits 3 if something is wrong and was not repaired.
    Audit(TenantAuditArgs),
}

#[derive(Debug, Args)]
pub struct TenantUsageArgs {
    /// The tenant id.
    #[arg(value_name = "TENANT_ID")]
    pub id: String,
    /// The UTC month (default: the current one).
    #[arg(long, value_name = "YYYY-MM", value_parser = input::parse_month)]
    pub month: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct TenantAuditArgs {
    /// The tenant id.
    #[arg(value_name = "TENANT_ID")]
    pub id: String,
    /// Repair what the audit finds: set the counters to the recount (a
    /// conditional write: refused if the tenant changed meanwhile) and send
    /// stuck jobs to the jobs queue again (the worker runs a job at most
    /// once per claim, so a second message is harmless). Daily usage that
    /// disagrees with the jobs is reported, never changed.
    #[arg(long)]
    pub fix: bool,
    /// Check this UTC month's image counter and usage too (the current
    /// month's are always checked).
    #[arg(long, value_name = "YYYY-MM", value_parser = input::parse_month)]
    pub month: Option<NaiveDate>,
    /// A QUEUED or RETRYING job untouched for this many minutes is stuck
    /// (1 to 10080).
    #[arg(long, value_name = "MINUTES", value_parser = input::parse_stale_minutes, default_value_t = 30)]
    pub stale_after: u32,
    /// The jobs queue, for `--fix` (default: $QUEUE_URL).
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct TenantCreate {
    /// A display name for operators (1 to 100 characters).
    #[arg(long, value_parser = input::parse_name)]
    pub name: String,
    /// Accepted submits per clock minute (1 to 100000).
    #[arg(long, value_parser = input::parse_rpm, allow_negative_numbers = true, default_value_t = TenantLimits::default().rpm)]
    pub rpm: u32,
    /// Jobs that may be queued or running at once (1 to 1000).
    #[arg(
        long,
        value_parser = input::parse_max_concurrency,
        allow_negative_numbers = true,
        default_value_t = TenantLimits::default().max_concurrency
    )]
    pub max_concurrency: u32,
    /// Images the tenant may generate per UTC month in each key mode (0 to
    /// 1000000000; 0 refuses every submit). Default: no quota.
    #[arg(long, value_name = "N", value_parser = input::parse_monthly_image_quota, allow_negative_numbers = true)]
    pub monthly_image_quota: Option<u32>,
    /// Where job events are POSTed (https, public host; the local stack
    /// also allows http to loopback). A signing secret is made and printed.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct TenantUpdateArgs {
    /// The tenant id.
    #[arg(value_name = "TENANT_ID")]
    pub id: String,
    /// New submits-per-minute limit (1 to 100000).
    #[arg(long, value_parser = input::parse_rpm, allow_negative_numbers = true)]
    pub rpm: Option<u32>,
    /// New limit of jobs queued or running at once (1 to 1000).
    #[arg(long, value_parser = input::parse_max_concurrency, allow_negative_numbers = true)]
    pub max_concurrency: Option<u32>,
    /// New monthly image quota per key mode (0 to 1000000000; 0 refuses
    /// every submit). Lowering it below what is used this month refuses new
    /// submits only.
    #[arg(
        long,
        value_name = "N",
        value_parser = input::parse_monthly_image_quota,
        allow_negative_numbers = true,
        conflicts_with = "no_quota"
    )]
    pub monthly_image_quota: Option<u32>,
    /// Remove the monthly image quota (the month's count is kept).
    #[arg(long)]
    pub no_quota: bool,
    /// Send webhooks to this URL; the current secret is kept (a new one is
    /// made and printed if the tenant had none).
    #[arg(long, value_name = "URL", conflicts_with = "no_webhook")]
    pub webhook_url: Option<String>,
    /// Stop sending webhooks; the URL and secret are deleted.
    #[arg(long)]
    pub no_webhook: bool,
    /// Replace the webhook secret with a new one (printed once).
    #[arg(long, conflicts_with = "no_webhook")]
    pub rotate_webhook_secret: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; the full key is printed this once only.
    Create {
        /// The tenant the key authenticates as.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        /// `test` keys render offline; `live` keys call Gemini.
        #[arg(long, value_enum)]
        mode: ModeArg,
    },
    /// List a tenant's keys (previews only, never a full key).
    List {
        /// The tenant whose keys to list.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
    },
    /// Revoke a key by its id; the API refuses it within
    /// AUTH_CACHE_TTL_SECONDS.
    Revoke {
        /// The key id (`key_` + 20 characters) from `key create` or `key list`.
        #[arg(value_name = "KEY_ID")]
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Send a SUCCEEDED, FAILED or CANCELED job's event again now: same
    /// event id, the whole retry schedule (as `POST
    /// /v1/jobs/{jobId}/deliveries`). The job is looked up in the tenant's
    /// test and live modes.
    Redeliver(WebhookRedeliverArgs),
    /// List the tenant's events that failed for good, test and live, oldest
    /// first: retries exhausted, `410 Gone`, a refused URL or no target.
    Failed {
        /// The tenant whose failed events to list.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        /// Only events that failed on or after this UTC day (from its start).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = input::parse_since)]
        since: Option<Timestamp>,
    },
}

#[derive(Debug, Args)]
pub struct WebhookRedeliverArgs {
    /// The job id (`c` + 24 characters).
    #[arg(value_name = "JOB_ID")]
    pub job_id: String,
    /// The tenant the job belongs to.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// The webhook delivery queue (default: $DELIVERY_QUEUE_URL).
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Test,
    Live,
}

impl From<ModeArg> for KeyMode {
    fn from(m: ModeArg) -> KeyMode {
        match m {
            ModeArg::Test => KeyMode::Test,
            ModeArg::Live => KeyMode::Live,
        }
    }
}

/// What parsing the command line came to.
pub enum Parsed {
    Run(Cli),
    /// Help or version was asked for (or nothing given): clap prints it.
    Exit(clap::Error),
    /// A usage error, as one line.
    Invalid(String),
}

pub fn parse() -> Parsed {
    match Cli::try_parse() {
        Ok(cli) => Parsed::Run(cli),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Parsed::Exit(e),
            _ => Parsed::Invalid(one_line(&e.to_string())),
        },
    }
}

/// clap's message without its usage block and hint, on one line, so that
/// every failure of this tool is a single line on stderr.
fn one_line(rendered: &str) -> String {
    let text = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect::<Vec<_>>()
        .join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_become_one_line() {
        let err = Cli::try_parse_from(["imagesaas-admin", "tenant", "create", "--rpm", "abc"])
            .expect_err("rpm abc is refused");
        let line = one_line(&err.to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--rpm"), "{line}");
        let err = Cli::try_parse_from(["imagesaas-admin", "tenant", "create"])
            .expect_err("name is required");
        let line = one_line(&err.to_string());
        assert!(line.contains("--name"), "{line}");
    }

    #[test]
    fn webhook_commands_parse() {
        let cli = Cli::try_parse_from([
            "imagesaas-admin",
            "webhook",
            "failed",
            "--tenant",
            "cmkuz35wf00034rk15ycgzvce",
            "--since",
            "2026-01-26",
        ])
        .expect("a valid command line");
        let Command::Webhook(WebhookCommand::Failed { since, .. }) = cli.command else {
            panic!("webhook failed: {cli:?}");
        };
        assert_eq!(
            since.map(|t| shared::time::iso_millis(&t)).as_deref(),
            Some("2026-01-26T00:00:00.000Z")
        );
        let err = Cli::try_parse_from([
            "imagesaas-admin",
            "webhook",
            "failed",
            "--tenant",
            "cmkuz35wf00034rk15ycgzvce",
            "--since",
            "26/01/2026",
        ])
        .expect_err("not a YYYY-MM-DD date");
        assert!(one_line(&err.to_string()).contains("--since"));
        let err = Cli::try_parse_from(["imagesaas-admin", "webhook", "redeliver", "cjob"])
            .expect_err("--tenant is required");
        assert!(one_line(&err.to_string()).contains("--tenant"));
    }

    #[test]
    fn quota_flags_parse_and_removal_conflicts_with_setting_one() {
        let id = "cmkuz35wf00034rk15ycgzvce";
        let cli = Cli::try_parse_from([
            "imagesaas-admin",
            "tenant",
            "update",
            id,
            "--monthly-image-quota",
            "0",
        ])
        .expect("0 is a quota");
        let Command::Tenant(TenantCommand::Update(args)) = cli.command else {
            panic!("tenant update: {cli:?}");
        };
        assert_eq!(args.monthly_image_quota, Some(0));
        let parsed = Cli::try_parse_from([
            "imagesaas-admin",
            "tenant",
            "update",
            id,
            "--no-quota",
            "--monthly-image-quota",
            "5",
        ]);
        assert!(parsed.is_err());
        let cli = Cli::try_parse_from([
            "imagesaas-admin",
            "tenant",
            "usage",
            id,
            "--month",
            "2026-02",
        ])
        .expect("a month");
        let Command::Tenant(TenantCommand::Usage(args)) = cli.command else {
            panic!("tenant usage: {cli:?}");
        };
        assert_eq!(args.month, NaiveDate::from_ymd_opt(2026, 2, 1));
        let err = Cli::try_parse_from([
            "imagesaas-admin",
            "tenant",
            "audit",
            id,
            "--month",
            "2026-2",
        ])
        .expect_err("not YYYY-MM");
        assert!(one_line(&err.to_string()).contains("--month"));
    }

    #[test]
    fn stats_defaults_to_15_minutes_and_bounds_the_window() {
        let cli = Cli::try_parse_from(["imagesaas-admin", "stats"]).expect("no flags needed");
        let Command::Stats(args) = cli.command else {
            panic!("stats: {cli:?}");
        };
        assert_eq!((args.minutes, args.max_items), (15, 100_000));
        assert!(args.queue_url.is_none() && args.delivery_dlq_url.is_none());
        let cli = Cli::try_parse_from([
            "imagesaas-admin",
            "stats",
            "--minutes",
            "1440",
            "--max-items",
            "10",
            "--json",
        ])
        .expect("a day, ten items");
        assert!(cli.json);
        let Command::Stats(args) = cli.command else {
            panic!("stats: {cli:?}");
        };
        assert_eq!((args.minutes, args.max_items), (1440, 10));
        let help = Cli::command()
            .find_subcommand_mut("stats")
            .expect("stats")
            .render_long_help()
            .to_string();
        assert!(
            help.contains("(table size / 4 KB) / 2 read units"),
            "the help states the cost: {help}"
        );
        for bad in ["0", "1441", "-5", "15m"] {
            let err =
                Cli::try_parse_from(["imagesaas-admin", "stats", "--minutes", bad]).expect_err(bad);
            let line = one_line(&err.to_string());
            assert!(
                line.contains("--minutes") && line.contains("from 1 to 1440"),
                "{line}"
            );
        }
    }

    #[test]
    fn webhook_removal_conflicts_with_setting_one() {
        let parsed = Cli::try_parse_from([
            "imagesaas-admin",
            "tenant",
            "update",
            "cmkuz35wf00034rk15ycgzvce",
            "--no-webhook",
            "--webhook-url",
            "https://example.com/h",
        ]);
        assert!(parsed.is_err());
    }
}
