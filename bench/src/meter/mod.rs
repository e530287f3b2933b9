//! Metering AWS calls for the benchmarks: an HTTP client for the SDK that
//! records every request any client built from one `SdkConfig` sends (what
//! AWS bills, retries included), its time on the wire, and optionally the
//! DynamoDB read and write units it consumed.
//!
//! Why at the HTTP client rather than in an SDK interceptor: an interceptor
//! is attached to one client's own configuration, while the functions build
//! their clients themselves from an `SdkConfig` (the worker does, inside
//! `Worker::new`). The HTTP client travels in the `SdkConfig`, so metering
//! it reaches every client of every handler without touching their code.
//!
//! Billing DynamoDB needs the size of each written item before and after the
//! write (the larger is billed, and index writes depend on both), which no
//! response carries: a billing meter reads them around each write with a
//! client of its own, which it does not meter and whose time it excludes.

pub mod capacity;
pub mod dynamodb;
pub mod items;
pub mod prices;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;
use shared::store::schema;

use capacity::{Item, ShapeError, TableShape, Units};
use dynamodb::{ItemCost, ItemRef, Written};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    DynamoDb,
    Sqs,
    S3,
    Other,
}

/// One HTTP request to AWS.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: Service,
    /// The API operation (`TransactWriteItems`, `SendMessage`, `PutObject`…).
    pub operation: String,
    /// When the SDK handed the request to the HTTP client and when it got
    /// the response back: the caller's wait (on a billing meter, the reads
    /// of the written items included).
    pub started: Instant,
    pub finished: Instant,
    pub request_bytes: u64,
    /// DynamoDB calls on a billing meter; `None` otherwise, or for an
    /// operation the billing rules do not model.
    pub units: Option<Units>,
    /// `units`, item by item (empty when `units` is `None`).
    pub items: Vec<ItemCost>,
}

#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// Shared by the metered HTTP client and whoever reads the calls.
#[derive(Clone, Debug)]
pub struct Meter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    probe: Option<Probe>,
}

impl Meter {
    /// Counts and times calls.
    pub fn timing() -> Meter {
        Meter::with_probe(None)
    }

    /// Also bills DynamoDB calls on the jobs table, reading the items each
    /// write touches with `probe`, a client this meter does not see.
    pub fn billing(probe: aws_sdk_dynamodb::Client) -> Result<Meter, MeterError> {
        let shape = TableShape::of(&schema::table_definition())?;
        Ok(Meter::with_probe(Some(Probe {
            client: probe,
            shape,
        })))
    }

    fn with_probe(probe: Option<Probe>) -> Meter {
        Meter {
            shared: Arc::new(Shared {
                calls: Mutex::new(Vec::new()),
                probe,
            }),
        }
    }

    /// `sdk` with this meter in its HTTP client: every client built from
    /// the result is metered.
    pub fn instrument(&self, sdk: &SdkConfig) -> SdkConfig {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        sdk.clone()
            .into_builder()
            .http_client(MeteredClient {
                inner,
                meter: self.clone(),
            })
            .build()
    }

