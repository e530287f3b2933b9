//! Creating the resources the SAM template declares, on the emulated AWS,
//! and seeding the dev tenant. Every step is idempotent: re-running `make
//! dev` against the same emulator keeps what is there.

use aws_sdk_dynamodb::types::TimeToLiveSpecification;
use shared::domain::{KeyMode, Scope, Tenant, TenantLimits};
use shared::store::{CreateOutcome, KeyCreateOutcome, NewApiKey, Store, schema};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const DEV_TENANT_ID: &str = "cdevtenant000000000000000";
pub const DEV_API_KEY: &str = "img_test_dev_123456789";
/// The worker's Lambda timeout; the queue's visibility timeout is 6× it.
pub const WORKER_TIMEOUT_SECS: u32 = 180;
pub const MAX_RECEIVE_COUNT: u32 = 10;
/// The listing cursors' HMAC key in the local stack (never a deployed one:
/// the template generates its own in Secrets Manager).
pub const LOCAL_CURSOR_SECRET: &str = "local-stack-cursor-secret";

fn err<E: std::error::Error + 'static>(what: &str, e: E) -> BoxError {
    format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(e)
    )
    .into()
}

/// The jobs table with both listing indexes, the stream and TTL.
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), BoxError> {
    let def = schema::table_definition();
    let created = ddb
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(def.attributes))
        .set_key_schema(Some(def.key_schema))
        .set_global_secondary_indexes(Some(def.indexes))
        .billing_mode(def.billing_mode)
        .stream_specification(def.stream)
        .send()
        .await;
    match created {
        Ok(_) => {
            ddb.update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(schema::TTL_ATTRIBUTE)
                        .build()
                        .map_err(|e| err("TTL specification", e))?,
                )
                .send()
                .await
                .map_err(|e| err("UpdateTimeToLive", e))?;
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(err("CreateTable", e)),
    }
}

/// The jobs queue and its dead-letter queue; returns the jobs queue URL.
pub async fn create_queues(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, BoxError> {
    let (url, _) =
        create_queue_with_dlq(sqs, name, WORKER_TIMEOUT_SECS * 6, MAX_RECEIVE_COUNT, 4).await?;
    Ok(url)
}

/// The webhook delivery queue and its dead-letter queue, as the template
/// declares them: messages kept 4 days (the whole retry schedule is about
/// 28 hours); the redrive is only a safety net for messages the sender
/// crashes on, since the sender moves exhausted events itself.
pub async fn create_delivery_queues(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, String), BoxError> {
    create_queue_with_dlq(
        sqs,
        &format!("{name}-webhook-deliveries"),
        WEBHOOK_SENDER_TIMEOUT_SECS * 6,
        DELIVERY_MAX_RECEIVE_COUNT,
        4,
    )
    .await
}

/// The sender's function timeout in the template.
pub const WEBHOOK_SENDER_TIMEOUT_SECS: u32 = 30;
/// Receives of one delivery message before the queue gives up on it: above
/// any schedule's attempts (`RetrySchedule` allows at most 20 delays).
pub const DELIVERY_MAX_RECEIVE_COUNT: u32 = 50;

/// A queue (`visibility` seconds, `retention_days`) whose messages move to
/// `<name>-dlq` after `max_receive` receives; both URLs.
async fn create_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility: u32,
    max_receive: u32,
    retention_days: u32,
) -> Result<(String, String), BoxError> {
    use aws_sdk_sqs::types::QueueAttributeName as Attr;
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(Attr::MessageRetentionPeriod, (14 * 24 * 3600).to_string())
        .send()
        .await
        .map_err(|e| err("CreateQueue (DLQ)", e))?
        .queue_url
        .ok_or("CreateQueue returned no URL")?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(Attr::QueueArn)
        .send()
        .await
        .map_err(|e| err("GetQueueAttributes", e))?
        .attributes
        .and_then(|mut a| a.remove(&Attr::QueueArn))
        .ok_or("the DLQ has no ARN")?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receive,
    });
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(Attr::VisibilityTimeout, visibility.to_string())
        .attributes(
            Attr::MessageRetentionPeriod,
            (retention_days * 24 * 3600).to_string(),
        )
        .attributes(Attr::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| err("CreateQueue", e))?
        .queue_url
        .ok_or("CreateQueue returned no URL")?;
    Ok((url, dlq_url))
}

