//! What the stable property suites share: the proptest settings, and the
//! replay of the committed fuzz corpus (`fuzz/corpus/<target>/`) as fixed
//! inputs.

use std::path::{Path, PathBuf};

use proptest::test_runner::Config;

/// Generated cases per property: enough to cover each strategy's branches
/// many times over, few enough that a suite stays within seconds.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        // A failure found here becomes a corpus file, not one of proptest's
        // regression files in the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `check` on every file of the target's corpus, naming the file that
/// fails. An empty or missing corpus fails too: it would test nothing.
pub fn replay(target: &str, check: fn(&[u8])) {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for file in files {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("corpus file {} fails: {reason}", file.display());
        }
    }
}

/// `fuzz/corpus` of the repository, found upwards from the crate under test.
fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("fuzz/corpus"))
        .find(|dir| dir.is_dir())
        .expect("fuzz/corpus above the crate")
}
