//! Interpreter behaviour on the spec's worked examples (docs/spec/ttbc.md §13) and the value,
//! non-local-return, depth-limit and memory rules.

use std::sync::Arc;

use tt_vm::ttbc::{CaptureDesc, CaptureSource, Chunk, serialize};
use tt_vm::{ClassDef, MethodImpl, Runtime, Side, Value};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn run(rt: &Runtime, h: &str, args: &[&str]) -> String {
    let b = rt.register_block(&hex(h), Vec::new()).unwrap();
    let args: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
    match rt.invoke_block(&b, &args) {
        Ok(v) => v.text().into_owned(),
        Err(e) => format!("ERR {e}"),
    }
}

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";
const CONCAT_CAPTURE: &str = "545442430001000200000007300010000070F000010001210000010178000000";
const IF_YES: &str = "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000";
const SEND_SETVALUE: &str =
    "54544243000100000000000B22002201155090000001F00001000973657456616C75655F020163016E000000";
const NESTED: &str = "5454424300010000000000102200A000000121002000100001A101F00002001E5454424300010002000000063000220050F000000101790001017803000000023130010178010000";
const NESTED_RETURNING_BLOCK: &str = "5454424300010000000000072200A0000001F00001001E5454424300010002000000063000220050F0000001017900010178030000010178000000";
const NLR: &str = "54544243000100000000000DA00000002200A10101100001F0000200175454424300010004000000032200F20000010176000000000B6E6F742072656163686564010178000000";
const NLR_DEAD_HOME: &str = "545442430001000000000005A0000000F0000100175454424300010004000000032200F2000001017600000000000000";

#[test]
fn worked_example_13_1_add() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, ADD, &["10", "32"]), "42");
    assert_eq!(run(&rt, ADD, &["7"]), "7");
    assert_eq!(run(&rt, ADD, &["a", "1"]), "1");
}

#[test]
fn worked_example_13_1_result_is_typed_integer() {
    let rt = Runtime::new();
    let b = rt.register_block(&hex(ADD), Vec::new()).unwrap();
    let v = rt
        .invoke_block(&b, &[Value::string("10"), Value::string("32")])
        .unwrap();
    assert_eq!(v.as_int(), Some(42));
}

#[test]
fn worked_example_13_2_sum_loop() {
    let rt = Runtime::new();
    for (arg, want) in [
        ("5", "10"),
        ("10", "45"),
        ("0", "0"),
        ("1", "0"),
        ("-3", "0"),
        ("abc", "0"),
    ] {
        assert_eq!(run(&rt, SUM, &[arg]), want, "n = {arg}");
    }
    assert_eq!(run(&rt, SUM, &["100000"]), "4999950000");
}

#[test]
fn worked_example_13_3_captures() {
    let rt = Runtime::new();
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::string("hi"))])
        .unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "hi!");
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::int(42))])
        .unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "42!");
    let b = rt.register_block(&hex(CONCAT_CAPTURE), vec![]).unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "!");
    let err = rt
        .register_block(
            &hex(CONCAT_CAPTURE),
            vec![Some(Value::NIL), Some(Value::NIL)],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "too many captures: got 2, block declares 1"
    );
}

#[test]
fn worked_example_13_4_branch() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, IF_YES, &["yes"]), "Y");
    for a in ["no", "YES", ""] {
        assert_eq!(run(&rt, IF_YES, &[a]), "N");
    }
}

#[test]
fn worked_example_13_5_send_reaches_the_dispatcher_with_typed_args() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Counter".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "setValue:",
        MethodImpl::native(|_rt, this, args| {
            let inst = this.as_instance().unwrap();
            assert_eq!(args[0].as_int(), Some(42), "argument arrives as an integer");
            inst.set("value", args[0].clone(), true)?;
            Ok(Value::string(&format!("set {}", args[0])))
        }),
    )
    .unwrap();
    let c = rt.new_instance("Counter").unwrap();
    assert_eq!(run(&rt, SEND_SETVALUE, &[c.id(), "41"]), "set 42");
    assert_eq!(c.get("value").unwrap().unwrap().as_int(), Some(42));
}

