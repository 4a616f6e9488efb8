//! Compiled-tier figures (docs/jit.md): the §13.2 summing loop and a `to:do:` loop with a block
//! temporary (ns per iteration), sends in a
//! loop to a TTBC and to a native method (ns per send), `[:x | x + 1]` through
//! `Runtime::invoke_block` beside a plain `extern "C"` indirect call, and the compile time of
//! a 50-opcode block (beside `jit/decode_50_ops`, the interpreter's load + verify + decode of the
//! same block). Each figure is measured in the interpreter (`TierMode::Never`) and
//! compiled (`TierMode::Always`). Lua 5.4 / LuaJIT peers run from `benches/peers/run.sh`.
//!
//! The native-method send loop runs with two method bodies: `NativeCounter>>increment` (the
//! figure of the report) bumps its call counter with an atomic read-modify-write
//! (`fetch_add`), which alone costs ~7 ns per call on the bench machine (a lock-prefixed
//! instruction; measured in a plain Rust loop, BENCHMARKS.md "Earlier measurements") and so bounds that
//! figure from below whatever the send costs; `PlainNativeCounter>>increment` does the same
//! with a relaxed load and store (the loop is single-threaded, so it counts the same), which
//! shows the cost of the send itself.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tt_benches::{ADD_HEX, SUM_HEX, hex};
use tt_vm::interp::CodeUnit;
use tt_vm::tier::{Compiler, TierMode};
use tt_vm::ttbc::{Chunk, Op, serialize};
use tt_vm::{ClassDef, MethodImpl, Runtime, Side, Value};

/// Iterations of the summing loop per invocation.
const SUM_N: i64 = 1_000_000;
/// Sends per invocation of the send loop.
const SEND_N: i64 = 100_000;

fn runtime(compiled: bool) -> Runtime {
    let rt = Runtime::new();
    if compiled {
        assert!(tt_jit::install(&rt), "JIT unsupported on this host");
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    rt
}

fn tier_name(compiled: bool) -> &'static str {
    if compiled { "compiled" } else { "interpreter" }
}

fn chunk(code: Vec<u8>, constants: Vec<&[u8]>, params: usize, locals: u8) -> Vec<u8> {
    serialize(&Chunk {
        version: 1,
        code,
        constants: constants.into_iter().map(<[u8]>::to_vec).collect(),
        params: (0..params).map(|i| format!("p{i}")).collect(),
        local_count: locals,
        ..Default::default()
    })
    .expect("serializable chunk")
}

fn sum_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit/sum_loop");
    g.throughput(Throughput::Elements(SUM_N as u64));
    for compiled in [false, true] {
        let rt = runtime(compiled);
        let b = rt.register_block(&hex(SUM_HEX), Vec::new()).unwrap();
        let n = [Value::int(SUM_N)];
        let want = SUM_N * (SUM_N - 1) / 2;
        assert_eq!(rt.invoke_block(&b, &n).unwrap().as_int(), Some(want));
        assert_eq!(b.code().compiled().is_some(), compiled);
        g.bench_function(tier_name(compiled), |bn| {
            bn.iter(|| rt.invoke_block(&b, black_box(&n)).unwrap())
        });
    }
    g.finish();
}

/// `1 to: n do:` with a temporary of the loop's block (nilled each iteration), n = 10^4.
const TEMP_LOOP: &str = "[:n | | s | s := 0. 1 to: n do: [:i | | t | t := i * i. s := s + t]. s]";
const TEMP_N: i64 = 10_000;

