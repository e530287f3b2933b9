//! The SAM template and the local stack describe one system: this test
//! fails when they drift (table shape, indexes, TTL, stream, queue settings,
//! functions, routes).

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use shared::store::schema;

use crate::support::TestStack;

/// An index: name, key schema, projection type.
type IndexShape = (String, Vec<(String, String)>, String);

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn key_schema(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|k| (s(&k["AttributeName"]), s(&k["KeyType"])))
        .collect()
}

#[tokio::test]
async fn the_local_table_and_queues_have_the_templates_shape() {
    let t = template();
    let table = &t["Resources"]["JobsTable"]["Properties"];
    let def = schema::table_definition();

    // Template vs the schema module the local stack creates tables from.
    let template_attrs: BTreeSet<(String, String)> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| (s(&a["AttributeName"]), s(&a["AttributeType"])))
        .collect();
    let code_attrs: BTreeSet<(String, String)> = def
        .attributes
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(template_attrs, code_attrs);
    assert_eq!(s(&table["BillingMode"]), def.billing_mode.as_str());
    assert_eq!(
        s(&table["TimeToLiveSpecification"]["AttributeName"]),
        schema::TTL_ATTRIBUTE
    );
    assert_eq!(s(&table["TimeToLiveSpecification"]["Enabled"]), "true");
    assert_eq!(
        s(&table["StreamSpecification"]["StreamViewType"]),
        def.stream.stream_view_type().unwrap().as_str()
    );

    // Template vs what moto actually holds after provisioning.
    let stack = TestStack::start().await;
    let ddb = aws_sdk_dynamodb::Client::new(&stack.stack.sdk);
    let described = ddb
        .describe_table()
        .table_name(&stack.stack.options.table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let live_keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(key_schema(&table["KeySchema"]), live_keys);
    let template_indexes: BTreeSet<IndexShape> = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(&i["IndexName"]),
                key_schema(&i["KeySchema"]),
                s(&i["Projection"]["ProjectionType"]),
            )
        })
        .collect();
    let live_indexes: BTreeSet<IndexShape> = described
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap().to_string(),
                i.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_string(),
                            k.key_type().as_str().to_string(),
                        )
                    })
                    .collect(),
                i.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(template_indexes, live_indexes);
    assert_eq!(
        described
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str()),
        Some("NEW_AND_OLD_IMAGES")
    );
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&stack.stack.options.table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(schema::TTL_ATTRIBUTE)
    );

    // Queue settings: visibility 6x the worker's timeout, same redrive.
    let worker_timeout: u32 = s(&t["Resources"]["WorkerFunction"]["Properties"]["Timeout"])
        .parse()
        .unwrap();
    let queue = &t["Resources"]["JobsQueue"]["Properties"];
    let visibility: u32 = s(&queue["VisibilityTimeout"]).parse().unwrap();
    assert!(
        visibility >= 6 * worker_timeout,
        "visibility {visibility} < 6 x {worker_timeout}"
    );
    assert_eq!(worker_timeout, local::provision::WORKER_TIMEOUT_SECS);
    let max_receive: u32 = s(&queue["RedrivePolicy"]["maxReceiveCount"])
        .parse()
        .unwrap();
    assert_eq!(max_receive, local::provision::MAX_RECEIVE_COUNT);
    let lease: u32 = s(&t["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]["LEASE_SECONDS"])
        .parse()
        .unwrap();
    assert!(
        lease > worker_timeout,
        "a live worker run must never be overtaken by a reclaim"
    );

    let sqs = aws_sdk_sqs::Client::new(&stack.stack.sdk);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&stack.stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attrs[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        visibility.to_string()
    );
    let redrive: serde_json::Value =
        serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        max_receive.to_string()
    );
}

#[tokio::test]
async fn every_function_crate_is_deployed_and_every_route_is_served_locally() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let mut binaries = BTreeSet::new();
    let mut routes = BTreeSet::new();
    for (_, r) in resources {
        if s(&r["Type"]) != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(s(&r["Metadata"]["BuildMethod"]), "rust-cargolambda");
        binaries.insert(s(&r["Metadata"]["BuildProperties"]["Binary"]));
        if let Some(events) = r["Properties"]["Events"].as_mapping() {
            for (_, e) in events {
                if s(&e["Type"]) == "HttpApi" {
                    routes.insert(format!(
                        "{} {}",
                        s(&e["Properties"]["Method"]),
                        s(&e["Properties"]["Path"])
                    ));
                }
            }
        }
    }
    let crates: BTreeSet<String> =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    assert_eq!(
        binaries, crates,
        "one deployed function per crate in functions/"
    );
    assert_eq!(routes.len(), 5, "{routes:?}");
    // CORS: the HTTP API's configuration is the local server's.
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let list = |v: &Value| -> Vec<String> { v.as_sequence().unwrap().iter().map(s).collect() };
    assert_eq!(
        list(&cors["AllowMethods"]),
        local::server::CORS_ALLOW_METHODS
    );
    assert_eq!(
        list(&cors["AllowHeaders"]),
        local::server::CORS_ALLOW_HEADERS
    );
    assert_eq!(
        list(&cors["ExposeHeaders"]),
        local::server::CORS_EXPOSE_HEADERS
    );
    assert_eq!(list(&cors["AllowOrigins"]), ["*"]);
    assert_eq!(
        s(&cors["MaxAge"]),
        local::server::CORS_MAX_AGE_SECS.to_string()
    );
    // Each template route reaches a handler in the local server: anything
    // but the router's NOT_FOUND.
    let stack = TestStack::start().await;
    for route in &routes {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.replace("{jobId}", "cmkuz35wf00034rk15ycgzvce");
        let req = lambda_http::http::Request::builder()
            .method(method)
            .uri(&path)
            .body(lambda_http::Body::Empty)
            .unwrap();
        let resp = local::server::dispatch(&stack.stack.app, req).await;
        let body = match resp.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert!(
            !body.contains("\"NOT_FOUND\""),
            "{route} is not served locally: {body}"
        );
    }
}