    /// Runs `operation` as the only user of this meter and returns what it
    /// made: its output, its AWS calls, the time it waited on them and its
    /// own time (wall time less that wait).
    pub async fn measure<T, E>(
        &self,
        operation: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<(T, Measurement), E> {
        self.take();
        let started = Instant::now();
        let out = operation.await?;
        let wall = started.elapsed();
        let calls = self.take();
        let aws = waited(&calls);
        Ok((
            out,
            Measurement {
                own: wall.saturating_sub(aws),
                aws,
                calls,
            },
        ))
    }

    /// The calls recorded since the last `take`, oldest first.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls())
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.shared.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn observe(
        &self,
        inner: SharedHttpConnector,
        request: HttpRequest,
    ) -> Result<HttpResponse, ConnectorError> {
        let called = Instant::now();
        let (service, operation) = identify(&request);
        let request_bytes = request.body().content_length().unwrap_or(0);
        let billing = match (&self.shared.probe, service) {
            (Some(probe), Service::DynamoDb) => probe.before(&operation, &request).await,
            _ => None,
        };

        let mut response = inner.call(request).await?;
        let body = ByteStream::new(response.take_body())
            .collect()
            .await
            .map_err(|e| ConnectorError::io(e.into()))?
            .into_bytes();

        let (units, items) = match billing {
            Some(billing) => billing.units(&operation, &body).await,
            None => (None, Vec::new()),
        };
        *response.body_mut() = SdkBody::from(body);
        self.calls().push(Call {
            service,
            operation,
            started: called,
            finished: Instant::now(),
            request_bytes,
            units,
            items,
        });
        Ok(response)
    }
}

/// What one operation cost, from `Meter::measure`.
pub struct Measurement {
    pub calls: Vec<Call>,
    /// Time waiting on AWS, concurrent calls counted once.
    pub aws: Duration,
    /// The rest of the wall time: the handler's own.
    pub own: Duration,
}

/// How long a caller waited on these calls: their intervals merged where
/// they overlap (calls made concurrently count once).
pub fn waited(calls: &[Call]) -> Duration {
    sequential_groups(calls)
        .iter()
        .map(|(start, end)| *end - *start)
        .sum()
}

/// How many round trips the calls took one after another: calls that
/// overlap in time make one.
pub fn round_trips(calls: &[Call]) -> usize {
    sequential_groups(calls).len()
}

/// The calls of each round trip, in order: the calls whose times overlap
/// the trip's span.
pub fn trips(calls: &[Call]) -> Vec<Vec<&Call>> {
    sequential_groups(calls)
        .iter()
        .map(|(start, end)| {
            let mut trip: Vec<&Call> = calls
                .iter()
                .filter(|c| c.started >= *start && c.finished <= *end)
                .collect();
            trip.sort_by_key(|c| c.started);
            trip
        })
        .collect()
}

fn sequential_groups(calls: &[Call]) -> Vec<(Instant, Instant)> {
    let mut spans: Vec<(Instant, Instant)> =
        calls.iter().map(|c| (c.started, c.finished)).collect();
    spans.sort();
    let mut groups: Vec<(Instant, Instant)> = Vec::new();
    for (start, end) in spans {
        match groups.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => groups.push((start, end)),
        }
    }
    groups
}

/// Reads the items a write touches, with a client of its own.
#[derive(Debug)]
struct Probe {
    client: aws_sdk_dynamodb::Client,
    shape: TableShape,
}

/// A DynamoDB request being billed: its body, and the items it writes as
/// they were before it.
struct Billing<'p> {
    probe: &'p Probe,
    request: Value,
    targets: Vec<ItemRef>,
    before: Option<Vec<Option<Item>>>,
}

impl Probe {
    /// Starts billing a request: `None` if its body is not JSON.
    async fn before(&self, operation: &str, request: &HttpRequest) -> Option<Billing<'_>> {
        let body: Value = serde_json::from_slice(request.body().bytes()?).ok()?;
        let targets = dynamodb::written_items(operation, &body, &self.shape);
        let before = self.read(&targets).await;
        Some(Billing {
            probe: self,
            request: body,
            targets,
            before,
        })
    }

    /// Each item as stored now (`None`: absent); `None` if a read failed.
    async fn read(&self, items: &[ItemRef]) -> Option<Vec<Option<Item>>> {
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            let out = self
                .client
                .get_item()
                .table_name(&item.table)
                .set_key(Some(item.key.clone()))
                .consistent_read(true)
                .send()
                .await;
            match out {
                Ok(out) => found.push(out.item),
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "metering probe failed");
                    return None;
                }
            }
        }
        Some(found)
    }
}

impl Billing<'_> {
    /// The request's units, from its response and the written items as
    /// they are now, in all and item by item. A failed probe read leaves
    /// the call unbilled (and reported as such), never billed on a guess.
    async fn units(self, operation: &str, response: &[u8]) -> (Option<Units>, Vec<ItemCost>) {
        let (Some(after), Some(before)) = (self.probe.read(&self.targets).await, self.before)
        else {
            return (None, Vec::new());
        };
        let written: Vec<Written> = self
            .targets
            .into_iter()
            .zip(before.into_iter().zip(after))
            .map(|(item, (before, after))| Written {
                item,
                before,
                after,
            })
            .collect();
        let response: Value = serde_json::from_slice(response).unwrap_or(Value::Null);
        let shape = &self.probe.shape;
        (
            dynamodb::units(operation, &self.request, &response, &written, shape),
            dynamodb::item_costs(operation, &self.request, &response, &written, shape),
        )
    }
}

