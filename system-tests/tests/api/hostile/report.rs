//! Per-case outcomes, collected so one run reports every failing case by
//! name instead of stopping at the first.

use super::corpus::Unresolved;

pub enum Outcome {
    Passed,
    /// The machine cannot provide what the case needs (see the reason).
    Skipped(String),
    Failed(Vec<String>),
}

impl Outcome {
    pub fn from_problems(problems: Vec<String>) -> Outcome {
        if problems.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed(problems)
        }
    }
}

impl From<Unresolved> for Outcome {
    fn from(e: Unresolved) -> Outcome {
        match e {
            Unresolved::Unknown(name) => Outcome::Failed(vec![format!(
                "the corpus uses an unknown placeholder {{{{{name}}}}}"
            )]),
            Unresolved::Unavailable { name, reason } => {
                Outcome::Skipped(format!("{{{{{name}}}}} is unavailable: {reason}"))
            }
        }
    }
}

#[derive(Default)]
pub struct Report {
    passed: usize,
    skipped: Vec<String>,
    failed: Vec<String>,
}

impl Report {
    pub fn record(&mut self, label: String, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Skipped(reason) => self.skipped.push(format!("{label}: {reason}")),
            Outcome::Failed(problems) => self
                .failed
                .push(format!("{label}\n    - {}", problems.join("\n    - "))),
        }
    }

    /// Prints the tally and any skips, then fails with every failing case.
    pub fn assert_clean(&self) {
        eprintln!(
            "hostile corpus: {} passed, {} skipped, {} failed",
            self.passed,
            self.skipped.len(),
            self.failed.len()
        );
        for skipped in &self.skipped {
            eprintln!("  skipped {skipped}");
        }
        assert!(
            self.failed.is_empty(),
            "{} hostile case(s) failed:\n{}",
            self.failed.len(),
            self.failed.join("\n")
        );
    }
}

/// The message of a caught panic (an assertion of the shared test support,
/// or a worker case that panicked in its task).
pub fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}
