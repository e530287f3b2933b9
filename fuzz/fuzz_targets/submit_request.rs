//! `POST /v1/images/generate` bodies (properties: `checks/src/submit.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::submit::check(data));
