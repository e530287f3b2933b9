//! The worker's SQS events and job messages (properties: `checks/src/sqs.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::sqs::check(data));
