//! A request shaped as API Gateway (HTTP API, payload 2.0) hands it to a
//! function: a request id, the query string parsed, the route's path
//! parameter. The dev server's router and the admin CLI's tests (which call
//! two handlers directly) shape requests here.

use std::collections::HashMap;

use lambda_http::RequestExt;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use shared::ids;

/// The request with a fresh request id and its query string parameters.
pub fn as_api_gateway(req: lambda_http::Request) -> lambda_http::Request {
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some(ids::new_id());
    let query: HashMap<String, Vec<String>> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .fold(HashMap::new(), |mut map, (k, v)| {
                map.entry(k).or_default().push(v);
                map
            });
    req.with_request_context(RequestContext::ApiGatewayV2(ctx))
        .with_query_string_parameters(query)
}

/// The request with `{jobId}` taken from a path segment, percent-decoded as
/// API Gateway decodes it.
pub fn with_job_id(req: lambda_http::Request, segment: &str) -> lambda_http::Request {
    req.with_path_parameters(HashMap::from([(
        "jobId".to_string(),
        percent_decode(segment),
    )]))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
