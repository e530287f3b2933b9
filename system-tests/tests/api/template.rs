//! The SAM template and the local stack describe one system: this test
//! fails when they drift (table shape, indexes, TTL, stream, queue settings,
//! functions, routes, the webhook pipeline's wiring).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_sqs::types::QueueAttributeName;

use serde_yaml_ng::Value;
use shared::store::schema;

use system_tests::TestStack;

/// An index: name, key schema, projection type.
type IndexShape = (String, Vec<(String, String)>, String);

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("template.yaml"))
        .expect("template.yaml is YAML")
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
        .expect("a key schema list")
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
    assert_eq!(worker_timeout, devstack::provision::WORKER_TIMEOUT_SECS);
    let max_receive: u32 = s(&queue["RedrivePolicy"]["maxReceiveCount"])
        .parse()
        .unwrap();
    assert_eq!(max_receive, devstack::provision::MAX_RECEIVE_COUNT);
    let lease: u32 = s(&t["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]["LEASE_SECONDS"])
        .parse()
        .unwrap();
    assert!(
        lease > worker_timeout,
        "a live worker run must never be overtaken by a reclaim"
    );

    let attrs = stack.queue_attributes().await;
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

    // The delivery queue: the template's, devstack's constants and moto's.
    let sender_timeout: u32 = s(&t["Resources"]["WebhookSenderFunction"]["Properties"]["Timeout"])
        .parse()
        .unwrap();
    assert_eq!(
        sender_timeout,
        devstack::provision::WEBHOOK_SENDER_TIMEOUT_SECS
    );
    let queue = &t["Resources"]["DeliveryQueue"]["Properties"];
    let visibility: u32 = s(&queue["VisibilityTimeout"]).parse().unwrap();
    assert_eq!(visibility, 6 * sender_timeout, "6x the sender's timeout");
    let max_receive: u32 = s(&queue["RedrivePolicy"]["maxReceiveCount"])
        .parse()
        .unwrap();
    assert_eq!(max_receive, devstack::provision::DELIVERY_MAX_RECEIVE_COUNT);
    assert!(
        max_receive as usize > shared::webhooks::schedule::MAX_DELAYS + 1,
        "the queue's redrive never cuts a schedule short"
    );
    assert_eq!(
        s(call(&queue["RedrivePolicy"]["deadLetterTargetArn"], "GetAtt").expect("a GetAtt")),
        "DeliveryDeadLetterQueue.Arn"
    );
    let retention: u64 = s(&queue["MessageRetentionPeriod"]).parse().unwrap();
    let default_schedule: u64 = shared::webhooks::schedule::DEFAULT_SECONDS
        .iter()
        .map(|d| u64::from(*d))
        .sum();
    assert!(
        retention > default_schedule,
        "a message outlives its schedule: {retention} s vs {default_schedule} s"
    );
    let live = queue_attributes(&stack, &stack.stack.delivery_queue_url).await;
    assert_eq!(
        live[&QueueAttributeName::VisibilityTimeout],
        visibility.to_string()
    );
    assert_eq!(
        live[&QueueAttributeName::MessageRetentionPeriod],
        retention.to_string()
    );
    let redrive: serde_json::Value =
        serde_json::from_str(&live[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        max_receive.to_string()
    );
    let dlq = queue_attributes(&stack, &stack.stack.delivery_dlq_url).await;
    assert_eq!(
        redrive["deadLetterTargetArn"].as_str(),
        Some(dlq[&QueueAttributeName::QueueArn].as_str()),
        "the delivery queue's redrive goes to the sender's DELIVERY_DLQ_URL"
    );
    assert_eq!(
        dlq[&QueueAttributeName::MessageRetentionPeriod],
        s(&t["Resources"]["DeliveryDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"])
    );
}

/// Every attribute of one of the stack's queues, as SQS reports it.
async fn queue_attributes(stack: &TestStack, url: &str) -> HashMap<QueueAttributeName, String> {
    aws_sdk_sqs::Client::new(&stack.stack.sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("the queue's attributes")
        .attributes
        .expect("attributes in the answer")
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
    assert_eq!(routes.len(), 8, "{routes:?}");
    // CORS: the HTTP API's configuration is the local server's.
    let cors = &t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let list = |v: &Value| -> Vec<String> { v.as_sequence().unwrap().iter().map(s).collect() };
    assert_eq!(
        list(&cors["AllowMethods"]),
        devstack::server::CORS_ALLOW_METHODS
    );
    assert_eq!(
        list(&cors["AllowHeaders"]),
        devstack::server::CORS_ALLOW_HEADERS
    );
    assert_eq!(
        list(&cors["ExposeHeaders"]),
        devstack::server::CORS_EXPOSE_HEADERS
    );
    assert_eq!(list(&cors["AllowOrigins"]), ["*"]);
    assert_eq!(
        s(&cors["MaxAge"]),
        devstack::server::CORS_MAX_AGE_SECS.to_string()
    );
    // Each template route reaches a handler in the local server (anything
    // but the router's NOT_FOUND), and on the template's paths the local
    // server serves no method API Gateway would not route.
    let stack = TestStack::start().await;
    let paths: BTreeSet<&str> = routes
        .iter()
        .map(|r| r.split_once(' ').unwrap().1)
        .collect();
    for path in paths {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let route = format!("{method} {path}");
            let req = lambda_http::http::Request::builder()
                .method(method)
                .uri(path.replace("{jobId}", "cmkuz35wf00034rk15ycgzvce"))
                .body(lambda_http::Body::Empty)
                .unwrap();
            let resp = devstack::server::dispatch(&stack.stack.app, req).await;
            let body = match resp.body() {
                lambda_http::Body::Text(t) => t.clone(),
                _ => String::new(),
            };
            let served = !body.contains("\"NOT_FOUND\"");
            assert_eq!(
                served,
                routes.contains(&route),
                "{route}: served locally {served}, in the template {}: {body}",
                routes.contains(&route)
            );
        }
    }
}

// ------------------------------------------------- "no tenant can hurt another"

/// An intrinsic function as (name, argument), whichever way it is written:
/// `!Ref X` and `{Ref: X}`, `!If [...]` and `{Fn::If: [...]}`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            let name = if k == "Ref" {
                k
            } else {
                k.strip_prefix("Fn::")?
            };
            Some((name.to_string(), arg))
        }
        _ => None,
    }
}

/// The argument of `!Name arg`, if `v` is that function.
fn call<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    intrinsic(v).filter(|(n, _)| n == name).map(|(_, arg)| arg)
}

/// What `v` references with `!Ref`, if it is one.
fn ref_to(v: &Value) -> Option<String> {
    call(v, "Ref").map(s)
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence()
        .map_or_else(|| panic!("a list, got {v:?}"), Vec::as_slice)
}

