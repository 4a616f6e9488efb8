//! Callgrind driver for the cost of the interrupt poll (docs/limits.md): runs `n` invocations
//! of the §13.2 summing loop (`[:n | | s i | … s]` over 10 000 iterations) through
//! `Runtime::invoke_block`. `JIT=1` forces the compiled tier.
//!
//! `valgrind --tool=callgrind target/release/examples/poll_cg 20` gives instructions per loop
//! iteration (subtract a run with n = 0, divide by n × 10 000).
use std::hint::black_box;
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};

/// The summing loop of docs/spec/ttbc.md §13.2 (as `benches/src/lib.rs` `SUM_HEX`).
const SUM_HEX: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

fn main() {
    let rt = Runtime::new();
    if std::env::var_os("JIT").is_some() {
        assert!(tt_jit::install(&rt));
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(100);
    let bytes: Vec<u8> = (0..SUM_HEX.len() / 2)
        .map(|i| u8::from_str_radix(&SUM_HEX[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let sum = rt.register_block(&bytes, Vec::new()).unwrap();
    let args = vec![Value::int(10_000)];
    // One call outside the count compiles the unit (JIT=1).
    black_box(rt.invoke_block(&sum, &args).unwrap());
    for _ in 0..n {
        black_box(rt.invoke_block(&sum, black_box(&args)).unwrap());
    }
}
