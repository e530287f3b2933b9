//! Query strings, `{jobId}` and `Idempotency-Key` (properties: `checks/src/request_params.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::request_params::check(data));