/// The webhooks function's on-failure destination: stream records whose
/// deliveries exhausted their retries.
pub async fn create_failure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<String, BoxError> {
    sqs.create_queue()
        .queue_name(format!("{name}-webhook-failures"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod,
            (14 * 24 * 3600).to_string(),
        )
        .send()
        .await
        .map_err(|e| err("CreateQueue (webhook failures)", e))?
        .queue_url
        .ok_or_else(|| "CreateQueue returned no URL".into())
}

/// The results bucket.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<(), BoxError> {
    match s3.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(err("CreateBucket", e)),
    }
}

/// A Secrets Manager secret holding `value` (created, or given a new
/// version if it exists); returns its ARN, what the template passes to a
/// function as `<NAME>_ARN`.
pub async fn put_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> Result<String, BoxError> {
    match secrets
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(created) => created
            .arn
            .ok_or_else(|| format!("CreateSecret {name}: no ARN in the answer").into()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            let updated = secrets
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| err("PutSecretValue", e))?;
            updated
                .arn
                .ok_or_else(|| format!("PutSecretValue {name}: no ARN in the answer").into())
        }
        Err(e) => Err(err("CreateSecret", e)),
    }
}

/// A tenant with these limits and the given key (stored hashed), written
/// by the same store calls as `imagesaas-admin`, so both show up in `tenant
/// list` and `key list`. Idempotent: an existing tenant keeps its counters
/// and an existing key stays as it is; a tenant or key stored by older code
/// (before the directory and key ids) is listed now.
pub async fn seed_tenant(
    store: &Store,
    tenant_id: &str,
    name: &str,
    api_key: &str,
    limits: TenantLimits,
) -> Result<(), BoxError> {
    let key = NewApiKey::for_raw_key(tenant_id, api_key)
        .ok_or("seed key is not a well-formed API key")?;
    let tenant = Tenant {
        id: tenant_id.to_string(),
        name: name.to_string(),
        limits,
        webhook_url: None,
        webhook_secret: None,
    };
    if store.create_tenant(&tenant).await? == CreateOutcome::AlreadyExists {
        store.ensure_tenant_listed(&tenant).await?;
    }
    match store.create_api_key(&key).await? {
        KeyCreateOutcome::Created => {}
        KeyCreateOutcome::AlreadyExists => {
            if store.key_id_of(&key.hash).await?.is_none() {
                // `false` means another tenant holds this key: left alone,
                // as before.
                store.adopt_unlisted_key(&key).await?;
            }
        }
        KeyCreateOutcome::UnknownTenant => {
            return Err(format!("tenant {tenant_id} vanished while being seeded").into());
        }
    }
    Ok(())
}

/// The dev tenant of `make dev` and its key ([`DEV_TENANT_ID`],
/// [`DEV_API_KEY`]), with the default limits; idempotent as
/// [`seed_tenant`].
pub async fn seed_dev_tenant(store: &Store) -> Result<(), BoxError> {
    seed_tenant(
        store,
        DEV_TENANT_ID,
        "Dev tenant",
        DEV_API_KEY,
        TenantLimits::default(),
    )
    .await
}