#[test]
fn worked_example_13_6_nested_block() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, NESTED, &["5"]), "15");
    let b = rt
        .register_block(&hex(NESTED_RETURNING_BLOCK), Vec::new())
        .unwrap();
    let inner = rt.invoke_block(&b, &[Value::string("5")]).unwrap();
    let id = inner.text().into_owned();
    assert!(id.starts_with("bytecode_block_"), "{id}");
    assert_eq!(
        rt.invoke_block_id(&id, &[Value::string("10")])
            .unwrap()
            .text(),
        "15"
    );
}

#[test]
fn worked_example_13_7_non_local_return() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, NLR, &["7"]), "7");
    let b = rt.register_block(&hex(NLR_DEAD_HOME), Vec::new()).unwrap();
    let escaped = rt.invoke_block(&b, &[]).unwrap().text().into_owned();
    assert_eq!(
        rt.invoke_block_id(&escaped, &[Value::string("9")])
            .unwrap()
            .text(),
        "9"
    );
}

#[test]
fn unknown_block_id_is_not_found() {
    let rt = Runtime::new();
    let e = rt
        .invoke_block_id("bytecode_block_999999999", &[])
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "block not found: bytecode_block_999999999");
}

/// A chunk `[:n | SEND_SELF recurse] ` used as a method that calls itself forever.
fn recursive_method() -> Vec<u8> {
    let chunk = Chunk {
        flags: 0,
        code: vec![0x10, 0x00, 0x00, 0x91, 0x00, 0x01, 0x00, 0xF0],
        constants: vec![b"self".to_vec(), b"recurse".to_vec()],
        ..Default::default()
    };
    serialize(&chunk).unwrap()
}

#[test]
fn unbounded_recursion_is_an_error_not_a_crash() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Loop".into(),
        ..Default::default()
    })
    .unwrap();
    let v = tt_vm::ttbc::load_verified(&recursive_method()).unwrap();
    rt.add_method("Loop", Side::Instance, "recurse", MethodImpl::bytecode(v))
        .unwrap();
    let inst = rt.new_instance("Loop").unwrap();
    let e = rt.send(&Value::instance(inst), "recurse", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "block invocation depth limit (1000) exceeded"
    );
}

#[test]
fn released_instance_gives_a_clear_error() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Thing".into(),
        ivars: vec!["a".into()],
        ..Default::default()
    })
    .unwrap();
    let inst = rt.new_instance("Thing").unwrap();
    let v = Value::instance(inst.clone());
    let id = inst.id().to_owned();
    assert!(rt.release(&id));
    let e = inst.get("a").unwrap_err();
    assert_eq!(e.to_string(), format!("instance not found: {id}"));
    let e = rt.send(&v, "anything", &[]).unwrap_err();
    assert_eq!(e.to_string(), format!("instance not found: {id}"));
    let e = rt.send(&Value::string(&id), "anything", &[]).unwrap_err();
    assert!(e.is_not_found());
}

#[test]
fn ivar_capture_reads_and_writes_through() {
    // Method `[ | | [value := value + 1] value. value ]` style: an ivar capture cell.
    let inner = Chunk {
        flags: 0x0002,
        code: vec![0x30, 0x00, 0x15, 0x50, 0x31, 0x00, 0x30, 0x00, 0xF0],
        captures: vec![CaptureDesc {
            name: "value".into(),
            source: CaptureSource::Ivar,
            slot: 0,
        }],
        ..Default::default()
    };
    let inner = serialize(&inner).unwrap();
    let outer = Chunk {
        flags: 0,
        // LOAD_IVAR 0 ; MAKE_BLOCK 1 1 ; BLOCK_VALUE ; POP ; LOAD_IVAR 0 ; RETURN
        code: vec![
            0x40, 0x00, 0x00, 0xA0, 0x00, 0x01, 0x01, 0xA2, 0x01, 0x40, 0x00, 0x00, 0xF0,
        ],
        constants: vec![b"value".to_vec(), inner],
        ..Default::default()
    };
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Cell".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    let v = tt_vm::ttbc::load_verified(&serialize(&outer).unwrap()).unwrap();
    rt.add_method("Cell", Side::Instance, "bump", MethodImpl::bytecode(v))
        .unwrap();
    let inst = rt.new_instance("Cell").unwrap();
    inst.set("value", Value::int(41), true).unwrap();
    let r = rt
        .send(&Value::instance(inst.clone()), "bump", &[])
        .unwrap();
    assert_eq!(r.as_int(), Some(42));
    assert_eq!(inst.get("value").unwrap().unwrap().as_int(), Some(42));
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// 10^7 invocations of a block that builds temporary strings keep RSS flat: reference
/// counting frees every temporary as soon as its last value is dropped.
#[test]
fn ten_million_invocations_creating_strings_keep_rss_flat() {
    let rt = Runtime::new();
    // [x , '!']  with x captured: CONCAT makes a fresh string per call.
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::string("temporary"))])
        .unwrap();
    let b = Arc::clone(&b);
    for _ in 0..100_000 {
        let _ = rt.invoke_block(&b, &[]).unwrap();
    }
    let before = rss_kib().unwrap_or(0);
    for _ in 0..10_000_000u32 {
        let v = rt.invoke_block(&b, &[]).unwrap();
        debug_assert_eq!(v.as_str(), Some("temporary!"));
    }
    let after = rss_kib().unwrap_or(0);
    assert!(
        after <= before + 2048,
        "RSS grew from {before} KiB to {after} KiB over 10^7 invocations"
    );
}

