//! Property tests, on stable, of everything the service decodes from
//! outside: request bodies, query strings, path ids and headers, listing
//! cursors, outbound URLs and the worker's queue messages.
//!
//! The properties are the fuzz targets' own (`fuzz/src`, included here
//! unchanged, so there is one definition of each); this suite feeds them
//! proptest-generated cases and replays every file of the committed corpus
//! (`fuzz/corpus/<target>/`), so what fuzzing found keeps being checked on
//! every `cargo test`, also where cargo-fuzz does not run.

#[path = "../../fuzz/src/contract.rs"]
mod contract;
#[path = "../../fuzz/src/cursor.rs"]
mod cursor;
#[path = "../../fuzz/src/netguard.rs"]
mod netguard;
#[path = "../../fuzz/src/request_params.rs"]
mod request_params;
#[path = "../../fuzz/src/sqs.rs"]
mod sqs;
#[path = "../../fuzz/src/submit.rs"]
mod submit;

#[path = "fuzz_properties/cursor_cases.rs"]
mod cursor_cases;
#[path = "fuzz_properties/netguard_cases.rs"]
mod netguard_cases;
#[path = "fuzz_properties/request_params_cases.rs"]
mod request_params_cases;
#[path = "fuzz_properties/sqs_cases.rs"]
mod sqs_cases;
#[path = "fuzz_properties/submit_cases.rs"]
mod submit_cases;
#[path = "fuzz_properties/support.rs"]
mod support;
