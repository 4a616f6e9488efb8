//! Fuzz target `request`: request lines through the daemon's parser and dispatcher, in-process.
//! The checks live in `tt_fuzz_targets::request` (tests/fuzz-targets), shared with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tt_fuzz_targets::request::fuzz_request(data));
