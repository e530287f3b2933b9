//! A job and its state machine.

use serde::Serialize;

use crate::domain::KeyMode;
use crate::domain::options::{GenerationOptions, ResultImage, input_key};
use crate::domain::submit::InputImage;
use crate::domain::usage::{Metering, MicroUsd};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Retrying,
    Canceled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Retrying,
        JobStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Retrying => "RETRYING",
            JobStatus::Canceled => "CANCELED",
        }
    }

    /// Exact, case-sensitive: the contract spells statuses in capitals.
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Terminal statuses never change again, and leaving the non-terminal set
    /// is what frees a tenant's concurrency slot.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled
        )
    }

    /// Only work that has not started (or is waiting to be retried) can be
    /// canceled; a running generation is already billed by the provider.
    pub fn is_cancelable(self) -> bool {
        Transition::Cancel.from().contains(&self)
    }

    /// The state machine of the contract: whether some transition leads
    /// from this status to `next`.
    pub fn can_move_to(self, next: JobStatus) -> bool {
        Transition::ALL
            .into_iter()
            .any(|t| t.to() == Some(next) && t.from().contains(&self))
    }
}

/// Every move of a job, with the statuses it may start from: the one
/// table of the lifecycle. `can_move_to` answers from it, and the store
/// builds the condition of each of its writes from it (`store::jobs`), so
/// the rules and the writes cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// A worker takes a waiting job.
    Claim,
    /// A worker takes over a job whose run crashed (its lease ended; the
    /// store's condition adds the lease check).
    Reclaim,
    /// A transient failure: the job waits for its next attempt.
    Retry,
    Succeed,
    Fail,
    /// The client cancels work that has not started.
    Cancel,
    /// A submit that could not queue its job deletes it again: the job
    /// never existed for the client.
    TakeBack,
    /// The job's deadline passed before an attempt could start: waiting,
    /// or running on a lease that ended (its worker crashed). FAILED with
    /// `TIMEOUT`; no provider call is made.
    Expire,
}

impl Transition {
    pub const ALL: [Transition; 8] = [
        Transition::Claim,
        Transition::Reclaim,
        Transition::Retry,
        Transition::Succeed,
        Transition::Fail,
        Transition::Cancel,
        Transition::TakeBack,
        Transition::Expire,
    ];

    /// The statuses the move may start from.
    pub fn from(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Transition::Claim => &[Queued, Retrying],
            Transition::Reclaim => &[Running],
            Transition::Retry | Transition::Succeed | Transition::Fail => &[Running],
            Transition::Cancel => &[Queued, Retrying],
            Transition::TakeBack => &[Queued],
            Transition::Expire => &[Queued, Retrying, Running],
        }
    }

    /// The status it leads to; `None` for `TakeBack`, which deletes the job.
    pub fn to(self) -> Option<JobStatus> {
        match self {
            Transition::Claim | Transition::Reclaim => Some(JobStatus::Running),
            Transition::Retry => Some(JobStatus::Retrying),
            Transition::Succeed => Some(JobStatus::Succeeded),
            Transition::Fail | Transition::Expire => Some(JobStatus::Failed),
            Transition::Cancel => Some(JobStatus::Canceled),
            Transition::TakeBack => None,
        }
    }
}

/// The contract's failure codes on a job (`error.code` / `errorCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureCode {
    /// The model refused: safety or policy.
    ContentBlocked,
    /// `inputImageUrl` could not be fetched or decoded, was too large, not
    /// an image, or at a forbidden address.
    InputImageInvalid,
    /// The model returned no image or an unusable answer.
    GenerationFailed,
    /// Transient provider errors persisted past the retry budget.
    ProviderUnavailable,
    /// The job's runs crashed or timed out until its attempts ran out.
    Timeout,
}

