//! Compiles the 50-opcode block of the `jit/compile_50_ops` benchmark (benches/benches/jit.rs)
//! in a loop: a driver for profiling the compile path (`valgrind --tool=callgrind`) and a quick
//! compile-time figure without criterion.
//!
//! `cargo run --release -p tt-jit --example compile_50_ops [-- iterations [clif]]`

use std::time::Instant;

use tt_vm::interp::CodeUnit;
use tt_vm::tier::Compiler;
use tt_vm::ttbc::{Chunk, Op, serialize};

/// The benchmark's block: a counted loop whose body updates an accumulator nine times.
fn fifty_ops() -> Vec<u8> {
    let l = Op::LoadLocal.byte();
    let s = Op::StoreLocal.byte();
    let mut code = vec![Op::ConstZero.byte(), s, 0];
    let head = code.len();
    code.extend([
        l,
        0,
        Op::LoadParam.byte(),
        0,
        Op::Lt.byte(),
        Op::JumpFalse.byte(),
        0,
        0,
    ]);
    let jf = code.len() - 2;
    let ops = [
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Add,
        Op::Div,
        Op::Add,
        Op::Mod,
        Op::Sub,
        Op::Add,
    ];
    for (k, op) in ops.iter().enumerate() {
        code.extend([l, 1, l, 0, op.byte()]);
        if k == 0 {
            code.push(Op::Neg.byte());
        }
        code.extend([s, 1]);
    }
    code.extend([
        l,
        0,
        Op::ConstOne.byte(),
        Op::Add.byte(),
        s,
        0,
        Op::Jump.byte(),
        0,
        0,
    ]);
    let back = code.len();
    let d = (head as i64 - back as i64) as i16;
    code[back - 2..back].copy_from_slice(&d.to_be_bytes());
    let end = code.len();
    let d = (end as i64 - (jf as i64 + 2)) as i16;
    code[jf..jf + 2].copy_from_slice(&d.to_be_bytes());
    code.extend([l, 1, Op::Return.byte()]);
    serialize(&Chunk {
        version: 1,
        code,
        params: vec!["p0".into()],
        local_count: 2,
        ..Default::default()
    })
    .expect("serializable chunk")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iters: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let show_clif = args.next().is_some_and(|a| a == "clif");
    let unit = CodeUnit::decode(tt_vm::ttbc::load_verified(&fifty_ops()).unwrap());
    assert_eq!(
        unit.ins.len() - 1,
        50,
        "50 opcodes (plus the decoder's End)"
    );
    let jit = tt_jit::Jit::new().expect("host ISA supported");
    if show_clif {
        print!("{}", jit.clif(&unit).unwrap());
        return;
    }
    let mut best = u128::MAX;
    let mut bytes = 0;
    let start = Instant::now();
    for _ in 0..iters {
        let t = Instant::now();
        let c = jit.compile(&unit).unwrap();
        best = best.min(t.elapsed().as_nanos());
        bytes = c.code_bytes;
    }
    let mean = start.elapsed().as_nanos() / iters.max(1) as u128;
    println!(
        "compile_50_ops: best {:.1} µs, mean {:.1} µs, {bytes} code bytes",
        best as f64 / 1e3,
        mean as f64 / 1e3
    );
}