/// Every `AWS::Serverless::Function`, by logical id.
fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .expect("a Resources map")
        .iter()
        .filter(|(_, r)| s(&r["Type"]) == "AWS::Serverless::Function")
        .map(|(id, r)| (s(id), r))
        .collect()
}

fn is_http_function(function: &Value) -> bool {
    function["Properties"]["Events"]
        .as_mapping()
        .is_some_and(|events| events.values().any(|e| s(&e["Type"]) == "HttpApi"))
}

/// `ReservedConcurrentExecutions: !If [Cond, !Ref Param, !Ref AWS::NoValue]`
/// where `Cond` is `Param != 0` and `Param` defaults to 0: a reservation an
/// operator can set, which deploys in any account while it is 0. Returns
/// `Param`.
fn optional_reservation(t: &Value, function: &str) -> String {
    let value = &t["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
    let args = seq(call(value, "If").unwrap_or_else(|| panic!("{function}: {value:?}")));
    let (condition, then, otherwise) = (s(&args[0]), &args[1], &args[2]);
    let parameter = ref_to(then).expect("the reservation is a parameter");
    assert_eq!(ref_to(otherwise).as_deref(), Some("AWS::NoValue"));
    let cond = &t["Conditions"][condition.as_str()];
    let equals = seq(call(&seq(call(cond, "Not").expect("Not"))[0], "Equals").expect("Equals"));
    assert_eq!(ref_to(&equals[0]).as_deref(), Some(parameter.as_str()));
    assert_eq!(
        s(&equals[1]),
        "0",
        "{condition} means the parameter is not 0"
    );
    let p = &t["Parameters"][parameter.as_str()];
    assert_eq!(s(&p["Type"]), "Number");
    assert_eq!(
        s(&p["Default"]),
        "0",
        "{parameter}: no reservation by default"
    );
    assert_eq!(s(&p["MinValue"]), "0");
    parameter
}

#[test]
fn the_pipeline_functions_can_be_given_concurrency_no_http_flood_can_take() {
    let t = template();
    assert_eq!(
        optional_reservation(&t, "WorkerFunction"),
        "WorkerReservedConcurrency"
    );
    assert_eq!(
        optional_reservation(&t, "WebhooksFunction"),
        "WebhooksReservedConcurrency"
    );
    assert_eq!(
        optional_reservation(&t, "WebhookSenderFunction"),
        "WebhookSenderReservedConcurrency"
    );
    // The Gemini quota guard stays where it was: on the event source.
    let scaling = &t["Resources"]["WorkerFunction"]["Properties"]["Events"]["Jobs"]["Properties"]["ScalingConfig"];
    assert_eq!(
        ref_to(&scaling["MaximumConcurrency"]).as_deref(),
        Some("WorkerMaxConcurrency")
    );
    // And hanging receivers cannot scale the sender over the account.
    let scaling = &t["Resources"]["WebhookSenderFunction"]["Properties"]["Events"]["Deliveries"]["Properties"]
        ["ScalingConfig"];
    assert_eq!(
        ref_to(&scaling["MaximumConcurrency"]).as_deref(),
        Some("WebhookSenderMaxConcurrency")
    );
    let p = &t["Parameters"]["WebhookSenderMaxConcurrency"];
    assert!(
        s(&p["Default"]).parse::<u32>().is_ok_and(|d| d >= 2),
        "SQS's MaximumConcurrency is at least 2"
    );
}

#[test]
fn every_http_function_can_be_capped_and_the_defaults_reserve_nothing() {
    let t = template();
    let http: Vec<String> = functions(&t)
        .into_iter()
        .filter(|(_, f)| is_http_function(f))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(http.len(), 7, "{http:?}");
    for id in &http {
        assert_eq!(
            optional_reservation(&t, id),
            "HttpFunctionReservedConcurrency",
            "{id}"
        );
    }
    // The sweeper (one run every 5 minutes) needs no reservation.
    assert!(
        t["Resources"]["SweeperFunction"]["Properties"]["ReservedConcurrentExecutions"].is_null()
    );
}

#[test]
fn submits_and_reads_have_separate_throttle_budgets() {
    let t = template();
    let mut routes = BTreeSet::new();
    for (_, f) in functions(&t) {
        for e in f["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
        {
            if s(&e["Type"]) == "HttpApi" {
                routes.insert(format!(
                    "{} {}",
                    s(&e["Properties"]["Method"]),
                    s(&e["Properties"]["Path"])
                ));
            }
        }
    }
    let settings = t["Resources"]["HttpApi"]["Properties"]["RouteSettings"]
        .as_mapping()
        .expect("per-route settings");
    let budget = |route: &str| {
        let r = &settings[route];
        (
            ref_to(&r["ThrottlingRateLimit"]).unwrap_or_else(|| panic!("{route}: rate")),
            ref_to(&r["ThrottlingBurstLimit"]).unwrap_or_else(|| panic!("{route}: burst")),
        )
    };
    // API Gateway refuses a stage whose settings name a route it lacks.
    for key in settings.keys() {
        assert!(routes.contains(&s(key)), "{} is not a route", s(key));
    }
    let submit = budget("POST /v1/images/generate");
    assert_eq!(
        submit,
        (
            "SubmitThrottleRateLimit".into(),
            "SubmitThrottleBurstLimit".into()
        )
    );
    for read in [
        "GET /v1/jobs",
        "GET /v1/jobs/{jobId}",
        "DELETE /v1/jobs/{jobId}",
        "GET /v1/jobs/{jobId}/deliveries",
        "POST /v1/jobs/{jobId}/deliveries",
    ] {
        assert_eq!(
            budget(read),
            (
                "ReadThrottleRateLimit".into(),
                "ReadThrottleBurstLimit".into()
            ),
            "{read}"
        );
    }
    for parameter in [
        "SubmitThrottleRateLimit",
        "SubmitThrottleBurstLimit",
        "ReadThrottleRateLimit",
        "ReadThrottleBurstLimit",
    ] {
        let p = &t["Parameters"][parameter];
        assert_eq!(s(&p["Type"]), "Number", "{parameter}");
        assert!(
            s(&p["Default"]).parse::<u32>().is_ok_and(|d| d > 0),
            "{parameter} has a default that lets traffic through"
        );
    }
    // Whatever has no budget of its own (GET /health) keeps the default.
    let default = &t["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
    assert_eq!(
        ref_to(&default["ThrottlingRateLimit"]).as_deref(),
        Some("ThrottleRateLimit")
    );
}

/// A function's environment variables, by name.
fn environment(function: &Value) -> Vec<(String, &Value)> {
    function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.iter())
        .map(|(k, v)| (s(k), v))
        .collect()
}

/// Every IAM statement of a function's inline policies, with the condition
/// it is under (`!If [Cond, {Statement: ...}, !Ref AWS::NoValue]`).
fn statements(function: &Value) -> Vec<(Option<String>, &Value)> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let (condition, document) = match call(policy, "If") {
            Some(args) => {
                let args = seq(args);
                assert_eq!(ref_to(&args[2]).as_deref(), Some("AWS::NoValue"));
                (Some(s(&args[0])), &args[1])
            }
            None => (None, policy),
        };
        for statement in seq(&document["Statement"]) {
            out.push((condition.clone(), statement));
        }
    }
    out
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::Sequence(a) => a.iter().map(s).collect(),
        one => vec![s(one)],
    }
}

