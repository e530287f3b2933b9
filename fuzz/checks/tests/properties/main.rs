//! Property tests, on stable, of everything the service decodes from
//! outside: request bodies, query strings, path ids and headers, listing
//! cursors, outbound URLs, the worker's queue messages and the webhooks
//! function's stream records.
//!
//! The properties are the fuzz targets' own (the `fuzz_checks` library
//! beside this suite, which the cargo-fuzz targets in `fuzz/` call, so
//! there is one definition of each); this suite feeds them
//! proptest-generated cases and replays every file of the committed corpus
//! (`fuzz/corpus/<target>/`), so what fuzzing found keeps being checked on
//! every `cargo test`, also where cargo-fuzz does not run.

mod cursor_cases;
mod netguard_cases;
mod request_params_cases;
mod sqs_cases;
mod stream_cases;
mod submit_cases;
mod support;
