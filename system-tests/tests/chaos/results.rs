//! Result images against the table: every object in the results bucket
//! lies under `results/{tenantId}/{jobId}/` of a job of that very tenant,
//! every SUCCEEDED job's URLs name objects that exist, and a sample of
//! those URLs downloads as an image.

use std::collections::HashSet;

use crate::invariants::Snapshot;
use system_tests::TestStack;

#[derive(Debug, Default)]
pub struct Results {
    pub objects: usize,
    pub downloaded: usize,
    pub violations: Vec<String>,
}

/// `sample`: how many result URLs to download.
pub async fn check(t: &TestStack, snapshot: &Snapshot, sample: usize) -> Results {
    let mut results = Results::default();
    let keys = bucket_keys(t).await;
    results.objects = keys.len();
    let jobs: HashSet<(&str, &str)> = snapshot
        .all_jobs()
        .map(|j| (j.tenant_id.as_str(), j.id.as_str()))
        .collect();
    for key in &keys {
        let mut parts = key.split('/');
        let owner = match (parts.next(), parts.next(), parts.next()) {
            (Some("results"), Some(tenant), Some(job)) => Some((tenant, job)),
            _ => None,
        };
        if !owner.is_some_and(|o| jobs.contains(&o)) {
            results
                .violations
                .push(format!("object {key} belongs to no job of its tenant"));
        }
    }
    let urls: Vec<&String> = snapshot.all_jobs().flat_map(|j| &j.result_urls).collect();
    for url in &urls {
        let named = keys.iter().any(|k| url.contains(&format!("/{k}")));
        if !named {
            results
                .violations
                .push(format!("result URL {url} names no stored object"));
        }
    }
    for url in urls.iter().take(sample) {
        match t.http.get(url.as_str()).send().await {
            Ok(r)
                if r.status() == 200
                    && r.headers()
                        .get("content-type")
                        .is_some_and(|v| v == "image/png") =>
            {
                results.downloaded += 1;
            }
            Ok(r) => results
                .violations
                .push(format!("result URL {url} answered {}", r.status())),
            Err(e) => results
                .violations
                .push(format!("result URL {url} failed: {e}")),
        }
    }
    results
}

async fn bucket_keys(t: &TestStack) -> Vec<String> {
    let s3 = devstack::resources::local_s3(&t.stack.sdk);
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(&t.stack.options.bucket)
            .set_continuation_token(token)
            .send()
            .await
            .expect("listing the results bucket");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return keys;
        }
    }
}
