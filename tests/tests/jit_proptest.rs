//! Property test: randomly generated well-formed chunks (arithmetic, comparisons, strings,
//! branches, loops with bounded trip counts, locals, captures, block invocation, sends to a test
//! class with native and bytecode methods) give the same text or the same error message in the
//! interpreter and compiled.

mod common_jit;

use common_jit::*;
use proptest::prelude::*;
use tt_vm::Value;
use tt_vm::ttbc::{CaptureSource, Op};

#[derive(Debug, Clone)]
enum E {
    Op0(Op),
    Text(&'static str),
    Param(u8),
    Local(u8),
    Capture(u8),
    Bin(Op, Box<E>, Box<E>),
    Un(Op, Box<E>),
    /// `Counter make add: e` (native method).
    SendAdd(Box<E>),
    /// `Counter make addTwice: e` (bytecode method with self sends).
    SendTwice(Box<E>),
    /// `Counter make incr` (bytecode method with ivar access), `e` evaluated and dropped.
    SendIncr(Box<E>),
    /// `[:x | x + 1] value: e`
    Invoke(Box<E>),
    /// `e` then `DUP` `CONCAT`
    DupConcat(Box<E>),
    /// `a b SWAP op`
    Swapped(Op, Box<E>, Box<E>),
}

#[derive(Debug, Clone)]
enum S {
    Store(u8, E),
    StoreCapture(u8, E),
    Pop(E),
    If(E, Vec<S>, Vec<S>),
    IfNil(E, bool, Vec<S>),
}

#[derive(Debug, Clone)]
enum Top {
    S(S),
    /// A loop running `n` times (counter in local 3, invisible to the body).
    Loop(u8, Vec<S>),
}

#[derive(Debug, Clone)]
struct Prog {
    body: Vec<Top>,
    ret: E,
    fall_off: bool,
}

const TEXTS: &[&str] = &[
    "7",
    "-3",
    "abc",
    "1.5",
    "",
    "0",
    "2",
    "140737488355327",
    "-140737488355328",
    "9223372036854775807",
    "x y",
    "false",
    "nil",
    "[1,2]",
];

const BIN: &[Op] = &[
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Mod,
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::And,
    Op::Or,
    Op::Concat,
];

fn leaf() -> impl Strategy<Value = E> {
    prop_oneof![
        prop::sample::select(vec![
            Op::ConstZero,
            Op::ConstOne,
            Op::ConstNil,
            Op::ConstTrue,
            Op::ConstFalse,
            Op::ConstEmpty,
        ])
        .prop_map(E::Op0),
        prop::sample::select(TEXTS).prop_map(E::Text),
        (0..3u8).prop_map(E::Param),
        (0..3u8).prop_map(E::Local),
        (0..2u8).prop_map(E::Capture),
    ]
}

fn expr() -> impl Strategy<Value = E> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            4 => (prop::sample::select(BIN), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            2 => (prop::sample::select(vec![Op::Neg, Op::Not, Op::Strlen]), inner.clone())
                .prop_map(|(op, a)| E::Un(op, Box::new(a))),
            1 => inner.clone().prop_map(|a| E::SendAdd(Box::new(a))),
            1 => inner.clone().prop_map(|a| E::SendTwice(Box::new(a))),
            1 => inner.clone().prop_map(|a| E::SendIncr(Box::new(a))),
            1 => inner.clone().prop_map(|a| E::Invoke(Box::new(a))),
            1 => inner.clone().prop_map(|a| E::DupConcat(Box::new(a))),
            1 => (prop::sample::select(BIN), inner.clone(), inner)
                .prop_map(|(op, a, b)| E::Swapped(op, Box::new(a), Box::new(b))),
        ]
    })
}

fn stmt() -> impl Strategy<Value = S> {
    let simple = prop_oneof![
        3 => ((0..3u8), expr()).prop_map(|(l, e)| S::Store(l, e)),
        1 => ((0..2u8), expr()).prop_map(|(c, e)| S::StoreCapture(c, e)),
        1 => expr().prop_map(S::Pop),
    ];
    simple.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            (
                expr(),
                prop::collection::vec(inner.clone(), 0..3),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(c, a, b)| S::If(c, a, b)),
            (expr(), any::<bool>(), prop::collection::vec(inner, 0..3))
                .prop_map(|(c, n, a)| S::IfNil(c, n, a)),
        ]
    })
}

fn prog() -> impl Strategy<Value = Prog> {
    let top = prop_oneof![
        3 => stmt().prop_map(Top::S),
        1 => ((0..5u8), prop::collection::vec(stmt(), 1..4)).prop_map(|(n, b)| Top::Loop(n, b)),
    ];
    (prop::collection::vec(top, 0..6), expr(), any::<bool>()).prop_map(|(body, ret, fall_off)| {
        Prog {
            body,
            ret,
            fall_off,
        }
    })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(TEXTS).prop_map(Value::string),
        (-20i64..20).prop_map(Value::int),
        any::<i64>().prop_map(Value::int),
        prop::sample::select(vec![0.0, -0.0, 1.5, -2.25, 1e300, f64::NAN, f64::INFINITY])
            .prop_map(Value::float),
        Just(Value::NIL),
        Just(Value::TRUE),
    ]
}