/// Which functions may call `action` on `resource` (a `!GetAtt X.Arn`).
fn allowed(t: &Value, action: &str, resource: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (id, f) in functions(t) {
        for (_, statement) in statements(f) {
            let resources: Vec<String> = match &statement["Resource"] {
                Value::Sequence(r) => r.iter().filter_map(|r| call(r, "GetAtt").map(s)).collect(),
                one => call(one, "GetAtt").map(s).into_iter().collect(),
            };
            if actions(statement).iter().any(|a| a == action)
                && resources.iter().any(|r| r == &format!("{resource}.Arn"))
            {
                ids.insert(id.clone());
            }
        }
    }
    ids
}

/// The functions whose environment sets `name`, with its value.
fn given<'t>(t: &'t Value, name: &str) -> Vec<(String, &'t Value)> {
    functions(t)
        .into_iter()
        .filter_map(|(id, f)| {
            environment(f)
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (id, v))
        })
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// The stream function only queues events; the sender alone calls
/// receivers, changes a delivery message's visibility (the retry schedule)
/// and fills the dead-letter queue; the deliveries routes only queue a
/// redelivery. Each gets the variables its `from_env` reads.
#[test]
fn the_webhook_pipeline_is_wired_as_the_functions_read_it() {
    let t = template();
    let refs = |name: &str| -> Vec<(String, Option<String>)> {
        given(&t, name)
            .into_iter()
            .map(|(id, v)| (id, ref_to(v)))
            .collect()
    };
    let by = |ids: &[&str], to: &str| -> Vec<(String, Option<String>)> {
        ids.iter()
            .map(|id| (id.to_string(), Some(to.to_string())))
            .collect()
    };
    assert_eq!(
        refs("DELIVERY_QUEUE_URL"),
        by(
            &[
                "DeliveriesFunction",
                "WebhooksFunction",
                "WebhookSenderFunction"
            ],
            "DeliveryQueue"
        )
    );
    assert_eq!(
        refs("DELIVERY_DLQ_URL"),
        by(&["WebhookSenderFunction"], "DeliveryDeadLetterQueue")
    );
    assert_eq!(
        refs("WEBHOOK_RETRY_SCHEDULE_SECONDS"),
        by(&["WebhookSenderFunction"], "WebhookRetryScheduleSeconds")
    );
    // The parameter's default is the code's default schedule, and valid.
    let schedule = &t["Parameters"]["WebhookRetryScheduleSeconds"];
    assert_eq!(s(&schedule["Type"]), "String");
    let default: shared::webhooks::RetrySchedule =
        s(&schedule["Default"]).parse().expect("a valid schedule");
    assert_eq!(default, shared::webhooks::RetrySchedule::default());
    // One attempt fits in the sender's run, with room for the table writes.
    let (_, timeout) = given(&t, "WEBHOOK_TIMEOUT_SECONDS").pop().expect("set");
    let timeout: u64 = s(timeout).parse().unwrap();
    assert_eq!(
        timeout,
        shared::webhooks::delivery::DEFAULT_TIMEOUT.as_secs()
    );
    let sender = &t["Resources"]["WebhookSenderFunction"]["Properties"];
    let function_timeout: u64 = s(&sender["Timeout"]).parse().unwrap();
    assert!(function_timeout >= 2 * timeout, "{function_timeout} s");

    // The sender on the delivery queue, with partial batch failures (a
    // failed attempt is a message left on the queue).
    let source = &sender["Events"]["Deliveries"];
    assert_eq!(s(&source["Type"]), "SQS");
    let props = &source["Properties"];
    assert_eq!(
        s(call(&props["Queue"], "GetAtt").expect("a GetAtt")),
        "DeliveryQueue.Arn"
    );
    assert_eq!(
        seq(&props["FunctionResponseTypes"])
            .iter()
            .map(s)
            .collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(s(&props["BatchSize"]), "10");

    // Who may do what with the delivery queues.
    assert_eq!(
        allowed(&t, "sqs:SendMessage", "DeliveryQueue"),
        set(&["DeliveriesFunction", "WebhooksFunction"])
    );
    assert_eq!(
        allowed(&t, "sqs:ChangeMessageVisibility", "DeliveryQueue"),
        set(&["WebhookSenderFunction"])
    );
    assert_eq!(
        allowed(&t, "sqs:SendMessage", "DeliveryDeadLetterQueue"),
        set(&["WebhookSenderFunction"])
    );
    // The jobs queue is not the webhook pipeline's.
    assert_eq!(
        allowed(&t, "sqs:SendMessage", "JobsQueue"),
        set(&["GenerateFunction", "SweeperFunction"])
    );
    // Only the sender writes attempts (puts); only it and the deliveries
    // routes move an event's state.
    assert_eq!(
        allowed(&t, "dynamodb:PutItem", "JobsTable"),
        set(&["GenerateFunction", "WebhookSenderFunction"])
    );
    assert!(
        allowed(&t, "dynamodb:UpdateItem", "JobsTable")
            .is_superset(&set(&["DeliveriesFunction", "WebhookSenderFunction"]))
    );
    assert!(!allowed(&t, "dynamodb:UpdateItem", "JobsTable").contains("WebhooksFunction"));
    assert!(allowed(&t, "dynamodb:Query", "JobsTable").contains("DeliveriesFunction"));

    // Stream records the webhooks function could not queue still end on
    // the stream's on-failure queue.
    let stream = &t["Resources"]["WebhooksFunction"]["Properties"]["Events"]["TerminalTransitions"]
        ["Properties"];
    assert_eq!(
        s(call(
            &stream["DestinationConfig"]["OnFailure"]["Destination"],
            "GetAtt"
        )
        .expect("a GetAtt")),
        "WebhookFailuresQueue.Arn"
    );
    assert_eq!(
        allowed(&t, "sqs:SendMessage", "WebhookFailuresQueue"),
        set(&["WebhooksFunction"])
    );

    // An alarm on each dead-letter queue.
    for (alarm, queue) in [
        ("JobsDeadLetterAlarm", "JobsDeadLetterQueue"),
        ("DeliveryDeadLetterAlarm", "DeliveryDeadLetterQueue"),
    ] {
        let a = &t["Resources"][alarm]["Properties"];
        assert_eq!(
            s(&a["MetricName"]),
            "ApproximateNumberOfMessagesVisible",
            "{alarm}"
        );
        assert_eq!(
            s(call(&seq(&a["Dimensions"])[0]["Value"], "GetAtt").expect("a GetAtt")),
            format!("{queue}.QueueName"),
            "{alarm}"
        );
        assert_eq!(s(&a["Threshold"]), "0", "{alarm}");
    }
}

#[test]
fn each_secret_is_given_only_to_the_function_that_uses_it_and_only_it_may_read_it() {
    let t = template();
    // No secret is a parameter any more, nor a plain environment variable.
    for (name, p) in t["Parameters"].as_mapping().unwrap() {
        assert!(p["NoEcho"].is_null(), "{} carries a secret", s(name));
    }
    assert!(t["Parameters"]["CursorSecret"].is_null());
    assert!(t["Parameters"]["GeminiApiKey"].is_null());
    let global = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert!(global["CURSOR_SECRET_ARN"].is_null() && global["GEMINI_API_KEY_ARN"].is_null());

    // The cursor key is generated by the stack, in Secrets Manager.
    let cursor = &t["Resources"]["CursorSigningSecret"];
    assert_eq!(s(&cursor["Type"]), "AWS::SecretsManager::Secret");
    assert!(
        s(&cursor["Properties"]["GenerateSecretString"]["PasswordLength"])
            .parse::<u32>()
            .is_ok_and(|n| n >= 32)
    );

    let mut given = Vec::new();
    let mut readers = Vec::new();
    for (id, f) in functions(&t) {
        for (name, value) in environment(f) {
            assert!(
                name != "CURSOR_SECRET" && name != "GEMINI_API_KEY",
                "{id} is given {name} in plain text"
            );
            if name.ends_with("_ARN") {
                given.push((id.clone(), name, value.clone()));
            }
        }
        for (condition, statement) in statements(f) {
            let acts = actions(statement);
            if acts.iter().any(|a| a.starts_with("secretsmanager:")) {
                assert_eq!(acts, ["secretsmanager:GetSecretValue"], "{id}");
                let resource = ref_to(&statement["Resource"])
                    .unwrap_or_else(|| panic!("{id} reads secrets beyond one ARN"));
                readers.push((id.clone(), condition, resource));
            }
        }
    }
    assert_eq!(given.len(), 2, "{given:?}");
    let (id, name, value) = &given[0];
    assert_eq!(
        (id.as_str(), name.as_str(), ref_to(value).as_deref()),
        (
            "ListJobsFunction",
            "CURSOR_SECRET_ARN",
            Some("CursorSigningSecret")
        )
    );
    let (id, name, value) = &given[1];
    assert_eq!(
        (id.as_str(), name.as_str()),
        ("WorkerFunction", "GEMINI_API_KEY_ARN")
    );
    // Only when the operator names a Gemini secret.
    let args = seq(call(value, "If").expect("conditional"));
    assert_eq!(s(&args[0]), "HasGeminiApiKey");
    assert_eq!(ref_to(&args[1]).as_deref(), Some("GeminiApiKeySecretArn"));
    assert_eq!(ref_to(&args[2]).as_deref(), Some("AWS::NoValue"));

    assert_eq!(
        readers,
        [
            (
                "ListJobsFunction".to_string(),
                None,
                "CursorSigningSecret".to_string()
            ),
            (
                "WorkerFunction".to_string(),
                Some("HasGeminiApiKey".to_string()),
                "GeminiApiKeySecretArn".to_string()
            ),
        ]
    );

    // The names the template gives are the ones the code reads.
    for (name, var) in [
        ("CURSOR_SECRET", "CURSOR_SECRET_ARN"),
        ("GEMINI_API_KEY", "GEMINI_API_KEY_ARN"),
    ] {
        let secret =
            shared::secrets::Secret::from_vars(name, |v| (v == var).then(|| "arn".to_string()));
        assert_eq!(
            secret.source(),
            &shared::secrets::SecretSource::SecretsManager("arn".into())
        );
    }
}

#[test]
fn s3_and_cloudfront_access_logs_go_to_a_private_bucket_that_expires_them() {
    let t = template();
    let logs = &t["Resources"]["AccessLogsBucket"];
    assert_eq!(s(&logs["Type"]), "AWS::S3::Bucket");
    let props = &logs["Properties"];
    for block in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            s(&props["PublicAccessBlockConfiguration"][block]),
            "true",
            "{block}"
        );
    }
    assert!(props["AccessControl"].is_null(), "no canned ACL");
    assert_eq!(
        s(
            &seq(&props["BucketEncryption"]["ServerSideEncryptionConfiguration"])[0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"]
        ),
        "AES256"
    );
    // CloudFront's standard logging needs ACLs on its bucket: not
    // BucketOwnerEnforced. Preferred makes its log files this account's.
    assert_eq!(
        s(&seq(&props["OwnershipControls"]["Rules"])[0]["ObjectOwnership"]),
        "BucketOwnerPreferred"
    );
    let rules = seq(&props["LifecycleConfiguration"]["Rules"]);
    assert!(
        rules.iter().any(|r| s(&r["Status"]) == "Enabled"
            && r["Prefix"].is_null()
            && ref_to(&r["ExpirationInDays"]).as_deref() == Some("AccessLogRetentionDays")),
        "every log expires: {rules:?}"
    );
    assert!(
        s(&t["Parameters"]["AccessLogRetentionDays"]["Default"])
            .parse::<u32>()
            .is_ok_and(|d| d > 0)
    );

    // The results bucket's server access logs, by bucket policy.
    let logging = &t["Resources"]["ResultsBucket"]["Properties"]["LoggingConfiguration"];
    assert_eq!(
        ref_to(&logging["DestinationBucketName"]).as_deref(),
        Some("AccessLogsBucket")
    );
    let s3_prefix = s(&logging["LogFilePrefix"]);
    let policy = &t["Resources"]["AccessLogsBucketPolicy"]["Properties"];
    assert_eq!(
        ref_to(&policy["Bucket"]).as_deref(),
        Some("AccessLogsBucket")
    );
    let policy_statements = seq(&policy["PolicyDocument"]["Statement"]);
    let delivery = policy_statements
        .iter()
        .find(|st| s(&st["Principal"]["Service"]) == "logging.s3.amazonaws.com")
        .expect("S3 log delivery may write");
    assert_eq!(s(&delivery["Effect"]), "Allow");
    assert_eq!(actions(delivery), ["s3:PutObject"]);
    let resource = s(call(&delivery["Resource"], "Sub").expect("a Sub"));
    let allowed = resource
        .strip_prefix("${AccessLogsBucket.Arn}/")
        .and_then(|p| p.strip_suffix('*'))
        .expect("objects of the log bucket");
    assert!(
        s3_prefix.starts_with(allowed) && !allowed.is_empty(),
        "logs under {s3_prefix} are allowed by {resource}, and nothing outside a prefix"
    );
    assert_eq!(
        ref_to(&delivery["Condition"]["StringEquals"]["aws:SourceAccount"]).as_deref(),
        Some("AWS::AccountId"),
        "only this account's buckets"
    );
    assert!(policy_statements.iter().any(|st| s(&st["Effect"]) == "Deny"
        && s(&st["Condition"]["Bool"]["aws:SecureTransport"]) == "false"));

    // CloudFront's standard logs.
    let cdn_logging = &t["Resources"]["ResultsCdn"]["Properties"]["DistributionConfig"]["Logging"];
    assert_eq!(
        s(call(&cdn_logging["Bucket"], "GetAtt").expect("a GetAtt")),
        "AccessLogsBucket.DomainName"
    );
    let cdn_prefix = s(&cdn_logging["Prefix"]);
    assert!(
        !cdn_prefix.is_empty()
            && !cdn_prefix.starts_with(allowed)
            && !allowed.starts_with(&cdn_prefix),
        "CloudFront's logs ({cdn_prefix}) and S3's ({s3_prefix}) do not mix"
    );
}

