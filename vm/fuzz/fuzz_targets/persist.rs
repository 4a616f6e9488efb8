//! Fuzz target `persist`: instance documents read back from SQLite as the Bash side may have written them.
//! The checks live in `tt_fuzz_targets::persist` (tests/fuzz-targets), shared with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tt_fuzz_targets::persist::fuzz_persist(data));
