//! A job and its state machine.

use serde::Serialize;

use crate::domain::KeyMode;
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
        matches!(self, JobStatus::Queued | JobStatus::Retrying)
    }

    /// The state machine of the contract.
    pub fn can_move_to(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Queued, Running)
                | (Retrying, Running)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Retrying)
                | (Running, Running) // reclaim of an expired lease
                | (Queued, Canceled)
                | (Retrying, Canceled)
        )
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
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub status: JobStatus,
    pub prompt: String,
    pub mode: Mode,
    pub input_image_url: Option<String>,
    pub aspect_ratio: AspectRatio,
    /// Whether the job came in on a test key (offline renderer) or a live one.
    pub key_mode: KeyMode,
    pub result_urls: Vec<String>,
    pub error: Option<JobError>,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
        Job {
            id,
            tenant_id,
            status: JobStatus::Queued,
            prompt: request.prompt,
            mode: request.mode,
            input_image_url: request.input_image_url,
            aspect_ratio: request.aspect_ratio,
            key_mode,
            result_urls: Vec::new(),
            error: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

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
    fn aspect_ratios_are_the_listed_ones() {
        assert_eq!(AspectRatio::parse("16:9").unwrap().as_str(), "16:9");
        assert!(AspectRatio::parse("16:10").is_none());
        assert!(AspectRatio::parse(" 1:1").is_none());
    }
}