/// `sam local --env-vars` sets only the variables a function's template
/// declares (the rest of the file is dropped silently), so every variable
/// of `system-tests/lambda/sam-env.json` must be declared: a function's own section by
/// that function, a `Parameters` one (given to whichever functions declare
/// it) by some function. The two that only mean something locally,
/// `AWS_ENDPOINT_URL` and `LOCAL_MODE`, are in the Globals, as
/// `!If [Cond, ..., !Ref AWS::NoValue]` with `Cond` false by default, so a
/// deployed stack has neither (an empty `AWS_ENDPOINT_URL` is not the same
/// as none: the SDK logs it as invalid at every cold start).
#[test]
fn sam_local_env_vars_are_declared_and_absent_from_a_default_deploy() {
    let t = template();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lambda/sam-env.json");
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let globals: Vec<String> = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(s)
        .collect();
    let all = functions(&t);
    let declares = |function: &Value, name: &str| {
        globals.iter().any(|g| g == name) || environment(function).iter().any(|(n, _)| n == name)
    };
    // SAM gives every function the credentials of its own session, whether
    // the template declares them or not.
    let from_session = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    for (section, vars) in env.as_object().unwrap() {
        for name in vars.as_object().unwrap().keys() {
            if from_session.contains(&name.as_str()) {
                continue;
            }
            if section == "Parameters" {
                assert!(
                    all.iter().any(|(_, f)| declares(f, name)),
                    "no function declares {name}: sam local drops it"
                );
            } else {
                let (_, f) = all
                    .iter()
                    .find(|(id, _)| id == section)
                    .unwrap_or_else(|| panic!("sam-env.json: {section} is no function"));
                assert!(
                    declares(f, name),
                    "{section} does not declare {name}: sam local drops it"
                );
            }
        }
    }
    for name in ["AWS_ENDPOINT_URL", "LOCAL_MODE"] {
        assert!(
            globals.iter().any(|g| g == name),
            "{name} is not in the Globals"
        );
    }

    for name in ["AWS_ENDPOINT_URL", "LOCAL_MODE"] {
        let value = &t["Globals"]["Function"]["Environment"]["Variables"][name];
        let args = seq(call(value, "If").unwrap_or_else(|| panic!("{name}: {value:?}")));
        assert_eq!(ref_to(&args[2]).as_deref(), Some("AWS::NoValue"), "{name}");
        let cond = &t["Conditions"][s(&args[0]).as_str()];
        let equals = seq(call(&seq(call(cond, "Not").expect("Not"))[0], "Equals").expect("Equals"));
        let parameter = ref_to(&equals[0]).expect("the condition reads a parameter");
        assert_eq!(s(&equals[1]), "", "{name}: set only when {parameter} is");
        assert_eq!(
            s(&t["Parameters"][parameter.as_str()]["Default"]),
            "",
            "{name}: absent from a default deploy"
        );
    }
}

