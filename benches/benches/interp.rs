//! Interpreter figures: the spec's summing loop (ns per iteration), a trivial block
//! invocation (ns per call), and the same loop in Lua 5.4 measured in the same run.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tt_benches::{ADD_HEX, SUM_HEX, hex, report_peer};
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};

const N: u64 = 10_000;

fn interp(c: &mut Criterion) {
    let rt = Runtime::new();
    rt.set_tier_mode(TierMode::Never);
    let sum = rt.register_block(&hex(SUM_HEX), Vec::new()).unwrap();
    let n = Value::int(N as i64);
    assert_eq!(
        rt.invoke_block(&sum, std::slice::from_ref(&n))
            .unwrap()
            .as_int(),
        Some((N * (N - 1) / 2) as i64)
    );
    let mut g = c.benchmark_group("interp");
    g.throughput(Throughput::Elements(N));
    g.bench_function("sum_loop", |b| {
        b.iter(|| {
            rt.invoke_block(&sum, black_box(std::slice::from_ref(&n)))
                .unwrap()
        })
    });
    g.throughput(Throughput::Elements(1));
    let add = rt.register_block(&hex(ADD_HEX), Vec::new()).unwrap();
    let args = [Value::int(10), Value::int(32)];
    g.bench_function("invoke_trivial", |b| {
        b.iter(|| rt.invoke_block(&add, black_box(&args)).unwrap())
    });
    g.finish();
    report_peer("interp/sum_loop lua5.4", "lua5.4", "sum.lua", 10_000_000);
}

criterion_group!(benches, interp);
criterion_main!(benches);
