//! The hostile-input corpus (`system-tests/tests/hostile/*.json`) sent through the
//! local stack byte for byte: every case must get its documented 4xx in the
//! contract's error shape, from the layer the case names, and must leave
//! the tenants' partitions exactly as they were. Cases whose input only the
//! worker can judge (a host name that resolves to loopback, a redirect) must
//! be accepted and then fail with the documented job error, freeing their
//! concurrency slot. All failures are collected and reported by case name.

mod corpus;
mod partition;
mod report;
mod request;
mod trap;
mod verdict;
mod wire;
mod world;

use std::sync::Arc;

use corpus::{Case, Policy};
use partition::Partition;
use report::{Outcome, Report, panic_text};
use shared::store::schema;
use world::World;

use system_tests::{TestStack, is_terminal, wait_for_job};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_get_their_documented_4xx_and_leave_no_trace() {
    let cases = corpus::load(&corpus::corpus_dir())
        .unwrap_or_else(|e| panic!("the hostile corpus is malformed:\n{e}"));
    assert!(
        cases.len() >= corpus::MIN_CASES,
        "the hostile corpus has {} cases; it must keep at least {}",
        cases.len(),
        corpus::MIN_CASES
    );
    let world = Arc::new(Box::pin(World::start(&cases)).await);
    let (worker_cases, refused_cases): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(Case::is_worker_case);
    let mut report = Report::default();

    // One at a time: each is judged by the tenants' partitions before and
    // after it (the state after one case is the state before the next).
    let mut watched = watched_partitions(&world)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for case in &refused_cases {
        report.record(
            case.described(),
            refused_case(&world, case, &mut watched).await,
        );
    }

    // Each on its own tenant, so they can run together; a panic inside one
    // (a job that never finishes) is that case's failure.
    world.start_workers();
    let running: Vec<_> = worker_cases
        .into_iter()
        .map(|case| {
            let world = world.clone();
            let label = case.described();
            (
                label,
                tokio::spawn(async move { worker_case(&world, &case).await }),
            )
        })
        .collect();
    for (label, task) in running {
        let outcome = task
            .await
            .unwrap_or_else(|e| Outcome::Failed(vec![panic_text(e.into_panic())]));
        report.record(label, outcome);
    }
    report.assert_clean();
}

/// The partitions no refused case may change: the victim's (whom every
/// refused case is sent as) and the other tenant's (whose job and cursor
/// the victim tries to use), by tenant id.
type Watched = Vec<(String, Partition)>;

async fn watched_partitions(world: &World) -> Result<Watched, String> {
    let store = &world
        .server(Policy::Production, Policy::Production)
        .stack
        .app
        .store;
    let (victim, other) = tokio::try_join!(
        Partition::read(store, &world.victim.id),
        Partition::read(store, &world.other.id),
    )?;
    Ok(vec![
        (world.victim.id.clone(), victim),
        (world.other.id.clone(), other),
    ])
}

/// A case that must be refused: its answer, and the watched partitions
/// unchanged by it (`watched` becomes the state after it).
async fn refused_case(world: &World, case: &Case, watched: &mut Watched) -> Outcome {
    let server = world.server(case.api_policy, Policy::Production);
    let request = match request::raw_request(case, &world.placeholders, &world.victim.key) {
        Ok(request) => request,
        Err(unresolved) => return unresolved.into(),
    };
    let mut problems = match wire::exchange(&address(server), &request).await {
        Ok(answer) => verdict::answer_problems(case, &answer),
        Err(e) => vec![e],
    };
    match watched_partitions(world).await {
        Ok(after) => {
            for ((tenant, before), (_, after)) in watched.iter().zip(&after) {
                problems.extend(
                    after
                        .changes_since(before)
                        .into_iter()
                        .map(|change| format!("left a trace in tenant {tenant}: {change}")),
                );
            }
            *watched = after;
        }
        Err(e) => problems.push(e),
    }
    Outcome::from_problems(problems)
}

/// A case the API must accept and the worker must fail: the job's end
/// state, its trap untouched, and nothing else left behind (no idempotency
/// record, the concurrency slot given back).
async fn worker_case(world: &World, case: &Case) -> Outcome {
    let (Some(worker_policy), Some(expected)) = (case.worker_policy, &case.expect.job) else {
        unreachable!("the corpus loader checks that worker cases name both");
    };
    let server = world.server(case.api_policy, worker_policy);
    let (tenant, key) = server.tenant(60, 5).await;
    let request = match request::raw_request(case, &world.placeholders_for(case, &key), &key) {
        Ok(request) => request,
        Err(unresolved) => return unresolved.into(),
    };
    let store = &server.stack.app.store;
    let before = match Partition::read(store, &tenant).await {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(vec![e]),
    };
    let answer = match wire::exchange(&address(server), &request).await {
        Ok(answer) => answer,
        Err(e) => return Outcome::Failed(vec![e]),
    };
    let problems = verdict::answer_problems(case, &answer);
    if !problems.is_empty() {
        return Outcome::Failed(problems);
    }
    let accepted: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let Some(job_id) = accepted["jobId"].as_str() else {
        return Outcome::Failed(vec![format!(
            "a 202 without a jobId: {}",
            answer.body_text()
        )]);
    };
    let (_, done) = wait_for_job(server, &key, job_id, is_terminal).await;
    let mut problems = verdict::job_problems(expected, &done);
    let trapped = world.trap(case).connections();
    if trapped > 0 {
        problems.push(format!(
            "the worker connected to the trap {trapped} time(s)"
        ));
    }
    match Partition::read(store, &tenant).await {
        Ok(after) => problems.extend(only_the_job_remains(&before, &after, job_id)),
        Err(e) => problems.push(e),
    }
    Outcome::from_problems(problems)
}

/// After a worker case's job ended: exactly one new job item (this one),
/// the same idempotency records, the concurrency counter back where it was.
fn only_the_job_remains(before: &Partition, after: &Partition, job_id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let job_prefix = schema::job_sk("");
    let mut expected_jobs = before.keys_of(&job_prefix);
    let job_sk = schema::job_sk(job_id);
    expected_jobs.push(&job_sk);
    expected_jobs.sort_unstable();
    if after.keys_of(&job_prefix) != expected_jobs {
        problems.push(format!(
            "jobs {:?}, expected {expected_jobs:?}",
            after.keys_of(&job_prefix)
        ));
    }
    let idempotency_prefix = schema::idempotency_sk("");
    if after.keys_of(&idempotency_prefix) != before.keys_of(&idempotency_prefix) {
        problems.push("the idempotency records changed".to_string());
    }
    if after.active_jobs() != before.active_jobs() {
        problems.push(format!(
            "activeJobs is {:?} after the job ended, was {:?}",
            after.active_jobs(),
            before.active_jobs()
        ));
    }
    problems
}

/// `host:port` of a test server.
fn address(server: &TestStack) -> String {
    server.base.trim_start_matches("http://").to_string()
}
