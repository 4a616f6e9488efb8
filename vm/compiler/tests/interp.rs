//! Interpreter behaviour checked on compiled sources: fused counting loops, the interpreted
//! leaf entry and the trivial entry (`tt_vm::interp::trivial`) against the general activation
//! path. They live with the compiler because they build their blocks from Trashtalk source;
//! the interpreter's hand-assembled tests are in `vm/tests/interp.rs`.

use std::sync::Arc;

use tt_compiler::compile_to_bytes;
use tt_vm::ttbc::{Chunk, serialize};
use tt_vm::{Runtime, Value};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

/// The interpreter fuses counting loops (`i := i + 1` then the rotated `i < n` test) into one
/// superinstruction with an integer fast path. Each loop here is checked against the same loop
/// written so that it does not fuse (`1 + i`: immediate on the left), over integers, floats,
/// strings, nil and integers at the edge of the inline range, where the fast path falls back.
#[test]
fn fused_counting_loops_agree_with_unfused_loops() {
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

/// Leaf blocks are entered directly (no run): interpreted in the thread's leaf register file.
/// The same block objects sent `value…` go through the general activation path; both must
/// agree, including errors, locals, captures and a leaf entered again after a failing one.
#[test]
fn interpreted_leaf_entry_agrees_with_the_general_activation_path() {
    let rt = Runtime::new();
    rt.set_tier_mode(tt_vm::tier::TierMode::Never);
    let array_len = serialize(&Chunk {
        version: 1,
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
