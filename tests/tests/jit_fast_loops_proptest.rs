//! Random integer loops, interpreted against compiled, aimed at the integer-specialised loop
//! versions (`jit/src/translate/fastloop.rs`). Every generated chunk is built only from the
//! instructions a fast version admits (so the planner must accept its loop: asserted), with
//! constants and arguments at the edges of the small-integer range, so additions, subtractions
//! and multiplications overflow in random places (bail-outs), counters count up to the largest
//! small integer under `<` and `>` (the unchecked bounded increment), loops are left from the
//! middle, and some arguments are not integers at all (the entry guard). A hidden fuel counter
//! bounds every loop to a few iterations.

mod common_jit;

use common_jit::*;
use proptest::prelude::*;
use tt_vm::Value;
use tt_vm::ttbc::Op;
use tt_vm::value::boxing::{SMALL_INT_MAX, SMALL_INT_MIN};

/// Locals 0–2: the body's; 3: the loop counter; 4: the fuel.
const COUNTER: u8 = 3;
const FUEL: u8 = 4;

const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    -7,
    1000,
    1 << 24,
    -(1 << 24),
    1 << 46,
    SMALL_INT_MAX,
    SMALL_INT_MAX - 1,
    SMALL_INT_MAX - 3,
    SMALL_INT_MIN,
    SMALL_INT_MIN + 1,
];

#[derive(Debug, Clone)]
enum E {
    K(i64),
    Param(u8),
    Local(u8),
    Bin(Op, Box<E>, Box<E>),
}

#[derive(Debug, Clone)]
struct C(Op, E, E);

#[derive(Debug, Clone)]
enum S {
    Store(u8, E),
    /// `e DUP STORE_LOCAL l POP`
    DupStore(u8, E),
    If(C, Vec<S>, Vec<S>),
    /// Leaves the loop when the condition holds.
    Break(C),
}

/// How the loop counts (the counter is local 3).
#[derive(Debug, Clone)]
enum Form {
    /// `i := n. [i > 0] whileTrue: [… i := i - 1]`
    Down(u8),
    /// `i := start. [i < bound] whileTrue: [… i := i + 1]`
    UpLt(E, E),
    /// `i := start. [bound > i] whileTrue: [… i := i + 1]`
    UpGt(E, E),
    /// `i := start. [i <= bound] whileTrue: [… i := i + 1]` (proves nothing about `i + 1`)
    UpLe(E, E),
}

/// Local 2 as a temporary of the loop's block: `t := nil. t := e` at the start of each
/// iteration (`e` reads no `t`), maybe nil before the loop, maybe nilled again at the end.
#[derive(Debug, Clone)]
struct Temp {
    init: E,
    nil_before_loop: bool,
    clear_at_end: bool,
}

#[derive(Debug, Clone)]
struct Prog {
    /// Initial values of locals 0–2 (`None`: nil, read as such by an arithmetic operation
    /// that comes first in an iteration, which the entry guard must refuse).
    init: [Option<i64>; 3],
    temp: Option<Temp>,
    form: Form,
    body: Vec<S>,
}

fn konst() -> impl Strategy<Value = i64> {
    prop_oneof![3 => prop::sample::select(INTS), 1 => -20i64..20]
}

fn nilable() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![6 => konst().prop_map(Some), 1 => Just(None)]
}

/// What the bounded-increment rule recognises as a bound: a constant, a param or a local.
fn load() -> impl Strategy<Value = E> {
    prop_oneof![
        konst().prop_map(E::K),
        (0..2u8).prop_map(E::Param),
        (0..4u8).prop_map(E::Local),
    ]
}

fn expr() -> impl Strategy<Value = E> {
    load().prop_recursive(3, 12, 2, |inner| {
        (
            prop::sample::select(vec![Op::Add, Op::Sub, Op::Mul]),
            inner.clone(),
            inner,
        )
            .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b)))
    })
}

fn cond() -> impl Strategy<Value = C> {
    (
        prop::sample::select(vec![Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne]),
        expr(),
        expr(),
    )
        .prop_map(|(op, a, b)| C(op, a, b))
}

