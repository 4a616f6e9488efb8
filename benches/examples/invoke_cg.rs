//! Callgrind driver for block invocation (not a criterion bench): runs `n` invocations of
//! `[:x :y | x + y]` (or, with a second argument, of the §13.2 summing loop) through
//! `Runtime::invoke_block` and prints ns per call. `JIT=1` forces the compiled tier.
//!
//! `valgrind --tool=callgrind target/release/examples/invoke_cg 100000` gives instructions per
//! call (divide the total by n after subtracting a run with n = 0).
use std::hint::black_box;
use tt_benches::{ADD_HEX, SUM_HEX, hex};
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};
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
        .unwrap_or(1_000_000);
    let sum = std::env::args().nth(2).is_some();
    let add = rt
        .register_block(&hex(if sum { SUM_HEX } else { ADD_HEX }), Vec::new())
        .unwrap();
    let args = if sum {
        vec![Value::int(10_000)]
    } else {
        vec![Value::int(10), Value::int(32)]
    };
    let t = std::time::Instant::now();
    for _ in 0..n {
        black_box(rt.invoke_block(&add, black_box(&args)).unwrap());
    }
    println!("{:.2} ns/call", t.elapsed().as_nanos() as f64 / n as f64);
}