/// The interpreter fuses counting loops (`i := i + 1` then the rotated `i < n` test) into one
/// superinstruction with an integer fast path. Each loop here is checked against the same loop
/// written so that it does not fuse (`1 + i`: immediate on the left), over integers, floats,
/// strings, nil and integers at the edge of the inline range, where the fast path falls back.
#[test]
fn fused_counting_loops_agree_with_unfused_loops() {
    use tt_vm::compiler::compile_to_bytes;
    let pairs = [
        (
            "[:a :n | | i s | i := a. s := 0. [i < n] whileTrue: [s := s + i. i := i + 1]. s , ':' , i]",
            "[:a :n | | i s | i := a. s := 0. [i < n] whileTrue: [s := s + i. i := 1 + i]. s , ':' , i]",
        ),
        (
            "[:a :n | | i s | i := a. s := 0. [i <= n] whileTrue: [s := s + i. i := i + 2]. s , ':' , i]",
            "[:a :n | | i s | i := a. s := 0. [i <= n] whileTrue: [s := s + i. i := 2 + i]. s , ':' , i]",
        ),
        (
            "[:a :n | | s | s := 0. a to: n do: [:i | s := s + i]. s]",
            "[:a :n | | i s | i := a. s := 0. [i <= n] whileTrue: [s := s + i. i := 1 + i]. s]",
        ),
    ];
    // (start, limit) pairs: every loop runs a handful of iterations at most.
    let cases = [
        ("0", "3"),
        ("1", "3"),
        ("-3", "2.5"),
        ("2.5", "6"),
        ("0.5", "3"),
        ("abc", "3"),
        ("", "2"),
        ("0", "abc"),
        ("0", ""),
        ("5", "-1"),
        // Crossing the end of the inline integer range (2^47 - 1) into boxed integers.
        ("140737488355325", "140737488355328"),
        ("140737488355327", "140737488355330"),
        ("-140737488355329", "-140737488355326"),
    ];
    let rt = Runtime::new();
    for (fused, plain) in pairs {
        let f = rt
            .register_block(&compile_to_bytes(fused).unwrap(), Vec::new())
            .unwrap();
        let p = rt
            .register_block(&compile_to_bytes(plain).unwrap(), Vec::new())
            .unwrap();
        let fused_loop = |b: &Arc<tt_vm::Block>| {
            b.code()
                .code
                .iter()
                .any(|x| matches!(x, tt_vm::interp::fused::X::IncJump { .. }))
        };
        assert!(fused_loop(&f), "{fused} did not fuse");
        assert!(!fused_loop(&p), "{plain} fused");
        for (a, n) in cases {
            let args = [Value::string(a), Value::string(n)];
            let run = |b| match rt.invoke_block(b, &args) {
                Ok(v) => v.text().into_owned(),
                Err(e) => format!("ERR {e}"),
            };
            assert_eq!(run(&f), run(&p), "{fused} with a={a:?} n={n:?}");
        }
    }
    // And a value the fast path must produce exactly.
    let f = rt
        .register_block(&compile_to_bytes(pairs[0].0).unwrap(), Vec::new())
        .unwrap();
    let v = rt
        .invoke_block(&f, &[Value::int(0), Value::int(5)])
        .unwrap();
    assert_eq!(v.text(), "10:5");
}

