//! The fuzz targets of docs/fuzzing.md as plain functions `fn(&[u8])`, one per input surface.
//!
//! Each function panics exactly when it found a bug (a crash, a broken invariant, or a
//! disagreement between the tiers); any input that is merely invalid returns quietly. They are
//! called by the cargo-fuzz binaries in `vm/fuzz` (libFuzzer, outside the workspace) and by
//! `cargo test -p tt-fuzz-targets` (`tests/seeds.rs`), which runs every committed seed under
//! `seeds/<target>/` plus a fixed number of deterministic mutations of them ([`mutate`]), so CI
//! exercises every target on stable without cargo-fuzz.

pub mod compile;
pub mod exec;
pub mod load;
pub mod mutate;
pub mod persist;
pub mod request;
pub mod seeds;

/// A fuzz target: arbitrary bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its cargo-fuzz binary and of its seed directory).
pub const TARGETS: [(&str, Target); 5] = [
    ("load", load::fuzz_load),
    ("request", request::fuzz_request),
    ("compile", compile::fuzz_compile),
    ("exec", exec::fuzz_exec),
    ("persist", persist::fuzz_persist),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
