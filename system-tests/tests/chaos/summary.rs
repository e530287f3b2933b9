//! The compact report each scenario prints (run with `--nocapture` to see
//! it), and the one place where the findings of every check become the
//! test's verdict, so a failing run names every broken invariant at once.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use crate::ledger::Exchange;

/// Lines printed under a title.
pub struct Summary {
    title: String,
    lines: Vec<String>,
}

impl Summary {
    pub fn new(title: String) -> Summary {
        Summary {
            title,
            lines: Vec::new(),
        }
    }

    pub fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// The closing lines (each check's count of violations, and the time
    /// the run took), then the whole report printed.
    pub fn finish(mut self, findings: &Findings, time: impl Into<String>) {
        self.line(format!("violations: {}", findings.tally()));
        self.line(format!("time: {}", time.into()));
        eprintln!("\n== {}\n{}", self.title, self.lines.join("\n"));
    }
}

/// `12.3 s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `a 3, b 5` for a map of counts.
pub fn counts<K: Debug>(map: &BTreeMap<K, usize>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k:?} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n requests, latency p50 … p99 … max …`.
pub fn latencies(exchanges: &[Exchange]) -> String {
    let mut all: Vec<Duration> = exchanges.iter().map(|e| e.latency).collect();
    all.sort_unstable();
    let at = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0, Duration::as_millis)
    };
    format!(
        "{} requests, latency p50 {} ms, p99 {} ms, max {} ms",
        all.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Every check's violations, by check.
#[derive(Default)]
pub struct Findings {
    sections: Vec<(&'static str, Vec<String>)>,
}

impl Findings {
    pub fn add(&mut self, check: &'static str, violations: Vec<String>) {
        self.sections.push((check, violations));
    }

    /// `answers 0, table 0, …`.
    pub fn tally(&self) -> String {
        self.sections
            .iter()
            .map(|(check, v)| format!("{check} {}", v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Fails the test naming the first violations of every check.
    pub fn assert_none(&self) {
        let failed: Vec<String> = self
            .sections
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(check, v)| {
                let shown: Vec<&str> = v.iter().take(15).map(String::as_str).collect();
                format!(
                    "{check}: {} violation(s)\n  {}",
                    v.len(),
                    shown.join("\n  ")
                )
            })
            .collect();
        assert!(
            failed.is_empty(),
            "invariants broken:\n{}",
            failed.join("\n")
        );
    }
}
