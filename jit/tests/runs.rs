//! Differential tests of speculative runs (`jit/src/translate/runs.rs`, `jit/src/resume.rs`): each
//! chunk runs interpreted and compiled and must give the same text (or error) and leave the
//! same strong counts behind. They target what the runs do differently from instruction-wise
//! translation: 64-bit wrapping intermediates with one range check at the end of the run, the
//! slow path restarting the run from its first instruction (stack shuffles, stores, borrowed
//! entries below the run, fused compare-and-branch, runs ending at a JUMP), and returning a
//! local without a retain.

use std::sync::Arc;

use tt_vm::tier::TierMode;
use tt_vm::ttbc::{Chunk, Op, serialize};
use tt_vm::{ClassDef, Instance, Runtime, Value};

// Each test builds chunks from these pieces.

/// An argument, built per runtime.
#[derive(Clone, Debug)]
enum A {
    Int(i64),
    Str(&'static str),
    Float(f64),
    /// A fresh instance of `Obj`, whose strong count is compared between the tiers.
    Obj,
}

fn runtime(jit: bool) -> Runtime {
    let rt = Runtime::new();
    if jit {
        assert!(tt_jit::install(&rt), "JIT supported on this host");
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    rt.define_class(ClassDef {
        name: "Obj".into(),
        ..Default::default()
    })
    .unwrap();
    rt
}

/// Runs `code` in one tier: the outcome text and the strong counts of the `Obj` arguments
/// after the call (minus the test's own reference).
fn run(jit: bool, bytes: &[u8], args: &[A]) -> (String, Vec<usize>) {
    let rt = runtime(jit);
    let b = rt.register_block(bytes, Vec::new()).expect("valid chunk");
    let mut objs: Vec<Arc<Instance>> = Vec::new();
    let vals: Vec<Value> = args
        .iter()
        .map(|a| match a {
            A::Int(i) => Value::int(*i),
            A::Str(s) => Value::string(s),
            A::Float(f) => Value::float(*f),
            A::Obj => {
                let i = rt.new_instance("Obj").unwrap();
                objs.push(i.clone());
                Value::instance(i)
            }
        })
        .collect();
    let out = match rt.invoke_block(&b, &vals) {
        Ok(v) => normalize(&v.text()),
        Err(e) => format!("ERR {e}"),
    };
    assert_eq!(
        b.code().compiled().is_some(),
        jit,
        "compile error: {:?}",
        b.code().compile_error()
    );
    drop(vals);
    (out, objs.iter().map(|o| Arc::strong_count(o) - 1).collect())
}

/// Replaces instance ids (`obj_` and a UUID, different in each runtime) with `obj_ID`.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("obj_") {
        out.push_str(&rest[..i]);
        out.push_str("obj_ID");
        rest = rest.get(i + 4 + 36..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Asserts both tiers agree; returns the outcome.
fn both(bytes: &[u8], args: &[A]) -> String {
    let i = run(false, bytes, args);
    let j = run(true, bytes, args);
    assert_eq!(i, j, "interpreter vs JIT for {args:?}");
    i.0
}

fn chunk(code: &[u8], params: usize, locals: u8) -> Vec<u8> {
    chunk_with(code, &[], params, locals)
}

fn chunk_with(code: &[u8], consts: &[&str], params: usize, locals: u8) -> Vec<u8> {
    serialize(&Chunk {
        version: 1,
        code: code.to_vec(),
        constants: consts.iter().map(|c| c.as_bytes().to_vec()).collect(),
        params: (0..params).map(|i| format!("p{i}")).collect(),
        local_count: locals,
        ..Default::default()
    })
    .expect("serializable chunk")
}

fn lp(p: u8) -> [u8; 2] {
    [Op::LoadParam.byte(), p]
}
fn ll(l: u8) -> [u8; 2] {
    [Op::LoadLocal.byte(), l]
}
fn sl(l: u8) -> [u8; 2] {
    [Op::StoreLocal.byte(), l]
}
fn o(op: Op) -> u8 {
    op.byte()
}

/// Concatenates code pieces.
macro_rules! code {
    ($($x:expr),* $(,)?) => {{
        let mut v: Vec<u8> = Vec::new();
        $( v.extend_from_slice(&$x); )*
        v
    }};
}

#[test]
fn wrapping_intermediates_and_range_check() {
    // (a op b) op2 c, returned: intermediates beyond 48 bits wrap at 64 bits.
    let cases: [(Op, Op); 6] = [
        (Op::Mul, Op::Div),
        (Op::Add, Op::Sub),
        (Op::Mul, Op::Mul),
        (Op::Mul, Op::Mod),
        (Op::Sub, Op::Add),
        (Op::Mul, Op::Add),
    ];
    let big = 1i64 << 46;
    let vals = [
        0,
        1,
        -1,
        7,
        -7,
        1 << 16,
        1 << 30,
        big,
        -big,
        (1 << 47) - 1,
        -(1 << 47),
    ];
    for (op1, op2) in cases {
        let bytes = chunk(
            &code![lp(0), lp(1), [o(op1)], lp(2), [o(op2)], [o(Op::Return)]],
            3,
            0,
        );
        for &a in &vals {
            for &b in &vals {
                for &c in &[0, 1, -1, 3, big, -(1 << 47)] {
                    both(&bytes, &[A::Int(a), A::Int(b), A::Int(c)]);
                }
            }
        }
    }
    // i64::MIN / -1 and % -1 (wrapping), through an intermediate.
    let bytes = chunk(
        &code![
            lp(0),
            lp(1),
            [o(Op::Mul)],
            lp(2),
            [o(Op::Div)],
            [o(Op::Return)]
        ],
        3,
        0,
    );
    assert_eq!(
        both(&bytes, &[A::Int(-(1 << 47)), A::Int(1 << 16), A::Int(-1)]),
        i64::MIN.to_string()
    );
    let bytes = chunk(
        &code![
            lp(0),
            lp(1),
            [o(Op::Mul)],
            lp(2),
            [o(Op::Mod)],
            [o(Op::Return)]
        ],
        3,
        0,
    );
    assert_eq!(
        both(&bytes, &[A::Int(-(1 << 47)), A::Int(1 << 16), A::Int(-1)]),
        "0"
    );
    // NEG of -2^47 leaves the small-integer range; NEG of an intermediate.
    let bytes = chunk(&code![lp(0), [o(Op::Neg)], [o(Op::Return)]], 1, 0);
    assert_eq!(
        both(&bytes, &[A::Int(-(1 << 47))]),
        (1i64 << 47).to_string()
    );
    let bytes = chunk(
        &code![lp(0), lp(0), [o(Op::Add)], [o(Op::Neg)], [o(Op::Return)]],
        1,
        0,
    );
    for v in vals {
        both(&bytes, &[A::Int(v)]);
    }
}

#[test]
fn runs_redo_on_other_values() {
    // x := (a + b) * a. y := x - b. ^y   with non-integers anywhere.
    let bytes = chunk(
        &code![
            lp(0),
            lp(1),
            [o(Op::Add)],
            lp(0),
            [o(Op::Mul)],
            sl(0),
            ll(0),
            lp(1),
            [o(Op::Sub)],
            sl(1),
            ll(1),
            [o(Op::Return)]
        ],
        2,
        2,
    );
    for args in [
        [A::Int(3), A::Int(4)],
        [A::Str("3"), A::Int(4)],
        [A::Int(3), A::Str("x")],
        [A::Float(1.5), A::Int(2)],
        [A::Obj, A::Int(2)],
        [A::Int(1 << 40), A::Int(1 << 40)],
    ] {
        both(&bytes, &args);
    }
}

#[test]
fn stack_shuffles_inside_runs() {
    // a b SWAP POP 1 + ; a DUP + ; a b c ROT + + ; each returned.
    let swap = chunk(
        &code![
            lp(0),
            lp(1),
            [
                o(Op::Swap),
                o(Op::Pop),
                o(Op::ConstOne),
                o(Op::Add),
                o(Op::Return)
            ]
        ],
        2,
        0,
    );
    let dup = chunk(&code![lp(0), [o(Op::Dup), o(Op::Add), o(Op::Return)]], 1, 0);
    let rot = chunk(
        &code![
            lp(0),
            lp(1),
            lp(2),
            [o(Op::Rot), o(Op::Sub), o(Op::Add), o(Op::Return)]
        ],
        3,
        0,
    );
    for a in [A::Int(5), A::Str("s"), A::Obj, A::Float(0.5)] {
        for b in [A::Int(7), A::Str("t"), A::Obj] {
            both(&swap, &[a.clone(), b.clone()]);
            both(&rot, &[a.clone(), b.clone(), A::Int(2)]);
            both(&rot, &[A::Int(2), a.clone(), b.clone()]);
        }
        both(&dup, &[a]);
    }
}

#[test]
fn borrowed_entries_below_a_run() {
    // l0 := p0. push l0 (borrowed). l0 := p1 + 1 (a run storing to l0). ^ (the old l0).
    let store = chunk(
        &code![
            lp(0),
            sl(0),
            ll(0),
            lp(1),
            [o(Op::ConstOne), o(Op::Add)],
            sl(0),
            [o(Op::Return)]
        ],
        2,
        1,
    );
    // The same run ending at a JUMP (its exits jump directly), then return the entry.
    let jump = chunk(
        &code![
            lp(0),
            sl(0),
            ll(0),
            lp(1),
            [o(Op::ConstOne), o(Op::Add)],
            sl(0),
            [o(Op::Jump), 0, 0],
            [o(Op::Return)]
        ],
        2,
        1,
    );
    // A fused compare with a borrowed param and local below it.
    let fused = chunk(
        &code![
            lp(0),
            sl(0),
            lp(0),
            ll(0),
            lp(1),
            [o(Op::ConstOne), o(Op::Lt), o(Op::JumpFalse), 0, 2],
            [o(Op::Pop), o(Op::Return)],
            [o(Op::Swap), o(Op::Pop), o(Op::Return)]
        ],
        2,
        1,
    );
    for a in [A::Obj, A::Str("s"), A::Int(1)] {
        for b in [
            A::Int(0),
            A::Int(5),
            A::Str("x"),
            A::Obj,
            A::Int((1 << 47) - 1),
        ] {
            both(&store, &[a.clone(), b.clone()]);
            both(&jump, &[a.clone(), b.clone()]);
            both(&fused, &[a.clone(), b.clone()]);
        }
    }
}

#[test]
fn returning_a_local() {
    // l0 := p0. l1 := p0. ^l0 ; and ^l1 after l0 := 5.
    let first = chunk(
        &code![lp(0), sl(0), lp(0), sl(1), ll(0), [o(Op::Return)]],
        1,
        2,
    );
    let second = chunk(
        &code![
            lp(0),
            sl(0),
            lp(0),
            sl(1),
            [o(Op::ConstOne)],
            sl(0),
            ll(1),
            [o(Op::Return)]
        ],
        1,
        2,
    );
    for a in [A::Obj, A::Str("s"), A::Int(3)] {
        both(&first, std::slice::from_ref(&a));
        both(&second, &[a]);
    }
}

#[test]
fn loops_over_mixed_values() {
    // l0 := p0. [l0 < p1] whileTrue: [l0 := l0 + p2]. ^l0
    let bytes = chunk(
        &code![
            lp(0),
            sl(0),
            ll(0),
            lp(1),
            [o(Op::Lt), o(Op::JumpFalse), 0, 10],
            ll(0),
            lp(2),
            [o(Op::Add)],
            sl(0),
            [o(Op::Jump), 0xFF, 0xEE],
            ll(0),
            [o(Op::Return)]
        ],
        3,
        1,
    );
    for (a, n, d) in [
        (A::Int(0), A::Int(10), A::Int(3)),
        (A::Float(0.5), A::Int(10), A::Int(3)),
        (A::Int(0), A::Float(10.5), A::Float(2.25)),
        (A::Int((1 << 47) - 10), A::Int(3 << 46), A::Int(1 << 44)),
        (A::Str("1"), A::Int(5), A::Int(1)),
    ] {
        both(&bytes, &[a, n, d]);
    }
}

#[test]
fn constants_and_params_inside_runs() {
    // l0 := 'k' (DUP kept on the stack). ^ (p0 = that) , l0 — a heap constant and a param
    // duplicated, stored and compared inside one run.
    let bytes = chunk_with(
        &code![
            [o(Op::Const), 0, 0, o(Op::Dup), o(Op::Dup)],
            sl(0),
            lp(0),
            [o(Op::Eq), o(Op::Swap), o(Op::Pop)],
            ll(0),
            [o(Op::Concat), o(Op::Return)]
        ],
        &["k"],
        1,
        1,
    );
    // p0 p0 DUP ROT < — a param three times on the stack, and left behind by the run.
    let rot = chunk_with(
        &code![
            lp(0),
            lp(0),
            [
                o(Op::Dup),
                o(Op::Rot),
                o(Op::Lt),
                o(Op::Concat),
                o(Op::Return)
            ]
        ],
        &[],
        1,
        0,
    );
    for a in [A::Str("k"), A::Str("j"), A::Int(3), A::Obj, A::Float(2.5)] {
        both(&bytes, std::slice::from_ref(&a));
        both(&rot, &[a]);
    }
}

#[test]
fn operations_on_constants_that_are_not_integers() {
    // p0 = 'abc' ifTrue: [^1]. ^0 ; p0 * 2.5 ; -'x' ; p0 ~= nil — helpers called directly.
    let eq = chunk_with(
        &code![
            lp(0),
            [o(Op::Const), 0, 0, o(Op::Eq), o(Op::JumpFalse), 0, 2],
            [o(Op::ConstOne), o(Op::Return)],
            [o(Op::ConstZero), o(Op::Return)]
        ],
        &["abc"],
        1,
        0,
    );
    let mul = chunk_with(
        &code![lp(0), [o(Op::Const), 0, 0, o(Op::Mul), o(Op::Return)]],
        &["2.5"],
        1,
        0,
    );
    let neg = chunk_with(
        &code![
            [o(Op::Const), 0, 0, o(Op::Neg)],
            lp(0),
            [o(Op::Add), o(Op::Return)]
        ],
        &["x"],
        1,
        0,
    );
    let ne = chunk_with(
        &code![lp(0), [o(Op::ConstNil), o(Op::Ne), o(Op::Return)]],
        &[],
        1,
        0,
    );
    for a in [
        A::Str("abc"),
        A::Str("ab"),
        A::Int(4),
        A::Float(1.5),
        A::Obj,
    ] {
        both(&eq, std::slice::from_ref(&a));
        both(&mul, std::slice::from_ref(&a));
        both(&neg, std::slice::from_ref(&a));
        both(&ne, &[a]);
    }
}
