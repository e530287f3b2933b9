//! What Lambda's DynamoDB-stream event source does, on this machine: read
//! the jobs table's stream (DynamoDB Streams API on moto), hand batches to
//! the webhooks handler as the Lambda event, retry the records it reports as
//! failed (bounded, with backoff), and send records that exhaust their
//! retries to the on-failure queue, so nothing is dropped silently.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use webhooks::Notifier;

/// Retries of a failing record after the first try, as the template's
/// `MaximumRetryAttempts`.
pub const MAX_RETRIES: u32 = 3;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct StreamSource {
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    pub failure_queue_url: String,
    pub retry_delay: Duration,
}

impl StreamSource {
    pub fn new(
        sdk: &SdkConfig,
        table: String,
        failure_queue_url: String,
        retry_delay: Duration,
    ) -> StreamSource {
        StreamSource {
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            table,
            failure_queue_url,
            retry_delay,
        }
    }

    /// Follows every shard of the table's stream until the task is dropped.
    pub async fn run(self, notifier: Arc<Notifier>) {
        let mut iterators: HashMap<String, Option<String>> = HashMap::new();
        loop {
            if let Err(e) = self.poll_once(&notifier, &mut iterators).await {
                tracing::warn!(error = %e, "reading the table's stream failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn poll_once(
        &self,
        notifier: &Notifier,
        iterators: &mut HashMap<String, Option<String>>,
    ) -> Result<(), BoxError> {
        let (arn, pages) = self.pull(iterators).await?;
        for page in pages {
            let records: Vec<EventRecord> =
                page.into_iter().map(|r| to_event_record(r, &arn)).collect();
            self.deliver(notifier, records).await;
        }
        Ok(())
    }

    /// Every record the stream holds now, from the trim horizon, in order
    /// per shard: what the tests replay the table's history from.
    pub async fn read_all(&self) -> Result<Vec<Record>, BoxError> {
        let mut iterators = HashMap::new();
        let mut all = Vec::new();
        loop {
            let (_, pages) = self.pull(&mut iterators).await?;
            if pages.is_empty() {
                return Ok(all);
            }
            all.extend(pages.into_iter().flatten());
        }
    }

    /// One page of records from each shard of the table's stream, each
    /// followed from where `iterators` left it (a new shard from its trim
    /// horizon), and the stream's ARN. Empty pages are left out.
    async fn pull(
        &self,
        iterators: &mut HashMap<String, Option<String>>,
    ) -> Result<(String, Vec<Vec<Record>>), BoxError> {
        let table = self
            .ddb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await?;
        let arn = table
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or("the table has no stream")?;
        let stream = self
            .streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await?;
        for shard in stream
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default()
        {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            if !iterators.contains_key(&shard_id) {
                let it = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&arn)
                    .shard_id(&shard_id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await?
                    .shard_iterator;
                iterators.insert(shard_id.clone(), it);
            }
        }
        let mut pages = Vec::new();
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let out = self
                .streams
                .get_records()
                .shard_iterator(current)
                .limit(100)
                .send()
                .await?;
            *iterator = out.next_shard_iterator;
            let page = out.records.unwrap_or_default();
            if !page.is_empty() {
                pages.push(page);
            }
        }
        Ok((arn, pages))
    }

    /// One batch, with the stream's bounded retries of failed records.
    async fn deliver(&self, notifier: &Notifier, mut records: Vec<EventRecord>) {
        for attempt in 0..=MAX_RETRIES {
            let mut event = Event::default();
            event.records = records.clone();
            let response = notifier.process(event).await;
            let failed: Vec<Option<String>> = response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            records.retain(|r| failed.contains(&r.change.sequence_number));
            if records.is_empty() {
                return;
            }
            if attempt < MAX_RETRIES {
                tokio::time::sleep(self.retry_delay * 2u32.pow(attempt)).await;
            }
        }
        for record in records {
            let body = serde_json::json!({
                "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": MAX_RETRIES + 1},
                "record": record,
            });
            if let Err(e) = self
                .sqs
                .send_message()
                .queue_url(&self.failure_queue_url)
                .message_body(body.to_string())
                .send()
                .await
            {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not record a failed webhook");
            } else {
                tracing::warn!(sequence = ?record.change.sequence_number, "webhook record sent to the failure queue");
            }
        }
    }
}

/// A Streams API record in the shape Lambda hands to the function.
pub fn to_event_record(r: Record, stream_arn: &str) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_id = r.event_id.unwrap_or_default();
    record.event_name = r
        .event_name
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    record.event_source = Some("aws:dynamodb".into());
    record.event_version = r.event_version;
    record.event_source_arn = Some(stream_arn.to_string());
    record.aws_region = r.aws_region.unwrap_or_else(|| "us-east-1".into());
    if let Some(change) = r.dynamodb {
        let image = |m: Option<HashMap<String, AttributeValue>>| {
            let map: HashMap<String, serde_dynamo::AttributeValue> = m
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, convert(v)))
                .collect();
            serde_dynamo::Item::from(map)
        };
        record.change.sequence_number = change.sequence_number;
        record.change.size_bytes = change.size_bytes.unwrap_or_default();
        if let Some(t) = change.approximate_creation_date_time {
            record.change.approximate_creation_date_time =
                chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default();
        }
        record.change.keys = image(change.keys);
        record.change.new_image = image(change.new_image);
        record.change.old_image = image(change.old_image);
    }
    record
}

fn convert(v: AttributeValue) -> serde_dynamo::AttributeValue {
    use serde_dynamo::AttributeValue as D;
    match v {
        AttributeValue::S(s) => D::S(s),
        AttributeValue::N(n) => D::N(n),
        AttributeValue::Bool(b) => D::Bool(b),
        AttributeValue::Null(b) => D::Null(b),
        AttributeValue::B(b) => D::B(b.into_inner()),
        AttributeValue::L(l) => D::L(l.into_iter().map(convert).collect()),
        AttributeValue::M(m) => D::M(m.into_iter().map(|(k, v)| (k, convert(v))).collect()),
        AttributeValue::Ss(v) => D::Ss(v),
        AttributeValue::Ns(v) => D::Ns(v),
        AttributeValue::Bs(v) => D::Bs(v.into_iter().map(|b| b.into_inner()).collect()),
        _ => D::Null(true),
    }
}
