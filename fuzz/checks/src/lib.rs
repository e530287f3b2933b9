//! The properties the fuzz targets assert, one module per input the service
//! decodes from outside. Each `check` takes raw bytes, as a fuzzer produces
//! them, and panics when a property fails; any other outcome is a pass.
//!
//! This library is a workspace member without libFuzzer: the cargo-fuzz
//! targets (`fuzz/fuzz_targets`) call it, and its own test suite
//! (`tests/properties/`) feeds the same checks proptest-generated cases
//! and the committed corpus, so the properties hold on every `cargo test`,
//! not only where libFuzzer runs.

pub mod contract;
pub mod cursor;
pub mod netguard;
pub mod request_params;
pub mod sqs;
pub mod stream;
pub mod submit;
