//! Shared helpers for the benchmarks (the spec's worked chunks and peer runners) and the
//! report generator behind `BENCHMARKS.md` ([`report`], run by `benches/run-all.sh`).

#![warn(missing_docs)]

use std::process::Command;

pub mod report;

/// ttbc.md §13.1 `[:x :y | x + y]`.
pub const ADD_HEX: &str = "5454424300010000000000062200220150F000000201780179000000";
/// ttbc.md §13.2 the summing loop `[:n | ... sum of 0..n-1]`.
pub const SUM_HEX: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

/// Decodes hex.
pub fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("valid hex")
}

/// Runs a Lua script from `benches/lua/` with an interpreter (`lua5.4`, `luajit`) and returns
/// the ns/iteration it prints, or `None` when the interpreter is not installed.
pub fn lua_peer(interpreter: &str, script: &str, n: u64) -> Option<f64> {
    let path = format!("{}/lua/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(interpreter)
        .arg(path)
        .arg(n.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Prints a peer figure in the line format the report generator reads.
pub fn report_peer(id: &str, interpreter: &str, script: &str, n: u64) {
    match lua_peer(interpreter, script, n) {
        Some(ns) => println!("peer {id}: {ns:.3} ns/iter ({interpreter})"),
        None => println!("peer {id}: unavailable ({interpreter} not installed)"),
    }
}
