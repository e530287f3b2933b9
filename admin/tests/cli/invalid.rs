//! Invalid input: a non-zero exit, one clear line on stderr, nothing on
//! stdout, and nothing changed in the table.

use serde_json::Value;

use crate::support::Env;

/// Every listing and detail the CLI can show for these tenants: if an
/// invalid command changed anything, this changes.
async fn snapshot(env: &Env, tenants: &[&str]) -> Vec<Value> {
    let mut all = vec![env.admin(&["tenant", "list", "--json"]).await.json()];
    for t in tenants {
        all.push(env.admin(&["tenant", "show", t, "--json"]).await.json());
        all.push(
            env.admin(&["key", "list", "--tenant", t, "--json"])
                .await
                .json(),
        );
    }
    all
}

#[tokio::test]
async fn invalid_input_fails_clearly_and_changes_nothing() {
    let env = Env::start().await;
    let tenant = env
        .create_tenant(&["--webhook-url", "https://hooks.example.com/h"])
        .await;
    let id = tenant["tenantId"].as_str().expect("tenantId");
    let (key_id, _) = env.create_key(id, "test").await;
    let before = snapshot(&env, &[id]).await;

    // Well-formed, but no such tenant / key.
    let absent = shared::ids::new_id();
    let absent_key = shared::store::new_key_id();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["tenant", "show", &absent], "no tenant"),
        (vec!["tenant", "update", &absent, "--rpm", "5"], "no tenant"),
        (
            vec!["tenant", "update", "nope", "--rpm", "5"],
            "no tenant `nope`",
        ),
        (
            vec!["key", "create", "--tenant", &absent, "--mode", "test"],
            "no tenant",
        ),
        (
            vec!["key", "create", "--tenant", "../x", "--mode", "live"],
            "no tenant",
        ),
        (vec!["key", "list", "--tenant", &absent], "no tenant"),
        (vec!["key", "revoke", &absent_key], "no API key"),
        (
            vec!["key", "revoke", "img_test_AbCdEfGh12345678"],
            "no API key",
        ),
        // Limits.
        (
            vec!["tenant", "create", "--name", "X", "--rpm", "0"],
            "from 1 to 100000",
        ),
        (
            vec!["tenant", "create", "--name", "X", "--rpm", "abc"],
            "--rpm",
        ),
        (
            vec!["tenant", "create", "--name", "X", "--rpm", "100001"],
            "from 1 to 100000",
        ),
        (
            vec!["tenant", "create", "--name", "X", "--max-concurrency", "0"],
            "from 1 to 1000",
        ),
        (
            vec![
                "tenant",
                "create",
                "--name",
                "X",
                "--max-concurrency",
                "1001",
            ],
            "from 1 to 1000",
        ),
        (
            vec!["tenant", "create", "--name", "X", "--rpm", "-1"],
            "from 1 to 100000",
        ),
        (
            vec!["tenant", "update", id, "--rpm", "0"],
            "from 1 to 100000",
        ),
        (vec!["tenant", "update", id, "--rpm", "abc"], "--rpm"),
        (
            vec!["tenant", "update", id, "--max-concurrency", "2.5"],
            "from 1 to 1000",
        ),
        // Names, modes, missing and conflicting flags.
        (
            vec!["tenant", "create", "--name", "  "],
            "must not be empty",
        ),
        (vec!["tenant", "create"], "--name"),
        (
            vec!["key", "create", "--tenant", id, "--mode", "prod"],
            "--mode",
        ),
        (vec!["key", "create", "--tenant", id], "--mode"),
        (vec!["tenant", "update", id], "nothing to update"),
        // Monthly image quotas.
        (
            vec!["tenant", "update", id, "--monthly-image-quota", "-1"],
            "from 0 to 1000000000",
        ),
        (
            vec![
                "tenant",
                "update",
                id,
                "--monthly-image-quota",
                "1000000001",
            ],
            "from 0 to 1000000000",
        ),
        (
            vec!["tenant", "update", id, "--monthly-image-quota", "lots"],
            "--monthly-image-quota",
        ),
        (
            vec![
                "tenant",
                "update",
                id,
                "--no-quota",
                "--monthly-image-quota",
                "5",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "tenant",
                "update",
                id,
                "--rpm",
                "5",
                "--monthly-image-quota",
                "2.5",
            ],
            "from 0 to 1000000000",
        ),
        (
            vec![
                "tenant",
                "create",
                "--name",
                "X",
                "--monthly-image-quota",
                "+3",
            ],
            "from 0 to 1000000000",
        ),
        (vec!["tenant", "usage", id, "--month", "2026-13"], "YYYY-MM"),
        (vec!["tenant", "usage", &absent], "no tenant"),
        (vec!["tenant", "audit", id, "--month", "2026/03"], "YYYY-MM"),
        (
            vec![
                "tenant",
                "update",
                id,
                "--no-webhook",
                "--rotate-webhook-secret",
            ],
            "cannot be used with",
        ),
        // Webhook URLs the delivery guard would refuse.
        (
            vec![
                "tenant",
                "create",
                "--name",
                "X",
                "--webhook-url",
                "http://10.0.0.1/x",
            ],
            "webhook URL `http://10.0.0.1/x`",
        ),
        (
            vec![
                "tenant",
                "create",
                "--name",
                "X",
                "--webhook-url",
                "https://10.0.0.1/x",
            ],
            "private",
        ),
        (
            vec![
                "tenant",
                "update",
                id,
                "--rpm",
                "5",
                "--webhook-url",
                "https://169.254.169.254/x",
            ],
            "private",
        ),
        (
            vec!["tenant", "update", id, "--webhook-url", "not a url"],
            "is not an absolute URL",
        ),
        (
            vec![
                "tenant",
                "update",
                id,
                "--webhook-url",
                "https://user:pw@example.com/",
            ],
            "user name or password",
        ),
    ];
    for (args, expected) in &cases {
        env.admin(args).await.fails_with(expected);
    }
    assert_eq!(snapshot(&env, &[id]).await, before, "nothing changed");

    // Revoke of the real key still works: the failures above left it alone.
    env.admin(&["key", "revoke", &key_id]).await.ok();
}

#[tokio::test]
async fn failures_are_json_with_json() {
    let env = Env::start().await;
    let absent = shared::ids::new_id();
    for args in [
        vec!["tenant", "show", absent.as_str(), "--json"],
        vec!["--json", "tenant", "create", "--name", "X", "--rpm", "abc"],
    ] {
        let run = env.admin(&args).await;
        assert_ne!(run.code, Some(0), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        let err: Value = serde_json::from_str(&run.stderr).expect("a JSON error");
        assert!(
            err["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{err}"
        );
    }
}

#[tokio::test]
async fn configuration_problems_are_one_line_too() {
    let env = Env::start().await;
    env.admin_with(&["tenant", "list"], &[("TABLE_NAME", "")])
        .await
        .fails_with("pass --table NAME or set TABLE_NAME");
    // A table that does not exist: the AWS error, on one line.
    env.admin(&["tenant", "list", "--table", "no-such-table"])
        .await
        .fails_with("DynamoDB Query failed");
    // --table wins over TABLE_NAME.
    let listed = env
        .admin_with(
            &["tenant", "list", "--json", "--table", env.table()],
            &[("TABLE_NAME", "no-such-table")],
        )
        .await
        .json();
    assert_eq!(listed, Value::Array(vec![]));
}
