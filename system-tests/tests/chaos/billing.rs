//! Every Gemini call is billed: the fake Gemini's call log, mapped to jobs
//! by their unique prompts, held against the attempts each job recorded.
//! A job is called at most once per attempt, and its outcome is one the
//! provider's answers allow.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use shared::domain::{Job, JobStatus};
use testkit::fake_gemini::{Call, Reply};

use crate::harness::{GEMINI_KEY, MAX_ATTEMPTS};
use crate::invariants::Snapshot;

/// What an answer does to an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Image,
    /// Slow, but within the worker's timeout: an image, or a timeout if
    /// the machine was slower still.
    SlowImage,
    Blocked,
    Transient,
    /// Slower than the worker's timeout.
    TimedOut,
}

pub fn effect(reply: &Reply, timeout: Duration) -> Effect {
    match reply {
        Reply::Image(_) | Reply::ImageAs { .. } => Effect::Image,
        Reply::PromptBlocked(_) | Reply::Finish(_) | Reply::Refused { .. } => Effect::Blocked,
        Reply::Error { .. } => Effect::Transient,
        Reply::Slow(delay, _) if *delay >= timeout => Effect::TimedOut,
        Reply::Slow(_, inner) => match effect(inner, timeout) {
            Effect::Image => Effect::SlowImage,
            other => other,
        },
    }
}

#[derive(Debug, Default)]
pub struct Billing {
    pub calls: usize,
    pub attempts: u64,
    pub by_effect: BTreeMap<Effect, usize>,
    pub violations: Vec<String>,
}

/// `one_call_per_attempt`: no run was interrupted between its claim and
/// its call, so calls and attempts must match exactly, job by job.
pub fn check(
    calls: &[Call],
    snapshot: &Snapshot,
    timeout: Duration,
    one_call_per_attempt: bool,
) -> Billing {
    let mut billing = Billing {
        calls: calls.len(),
        ..Billing::default()
    };
    let mut jobs_by_prompt: HashMap<&str, &Job> = HashMap::new();
    for job in snapshot.all_jobs() {
        if let Some(other) = jobs_by_prompt.insert(job.prompt.as_str(), job) {
            billing.violations.push(format!(
                "jobs {} and {} share a prompt: their calls cannot be told apart",
                other.id, job.id
            ));
        }
    }
    let mut effects: HashMap<&str, Vec<Effect>> = HashMap::new();
    for call in calls {
        let effect = effect(&call.reply, timeout);
        *billing.by_effect.entry(effect).or_default() += 1;
        if call.api_key.as_deref() != Some(GEMINI_KEY) {
            billing.violations.push(format!(
                "a Gemini call without the configured key: {:?}",
                call.api_key
            ));
        }
        match call.prompt().and_then(|p| jobs_by_prompt.get(p)) {
            Some(job) => effects.entry(job.id.as_str()).or_default().push(effect),
            None => billing
                .violations
                .push(format!("a Gemini call for no job: {:?}", call.prompt())),
        }
    }
    for job in snapshot.all_jobs() {
        billing.attempts += u64::from(job.attempts);
        let seen = effects.get(job.id.as_str()).map_or(&[][..], Vec::as_slice);
        if let Err(problem) = check_job(job, seen, one_call_per_attempt) {
            billing.violations.push(format!(
                "job {} ({} {:?}, attempts {}, calls {seen:?}): {problem}",
                job.id,
                job.status,
                job.error.as_ref().map(|e| &e.code),
                job.attempts
            ));
        }
    }
    billing
}