#[test]
fn the_functions_that_wait_outlast_the_longest_wait_inside_api_gateways_limit() {
    let t = template();
    let longest = u64::from(shared::request::MAX_WAIT_SECS);
    for function in ["GenerateFunction", "GetJobFunction"] {
        let timeout: u64 = s(&t["Resources"][function]["Properties"]["Timeout"])
            .parse()
            .unwrap_or_else(|_| panic!("{function} has its own Timeout"));
        assert!(
            timeout >= longest + 2 && timeout < 30,
            "{function}: {timeout} s for a {longest} s wait under API Gateway's 30 s"
        );
    }
}

/// Which functions may call `action` on the results bucket's objects under
/// `prefix` (a `!Sub "${ResultsBucket.Arn}/prefix*"`).
fn allowed_on_objects(t: &Value, action: &str, prefix: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (id, f) in functions(t) {
        for (_, statement) in statements(f) {
            let resource = call(&statement["Resource"], "Sub").map(s);
            if actions(statement).iter().any(|a| a == action)
                && resource.as_deref() == Some(&format!("${{ResultsBucket.Arn}}/{prefix}*"))
            {
                ids.insert(id.clone());
            }
        }
    }
    ids
}

/// Submitted `data:` input images: generate alone stores them (under
/// `inputs/`, in the bucket `RESULTS_BUCKET` names), the worker alone
/// reads them back, CloudFront never serves them, and the bucket expires
/// them with the results they made.
#[test]
fn data_url_inputs_are_stored_by_generate_read_by_the_worker_and_expire_with_the_results() {
    let t = template();
    assert_eq!(
        allowed_on_objects(&t, "s3:PutObject", "inputs/"),
        set(&["GenerateFunction"])
    );
    assert_eq!(
        allowed_on_objects(&t, "s3:GetObject", "inputs/"),
        set(&["WorkerFunction"])
    );
    assert_eq!(
        allowed_on_objects(&t, "s3:PutObject", "results/"),
        set(&["WorkerFunction"])
    );
    let generate = &t["Resources"]["GenerateFunction"];
    assert_eq!(
        environment(generate)
            .into_iter()
            .find(|(n, _)| n == "RESULTS_BUCKET")
            .and_then(|(_, v)| ref_to(v))
            .as_deref(),
        Some("ResultsBucket")
    );
    let statements =
        seq(&t["Resources"]["ResultsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]);
    let cdn = statements
        .iter()
        .find(|st| s(&st["Sid"]) == "CloudFrontReadsResults")
        .expect("the CDN's read statement");
    assert_eq!(
        call(&cdn["Resource"], "Sub").map(s).as_deref(),
        Some("${ResultsBucket.Arn}/results/*"),
        "the CDN serves results, never inputs"
    );
    let rules =
        seq(&t["Resources"]["ResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]);
    for prefix in ["results/", "inputs/"] {
        assert!(
            rules.iter().any(|r| s(&r["Status"]) == "Enabled"
                && s(&r["Prefix"]) == prefix
                && ref_to(&r["ExpirationInDays"]).as_deref() == Some("ResultsRetentionDays")),
            "{prefix} expires after ResultsRetentionDays: {rules:?}"
        );
    }
}

// ------------------------------------------- operations: alarms and the dashboard

/// One metric an alarm or a dashboard widget reads. A dimension's value is
/// as written: plain, or `${X}` / `${X.Attr}` for a resource (an alarm's
/// `!Ref X` / `!GetAtt X.Attr` are spelled as the dashboard's `!Sub`
/// spells them); `None` for a dashboard search that leaves it open.
#[derive(Debug)]
struct MetricRead {
    at: String,
    namespace: String,
    name: String,
    dimensions: Vec<(String, Option<String>)>,
}

impl MetricRead {
    fn keys(&self) -> BTreeSet<&str> {
        self.dimensions.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Every `AWS::CloudWatch::Alarm`, by logical id.
fn alarms(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .expect("a Resources map")
        .iter()
        .filter(|(_, r)| s(&r["Type"]) == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (s(id), r))
        .collect()
}

/// A dimension value of an alarm, spelled as in a `!Sub`.
fn written(v: &Value) -> String {
    if let Some(target) = ref_to(v) {
        return format!("${{{target}}}");
    }
    if let Some(path) = call(v, "GetAtt") {
        let path = match path {
            Value::Sequence(parts) => parts.iter().map(s).collect::<Vec<_>>().join("."),
            one => s(one),
        };
        return format!("${{{path}}}");
    }
    s(v)
}

fn alarm_metric(at: String, metric: &Value) -> MetricRead {
    MetricRead {
        at,
        namespace: s(&metric["Namespace"]),
        name: s(&metric["MetricName"]),
        dimensions: metric["Dimensions"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|d| (s(&d["Name"]), Some(written(&d["Value"]))))
            .collect(),
    }
}

/// What an alarm reads: its one metric, or each `MetricStat` of its math.
fn alarm_metrics(id: &str, alarm: &Value) -> Vec<MetricRead> {
    let props = &alarm["Properties"];
    if !props["MetricName"].is_null() {
        return vec![alarm_metric(id.to_string(), props)];
    }
    seq(&props["Metrics"])
        .iter()
        .filter(|q| !q["MetricStat"].is_null())
        .map(|q| alarm_metric(format!("{id}.{}", s(&q["Id"])), &q["MetricStat"]["Metric"]))
        .collect()
}

/// The dashboard's body: the JSON of its `!Sub`, `${...}` left as written.
fn dashboard(t: &Value) -> serde_json::Value {
    let props = &t["Resources"]["Dashboard"]["Properties"];
    assert_eq!(
        s(&t["Resources"]["Dashboard"]["Type"]),
        "AWS::CloudWatch::Dashboard"
    );
    let body = s(call(&props["DashboardBody"], "Sub").expect("the body is a !Sub string"));
    serde_json::from_str(&body).expect("the dashboard body is JSON")
}

fn widgets(d: &serde_json::Value) -> &[serde_json::Value] {
    d["widgets"].as_array().expect("a widgets array")
}

/// A widget row `["Namespace", "Name", "Key", "value", ..., {options}]`, or
/// a search `[{"expression": "SEARCH('{Namespace,Key,...} MetricName=\"Name\"
/// Key=\"value\"', ...)"}]`.
fn dashboard_metric(at: String, row: &serde_json::Value) -> MetricRead {
    let row = row.as_array().expect("a metric row is an array");
    if let Some(expression) = row.first().and_then(|r| r["expression"].as_str()) {
        return search_metric(at, expression);
    }
    let parts: Vec<&str> = row
        .iter()
        .take_while(|p| p.is_string())
        .map(|p| p.as_str().expect("a string"))
        .collect();
    assert!(
        parts.len() >= 2 && parts.len().is_multiple_of(2) && !parts.contains(&"."),
        "{at}: a row spelled out in full, namespace, name and dimension pairs: {row:?}"
    );
    MetricRead {
        at,
        namespace: parts[0].to_string(),
        name: parts[1].to_string(),
        dimensions: parts[2..]
            .chunks(2)
            .map(|kv| (kv[0].to_string(), Some(kv[1].to_string())))
            .collect(),
    }
}

fn search_metric(at: String, expression: &str) -> MetricRead {
    let (query, _) = expression
        .strip_prefix("SEARCH('")
        .and_then(|e| e.split_once('\''))
        .unwrap_or_else(|| panic!("{at}: only SEARCH expressions: {expression}"));
    let (schema, terms) = query
        .strip_prefix('{')
        .and_then(|q| q.split_once('}'))
        .unwrap_or_else(|| panic!("{at}: a search with a schema: {query}"));
    let mut schema = schema.split(',').map(str::trim);
    let namespace = schema.next().expect("the schema's namespace").to_string();
    let mut dimensions: Vec<(String, Option<String>)> =
        schema.map(|k| (k.to_string(), None)).collect();
    let mut name = None;
    for term in terms.split_whitespace() {
        let (key, value) = term
            .split_once('=')
            .unwrap_or_else(|| panic!("{at}: a search term Key=\"value\": {term}"));
        let value = value.trim_matches('"');
        if key == "MetricName" {
            name = Some(value.to_string());
        } else {
            let slot = dimensions
                .iter_mut()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("{at}: {key} is not in the search's schema"));
            slot.1 = Some(value.to_string());
        }
    }
    let name = name.unwrap_or_else(|| panic!("{at}: a search names its metric"));
    MetricRead {
        at,
        namespace,
        name,
        dimensions,
    }
}

/// What every metric widget of the dashboard graphs.
fn dashboard_metrics(d: &serde_json::Value) -> Vec<MetricRead> {
    let mut out = Vec::new();
    for w in widgets(d).iter().filter(|w| w["type"] == "metric") {
        let title = w["properties"]["title"].as_str().expect("a titled widget");
        for row in w["properties"]["metrics"]
            .as_array()
            .expect("a widget's metrics")
        {
            out.push(dashboard_metric(title.to_string(), row));
        }
    }
    out
}

/// Every metric the template's alarms and dashboard read.
fn every_metric_read(t: &Value) -> Vec<MetricRead> {
    let mut all: Vec<MetricRead> = alarms(t)
        .iter()
        .flat_map(|(id, a)| alarm_metrics(id, a))
        .collect();
    all.extend(dashboard_metrics(&dashboard(t)));
    all
}

/// The `Function` dimension's values: the functions' binaries (`generate`,
/// `worker`, …), which is what `shared::metrics::emit` is given.
fn function_short_names(t: &Value) -> BTreeSet<String> {
    functions(t)
        .iter()
        .map(|(_, f)| s(&f["Metadata"]["BuildProperties"]["Binary"]))
        .collect()
}

/// Whether `value` is one the functions can emit for dimension `key`.
fn plausible(key: &str, value: &str, short_names: &BTreeSet<String>) -> bool {
    use shared::domain::{FailureCode, JobStatus, Mode};
    match key {
        "Function" => short_names.contains(value),
        "Mode" => Mode::parse(value).is_some(),
        "Status" => JobStatus::ALL
            .iter()
            .any(|st| st.is_terminal() && st.as_str() == value),
        "FailureCode" => FailureCode::ALL.iter().any(|c| c.as_str() == value),
        "Reason" => shared::metrics::Refusal::ALL
            .iter()
            .any(|r| r.as_str() == value),
        "HttpStatus" => value
            .parse::<u16>()
            .is_ok_and(|code| code == 0 || (100..600).contains(&code)),
        other => panic!("no plausible values known for dimension {other}"),
    }
}

/// Issue 22: an alarm or a graph on a metric nobody emits is silent for
/// ever. Each one in namespace ImageSaaS names a metric of the catalog, by
/// one of its dimension sets, with values the functions emit; and the
/// dashboard graphs every metric of the catalog.
#[test]
fn every_imagesaas_metric_of_an_alarm_or_the_dashboard_is_one_the_functions_emit() {
    let t = template();
    let short_names = function_short_names(&t);
    let all = every_metric_read(&t);
    let ours: Vec<&MetricRead> = all
        .iter()
        .filter(|m| m.namespace == shared::metrics::NAMESPACE)
        .collect();
    assert!(ours.len() > 30, "{} ImageSaaS metrics read", ours.len());
    for m in &ours {
        let known = shared::metrics::metric(&m.name)
            .unwrap_or_else(|| panic!("{}: {} is not in the catalog", m.at, m.name));
        let sets: Vec<BTreeSet<&str>> = known
            .dimensions
            .iter()
            .chain(known.optional_dimensions)
            .map(|set| set.iter().copied().collect())
            .collect();
        assert!(
            sets.contains(&m.keys()),
            "{}: {} by {:?} is none of its dimension sets {sets:?}",
            m.at,
            m.name,
            m.keys()
        );
        for (key, value) in &m.dimensions {
            if let Some(value) = value {
                assert!(
                    plausible(key, value, &short_names),
                    "{}: {} {key}={value} is never emitted",
                    m.at,
                    m.name
                );
            }
        }
    }
    let on_dashboard: BTreeSet<&str> = dashboard_metrics(&dashboard(&t))
        .into_iter()
        .filter(|m| m.namespace == shared::metrics::NAMESPACE)
        .map(|m| {
            shared::metrics::metric(&m.name)
                .expect("checked above")
                .name
        })
        .collect();
    for m in shared::metrics::CATALOG {
        assert!(
            on_dashboard.contains(m.name),
            "{} is not on the dashboard",
            m.name
        );
    }
}

/// `AlarmTopicArn` (empty by default) is the one place alarms notify: every
/// alarm sends ALARM and OK to it when it is set, and to nobody otherwise.
#[test]
fn every_alarm_notifies_the_alarm_topic_when_one_is_given_and_nobody_by_default() {
    let t = template();
    let p = &t["Parameters"]["AlarmTopicArn"];
    assert_eq!(s(&p["Type"]), "String");
    assert_eq!(s(&p["Default"]), "", "no topic by default");
    let cond = &t["Conditions"]["HasAlarmTopic"];
    let equals = seq(call(&seq(call(cond, "Not").expect("Not"))[0], "Equals").expect("Equals"));
    assert_eq!(ref_to(&equals[0]).as_deref(), Some("AlarmTopicArn"));
    assert_eq!(s(&equals[1]), "");

    let all = alarms(&t);
    assert_eq!(
        all.len(),
        9,
        "{:?}",
        all.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    for (id, alarm) in &all {
        for actions in ["AlarmActions", "OKActions"] {
            let value = &alarm["Properties"][actions];
            let args =
                seq(call(value, "If").unwrap_or_else(|| panic!("{id}.{actions}: {value:?}")));
            assert_eq!(s(&args[0]), "HasAlarmTopic", "{id}.{actions}");
            let topics: Vec<Option<String>> = seq(&args[1]).iter().map(ref_to).collect();
            assert_eq!(
                topics,
                [Some("AlarmTopicArn".to_string())],
                "{id}.{actions}"
            );
            assert_eq!(
                ref_to(&args[2]).as_deref(),
                Some("AWS::NoValue"),
                "{id}.{actions}"
            );
        }
        assert_eq!(
            s(&alarm["Properties"]["TreatMissingData"]),
            "notBreaching",
            "{id}: no data is no trouble"
        );
    }
}

/// GitHub's anchor of a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// An on-call engineer reads the alarm, then its runbook section: each
/// description links a heading that `docs/OPERATIONS.md` has.
#[test]
fn every_alarm_says_what_it_means_and_links_its_section_of_the_runbook() {
    let t = template();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/OPERATIONS.md");
    let runbook = std::fs::read_to_string(path).expect("docs/OPERATIONS.md");
    let mut anchors = BTreeSet::new();
    let mut in_code = false;
    for line in runbook.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            anchors.insert(anchor(line.trim_start_matches('#')));
        }
    }
    let mut names = BTreeSet::new();
    for (id, alarm) in alarms(&t) {
        let props = &alarm["Properties"];
        let description = s(&props["AlarmDescription"]);
        let (_, link) = description
            .split_once("docs/OPERATIONS.md#")
            .unwrap_or_else(|| panic!("{id} links no runbook section: {description}"));
        let link: String = link
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        assert!(
            anchors.contains(&link),
            "{id}: no section #{link} in docs/OPERATIONS.md"
        );
        assert!(
            description.len() > 100 && description.len() <= 1024,
            "{id}: {description}"
        );
        let name =
            s(call(&props["AlarmName"], "Sub").unwrap_or_else(|| panic!("{id}: a named alarm")));
        assert!(name.starts_with("${AWS::StackName}-"), "{id}: {name}");
        assert!(names.insert(name.clone()), "{id}: {name} twice");
    }
}

/// CloudWatch refuses an alarm on metric math that reads more than 10
/// metrics or has more than 10 expressions, or whose metrics differ in
/// period; exactly one query is what the alarm watches, and every id an
/// expression names is defined.
#[test]
fn alarms_on_metric_math_stay_within_cloudwatchs_limits() {
    let t = template();
    let mut math = 0;
    for (id, alarm) in alarms(&t) {
        let Some(queries) = alarm["Properties"]["Metrics"].as_sequence() else {
            continue;
        };
        math += 1;
        let stats: Vec<&Value> = queries
            .iter()
            .filter(|q| !q["MetricStat"].is_null())
            .collect();
        let expressions: Vec<String> = queries
            .iter()
            .filter(|q| !q["Expression"].is_null())
            .map(|q| s(&q["Expression"]))
            .collect();
        assert!(stats.len() <= 10 && expressions.len() <= 10, "{id}");
        assert_eq!(stats.len() + expressions.len(), queries.len(), "{id}");
        let watched: Vec<String> = queries
            .iter()
            .filter(|q| s(&q["ReturnData"]) == "true")
            .map(|q| s(&q["Id"]))
            .collect();
        assert_eq!(watched.len(), 1, "{id} watches one query: {watched:?}");
        let periods: BTreeSet<String> = stats
            .iter()
            .map(|q| s(&q["MetricStat"]["Period"]))
            .collect();
        assert_eq!(periods.len(), 1, "{id}: one period, {periods:?}");
        let ids: BTreeSet<String> = queries.iter().map(|q| s(&q["Id"])).collect();
        let mut used = BTreeSet::new();
        for e in &expressions {
            // Ids start with a lowercase letter; functions and AND are upper case.
            for word in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with(|c: char| c.is_ascii_lowercase()) {
                    assert!(
                        ids.contains(word),
                        "{id}: {word} is not a query of the alarm"
                    );
                    used.insert(word.to_string());
                }
            }
        }
        for q in &stats {
            assert!(
                used.contains(&s(&q["Id"])),
                "{id}: {} is read and never used",
                s(&q["Id"])
            );
        }
    }
    assert_eq!(math, 4, "the failure rate and the three error-rate alarms");
}

/// The template's resources of `kind`, by logical id.
fn resources_of(t: &Value, kind: &str) -> BTreeSet<String> {
    t["Resources"]
        .as_mapping()
        .expect("a Resources map")
        .iter()
        .filter(|(_, r)| s(&r["Type"]) == kind)
        .map(|(id, _)| s(id))
        .collect()
}

/// The resource a `${X}` / `${X.Attr}` value names, with the attribute.
fn named_resource(value: &str) -> Option<(&str, Option<&str>)> {
    let inner = value.strip_prefix("${")?.strip_suffix('}')?;
    Some(match inner.split_once('.') {
        Some((id, attribute)) => (id, Some(attribute)),
        None => (inner, None),
    })
}

/// Function, queue and API metrics name this stack's resources, never a
/// name typed by hand: a renamed resource fails here, not in production.
#[test]
fn every_aws_metric_names_a_resource_of_the_template() {
    let t = template();
    let functions = resources_of(&t, "AWS::Serverless::Function");
    let queues = resources_of(&t, "AWS::SQS::Queue");
    let apis = resources_of(&t, "AWS::Serverless::HttpApi");
    let mut seen = BTreeSet::new();
    for m in every_metric_read(&t) {
        let (key, targets, attribute) = match m.namespace.as_str() {
            "AWS/Lambda" => ("FunctionName", &functions, None),
            "AWS/SQS" => ("QueueName", &queues, Some("QueueName")),
            "AWS/ApiGateway" => ("ApiId", &apis, None),
            ns if ns == shared::metrics::NAMESPACE => continue,
            other => panic!("{}: namespace {other}", m.at),
        };
        assert_eq!(m.keys(), BTreeSet::from([key]), "{}: {}", m.at, m.name);
        let value = m
            .value(key)
            .unwrap_or_else(|| panic!("{}: {key} is open", m.at));
        let (id, attr) = named_resource(value)
            .unwrap_or_else(|| panic!("{}: {key} {value} is not a resource of the template", m.at));
        assert!(
            targets.contains(id),
            "{}: {key} {value}: no such resource",
            m.at
        );
        assert_eq!(attr, attribute, "{}: {key} {value}", m.at);
        seen.insert(m.namespace.clone());
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

/// What `metric` of AWS/Lambda is read for, by function logical id.
fn lambda_functions(metrics: &[MetricRead], metric: &str) -> BTreeSet<String> {
    metrics
        .iter()
        .filter(|m| m.namespace == "AWS/Lambda" && m.name == metric)
        .filter_map(|m| m.value("FunctionName").and_then(named_resource))
        .map(|(id, _)| id.to_string())
        .collect()
}

/// No function is out of sight: each has its errors, throttles and
/// duration on the dashboard, and its error rate under exactly one alarm
/// that reads both its errors and its invocations.
#[test]
fn every_function_is_on_the_dashboard_and_under_one_error_rate_alarm() {
    let t = template();
    let all = resources_of(&t, "AWS::Serverless::Function");
    assert_eq!(all.len(), 11);
    let graphed = dashboard_metrics(&dashboard(&t));
    for metric in ["Errors", "Throttles", "Duration"] {
        assert_eq!(
            lambda_functions(&graphed, metric),
            all,
            "the dashboard's {metric}"
        );
    }
    let mut alarmed = BTreeSet::new();
    for (id, alarm) in alarms(&t) {
        let read = alarm_metrics(&id, alarm);
        let errors = lambda_functions(&read, "Errors");
        assert_eq!(
            errors,
            lambda_functions(&read, "Invocations"),
            "{id}: errors and invocations"
        );
        for f in errors {
            assert!(alarmed.insert(f.clone()), "{f} is under two alarms");
        }
    }
    assert_eq!(alarmed, all, "every function's error rate is alarmed");
}

/// The dashboard lists every alarm, and graphs the depth and age of the
/// two work queues and the depth of both dead-letter queues, all in the
/// stack's region.
#[test]
fn the_dashboard_lists_every_alarm_and_shows_the_queues() {
    let t = template();
    let d = dashboard(&t);
    let listed: BTreeSet<String> = widgets(&d)
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().expect("alarm ARNs"))
        .map(|a| {
            let a = a.as_str().expect("an ARN");
            let (id, attribute) = named_resource(a).unwrap_or_else(|| panic!("{a}"));
            assert_eq!(attribute, Some("Arn"), "{a}");
            id.to_string()
        })
        .collect();
    let all: BTreeSet<String> = alarms(&t).into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, all);

    for w in widgets(&d).iter().filter(|w| w["type"] == "metric") {
        assert_eq!(w["properties"]["region"], "${AWS::Region}", "{w}");
    }
    let graphed = dashboard_metrics(&d);
    let queues_of = |metric: &str| -> BTreeSet<String> {
        graphed
            .iter()
            .filter(|m| m.namespace == "AWS/SQS" && m.name == metric)
            .filter_map(|m| m.value("QueueName").and_then(named_resource))
            .map(|(id, _)| id.to_string())
            .collect()
    };
    assert!(
        queues_of("ApproximateNumberOfMessagesVisible").is_superset(&set(&[
            "JobsQueue",
            "DeliveryQueue",
            "JobsDeadLetterQueue",
            "DeliveryDeadLetterQueue"
        ]))
    );
    assert!(
        queues_of("ApproximateAgeOfOldestMessage")
            .is_superset(&set(&["JobsQueue", "DeliveryQueue"]))
    );
}
