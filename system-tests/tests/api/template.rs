//! The SAM template and the local stack describe one system: this test
//! fails when they drift (table shape, indexes, TTL, stream, queue settings,
//! functions, routes).

use std::collections::BTreeSet;

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
        let resp = devstack::server::dispatch(&stack.stack.app, req).await;
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
fn the_worker_and_webhooks_can_be_given_concurrency_no_http_flood_can_take() {
    let t = template();
    assert_eq!(
        optional_reservation(&t, "WorkerFunction"),
        "WorkerReservedConcurrency"
    );
    assert_eq!(
        optional_reservation(&t, "WebhooksFunction"),
        "WebhooksReservedConcurrency"
    );
    // The Gemini quota guard stays where it was: on the event source.
    let scaling = &t["Resources"]["WorkerFunction"]["Properties"]["Events"]["Jobs"]["Properties"]["ScalingConfig"];
    assert_eq!(
        ref_to(&scaling["MaximumConcurrency"]).as_deref(),
        Some("WorkerMaxConcurrency")
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
    assert_eq!(http.len(), 5, "{http:?}");
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