fn check_job(job: &Job, calls: &[Effect], one_call_per_attempt: bool) -> Result<(), &'static str> {
    let attempts = job.attempts as usize;
    if calls.len() > attempts {
        return Err("more provider calls than attempts");
    }
    if one_call_per_attempt && calls.len() != attempts {
        return Err("an attempt without its provider call");
    }
    let any = |wanted: &[Effect]| calls.iter().any(|e| wanted.contains(e));
    let code = job.error.as_ref().map(|e| e.code.as_str());
    let allowed = match (job.status, code) {
        (JobStatus::Succeeded, _) => any(&[Effect::Image, Effect::SlowImage]),
        (JobStatus::Failed, Some("CONTENT_BLOCKED")) => any(&[Effect::Blocked]),
        (JobStatus::Failed, Some("PROVIDER_UNAVAILABLE")) => {
            attempts == MAX_ATTEMPTS as usize
                && any(&[Effect::Transient, Effect::TimedOut, Effect::SlowImage])
        }
        // Out of attempts, or (1.1) the deadline passed before an attempt
        // could start: e.g. an attempt whose finish was lost to an outage,
        // retried after the deadline.
        (JobStatus::Failed, Some("TIMEOUT")) => {
            attempts > MAX_ATTEMPTS as usize
                || (job.deadline_at.is_some()
                    && job
                        .error
                        .as_ref()
                        .is_some_and(|e| e.message == shared::domain::job::DEADLINE_PASSED))
        }
        (JobStatus::Failed, _) => false,
        (JobStatus::Canceled, _) => !any(&[Effect::Image, Effect::Blocked]),
        // Not terminal: the invariant checker reports it.
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err("an outcome the provider's answers do not allow")
    }
}

mod tests {
    use shared::domain::{AspectRatio, JobError, KeyMode, Mode};

    use super::*;

    fn job(status: JobStatus, code: Option<&str>, attempts: u32) -> Job {
        let now = shared::time::now();
        Job {
            id: "cjob".into(),
            tenant_id: "t".into(),
            status,
            prompt: "p".into(),
            mode: Mode::Draft,
            input_image_url: None,
            input_image_urls: Vec::new(),
            options: shared::domain::GenerationOptions::default(),
            aspect_ratio: AspectRatio::DEFAULT,
            key_mode: KeyMode::Live,
            result_urls: Vec::new(),
            images: Vec::new(),
            error: code.map(|c| JobError {
                code: shared::domain::FailureCode::parse(c).expect("a contract code"),
                message: "m".into(),
            }),
            attempts,
            created_at: now,
            updated_at: now,
            webhook_url: None,
            deadline_at: None,
            quota_month: None,
            metering: shared::domain::Metering::default(),
            cost_micro_usd: 0,
        }
    }

    #[test]
    fn calls_match_attempts_and_outcomes() {
        use Effect::*;
        let ok = |j: Job, calls: &[Effect], exact| check_job(&j, calls, exact).is_ok();
        assert!(ok(
            job(JobStatus::Succeeded, None, 2),
            &[Transient, Image],
            true
        ));
        assert!(
            !ok(job(JobStatus::Succeeded, None, 1), &[Image, Image], false),
            "twice in one attempt"
        );
        assert!(
            !ok(job(JobStatus::Succeeded, None, 2), &[Image], true),
            "an attempt without a call"
        );
        assert!(ok(job(JobStatus::Succeeded, None, 2), &[Image], false));
        assert!(
            !ok(job(JobStatus::Succeeded, None, 1), &[Blocked], true),
            "no image was answered"
        );
        assert!(ok(
            job(JobStatus::Failed, Some("CONTENT_BLOCKED"), 1),
            &[Blocked],
            true
        ));
        assert!(ok(
            job(JobStatus::Failed, Some("PROVIDER_UNAVAILABLE"), 3),
            &[Transient, TimedOut, Transient],
            true
        ));
        assert!(
            !ok(
                job(JobStatus::Failed, Some("PROVIDER_UNAVAILABLE"), 2),
                &[Transient, Transient],
                true
            ),
            "before the budget"
        );
        assert!(
            !ok(job(JobStatus::Canceled, None, 1), &[Image], true),
            "an answered image was dropped"
        );
        // A deadline that passed before a retry of a lost finish could start.
        let mut expired = job(JobStatus::Failed, Some("TIMEOUT"), 1);
        assert!(
            !ok(expired.clone(), &[Image], true),
            "no deadline: not allowed"
        );
        expired.deadline_at = Some(shared::time::now());
        expired.error = Some(JobError {
            code: shared::domain::FailureCode::Timeout,
            message: shared::domain::job::DEADLINE_PASSED.into(),
        });
        assert!(ok(expired, &[Image], true));
    }

    #[test]
    fn slow_answers_take_effect_by_the_timeout() {
        let slow = |ms| {
            Reply::Slow(
                Duration::from_millis(ms),
                Box::new(Reply::Image(Vec::new())),
            )
        };
        let timeout = Duration::from_secs(1);
        assert_eq!(effect(&slow(500), timeout), Effect::SlowImage);
        assert_eq!(effect(&slow(1500), timeout), Effect::TimedOut);
    }
}