fn temp_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit/temp_loop");
    g.throughput(Throughput::Elements(TEMP_N as u64));
    let bytes = tt_compiler::compile_to_bytes(TEMP_LOOP).expect("compiles");
    for compiled in [false, true] {
        let rt = runtime(compiled);
        let b = rt.register_block(&bytes, Vec::new()).unwrap();
        let n = [Value::int(TEMP_N)];
        let want: i64 = (1..=TEMP_N).map(|i| i * i).sum();
        assert_eq!(rt.invoke_block(&b, &n).unwrap().as_int(), Some(want));
        assert_eq!(b.code().compiled().is_some(), compiled);
        g.bench_function(tier_name(compiled), |bn| {
            bn.iter(|| rt.invoke_block(&b, black_box(&n)).unwrap())
        });
    }
    g.finish();
}

fn define_counters(rt: &Runtime, native_calls: Arc<AtomicU64>) {
    // `TtbcCounter>>increment`: value := value + 1 (ivar read and write).
    rt.define_class(ClassDef {
        name: "TtbcCounter".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    let code = vec![
        Op::LoadIvar.byte(),
        0,
        0,
        Op::ConstOne.byte(),
        Op::Add.byte(),
        Op::StoreIvar.byte(),
        0,
        0,
        Op::ReturnNil.byte(),
    ];
    let v = tt_vm::ttbc::load_verified(&chunk(code, vec![b"value"], 0, 0)).unwrap();
    rt.add_method(
        "TtbcCounter",
        Side::Instance,
        "increment",
        MethodImpl::bytecode(v),
    )
    .unwrap();
    // `PureCounter>>increment`: ^1 (send and activation cost only).
    rt.define_class(ClassDef {
        name: "PureCounter".into(),
        ..Default::default()
    })
    .unwrap();
    let v = tt_vm::ttbc::load_verified(&chunk(
        vec![Op::ConstOne.byte(), Op::Return.byte()],
        vec![],
        0,
        0,
    ))
    .unwrap();
    rt.add_method(
        "PureCounter",
        Side::Instance,
        "increment",
        MethodImpl::bytecode(v),
    )
    .unwrap();
    // `NativeCounter>>increment`: a Rust closure bumping an atomic.
    rt.define_class(ClassDef {
        name: "NativeCounter".into(),
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "NativeCounter",
        Side::Instance,
        "increment",
        MethodImpl::native({
            let native_calls = native_calls.clone();
            move |_rt, _this, _args| {
                Ok(Value::int(
                    native_calls.fetch_add(1, Ordering::Relaxed) as i64
                ))
            }
        }),
    )
    .unwrap();
    // `PlainNativeCounter>>increment`: the same without the read-modify-write (see the module
    // docs).
    rt.define_class(ClassDef {
        name: "PlainNativeCounter".into(),
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "PlainNativeCounter",
        Side::Instance,
        "increment",
        MethodImpl::native(move |_rt, _this, _args| {
            let n = native_calls.load(Ordering::Relaxed);
            native_calls.store(n + 1, Ordering::Relaxed);
            Ok(Value::int(n as i64))
        }),
    )
    .unwrap();
}

fn send_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit/send_loop");
    g.throughput(Throughput::Elements(SEND_N as u64));
    for class in [
        "TtbcCounter",
        "PureCounter",
        "NativeCounter",
        "PlainNativeCounter",
    ] {
        for compiled in [false, true] {
            let rt = runtime(compiled);
            let calls = Arc::new(AtomicU64::new(0));
            define_counters(&rt, calls.clone());
            let b = rt
                .register_block(&tt_benches::send_loop_chunk(), Vec::new())
                .unwrap();
            let counter = Value::instance(rt.new_instance(class).unwrap());
            let args = [counter.clone(), Value::int(SEND_N)];
            assert_eq!(rt.invoke_block(&b, &args).unwrap().as_int(), Some(SEND_N));
            if class.ends_with("NativeCounter") {
                assert_eq!(calls.load(Ordering::Relaxed), SEND_N as u64);
            }
            if class == "TtbcCounter" {
                assert_eq!(
                    counter
                        .as_instance()
                        .unwrap()
                        .get("value")
                        .unwrap()
                        .unwrap()
                        .as_int(),
                    Some(SEND_N)
                );
            }
            assert_eq!(b.code().compiled().is_some(), compiled);
            g.bench_function(BenchmarkId::new(class, tier_name(compiled)), |bn| {
                bn.iter(|| rt.invoke_block(&b, black_box(&args)).unwrap())
            });
        }
    }
    g.finish();
}

#[inline(never)]
extern "C" fn plus_one(x: i64) -> i64 {
    x + 1
}

fn invoke_block(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit/invoke_block");
    // [:x | x + 1]
    let code = vec![
        Op::LoadParam.byte(),
        0,
        Op::ConstOne.byte(),
        Op::Add.byte(),
        Op::Return.byte(),
    ];
    let bytes = chunk(code, vec![], 1, 0);
    for compiled in [false, true] {
        let rt = runtime(compiled);
        let b = rt.register_block(&bytes, Vec::new()).unwrap();
        let args = [Value::int(41)];
        assert_eq!(rt.invoke_block(&b, &args).unwrap().as_int(), Some(42));
        assert_eq!(b.code().compiled().is_some(), compiled);
        g.bench_function(tier_name(compiled), |bn| {
            bn.iter(|| rt.invoke_block(&b, black_box(&args)).unwrap())
        });
    }
    let f: extern "C" fn(i64) -> i64 = plus_one;
    g.bench_function("extern_c_indirect_call", |bn| {
        bn.iter(|| black_box(f)(black_box(41)))
    });
    // The sum loop's block through the same path, for comparison with the ADD chunk.
    let rt = runtime(true);
    let add = rt.register_block(&hex(ADD_HEX), Vec::new()).unwrap();
    let args = [Value::int(10), Value::int(32)];
    g.bench_function("compiled_13_1_add", |bn| {
        bn.iter(|| rt.invoke_block(&add, black_box(&args)).unwrap())
    });
    g.finish();
}

/// A block of exactly 50 opcodes: a counted loop whose body updates an accumulator nine times.
fn fifty_ops() -> Vec<u8> {
    let l = Op::LoadLocal.byte();
    let s = Op::StoreLocal.byte();
    let mut code = vec![Op::ConstZero.byte(), s, 0]; // 2 ops
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
    ]); // 4 ops
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
            code.push(Op::Neg.byte()); // one 5-op statement: 37 ops in the body
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
    ]); // 5 ops
    let back = code.len();
    let d = (head as i64 - back as i64) as i16;
    code[back - 2..back].copy_from_slice(&d.to_be_bytes());
    let end = code.len();
    let d = (end as i64 - (jf as i64 + 2)) as i16;
    code[jf..jf + 2].copy_from_slice(&d.to_be_bytes());
    code.extend([l, 1, Op::Return.byte()]); // 2 ops
    chunk(code, vec![], 1, 2)
}

fn compile_50_ops(c: &mut Criterion) {
    let unit = CodeUnit::decode(tt_vm::ttbc::load_verified(&fifty_ops()).unwrap());
    assert_eq!(
        unit.ins.len() - 1,
        50,
        "50 opcodes (plus the decoder's End)"
    );
    let jit = tt_jit::Jit::new().unwrap();
    let mut g = c.benchmark_group("jit");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("compile_50_ops", |bn| {
        bn.iter(|| jit.compile(black_box(&unit)).unwrap())
    });
    // Same-run baseline: what the interpreter needs before it can run the same block (load,
    // verify, decode into its internal form).
    let bytes = fifty_ops();
    g.bench_function("decode_50_ops", |bn| {
        bn.iter(|| CodeUnit::decode(tt_vm::ttbc::load_verified(black_box(&bytes)).unwrap()))
    });
    g.finish();
    let code = jit.compile(&unit).unwrap();
    println!("compile_50_ops: {} bytes of machine code", code.code_bytes);
}

criterion_group!(
    benches,
    sum_loop,
    temp_loop,
    send_loop,
    invoke_block,
    compile_50_ops
);
criterion_main!(benches);
