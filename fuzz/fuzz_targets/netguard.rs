//! Outbound URLs through the SSRF guard (properties: `checks/src/netguard.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::netguard::check(data));
