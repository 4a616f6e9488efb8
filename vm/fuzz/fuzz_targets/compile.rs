//! Fuzz target `compile`: arbitrary text through the Trashtalk source compiler.
//! The checks live in `tt_fuzz_targets::compile` (tests/fuzz-targets), shared with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tt_fuzz_targets::compile::fuzz_compile(data));