/// The service from the SigV4 credential scope
/// (`Credential=key/date/region/service/aws4_request`); the operation from
/// `X-Amz-Target` (DynamoDB, SQS: JSON protocols) or, for S3 (REST), from
/// the method and whether the path names an object (path-style addressing,
/// as the local stack uses).
fn identify(request: &HttpRequest) -> (Service, String) {
    let headers = request.headers();
    let scope = headers
        .get("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split(',').next())
        .and_then(|cred| cred.split('/').nth(3))
        .unwrap_or_default();
    let service = match scope {
        "dynamodb" => Service::DynamoDb,
        "sqs" => Service::Sqs,
        "s3" => Service::S3,
        _ => Service::Other,
    };
    let operation = match headers.get("x-amz-target") {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
        None => {
            let path = request.uri().split('?').next().unwrap_or_default();
            let object = path
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .splitn(3, '/')
                .nth(2)
                .is_some_and(|rest| rest.contains('/'));
            s3_operation(request.method(), object)
        }
    };
    (service, operation)
}

fn s3_operation(method: &str, object: bool) -> String {
    let name = match (method, object) {
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) => "DeleteObject",
        ("PUT", false) => "CreateBucket",
        ("GET", false) => "ListObjects",
        ("DELETE", false) => "DeleteBucket",
        (other, _) => return format!("{other} request"),
    };
    name.to_string()
}

#[derive(Debug)]
struct MeteredClient {
    inner: SharedHttpClient,
    meter: Meter,
}

impl HttpClient for MeteredClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(MeteredConnector {
            inner: self.inner.http_connector(settings, components),
            meter: self.meter.clone(),
        })
    }
}

#[derive(Debug)]
struct MeteredConnector {
    inner: SharedHttpConnector,
    meter: Meter,
}

impl HttpConnector for MeteredConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, meter) = (self.inner.clone(), self.meter.clone());
        HttpConnectorFuture::new(async move { meter.observe(inner, request).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_between(origin: Instant, from_ms: u64, to_ms: u64) -> Call {
        Call {
            service: Service::DynamoDb,
            operation: "GetItem".into(),
            started: origin + Duration::from_millis(from_ms),
            finished: origin + Duration::from_millis(to_ms),
            request_bytes: 0,
            units: None,
            items: Vec::new(),
        }
    }

    #[test]
    fn concurrent_calls_count_once() {
        let t = Instant::now();
        // A transaction, then a send and a read side by side.
        let calls = [
            call_between(t, 0, 10),
            call_between(t, 10, 18),
            call_between(t, 11, 20),
        ];
        assert_eq!(round_trips(&calls), 2);
        assert_eq!(waited(&calls), Duration::from_millis(20));
        assert_eq!(round_trips(&[]), 0);
    }

    fn request(method: &str, uri: &str, target: Option<&str>, scope: &str) -> HttpRequest {
        let mut req = HttpRequest::empty();
        req.set_method(method).expect("a valid method");
        req.set_uri(uri).expect("a valid URI");
        req.headers_mut().insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/20261124/us-east-1/{scope}/aws4_request, SignedHeaders=host, Signature=0"),
        );
        if let Some(target) = target {
            req.headers_mut().insert("x-amz-target", target.to_string());
        }
        req
    }

    #[test]
    fn calls_are_named_by_service_and_operation() {
        let cases = [
            (
                request(
                    "POST",
                    "http://127.0.0.1:5000/",
                    Some("DynamoDB_20120810.TransactWriteItems"),
                    "dynamodb",
                ),
                (Service::DynamoDb, "TransactWriteItems"),
            ),
            (
                request(
                    "POST",
                    "http://127.0.0.1:5000/",
                    Some("AmazonSQS.SendMessage"),
                    "sqs",
                ),
                (Service::Sqs, "SendMessage"),
            ),
            (
                request(
                    "PUT",
                    "http://127.0.0.1:5000/bucket/results/t/j/0.png?x-id=PutObject",
                    None,
                    "s3",
                ),
                (Service::S3, "PutObject"),
            ),
            (
                request("PUT", "http://127.0.0.1:5000/bucket", None, "s3"),
                (Service::S3, "CreateBucket"),
            ),
        ];
        for (req, (service, operation)) in cases {
            assert_eq!(identify(&req), (service, operation.to_string()));
        }
    }
}
