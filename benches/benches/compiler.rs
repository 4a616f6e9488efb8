//! Compiler figures (issue 4): compile speed in source lines per second over the test corpus,
//! and `inject:into:` over 1000 elements of the corpus `List` class through the interpreter
//! and through the compiled tier.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tt_compiler::{compile_to_bytes, load_classes};
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};

const COUNTER: &str = include_str!("../../vm/compiler/tests/corpus/counter.trash");
const LIST: &str = include_str!("../../vm/compiler/tests/corpus/list.trash");

fn list_with(rt: &Runtime, n: i64) -> Value {
    load_classes(rt, &[("list.trash", LIST)]).expect("corpus compiles");
    let list = rt.send(&Value::string("List"), "new", &[]).unwrap();
    for i in 0..n {
        rt.send(&list, "add:", &[Value::int(i)]).unwrap();
    }
    list
}

fn compiler(c: &mut Criterion) {
    let mut g = c.benchmark_group("compiler");
    let lines = (COUNTER.lines().count() + LIST.lines().count()) as u64;
    g.throughput(Throughput::Elements(lines));
    g.bench_function("compile_corpus_lines", |b| {
        b.iter(|| {
            let rt = Runtime::new();
            load_classes(
                &rt,
                black_box(&[("counter.trash", COUNTER), ("list.trash", LIST)]),
            )
            .unwrap()
        })
    });
    g.throughput(Throughput::Elements(1000));
    for (name, jit) in [
        ("inject_into_1000_interp", false),
        ("inject_into_1000_jit", true),
    ] {
        let rt = Runtime::new();
        if jit {
            assert!(tt_jit::install(&rt), "the JIT installs");
            rt.set_tier_mode(TierMode::Always);
        } else {
            rt.set_tier_mode(TierMode::Never);
        }
        let list = list_with(&rt, 1000);
        let add = rt
            .register_block(
                &compile_to_bytes("[:acc :x | acc + x]").unwrap(),
                Vec::new(),
            )
            .unwrap();
        let args = [Value::int(0), Value::block(add)];
        let sum = rt.send(&list, "inject:into:", &args).unwrap();
        assert_eq!(sum.as_int(), Some(499_500));
        g.bench_function(name, |b| {
            b.iter(|| rt.send(black_box(&list), "inject:into:", &args).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, compiler);
criterion_main!(benches);
