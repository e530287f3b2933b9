//! The webhooks function's stream records (properties: `checks/src/stream.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::stream::check(data));
