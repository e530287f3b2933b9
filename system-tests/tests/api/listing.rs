//! Listing: newest first, every job exactly once across pages, full pages
//! under a status filter, cursors that refuse tampering.

use std::collections::HashSet;

use serde_json::Value;

use system_tests::TestStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_page_newest_first_each_exactly_once() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(10_000, 10_000).await;
    let mut submitted = Vec::new();
    for batch in 0..23 {
        let bodies = (0..10).map(|i| format!(r#"{{"prompt":"job {}"}}"#, batch * 10 + i));
        for r in t.submit_all(&key, bodies).await {
            assert_eq!(r.status, 202, "{}", r.body);
            submitted.push(r.body["jobId"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(submitted.len(), 230);
    // Cancel every third job, so a status filter has to skip others.
    let canceled: HashSet<String> = submitted.iter().step_by(3).cloned().collect();
    for id in &canceled {
        assert_eq!(t.cancel(&key, id).await.status, 200);
    }

    let pages = t.list_all(&key, "limit=100").await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 30]
    );
    let all: Vec<&Value> = pages.iter().flatten().collect();
    let ids: Vec<&str> = all.iter().map(|j| j["id"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 230, "every job exactly once");
    assert_eq!(unique, submitted.iter().map(String::as_str).collect());
    let created: Vec<&str> = all
        .iter()
        .map(|j| j["createdAt"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // 77 canceled jobs, pages of 25: 25, 25, 25, 2 — full pages, no gaps.
    let pages = t.list_all(&key, "status=CANCELED&limit=25").await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [25, 25, 25, 2]
    );
    let listed: HashSet<String> = pages
        .iter()
        .flatten()
        .map(|j| {
            assert_eq!(j["status"], "CANCELED");
            j["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(listed, canceled);

    let queued = t.list_all(&key, "status=QUEUED&limit=100").await;
    assert_eq!(queued.iter().map(Vec::len).sum::<usize>(), 230 - 77);
    assert!(
        t.list_all(&key, "status=SUCCEEDED")
            .await
            .iter()
            .all(Vec::is_empty)
    );
}

#[tokio::test]
async fn exact_page_boundary_has_no_empty_last_page() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(1000, 1000).await;
    for i in 0..4 {
        assert_eq!(
            t.submit(&key, &format!(r#"{{"prompt":"{i}"}}"#))
                .await
                .status,
            202
        );
    }
    let pages = t.list_all(&key, "limit=2").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
    let one_page = t.get(&key, "/v1/jobs?limit=4").await;
    assert_eq!(one_page.body["hasMore"], false);
    assert_eq!(one_page.body["nextCursor"], Value::Null);
    let default = t.get(&key, "/v1/jobs?cursor=").await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let t = TestStack::start().await;
    let (_, key) = t.tenant(1000, 1000).await;
    for _ in 0..3 {
        t.submit(&key, r#"{"prompt":"a"}"#).await;
    }
    let cursor = t.get(&key, "/v1/jobs?limit=1").await.body["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let status_cursor = t.get(&key, "/v1/jobs?limit=1&status=QUEUED").await.body["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    // Flip one character of the position.
    let mut tampered: Vec<char> = cursor.chars().collect();
    tampered[5] = if tampered[5] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();

    let cases = [
        ("status=queued".to_string(), "status"),
        ("status=DONE".to_string(), "status"),
        ("status=".to_string(), "status"),
        ("limit=0".to_string(), "limit"),
        ("limit=101".to_string(), "limit"),
        ("limit=-1".to_string(), "limit"),
        ("limit=1.5".to_string(), "limit"),
        ("limit=ten".to_string(), "limit"),
        ("limit=99999999999999999999999".to_string(), "limit"),
        ("limit=".to_string(), "limit"),
        ("cursor=garbage".to_string(), "cursor"),
        (format!("cursor={tampered}"), "cursor"),
        (format!("cursor={}", "A".repeat(5000)), "cursor"),
        // A cursor only works with the filter that made it.
        (format!("status=QUEUED&cursor={cursor}"), "cursor"),
        (format!("cursor={status_cursor}"), "cursor"),
        (format!("status=FAILED&cursor={status_cursor}"), "cursor"),
        ("stauts=QUEUED".to_string(), "stauts"),
        ("limit=1&limit=2".to_string(), "limit"),
    ];
    for (query, field) in cases {
        let r = t.get(&key, &format!("/v1/jobs?{query}")).await;
        r.assert_error(400, "INVALID_REQUEST");
        assert!(r.message().contains(field), "{query}: {}", r.message());
    }
    // The untampered ones work.
    assert_eq!(
        t.get(&key, &format!("/v1/jobs?cursor={cursor}"))
            .await
            .status,
        200
    );
    assert_eq!(
        t.get(
            &key,
            &format!("/v1/jobs?status=QUEUED&cursor={status_cursor}")
        )
        .await
        .status,
        200
    );
}
