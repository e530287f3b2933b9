//! What metered calls cost at AWS's on-demand list prices.

use super::capacity::Units;
use super::{Call, Service};

/// SQS bills each started 64 KB of a request's payload as one request.
const SQS_CHUNK_BYTES: u64 = 64 * 1024;

/// On-demand list prices in USD, per request or unit.
#[derive(Clone, Copy, Debug)]
pub struct Prices {
    pub region: &'static str,
    pub dynamodb_write_unit: f64,
    pub dynamodb_read_unit: f64,
    pub sqs_request: f64,
    /// PUT, COPY, POST, LIST.
    pub s3_put_request: f64,
    /// GET and every other request but DELETE (free).
    pub s3_get_request: f64,
    pub lambda_request: f64,
    pub lambda_arm64_gb_second: f64,
    pub http_api_request: f64,
}

/// us-east-1, first pricing tier of each service. DynamoDB on-demand
/// throughput as repriced on 1 November 2024 (half the earlier
/// $1.25 / $0.25 per million write / read request units); SQS standard
/// queue; S3 Standard; Lambda arm64; API Gateway HTTP API.
pub const US_EAST_1: Prices = Prices {
    region: "us-east-1",
    dynamodb_write_unit: 0.625 / 1e6,
    dynamodb_read_unit: 0.125 / 1e6,
    sqs_request: 0.40 / 1e6,
    s3_put_request: 0.005 / 1e3,
    s3_get_request: 0.0004 / 1e3,
    lambda_request: 0.20 / 1e6,
    lambda_arm64_gb_second: 0.000_013_333_4,
    http_api_request: 1.00 / 1e6,
};

/// The billable quantities of some calls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub dynamodb_calls: u32,
    pub sqs_calls: u32,
    pub s3_calls: u32,
    pub units: Units,
    pub sqs_requests: u32,
    pub s3_put_requests: u32,
    pub s3_get_requests: u32,
    /// DynamoDB operations the billing rules do not model: their units are
    /// missing from `units`.
    pub unbilled: Vec<String>,
}

impl Tally {
    pub fn of(calls: &[Call]) -> Tally {
        let mut tally = Tally::default();
        for call in calls {
            match call.service {
                Service::DynamoDb => {
                    tally.dynamodb_calls += 1;
                    match call.units {
                        Some(units) => tally.units = tally.units + units,
                        None => tally.unbilled.push(call.operation.clone()),
                    }
                }
                Service::Sqs => {
                    tally.sqs_calls += 1;
                    tally.sqs_requests +=
                        call.request_bytes.div_ceil(SQS_CHUNK_BYTES).max(1) as u32;
                }
                Service::S3 => {
                    tally.s3_calls += 1;
                    match s3_class(&call.operation) {
                        S3Class::Put => tally.s3_put_requests += 1,
                        S3Class::Get => tally.s3_get_requests += 1,
                        S3Class::Free => {}
                    }
                }
                Service::Other => {}
            }
        }
        tally
    }

    pub fn calls(&self) -> u32 {
        self.dynamodb_calls + self.sqs_calls + self.s3_calls
    }

    /// DynamoDB, SQS and S3 request charges, in USD.
    pub fn usd(&self, prices: &Prices) -> f64 {
        self.units.read * prices.dynamodb_read_unit
            + self.units.write * prices.dynamodb_write_unit
            + f64::from(self.sqs_requests) * prices.sqs_request
            + f64::from(self.s3_put_requests) * prices.s3_put_request
            + f64::from(self.s3_get_requests) * prices.s3_get_request
    }
}

enum S3Class {
    Put,
    Get,
    Free,
}

fn s3_class(operation: &str) -> S3Class {
    if operation.starts_with("Delete") {
        S3Class::Free
    } else if ["Put", "Post", "Copy", "List", "Create"]
        .iter()
        .any(|p| operation.starts_with(p))
    {
        S3Class::Put
    } else {
        S3Class::Get
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(service: Service, operation: &str, request_bytes: u64, units: Option<Units>) -> Call {
        Call {
            service,
            operation: operation.into(),
            started: std::time::Instant::now(),
            finished: std::time::Instant::now(),
            request_bytes,
            units,
            items: Vec::new(),
        }
    }

    #[test]
    fn a_tally_prices_each_service_by_its_own_rule() {
        let calls = [
            call(
                Service::DynamoDb,
                "TransactWriteItems",
                900,
                Some(Units {
                    read: 0.0,
                    write: 8.0,
                }),
            ),
            call(
                Service::DynamoDb,
                "GetItem",
                90,
                Some(Units {
                    read: 1.0,
                    write: 0.0,
                }),
            ),
            call(Service::DynamoDb, "BatchGetItem", 90, None),
            call(Service::Sqs, "SendMessage", 100, None),
            call(Service::Sqs, "SendMessage", 130 * 1024, None),
            call(Service::S3, "PutObject", 5000, None),
            call(Service::S3, "GetObject", 0, None),
        ];
        let tally = Tally::of(&calls);
        assert_eq!(tally.calls(), 7);
        assert_eq!(
            tally.units,
            Units {
                read: 1.0,
                write: 8.0
            }
        );
        assert_eq!(tally.unbilled, vec!["BatchGetItem".to_string()]);
        assert_eq!(tally.sqs_requests, 1 + 3);
        assert_eq!((tally.s3_put_requests, tally.s3_get_requests), (1, 1));
        let expected = 8.0 * 0.625e-6 + 0.125e-6 + 4.0 * 0.4e-6 + 0.005e-3 + 0.0004e-3;
        assert!((tally.usd(&US_EAST_1) - expected).abs() < 1e-15);
    }
}
