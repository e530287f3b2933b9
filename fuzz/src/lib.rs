//! The properties the fuzz targets assert, one module per input the service
//! decodes from outside. Each `check` takes raw bytes, as a fuzzer produces
//! them, and panics when a property fails; any other outcome is a pass.
//!
//! The same files are compiled into the stable test suite
//! (`shared/tests/fuzz_properties.rs`, `functions/webhooks/tests/stream_properties.rs`),
//! which feeds them proptest-generated cases and the committed corpus, so the
//! properties hold on every `cargo test`, not only where libFuzzer runs. That
//! is why each module refers to its siblings as `crate::…` at the root.

pub mod contract;
pub mod cursor;
pub mod netguard;
pub mod request_params;
pub mod sqs;
pub mod stream;
pub mod submit;
