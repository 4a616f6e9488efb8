//! Shared helpers for the benchmarks (the spec's worked chunks and peer runners) and the
//! report generator behind `BENCHMARKS.md` ([`report`], run by `benches/run-all.sh`).

#![warn(missing_docs)]

use std::process::Command;

pub mod report;

/// docs/spec/ttbc.md §13.1 `[:x :y | x + y]`.
pub const ADD_HEX: &str = "5454424300010000000000062200220150F000000201780179000000";
/// docs/spec/ttbc.md §13.2 the summing loop `[:n | ... sum of 0..n-1]`.
pub const SUM_HEX: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

/// The send loop of `jit/send_loop`:
/// `[:c :n | | i | i := 0. [i < n] whileTrue: [c increment. i := i + 1]. i]`
/// (one `increment` send per iteration; the selector is constant 0).
pub fn send_loop_chunk() -> Vec<u8> {
    use tt_vm::ttbc::{Chunk, Op, serialize};
    let l = Op::LoadLocal.byte();
    let s = Op::StoreLocal.byte();
    let p = Op::LoadParam.byte();
    let code = vec![
        Op::ConstZero.byte(),
        s,
        0, // 0: i := 0
        l,
        0,
        p,
        1,
        Op::Lt.byte(), // 3: i < n
        Op::JumpFalse.byte(),
        0x00,
        0x10, // 8: → 27
        p,
        0,
        Op::Send.byte(),
        0,
        0,
        0,
        Op::Pop.byte(), // 11: c increment
        l,
        0,
        Op::ConstOne.byte(),
        Op::Add.byte(),
        s,
        0, // 18: i := i + 1
        Op::Jump.byte(),
        0xFF,
        0xE8, // 24: → 3
        l,
        0,
        Op::Return.byte(), // 27
    ];
    serialize(&Chunk {
        version: 1,
        code,
        constants: vec![b"increment".to_vec()],
        params: vec!["p0".into(), "p1".into()],
        local_count: 1,
        ..Default::default()
    })
    .expect("serializable chunk")
}

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
