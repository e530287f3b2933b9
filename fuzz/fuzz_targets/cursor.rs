//! Listing cursors for a tenant and filter (properties: `checks/src/cursor.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::cursor::check(data));
