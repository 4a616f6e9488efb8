//! Fuzz target `load`: arbitrary bytes through the TTBC loader, verifier and disassembler.
//! The checks live in `tt_fuzz_targets::load` (tests/fuzz-targets), shared with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tt_fuzz_targets::load::fuzz_load(data));