fn stmt() -> impl Strategy<Value = S> {
    // Stores go to the body's locals, and now and then to the counter (which ends what the
    // bounded-increment rule may assume).
    let target = prop_oneof![6 => 0..3u8, 1 => Just(COUNTER)];
    let simple = prop_oneof![
        4 => (target.clone(), expr()).prop_map(|(l, e)| S::Store(l, e)),
        1 => (target, expr()).prop_map(|(l, e)| S::DupStore(l, e)),
        1 => cond().prop_map(S::Break),
    ];
    simple.prop_recursive(2, 8, 3, |inner| {
        (
            cond(),
            prop::collection::vec(inner.clone(), 0..3),
            prop::collection::vec(inner, 0..3),
        )
            .prop_map(|(c, a, b)| S::If(c, a, b))
    })
}

/// Where a counting-up loop starts: often a few steps below the largest small integer.
fn start() -> impl Strategy<Value = E> {
    prop_oneof![
        1 => prop::sample::select(vec![SMALL_INT_MAX - 3, SMALL_INT_MAX - 1, SMALL_INT_MAX])
            .prop_map(E::K),
        1 => expr(),
    ]
}

/// Where it stops: often the largest small integer (a constant or the first param).
fn bound() -> impl Strategy<Value = E> {
    prop_oneof![
        1 => Just(E::K(SMALL_INT_MAX)),
        1 => Just(E::Param(0)),
        2 => load(),
    ]
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        (0..5u8).prop_map(Form::Down),
        (start(), bound()).prop_map(|(s, b)| Form::UpLt(s, b)),
        (start(), bound()).prop_map(|(s, b)| Form::UpGt(s, b)),
        (start(), bound()).prop_map(|(s, b)| Form::UpLe(s, b)),
    ]
}

fn prog() -> impl Strategy<Value = Prog> {
    let temp = (expr(), any::<bool>(), any::<bool>()).prop_map(|(init, n, c)| Temp {
        init,
        nil_before_loop: n,
        clear_at_end: c,
    });
    (
        [nilable(), nilable(), nilable()],
        prop::option::of(temp),
        form(),
        prop_oneof![
            1 => prop::collection::vec(stmt(), 0..5),
            1 => prop::collection::vec((0..3u8, expr()).prop_map(|(l, e)| S::Store(l, e)), 0..3),
        ],
    )
        .prop_map(|(init, temp, form, body)| Prog {
            init,
            temp,
            form,
            body,
        })
}

/// An argument: mostly an integer from the edges of the range, sometimes not an integer.
fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        2 => Just(Arg::V(Value::int(SMALL_INT_MAX))),
        6 => konst().prop_map(|i| Arg::V(Value::int(i))),
        1 => prop::sample::select(vec!["abc", "1.5", "9223372036854775807"]).prop_map(Arg::s),
    ]
}

/// `e` with reads of local 2 turned into reads of local 0.
fn without_local_2(e: &E) -> E {
    match e {
        E::Local(2) => E::Local(0),
        E::Bin(op, x, y) => E::Bin(
            *op,
            Box::new(without_local_2(x)),
            Box::new(without_local_2(y)),
        ),
        other => other.clone(),
    }
}

struct Emitter {
    a: Asm,
    labels: usize,
}

impl Emitter {
    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    fn expr(&mut self, e: &E) {
        match e {
            E::K(0) => {
                self.a.op(Op::ConstZero);
            }
            E::K(1) => {
                self.a.op(Op::ConstOne);
            }
            E::K(k) => {
                self.a.text(&k.to_string());
            }
            E::Param(p) => {
                self.a.op8(Op::LoadParam, *p);
            }
            E::Local(l) => {
                self.a.op8(Op::LoadLocal, *l);
            }
            E::Bin(op, x, y) => {
                self.expr(x);
                self.expr(y);
                self.a.op(*op);
            }
        }
    }

    fn cond(&mut self, C(op, x, y): &C) {
        self.expr(x);
        self.expr(y);
        self.a.op(*op);
    }

