//! Measures what the tier-up threshold trades off (docs/jit.md, "Choosing the threshold"):
//! for a few units, the compile time and the time saved per *heat unit* (one invocation or one
//! loop back-edge, what `CodeUnit::heat` counts) by running compiled instead of interpreted.
//! The break-even heat is `compile time / saving per heat unit`.
//!
//! `cargo run --release -p tt-jit --example tier_threshold`

use std::time::{Duration, Instant};

use tt_vm::interp::CodeUnit;
use tt_vm::tier::{Compiler, TierMode};
use tt_vm::ttbc::{Chunk, Op, serialize};
use tt_vm::{Runtime, Value};

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

fn best_of<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// `[:s | s , 'x' , s]`-style string work: CONCAT, STRLEN, EQ on strings.
fn strings() -> Vec<u8> {
    let code = vec![
        Op::LoadParam.byte(),
        0,
        Op::Const.byte(),
        0,
        0,
        Op::Concat.byte(),
        Op::LoadParam.byte(),
        0,
        Op::Concat.byte(),
        Op::Dup.byte(),
        Op::Strlen.byte(),
        Op::Concat.byte(),
        Op::Const.byte(),
        0,
        0,
        Op::Eq.byte(),
        Op::Return.byte(),
    ];
    serialize(&Chunk {
        version: 1,
        code,
        constants: vec![b"x".to_vec()],
        params: vec!["s".into()],
        ..Default::default()
    })
    .unwrap()
}

fn main() {
    let jit = tt_jit::Jit::new().expect("host ISA supported");
    let cases: Vec<(&str, Vec<u8>, Vec<Value>, u64)> = vec![
        (
            "13.1 add (4 ops)",
            hex::decode(ADD).unwrap(),
            vec![Value::int(10), Value::int(32)],
            1,
        ),
        ("strings (12 ops)", strings(), vec![Value::string("abc")], 1),
        (
            "13.2 sum n=100 (17 ops)",
            hex::decode(SUM).unwrap(),
            vec![Value::int(100)],
            101,
        ),
        (
            "13.2 sum n=10000",
            hex::decode(SUM).unwrap(),
            vec![Value::int(10_000)],
            10_001,
        ),
    ];
    println!("| unit | compile µs | interpreted ns/heat | compiled ns/heat | break-even heat |");
    println!("|---|---:|---:|---:|---:|");
    for (name, bytes, args, heat) in cases {
        let unit = CodeUnit::decode(tt_vm::ttbc::load_verified(&bytes).unwrap());
        let compile = best_of(20, || {
            jit.compile(&unit).unwrap();
        });
        let mut per_heat = [0.0f64; 2];
        for (i, mode) in [TierMode::Never, TierMode::Always].into_iter().enumerate() {
            let rt = Runtime::new();
            rt.set_compiler(Some(std::sync::Arc::new(jit.clone())));
            rt.set_tier_mode(mode);
            let b = rt.register_block(&bytes, vec![]).unwrap();
            rt.invoke_block(&b, &args).unwrap();
            let reps = (200_000 / heat).max(20);
            let t = best_of(5, || {
                for _ in 0..reps {
                    std::hint::black_box(rt.invoke_block(&b, &args).unwrap());
                }
            });
            per_heat[i] = t.as_nanos() as f64 / (reps * heat) as f64;
        }
        let saving = per_heat[0] - per_heat[1];
        let even = if saving > 0.0 {
            format!("{:.0}", compile.as_nanos() as f64 / saving)
        } else {
            "never".into()
        };
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} | {even} |",
            compile.as_micros(),
            per_heat[0],
            per_heat[1]
        );
    }
}