/// A draft, test-key job of the given tenant and status, created and last
/// touched at `at`: what seeding, planting and the benchmarks write.
pub fn test_job(
    id: &str,
    tenant_id: &str,
    status: shared::domain::JobStatus,
    prompt: &str,
    at: shared::time::Timestamp,
) -> shared::domain::Job {
    use shared::domain::{AspectRatio, Job, Mode};
    Job {
        id: id.to_string(),
        tenant_id: tenant_id.to_string(),
        status,
        prompt: prompt.into(),
        mode: Mode::Draft,
        input_image_url: None,
        input_image_urls: Vec::new(),
        options: shared::domain::GenerationOptions::default(),
        aspect_ratio: AspectRatio::DEFAULT,
        key_mode: KeyMode::Test,
        result_urls: Vec::new(),
        images: Vec::new(),
        error: None,
        attempts: 0,
        created_at: at,
        updated_at: at,
        webhook_url: None,
        deadline_at: None,
        // Planted, not submitted: it reserved nothing in any month.
        quota_month: None,
        metering: shared::domain::Metering::default(),
        cost_micro_usd: 0,
    }
}

/// The jobs the sample events in `events/` refer to (QUEUED, dev tenant):
/// `get-job.json` and `worker-sqs.json` use the first, `cancel-job.json` the
/// second. Idempotent.
pub const SAMPLE_JOB_IDS: [&str; 2] = ["cmkuz35wf00034rk15ycgzvce", "cmkuz35wf00034rk15ycgzvcf"];

pub async fn seed_sample_jobs(store: &Store) -> Result<(), BoxError> {
    use shared::domain::JobStatus;
    use shared::store::{NewJob, SubmitOutcome};
    let limits = store
        .get_tenant(DEV_TENANT_ID)
        .await?
        .ok_or("seed the dev tenant before its sample jobs")?
        .limits;
    for id in SAMPLE_JOB_IDS {
        if store
            .get_job(Scope::new(DEV_TENANT_ID, KeyMode::Test), id)
            .await?
            .is_some()
        {
            continue;
        }
        let now = shared::time::now();
        let job = test_job(
            id,
            DEV_TENANT_ID,
            JobStatus::Queued,
            "A cute cat sitting on a couch",
            now,
        );
        let new = NewJob {
            job: &job,
            idempotency: None,
            limits,
            minute: now.timestamp().div_euclid(60),
        };
        match store.create_job(&new).await? {
            SubmitOutcome::Created => {}
            other => return Err(format!("seeding sample job {id}: {other:?}").into()),
        }
    }
    Ok(())
}

/// Writes a test-key job exactly as a failure would have left it, with the
/// concurrency slot it holds and no message in the queue: `status`, last
/// touched `age` ago, and for RUNNING a lease that ended `age` ago. What the
/// audit and the sweeper exist to find.
pub async fn plant_lost_job(
    store: &Store,
    tenant_id: &str,
    status: shared::domain::JobStatus,
    age: std::time::Duration,
) -> Result<String, BoxError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use shared::domain::JobStatus;
    let at = shared::time::now() - age;
    let mut job = test_job(
        &shared::ids::new_id(),
        tenant_id,
        status,
        "A lighthouse at dusk",
        at,
    );
    job.attempts = u32::from(status == JobStatus::Running);
    let mut item = shared::store::job_to_item(&job);
    if status == JobStatus::Running {
        item.insert(
            "leaseUntil".into(),
            AttributeValue::N(at.timestamp_millis().to_string()),
        );
    }
    let slot = aws_sdk_dynamodb::types::Update::builder()
        .table_name(store.table())
        .key(schema::PK, AttributeValue::S(schema::scope_pk(job.scope())))
        .key(schema::SK, AttributeValue::S(schema::COUNTERS.into()))
        .update_expression("SET activeJobs = activeJobs + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .map_err(|e| err("building the slot update", e))?;
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
        .build()
        .map_err(|e| err("building the job put", e))?;
    store
        .client()
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
        )
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(slot)
                .build(),
        )
        .send()
        .await
        .map_err(|e| err("planting a lost job", e))?;
    Ok(job.id)
}