/// `[:x | x + 1]`
fn plus_one() -> Vec<u8> {
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0)
        .op(Op::ConstOne)
        .op(Op::Add)
        .op(Op::Return);
    a.bytes()
}

struct Emitter {
    a: Asm,
    labels: usize,
    inner: Vec<u8>,
}

impl Emitter {
    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    fn expr(&mut self, e: &E) {
        match e {
            E::Op0(op) => {
                self.a.op(*op);
            }
            E::Text(t) => {
                self.a.text(t);
            }
            E::Param(p) => {
                self.a.op8(Op::LoadParam, *p);
            }
            E::Local(l) => {
                self.a.op8(Op::LoadLocal, *l);
            }
            E::Capture(c) => {
                self.a.op8(Op::LoadCapture, *c);
            }
            E::Bin(op, x, y) => {
                self.expr(x);
                self.expr(y);
                self.a.op(*op);
            }
            E::Swapped(op, x, y) => {
                self.expr(x);
                self.expr(y);
                self.a.op(Op::Swap).op(*op);
            }
            E::Un(op, x) => {
                self.expr(x);
                self.a.op(*op);
            }
            E::SendAdd(x) => {
                self.a.send_class("Counter", "make", 0);
                self.expr(x);
                self.a.send(Op::Send, "add:", 1);
            }
            E::SendTwice(x) => {
                self.a.send_class("Counter", "make", 0);
                self.expr(x);
                self.a.send(Op::Send, "addTwice:", 1);
            }
            E::SendIncr(x) => {
                self.expr(x);
                self.a
                    .op(Op::Pop)
                    .send_class("Counter", "make", 0)
                    .send(Op::Send, "incr", 0);
            }
            E::Invoke(x) => {
                let inner = self.inner.clone();
                self.a.make_block(&inner, 0);
                self.expr(x);
                self.a.op8(Op::InvokeBlock, 1);
            }
            E::DupConcat(x) => {
                self.expr(x);
                self.a.op(Op::Dup).op(Op::Concat);
            }
        }
    }

    fn stmt(&mut self, s: &S) {
        match s {
            S::Store(l, e) => {
                self.expr(e);
                self.a.op8(Op::StoreLocal, *l);
            }
            S::StoreCapture(c, e) => {
                self.expr(e);
                self.a.op8(Op::StoreCapture, *c);
            }
            S::Pop(e) => {
                self.expr(e);
                self.a.op(Op::Pop);
            }
            S::If(c, t, f) => {
                let (els, end) = (self.label(), self.label());
                self.expr(c);
                self.a.jump(Op::JumpFalse, &els);
                t.iter().for_each(|s| self.stmt(s));
                self.a.jump(Op::Jump, &end).label(&els);
                f.iter().for_each(|s| self.stmt(s));
                self.a.label(&end);
            }
            S::IfNil(c, nil, body) => {
                let end = self.label();
                self.expr(c);
                self.a
                    .jump(if *nil { Op::JumpNil } else { Op::JumpNotNil }, &end);
                body.iter().for_each(|s| self.stmt(s));
                self.a.label(&end);
            }
        }
    }

    fn prog(p: &Prog) -> Vec<u8> {
        let mut a = Asm::new(3, 4);
        a.capture("a", CaptureSource::Local)
            .capture("b", CaptureSource::Local);
        let mut e = Emitter {
            a,
            labels: 0,
            inner: plus_one(),
        };
        for t in &p.body {
            match t {
                Top::S(s) => e.stmt(s),
                Top::Loop(n, body) => {
                    let (head, end) = (e.label(), e.label());
                    e.a.text(&n.to_string()).op8(Op::StoreLocal, 3).label(&head);
                    e.a.op8(Op::LoadLocal, 3)
                        .op(Op::ConstZero)
                        .op(Op::Gt)
                        .jump(Op::JumpFalse, &end);
                    body.iter().for_each(|s| e.stmt(s));
                    e.a.op8(Op::LoadLocal, 3)
                        .op(Op::ConstOne)
                        .op(Op::Sub)
                        .op8(Op::StoreLocal, 3);
                    e.a.jump(Op::Jump, &head).label(&end);
                }
            }
        }
        e.expr(&p.ret);
        if !p.fall_off {
            e.a.op(Op::Return);
        }
        e.a.bytes()
    }
}

thread_local! {
    static TIERS: Tiers = Tiers::new();
}

proptest! {
    // 256 cases (proptest's default); PROPTEST_CASES=N runs more.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn interpreter_and_jit_agree(p in prog(), args in prop::collection::vec(value(), 2),
                                 caps in prop::collection::vec(value(), 2)) {
        let bytes = Emitter::prog(&p);
        TIERS.with(|t| {
            // A shared JSON value as the last argument and in the second capture cell (loads
            // of captures are owned copies): its reference count must move the same way in
            // both tiers.
            let json = Value::json(serde_json::json!([1, "two"]));
            let node = json.json_node().expect("JSON node");
            let mut caps: Vec<Option<Value>> = caps.into_iter().map(Some).collect();
            caps[1] = Some(json.clone());
            let blocks = t.register(&bytes, &caps);
            let mut args: Vec<Arg> = args.into_iter().map(Arg::V).collect();
            args.push(Arg::V(json));
            // Twice: captures persist across invocations of one block.
            t.invoke_counting(&blocks, &args, &node);
            t.invoke_counting(&blocks, &args, &node);
        });
    }
}