/// `CodeUnit::leaf` decides which compiled units `Runtime::invoke_block` enters directly
/// (no run, no depth accounting): only units that can never nest an activation or need a home.
#[test]
fn leaf_units_are_those_without_sends_blocks_or_non_local_returns() {
    let rt = Runtime::new();
    let leaf = |h: &str| rt.register_block(&hex(h), Vec::new()).unwrap().code().leaf;
    assert!(leaf(ADD));
    assert!(leaf(SUM));
    assert!(leaf(CONCAT_CAPTURE));
    assert!(leaf(IF_YES));
    assert!(!leaf(SEND_SETVALUE));
    assert!(!leaf(NESTED));
    assert!(!leaf(NLR));
}

/// Leaf blocks are entered directly (no run): interpreted in the thread's leaf register file.
/// The same block objects sent `value…` go through the general activation path; both must
/// agree, including errors, locals, captures and a leaf entered again after a failing one.
#[test]
fn interpreted_leaf_entry_agrees_with_the_general_activation_path() {
    use tt_vm::compiler::compile_to_bytes;
    let rt = Runtime::new();
    rt.set_tier_mode(tt_vm::tier::TierMode::Never);
    let array_len = serialize(&Chunk {
        code: vec![0x22, 0x00, 0xB4, 0xF0], // LOAD_PARAM 0 ; ARRAY_LEN ; RETURN
        params: vec!["a".into()],
        ..Default::default()
    })
    .unwrap();
    let cases: Vec<(Vec<u8>, Vec<Value>)> = vec![
        (hex(ADD), vec![Value::int(10), Value::int(32)]),
        (hex(ADD), vec![Value::string("4"), Value::float(0.5)]),
        (hex(ADD), vec![Value::int(1 << 47), Value::int(1 << 47)]),
        (hex(SUM), vec![Value::int(100)]),
        (array_len.clone(), vec![Value::string("[1,2,3]")]),
        (array_len, vec![Value::string("{\"not\":\"an array\"}")]),
        (
            compile_to_bytes("[:a :b | | t | t := a , b. t , t]").unwrap(),
            vec![Value::string("ab"), Value::string("c")],
        ),
        (
            compile_to_bytes("[:x | x > 2 ifTrue: ['big'] ifFalse: ['small']]").unwrap(),
            vec![Value::int(3)],
        ),
    ];
    // Callers that invoke their first argument from bytecode (a nested activation).
    let callers = [
        "[:b | b value]",
        "[:b :x | b value: x]",
        "[:b :x :y | b value: x value: y]",
    ]
    .map(|src| {
        let block = rt.register_block(&compile_to_bytes(src).unwrap(), Vec::new());
        block.unwrap()
    });
    for (bytes, args) in &cases {
        let block = rt.register_block(bytes, Vec::new()).unwrap();
        assert!(block.code().leaf);
        let direct = rt.invoke_block(&block, args);
        let mut caller_args = vec![Value::block(block.clone())];
        caller_args.extend(args.iter().cloned());
        let general = rt.invoke_block(&callers[args.len()], &caller_args);
        match (&direct, &general) {
            (Ok(d), Ok(g)) => assert_eq!(d.text(), g.text(), "{args:?}"),
            (Err(d), Err(g)) => assert_eq!(d.to_string(), g.to_string()),
            _ => panic!("tiers disagree on {args:?}: {direct:?} vs {general:?}"),
        }
    }
    // The failing leaf above handed its register file back: a leaf with locals still works.
    let sum = rt.register_block(&hex(SUM), Vec::new()).unwrap();
    assert_eq!(
        rt.invoke_block(&sum, &[Value::int(10)]).unwrap().as_int(),
        Some(45)
    );
}

