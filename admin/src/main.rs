//! `imagesaas-admin`: operators' tool for tenants, limits and usage,
//! webhooks (and their deliveries), API keys and the service's figures
//! (`stats`), working on the service's DynamoDB table directly (there is
//! no admin API to attack). Parses the arguments, builds the AWS client
//! once and hands the command to its module.

mod audit;
mod cli;
mod error;
mod input;
mod keygen;
mod keys;
mod output;
mod stats;
mod tenants;
mod usage;
mod webhooks;

use std::process::ExitCode;

use shared::env::Env;
use shared::netguard::UrlPolicy;
use shared::store::Store;

use crate::cli::{Cli, Command, Parsed};
use crate::error::AdminError;
use crate::output::Output;

/// What every command works with.
pub struct Ctx {
    pub store: Store,
    /// For the clients only some commands need (the jobs and delivery
    /// queues).
    pub sdk: aws_config::SdkConfig,
    /// Which webhook URLs are acceptable (`LOCAL_MODE`: the local stack's).
    pub url_policy: UrlPolicy,
}

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Parsed::Run(cli) => cli,
        Parsed::Exit(help) => help.exit(),
        Parsed::Invalid(message) => {
            output::print_error(&message, std::env::args().any(|a| a == "--json"));
            return ExitCode::from(2);
        }
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AdminError::Runtime)
        .and_then(|rt| rt.block_on(run(&cli)));
    match result {
        Ok(out) => {
            out.print(cli.json);
            if out.needs_attention {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            output::print_error(&e.to_string(), cli.json);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<Output, AdminError> {
    let env = Env::process();
    let table = cli
        .table
        .clone()
        .or_else(|| env.optional("TABLE_NAME"))
        .filter(|t| !t.is_empty())
        .ok_or(AdminError::NoTable)?;
    let sdk = shared::sdk::sdk_config().await;
    if sdk.region().is_none() {
        return Err(AdminError::NoRegion);
    }
    let ctx = Ctx {
        store: Store::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        url_policy: env.url_policy(),
        sdk,
    };
    match &cli.command {
        Command::Tenant(command) => tenants::run(&ctx, command).await,
        Command::Key(command) => keys::run(&ctx, command).await,
        Command::Webhook(command) => webhooks::run(&ctx, command).await,
        Command::Stats(args) => stats::run(&ctx, args).await,
    }
}
