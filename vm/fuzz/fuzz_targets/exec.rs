//! Fuzz target `exec`: verified chunks in the interpreter and the JIT (differential).
//! The checks live in `tt_fuzz_targets::exec` (tests/fuzz-targets), shared with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tt_fuzz_targets::exec::fuzz_exec(data));
