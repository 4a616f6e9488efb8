//! Callgrind driver for sends (not a criterion bench): runs the `jit/send_loop` block
//! (`[:c :n | ... c increment ...]`, `n` sends) once per invocation, `k` invocations, to a
//! `NativeCounter` (the bench's native `increment`: a Rust closure bumping an atomic; with
//! `PLAIN=1` a relaxed load and store instead of the read-modify-write) or, with
//! `CLASS=PureCounter`, to the TTBC method `^1`. `JIT=1` forces the compiled tier.
//!
//! `valgrind --tool=callgrind target/release/examples/send_cg 10000 10` gives instructions per
//! send (divide the total by n·k after subtracting a run with k = 0). `CLIF=1` prints the
//! loop block's Cranelift IR instead.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tt_vm::tier::TierMode;
use tt_vm::ttbc::{Chunk, Op, serialize};
use tt_vm::{ClassDef, MethodImpl, Runtime, Side, Value};

fn main() {
    let rt = Runtime::new();
    if std::env::var_os("JIT").is_some() {
        assert!(tt_jit::install(&rt));
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    let mut args = std::env::args().skip(1);
    let n: i64 = args.next().map(|s| s.parse().unwrap()).unwrap_or(100_000);
    let k: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(100);
    let class = std::env::var("CLASS").unwrap_or_else(|_| "NativeCounter".into());
    let calls = Arc::new(AtomicU64::new(0));
    let c2 = calls.clone();
    let plain = std::env::var_os("PLAIN").is_some();
    rt.define_class(ClassDef {
        name: "NativeCounter".into(),
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "NativeCounter",
        Side::Instance,
        "increment",
        MethodImpl::native(move |_rt, _this, _args| {
            let n = if plain {
                let n = c2.load(Ordering::Relaxed);
                c2.store(n + 1, Ordering::Relaxed);
                n
            } else {
                c2.fetch_add(1, Ordering::Relaxed)
            };
            Ok(Value::int(n as i64))
        }),
    )
    .unwrap();
    rt.define_class(ClassDef {
        name: "PureCounter".into(),
        ..Default::default()
    })
    .unwrap();
    let one = serialize(&Chunk {
        version: 1,
        code: vec![Op::ConstOne.byte(), Op::Return.byte()],
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "PureCounter",
        Side::Instance,
        "increment",
        MethodImpl::bytecode(tt_vm::ttbc::load_verified(&one).unwrap()),
    )
    .unwrap();
    let b = rt
        .register_block(&tt_benches::send_loop_chunk(), Vec::new())
        .unwrap();
    if std::env::var_os("CLIF").is_some() {
        print!("{}", tt_jit::Jit::new().unwrap().clif(b.code()).unwrap());
        return;
    }
    let recv = Value::instance(rt.new_instance(&class).unwrap());
    let argv = [recv, Value::int(n)];
    let t = std::time::Instant::now();
    for _ in 0..k {
        black_box(rt.invoke_block(&b, black_box(&argv)).unwrap());
    }
    let sends = (n as f64) * (k as f64);
    println!(
        "{:.2} ns/send ({} native calls)",
        t.elapsed().as_nanos() as f64 / sends.max(1.0),
        calls.load(Ordering::Relaxed)
    );
}