/// Trivial leaves (one value-returning instruction over params, immediates and constants) are
/// evaluated on the caller's arguments without the interpreter loop
/// (`tt_vm::interp::trivial`), entered directly and from bytecode. The same chunk with a NOP
/// in front is not trivial and runs through the loop (the interpreted leaf entry, and a nested
/// activation from bytecode); all must agree for every kind of argument, including the values
/// that leave the integer fast path (floats, strings, nil, integers beyond the inline range,
/// division by zero).
#[test]
fn trivial_entry_agrees_with_the_interpreter_loop() {
    use tt_vm::compiler::compile_to_bytes;
    let rt = Runtime::new();
    rt.set_tier_mode(tt_vm::tier::TierMode::Never);
    let unary = [
        "[:x | x + 1]",
        "[:x | x * 2]",
        "[:x | x - 7]",
        "[:x | x / 0]",
        "[:x | x % 3]",
        "[:x | x]",
        "[:x | 'k']",
        "['k']",
        "[:x | 3 - x]",
    ];
    let binary = [
        "[:x :y | x + y]",
        "[:a :b | a - b]",
        "[:a :b | a * b]",
        "[:a :b | b / a]",
    ];
    let values = || {
        vec![
            Value::int(41),
            Value::int(-3),
            Value::int(0),
            Value::int(1 << 47),
            Value::int(i64::MAX),
            Value::int(i64::MIN),
            Value::float(0.5),
            Value::string("12"),
            Value::string("abc"),
            Value::NIL,
        ]
    };
    let callers = [
        "[:b | b value]",
        "[:b :x | b value: x]",
        "[:b :x :y | b value: x value: y]",
    ]
    .map(|src| {
        rt.register_block(&compile_to_bytes(src).unwrap(), Vec::new())
            .unwrap()
    });
    let check = |src: &str, args: &[Value]| {
        let bytes = compile_to_bytes(src).unwrap();
        let block = rt.register_block(&bytes, Vec::new()).unwrap();
        assert!(block.code().trivial.is_some(), "{src} is trivial");
        let mut chunk = tt_vm::ttbc::load(&bytes).unwrap();
        chunk.code.insert(0, 0x00); // NOP (the body has no jumps to shift)
        let looped = rt
            .register_block(&serialize(&chunk).unwrap(), Vec::new())
            .unwrap();
        assert!(looped.code().trivial.is_none() && looped.code().leaf);
        let n = block.code().param_count;
        let nested = |b: &Arc<tt_vm::Block>| {
            let mut caller_args = vec![Value::block(b.clone())];
            caller_args.extend(args.iter().cloned());
            rt.invoke_block(&callers[n], &caller_args)
        };
        let reference = rt.invoke_block(&looped, args);
        for (what, r) in [
            ("direct", rt.invoke_block(&block, args)),
            ("nested", nested(&block)),
            ("nested loop", nested(&looped)),
        ] {
            match (&r, &reference) {
                (Ok(d), Ok(g)) => {
                    assert_eq!(d.text(), g.text(), "{what} {src} {args:?}");
                    assert_eq!(d.kind_name(), g.kind_name(), "{what} {src} {args:?}");
                }
                (Err(d), Err(g)) => assert_eq!(d.to_string(), g.to_string()),
                _ => panic!("{what} disagrees on {src} {args:?}: {r:?} vs {reference:?}"),
            }
        }
    };
    for src in unary {
        let n = if src.starts_with("[:x") { 1 } else { 0 };
        for v in values() {
            check(src, &vec![v; n]);
        }
    }
    for src in binary {
        for x in values() {
            for y in values() {
                check(src, &[x.clone(), y]);
            }
        }
    }
    // Not trivial: a local, a comparison, a send.
    for src in ["[:x | | t | t := x. t]", "[:x | x < 1]", "[:x | x foo]"] {
        let block = rt
            .register_block(&compile_to_bytes(src).unwrap(), Vec::new())
            .unwrap();
        assert!(block.code().trivial.is_none(), "{src}");
    }
}

/// Found by `tests/tests/jit_fast_loops_proptest.rs`: `[i <= i] whileTrue: [… i := i + 1]` fused
/// into `IncJump`, whose fast path compared the stepped counter with the limit read *before*
/// the step, the counter's old value, and left the loop after one iteration.
#[test]
fn fused_counting_loop_whose_limit_is_its_counter_keeps_counting() {
    use tt_vm::compiler::compile_to_bytes;
    let rt = Runtime::new();
    for (src, want) in [
        (
            "[:n | | i f | i := 0. f := n. [i <= i] whileTrue: [f := f - 1. f < 0 ifTrue: [^i]. i := i + 1]. i]",
            "5",
        ),
        (
            "[:n | | i f | i := 0. f := n. [i < i] whileTrue: [i := i + 1]. i]",
            "0",
        ),
    ] {
        let b = rt
            .register_block(&compile_to_bytes(src).unwrap(), Vec::new())
            .unwrap();
        let got = rt.invoke_block(&b, &[Value::int(5)]).unwrap();
        assert_eq!(got.text(), want, "{src}");
    }
}