impl FailureCode {
    pub const ALL: [FailureCode; 5] = [
        FailureCode::ContentBlocked,
        FailureCode::InputImageInvalid,
        FailureCode::GenerationFailed,
        FailureCode::ProviderUnavailable,
        FailureCode::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::ContentBlocked => "CONTENT_BLOCKED",
            FailureCode::InputImageInvalid => "INPUT_IMAGE_INVALID",
            FailureCode::GenerationFailed => "GENERATION_FAILED",
            FailureCode::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            FailureCode::Timeout => "TIMEOUT",
        }
    }

    pub fn parse(s: &str) -> Option<FailureCode> {
        FailureCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Draft,
    Final,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Draft => "draft",
            Mode::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "draft" => Some(Mode::Draft),
            "final" => Some(Mode::Final),
            _ => None,
        }
    }
}

/// The aspect ratios Gemini's image models accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AspectRatio(&'static str);

impl AspectRatio {
    pub const ALLOWED: [&'static str; 10] = [
        "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    ];
    pub const DEFAULT: AspectRatio = AspectRatio("1:1");

    pub fn parse(s: &str) -> Option<AspectRatio> {
        Self::ALLOWED
            .iter()
            .find(|allowed| **allowed == s)
            .map(|allowed| AspectRatio(allowed))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Serialize for AspectRatio {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// Why a job failed, as `error` on the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobError {
    pub code: FailureCode,
    pub message: String,
}

impl JobError {
    pub fn new(code: FailureCode, message: impl Into<String>) -> JobError {
        JobError {
            code,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub status: JobStatus,
    pub prompt: String,
    pub mode: Mode,
    /// The 1.0 field's input: a URL, or the key of an uploaded `data:`
    /// image (`options::is_stored_input`).
    pub input_image_url: Option<String>,
    /// `inputImageUrls` (1.1), each a URL or a stored input's key.
    pub input_image_urls: Vec<String>,
    pub aspect_ratio: AspectRatio,
    pub options: GenerationOptions,
    /// Whether the job came in on a test key (offline renderer) or a live one.
    pub key_mode: KeyMode,
    pub result_urls: Vec<String>,
    /// The images stored so far, by index: every one of them once the job
    /// has SUCCEEDED, in `result_urls` order; before that, those a retried
    /// attempt already stored, which the next attempt does not generate
    /// again.
    pub images: Vec<ResultImage>,
    pub error: Option<JobError>,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The submit's `webhookUrl`: where this job's event goes instead of
    /// the tenant's URL.
    pub webhook_url: Option<String>,
    /// `createdAt + deadlineSeconds`: no attempt starts after it.
    pub deadline_at: Option<Timestamp>,
    /// The UTC month (`YYYY-MM`) whose quota counter holds this job's
    /// reservation of `numberOfImages`, given back if it ends without
    /// SUCCEEDED. `None` for a job submitted before quotas existed.
    pub quota_month: Option<String>,
    /// The provider calls of its attempts so far, and their tokens.
    pub metering: Metering,
    /// What its images cost, set when it SUCCEEDED (0 before, and always
    /// in test mode).
    pub cost_micro_usd: MicroUsd,
}

impl Job {
    /// The (tenant, mode) the job belongs to: every key of its items.
    pub fn scope(&self) -> crate::domain::Scope<'_> {
        crate::domain::Scope::new(&self.tenant_id, self.key_mode)
    }

    /// The job an accepted submit stores: QUEUED, no attempts yet. One
    /// constructor, so the fuzz property that stored jobs read back checks
    /// exactly what the generate function writes.
    pub fn queued(
        id: String,
        tenant_id: String,
        request: crate::domain::SubmitRequest,
        key_mode: KeyMode,
        now: Timestamp,
    ) -> Job {
        let references: Vec<String> = request
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| match input {
                InputImage::Url(url) => url.clone(),
                InputImage::Data { media_type, .. } => {
                    input_key(&tenant_id, &id, index, media_type)
                }
            })
            .collect();
        let (input_image_url, input_image_urls) = if request.inputs_listed {
            (None, references)
        } else {
            (references.into_iter().next(), Vec::new())
        };
        Job {
            status: JobStatus::Queued,
            prompt: request.prompt,
            mode: request.mode,
            input_image_url,
            input_image_urls,
            aspect_ratio: request.aspect_ratio,
            options: request.options,
            key_mode,
            result_urls: Vec::new(),
            images: Vec::new(),
            id,
            tenant_id,
            error: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
            webhook_url: request.webhook_url,
            deadline_at: request
                .deadline_seconds
                .map(|secs| now + chrono::Duration::seconds(i64::from(secs))),
            quota_month: Some(crate::domain::usage::quota_month(now)),
            metering: Metering::default(),
            cost_micro_usd: 0,
        }
    }

    /// What the job holds in its month's quota counter.
    pub fn reservation(&self) -> crate::domain::usage::Reservation {
        crate::domain::usage::Reservation {
            month: self.quota_month.clone(),
            images: self.options.number_of_images,
        }
    }

    /// Every input image, in order: URLs and stored inputs' keys.
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        self.input_image_url
            .iter()
            .chain(&self.input_image_urls)
            .map(String::as_str)
    }

    /// Whether an attempt starting at `now` would start after the job's
    /// deadline.
    pub fn past_deadline(&self, now: Timestamp) -> bool {
        self.deadline_at.is_some_and(|deadline| now >= deadline)
    }

    /// Whether an attempt starting `delay` after `now` would.
    pub fn past_deadline_after(&self, now: Timestamp, delay: std::time::Duration) -> bool {
        chrono::Duration::from_std(delay)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .is_none_or(|start| self.past_deadline(start))
            && self.deadline_at.is_some()
    }
}

/// The message of a job ended by its deadline (code `TIMEOUT`).
pub const DEADLINE_PASSED: &str = "The job's deadline passed before generation started";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_are_case_sensitive() {
        for st in JobStatus::ALL {
            assert_eq!(JobStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(JobStatus::parse("queued"), None);
        assert_eq!(JobStatus::parse(""), None);
    }

    #[test]
    fn terminal_statuses_never_move() {
        for from in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in JobStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn only_queued_and_retrying_cancel() {
        let cancelable: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_cancelable())
            .collect();
        assert_eq!(cancelable, vec![JobStatus::Queued, JobStatus::Retrying]);
        for s in cancelable {
            assert!(s.can_move_to(JobStatus::Canceled));
        }
        assert!(!JobStatus::Running.can_move_to(JobStatus::Canceled));
    }

    #[test]
    fn the_transition_table_is_the_contracts_state_machine() {
        use JobStatus::*;
        let contract = [
            (Queued, Running),
            (Retrying, Running),
            (Running, Succeeded),
            (Running, Failed),
            (Running, Retrying),
            (Running, Running), // reclaim of an expired lease
            (Queued, Canceled),
            (Retrying, Canceled),
            // 1.1 deadlines: a job not started by its deadline ends FAILED
            // (TIMEOUT) from where it waits.
            (Queued, Failed),
            (Retrying, Failed),
        ];
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    contract.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
        // Only a job nobody has seen run can be taken back.
        assert_eq!(Transition::TakeBack.from(), &[Queued]);
        assert_eq!(Transition::TakeBack.to(), None);
    }

    #[test]
    fn failure_codes_are_spelled_as_the_contract_spells_them() {
        let spelled: Vec<_> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            spelled,
            [
                "CONTENT_BLOCKED",
                "INPUT_IMAGE_INVALID",
                "GENERATION_FAILED",
                "PROVIDER_UNAVAILABLE",
                "TIMEOUT"
            ]
        );
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
        }
        assert_eq!(FailureCode::parse("timeout"), None);
    }

    #[test]
    fn aspect_ratios_are_the_listed_ones() {
        assert_eq!(AspectRatio::parse("16:9").unwrap().as_str(), "16:9");
        assert!(AspectRatio::parse("16:10").is_none());
        assert!(AspectRatio::parse(" 1:1").is_none());
    }
}