    fn stmt(&mut self, s: &S) {
        match s {
            S::Store(l, e) => {
                self.expr(e);
                self.a.op8(Op::StoreLocal, *l);
            }
            S::DupStore(l, e) => {
                self.expr(e);
                self.a.op(Op::Dup).op8(Op::StoreLocal, *l).op(Op::Pop);
            }
            S::If(c, then, other) => {
                let (other_l, end) = (self.label(), self.label());
                self.cond(c);
                self.a.jump(Op::JumpFalse, &other_l);
                then.iter().for_each(|s| self.stmt(s));
                self.a.jump(Op::Jump, &end).label(&other_l);
                other.iter().for_each(|s| self.stmt(s));
                self.a.label(&end);
            }
            S::Break(c) => {
                self.cond(c);
                self.a.jump(Op::JumpTrue, "exit");
            }
        }
    }

    fn prog(p: &Prog) -> Vec<u8> {
        let mut e = Emitter {
            a: Asm::new(2, 5),
            labels: 0,
        };
        let nil_temp = p.temp.as_ref().is_some_and(|t| t.nil_before_loop);
        for (l, k) in p.init.iter().enumerate() {
            if let Some(k) = k
                && !(l == 2 && nil_temp)
            {
                e.expr(&E::K(*k));
                e.a.op8(Op::StoreLocal, l as u8);
            }
        }
        e.a.text("6").op8(Op::StoreLocal, FUEL);
        let counter = E::Local(COUNTER);
        let (start, step) = match &p.form {
            Form::Down(n) => (E::K(i64::from(*n)), Op::Sub),
            Form::UpLt(s, _) | Form::UpGt(s, _) | Form::UpLe(s, _) => (s.clone(), Op::Add),
        };
        e.expr(&start);
        e.a.op8(Op::StoreLocal, COUNTER).label("head");
        // The loop test comes before the temporary is written: it must not read it.
        let bound = |b: &E| {
            if p.temp.is_some() {
                without_local_2(b)
            } else {
                b.clone()
            }
        };
        match &p.form {
            Form::Down(_) => e.cond(&C(Op::Gt, counter.clone(), E::K(0))),
            Form::UpLt(_, b) => e.cond(&C(Op::Lt, counter.clone(), bound(b))),
            Form::UpGt(_, b) => e.cond(&C(Op::Gt, bound(b), counter.clone())),
            Form::UpLe(_, b) => e.cond(&C(Op::Le, counter.clone(), bound(b))),
        }
        e.a.jump(Op::JumpFalse, "exit");
        if let Some(t) = &p.temp {
            e.a.op(Op::ConstNil).op8(Op::StoreLocal, 2);
            e.expr(&without_local_2(&t.init));
            e.a.op8(Op::StoreLocal, 2);
        }
        p.body.iter().for_each(|s| e.stmt(s));
        if p.temp.as_ref().is_some_and(|t| t.clear_at_end) {
            e.a.op(Op::ConstNil).op8(Op::StoreLocal, 2);
        }
        // With a body without branches the step is in the block entered only from the loop
        // test (the bounded-increment rule applies).
        e.stmt(&S::Store(
            COUNTER,
            E::Bin(step, Box::new(counter), Box::new(E::K(1))),
        ));
        // The fuel: at most 6 iterations, whatever the counter does.
        e.stmt(&S::Store(
            FUEL,
            E::Bin(Op::Sub, Box::new(E::Local(FUEL)), Box::new(E::K(1))),
        ));
        e.stmt(&S::Break(C(Op::Lt, E::Local(FUEL), E::K(0))));
        e.a.jump(Op::Jump, "head").label("exit");
        // Result: "l0 l1 l2 l3 fuel".
        e.a.op8(Op::LoadLocal, 0);
        for l in 1..=FUEL {
            e.a.text(" ")
                .op(Op::Concat)
                .op8(Op::LoadLocal, l)
                .op(Op::Concat);
        }
        e.a.op(Op::Return);
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
    fn integer_loops_agree_with_the_interpreter(p in prog(), args in [arg(), arg()]) {
        let bytes = Emitter::prog(&p);
        TIERS.with(|t| {
            let b = t.register(&bytes, &[]);
            let heads = tt_jit::fast_loop_heads(b.1.code()).expect("analysable");
            assert_eq!(heads.len(), 1, "the loop must get a fast version: {p:?}");
            t.invoke(&b, &args);
        });
    }
}
