//! `make dev`: the whole service on this machine. Starts moto (unless
//! `AWS_ENDPOINT_URL` points at an emulator already), creates the resources,
//! seeds the dev tenant and serves every route on `PORT` (3001).

use std::time::Duration;

use devstack::moto::{Moto, free_port};
use devstack::provision::{DEV_API_KEY, DEV_TENANT_ID, seed_dev_tenant};
use devstack::{Stack, StackOptions};
use shared::env::Env;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The template's sweeper schedule is 5 minutes; locally a minute, so a
/// stuck job shows up soon after it becomes stale.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// system-tests/lambda/sam-env.json names it (Secrets Manager takes a name for an ARN).
const LOCAL_CURSOR_SECRET_NAME: &str = "imagesaas-cursor-secret";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let provision_only = args.iter().any(|a| a == "--provision-only");
    let seed_samples = args.iter().any(|a| a == "--seed-samples");
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--provision-only" | "--seed-samples"))
    {
        return Err(format!(
            "unknown argument {unknown}; usage: dev-server [--provision-only] [--seed-samples]"
        )
        .into());
    }
    let env = Env::process();
    let port: u16 = env.parsed_or("PORT", 3001);
    // Before any function runs: every event of this process goes here.
    let raw_emf = env
        .optional("DEV_METRICS")
        .is_some_and(|v| v.eq_ignore_ascii_case("emf"));
    let metrics = devstack::metrics::DevMetrics::new(raw_emf);
    shared::metrics::set_sink(metrics.clone());

    let (moto, endpoint) = match env.optional("AWS_ENDPOINT_URL") {
        Some(endpoint) => (None, endpoint),
        None => {
            let moto_port = match env.parsed::<u16>("MOTO_PORT", "a port").ok().flatten() {
                Some(p) => p,
                None => free_port()?,
            };
            let moto = Moto::start(moto_port).await?;
            let endpoint = moto.endpoint.clone();
            (Some(moto), endpoint)
        }
    };

    let mut options = StackOptions::named("imagesaas");
    options.auth_cache_ttl = Duration::from_secs(env.parsed_or("AUTH_CACHE_TTL_SECONDS", 5));
    options.gemini = env.optional("GEMINI_API_KEY").map(|key| {
        let base = env
            .optional("GEMINI_BASE_URL")
            .unwrap_or_else(|| "https://generativelanguage.googleapis.com".to_string());
        (base, key)
    });
    if let Some(schedule) = env.parsed::<shared::webhooks::RetrySchedule>(
        "WEBHOOK_RETRY_SCHEDULE_SECONDS",
        "a comma list of whole seconds",
    )? {
        options.webhook_schedule = schedule;
    }
    let live = if options.gemini.is_some() {
        "Gemini"
    } else {
        "no GEMINI_API_KEY: live keys fail"
    };
    let stack = Stack::provision(&endpoint, options).await?;
    seed_dev_tenant(&stack.app.store).await?;

    // The cursor secret also as the template gives it to list-jobs: in
    // Secrets Manager, for the tools that run the function binaries
    // (`make lambda-smoke`, `sam local` with system-tests/lambda/sam-env.json), so they
    // take that cold-start path. The dev server's own App has the value.
    let cursor_secret_arn = devstack::provision::put_secret(
        &aws_sdk_secretsmanager::Client::new(&stack.sdk),
        LOCAL_CURSOR_SECRET_NAME,
        devstack::provision::LOCAL_CURSOR_SECRET,
    )
    .await?;
    let host = env
        .optional("HOST")
        .unwrap_or_else(|| "127.0.0.1".to_string());
    if seed_samples {
        devstack::provision::seed_sample_jobs(&stack.app.store).await?;
    }
    if provision_only {
        // For tools that run the functions themselves (cargo lambda watch):
        // the resources exist, the emulator keeps running only if it is
        // someone else's (AWS_ENDPOINT_URL).
        println!("TABLE_NAME={}", stack.options.table);
        println!("QUEUE_URL={}", stack.queue_url);
        println!("RESULTS_BUCKET={}", stack.options.bucket);
        println!("CURSOR_SECRET_ARN={cursor_secret_arn}");
        println!("DELIVERY_QUEUE_URL={}", stack.delivery_queue_url);
        println!("DELIVERY_DLQ_URL={}", stack.delivery_dlq_url);
        return Ok(());
    }

    let webhook = match env.optional("DEV_WEBHOOK_URL") {
        Some(url) => {
            shared::netguard::check_url(&url, stack.options.webhook_url_policy)
                .map_err(|e| format!("DEV_WEBHOOK_URL {e}"))?;
            let secret = env
                .optional("DEV_WEBHOOK_SECRET")
                .unwrap_or_else(shared::webhooks::new_secret);
            stack
                .app
                .store
                .set_tenant_webhook(DEV_TENANT_ID, Some((&url, &secret)))
                .await?;
            Some((url, secret))
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on port {port}: {e} (set PORT to use another)"))?;
    println!("Image SaaS API (local stack)");
    println!("  API        http://localhost:{port}   (try: curl http://localhost:{port}/health)");
    println!(
        "  AWS        {endpoint}   (moto: DynamoDB table {}, SQS queue {}, S3 bucket {})",
        stack.options.table, stack.options.queue, stack.options.bucket
    );
    println!(
        "  docs       http://localhost:{port}/docs   (OpenAPI: http://localhost:{port}/openapi.yaml)"
    );
    println!("  dev key    {DEV_API_KEY}   (tenant {DEV_TENANT_ID})");
    println!(
        "  worker     draining the jobs queue (test keys: offline renderer; live keys: {live})"
    );
    println!(
        "  sweeper    every {} s, requeues jobs stuck for {} min",
        SWEEP_EVERY.as_secs(),
        sweeper::DEFAULT_STALE_AFTER.as_secs() / 60
    );
    match &webhook {
        Some((url, secret)) => println!("  webhooks   dev tenant -> {url}   secret {secret}"),
        None => println!(
            "  webhooks   reading the table's stream (set DEV_WEBHOOK_URL to receive the dev tenant's)"
        ),
    }
    println!(
        "  retries    webhook attempts after {} s (WEBHOOK_RETRY_SCHEDULE_SECONDS)",
        stack.options.webhook_schedule.to_env_value()
    );
    println!(
        "  metrics    {}",
        if raw_emf {
            "every EMF line the functions emit (DEV_METRICS=emf)"
        } else {
            "one line a minute of what the functions emit (DEV_METRICS=emf: every EMF line)"
        }
    );
    println!("Ctrl-C stops everything.");
    let server = tokio::spawn(devstack::server::serve(listener, stack.app.clone()));
    let worker = stack.spawn_worker();
    let webhooks = stack.spawn_webhooks();
    let sweeper = stack.spawn_sweeper(SWEEP_EVERY, sweeper::DEFAULT_STALE_AFTER);
    let printer = metrics.spawn_printer();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = terminate.recv() => {}
    }
    server.abort();
    worker.abort();
    webhooks.abort();
    sweeper.abort();
    printer.abort();
    if let Some(moto) = moto {
        moto.stop().await;
    }
    println!("stopped");
    Ok(())
}
