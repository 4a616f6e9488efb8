//! Differential tests of the compiled tier's inline send path (`docs/jit.md`, "Sends"): a SEND
//! whose receiver is an instance whose cache key matches the site's entry 0, to a native
//! method, calls the method's thin entry directly from generated code; everything else takes
//! the general helper. Each case runs interpreted and compiled and must give the same text or
//! error, the same site counters and the same strong counts: hits, misses (other classes,
//! bytecode and Bash-fallback methods, receivers that are not instances), class changes and
//! method redefinition (between calls and while the compiled loop runs), errors and panics of
//! the native method, released receivers, borrowed and owned arguments, and the depth limit
//! reached through native frames.

mod common_jit;

use std::sync::Arc;

use common_jit::{Asm, outcome, runtime};
use tt_vm::ttbc::Op;
use tt_vm::{Block, ClassDef, MethodImpl, Runtime, Side, Value};

/// A receiver or argument, built per runtime.
#[derive(Clone, Debug)]
enum R {
    /// A new instance of the class.
    Inst(&'static str),
    /// A new instance of the class, released before the call.
    Released(&'static str),
    /// A value.
    V(Value),
    /// A block of this runtime.
    Block,
}

impl R {
    fn build(&self, rt: &Runtime) -> Value {
        match self {
            R::Inst(c) => Value::instance(rt.new_instance(c).unwrap()),
            R::Released(c) => {
                let i = rt.new_instance(c).unwrap();
                rt.release(i.id());
                Value::instance(i)
            }
            R::V(v) => v.clone(),
            R::Block => {
                let mut a = Asm::new(0, 0);
                a.op(Op::ConstOne).op(Op::Return);
                Value::block(rt.register_block(&a.bytes(), vec![]).unwrap())
            }
        }
    }
}

fn text(v: &Value) -> String {
    v.text().into_owned()
}

/// `N`: native `echo:` (`N<arg>`), `pair:and:` (`<a>+<b>`), `boom:` (an error naming the
/// argument), `bang` (a panic), `die` (releases the receiver), `redefine` (makes `echo:` a
/// different native method), `again:` (invokes the block argument with itself and the
/// block: recursion through native frames). `M`: native `echo:` (`M<arg>`). `B`: bytecode
/// `echo:` (`^arg`). `F`: a Bash-only `echo:`.
fn define(rt: &Runtime) {
    for c in ["N", "M", "B", "F"] {
        rt.define_class(ClassDef {
            name: c.into(),
            ..Default::default()
        })
        .unwrap();
    }
    let native = |class: &str, sel: &str, m: MethodImpl| {
        rt.add_method(class, Side::Instance, sel, m).unwrap()
    };
    native(
        "N",
        "echo:",
        MethodImpl::native(|_rt, _this, args| Ok(Value::string(&format!("N{}", text(&args[0]))))),
    );
    native(
        "N",
        "pair:and:",
        MethodImpl::native(|_rt, _this, args| {
            Ok(Value::string(&format!(
                "{}+{}",
                text(&args[0]),
                text(&args[1])
            )))
        }),
    );
    native(
        "N",
        "boom:",
        MethodImpl::native(|_rt, _this, args| {
            Err(tt_vm::Error::runtime(format!("boom {}", text(&args[0]))))
        }),
    );
    native(
        "N",
        "bang",
        MethodImpl::native(|_rt, _this, _args| panic!("native bang")),
    );
    native(
        "N",
        "die",
        MethodImpl::native(|rt, this, _args| {
            rt.release(this.as_instance().unwrap().id());
            Ok(Value::string("died"))
        }),
    );
    native(
        "N",
        "redefine",
        MethodImpl::native(|rt, _this, _args| {
            rt.add_method(
                "N",
                Side::Instance,
                "echo:",
                MethodImpl::native(|_rt, _this, args| {
                    Ok(Value::string(&format!("N2{}", text(&args[0]))))
                }),
            )?;
            Ok(Value::string("redefined"))
        }),
    );
    native(
        "N",
        "again:",
        MethodImpl::native(|rt, this, args| {
            let b = args[0].block_arc().expect("a block");
            rt.invoke_block(&b, &[this.clone(), args[0].clone()])
        }),
    );
    native(
        "M",
        "echo:",
        MethodImpl::native(|_rt, _this, args| Ok(Value::string(&format!("M{}", text(&args[0]))))),
    );
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0).op(Op::Return);
    let v = tt_vm::ttbc::load_verified(&a.bytes()).unwrap();
    rt.add_method("B", Side::Instance, "echo:", MethodImpl::bytecode(v))
        .unwrap();
    rt.add_method(
        "F",
        Side::Instance,
        "echo:",
        MethodImpl::BashFallback {
            reason: "bash only".into(),
        },
    )
    .unwrap();
}

/// Both tiers, with the classes above (and the common test classes).
struct Pair {
    interp: Runtime,
    jit: Runtime,
}

impl Pair {
    fn new() -> Pair {
        let p = Pair {
            interp: runtime(false),
            jit: runtime(true),
        };
        define(&p.interp);
        define(&p.jit);
        p
    }

    fn register(&self, bytes: &[u8]) -> (Arc<Block>, Arc<Block>) {
        (
            self.interp.register_block(bytes, vec![]).unwrap(),
            self.jit.register_block(bytes, vec![]).unwrap(),
        )
    }

    /// Runs both tiers with `args` built per runtime; asserts the same outcome, the same
    /// counters at every send site, and that the JIT's unit is compiled. Returns the outcome.
    fn invoke(&self, b: &(Arc<Block>, Arc<Block>), args: &[R]) -> String {
        let ai: Vec<Value> = args.iter().map(|a| a.build(&self.interp)).collect();
        let aj: Vec<Value> = args.iter().map(|a| a.build(&self.jit)).collect();
        let i = outcome(self.interp.invoke_block(&b.0, &ai));
        let j = outcome(self.jit.invoke_block(&b.1, &aj));
        assert_eq!(i, j, "interpreter vs JIT differ for {args:?}");
        assert!(
            b.1.code().compiled().is_some(),
            "unit not compiled: {:?}",
            b.1.code().compile_error()
        );
        let sites = |b: &Block| -> Vec<(u64, u64, tt_dispatch::CacheState)> {
            b.code()
                .sites
                .iter()
                .map(|s| (s.hits(), s.misses(), s.state()))
                .collect()
        };
        assert_eq!(
            sites(&b.0),
            sites(&b.1),
            "site counters differ for {args:?}"
        );
        i
    }

    /// Runs `f` on both runtimes (a change between calls).
    fn both(&self, f: impl Fn(&Runtime)) {
        f(&self.interp);
        f(&self.jit);
    }
}

/// `[:r :x :n | | i acc | i := 0. acc := ''. [i < n] whileTrue: [acc := acc , (r echo: x) , ','.
/// i := i + 1]. acc]`: one send site, `n` sends.
fn echo_loop() -> Vec<u8> {
    let mut a = Asm::new(3, 2);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 0);
    a.text("").op8(Op::StoreLocal, 1);
    a.label("head")
        .op8(Op::LoadLocal, 0)
        .op8(Op::LoadParam, 2)
        .op(Op::Lt)
        .jump(Op::JumpFalse, "end");
    a.op8(Op::LoadLocal, 1)
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat)
        .text(",")
        .op(Op::Concat)
        .op8(Op::StoreLocal, 1);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ConstOne)
        .op(Op::Add)
        .op8(Op::StoreLocal, 0)
        .jump(Op::Jump, "head");
    a.label("end").op8(Op::LoadLocal, 1).op(Op::Return);
    a.bytes()
}

#[test]
fn hits_misses_and_receiver_kinds_at_one_site() {
    let p = Pair::new();
    let b = p.register(&echo_loop());
    let x = R::V(Value::string("x"));
    let n = |k: i64| R::V(Value::int(k));
    // Monomorphic hits (the first send fills the site).
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(3)]), "Nx,Nx,Nx,");
    assert_eq!(p.invoke(&b, &[R::Inst("N"), n(7), n(2)]), "N7,N7,");
    // Another class with a native method: entry 0 misses, the helper answers (polymorphic).
    assert_eq!(p.invoke(&b, &[R::Inst("M"), x.clone(), n(3)]), "Mx,Mx,Mx,");
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "Nx,Nx,");
    // A bytecode method, a Bash-only method (not found without a bridge).
    assert_eq!(p.invoke(&b, &[R::Inst("B"), x.clone(), n(2)]), "x,x,");
    assert!(
        p.invoke(&b, &[R::Inst("F"), x.clone(), n(2)])
            .starts_with("ERR")
    );
    // Receivers that are not instances: integer, nil, a string, a class name (class side).
    for r in [
        Value::int(5),
        Value::NIL,
        Value::string("plain text"),
        Value::string("N"),
        Value::float(1.5),
    ] {
        let out = p.invoke(&b, &[R::V(r.clone()), x.clone(), n(2)]);
        assert!(out.starts_with("ERR"), "{r:?}: {out}");
    }
    // A released instance of the cached class: the inline check misses, the helper reports it.
    assert_eq!(
        p.invoke(&b, &[R::Released("N"), x.clone(), n(2)])
            .split(':')
            .next(),
        Some("ERR instance not found")
    );
    // A block receiver (`echo:` is not a block message).
    assert_eq!(
        p.invoke(&b, &[R::Block, x.clone(), n(1)]),
        "ERR unknown method: Block echo_"
    );
    // Zero sends, and hits again after all that.
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(0)]), "");
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x, n(4)]), "Nx,Nx,Nx,Nx,");
}

#[test]
fn more_sites_than_one_with_several_arguments() {
    let p = Pair::new();
    // [:r :a :b | (r pair: a and: b) , (r pair: b and: a) , (r echo: (a , b))]
    let mut a = Asm::new(3, 0);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .op8(Op::LoadParam, 2)
        .send(Op::Send, "pair:and:", 2);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 2)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "pair:and:", 2)
        .op(Op::Concat);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .op8(Op::LoadParam, 2)
        .op(Op::Concat)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    for _ in 0..3 {
        assert_eq!(
            p.invoke(
                &b,
                &[R::Inst("N"), R::V(Value::string("a")), R::V(Value::int(2))]
            ),
            "a+22+aNa2"
        );
    }
    // Instances as arguments (borrowed params, passed by reference).
    let out = p.invoke(&b, &[R::Inst("N"), R::Inst("M"), R::Inst("B")]);
    assert!(out.starts_with("ERR") || out.contains('+'), "{out}");
}

#[test]
fn redefinition_and_class_changes_invalidate_compiled_sites() {
    let p = Pair::new();
    let b = p.register(&echo_loop());
    let x = R::V(Value::string("x"));
    let n = |k: i64| R::V(Value::int(k));
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "Nx,Nx,");
    // Between calls: another native method, then a bytecode one, then native again.
    p.both(|rt| {
        rt.add_method(
            "N",
            Side::Instance,
            "echo:",
            MethodImpl::native(|_rt, _this, args| {
                Ok(Value::string(&format!("n{}", text(&args[0]))))
            }),
        )
        .unwrap()
    });
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "nx,nx,");
    p.both(|rt| {
        let mut a = Asm::new(1, 0);
        a.text("b")
            .op8(Op::LoadParam, 0)
            .op(Op::Concat)
            .op(Op::Return);
        let v = tt_vm::ttbc::load_verified(&a.bytes()).unwrap();
        rt.add_method("N", Side::Instance, "echo:", MethodImpl::bytecode(v))
            .unwrap()
    });
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "bx,bx,");
    // Redefining the class (hot reload) drops its methods: not understood.
    p.both(|rt| {
        rt.define_class(ClassDef {
            name: "N".into(),
            ..Default::default()
        })
        .unwrap();
    });
    assert!(
        p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)])
            .starts_with("ERR")
    );
    p.both(define);
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "Nx,Nx,");
    // An unrelated change moves the epoch too: still right.
    p.both(|rt| {
        rt.define_class(ClassDef {
            name: "Other".into(),
            ..Default::default()
        })
        .unwrap();
    });
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x.clone(), n(2)]), "Nx,Nx,");

    // While the compiled loop runs: the native method redefines `echo:` after the second
    // send. [:r :n | | i acc | ... acc := acc , (r echo: i). i = 1 ifTrue: [r redefine] ...]
    let mut a = Asm::new(2, 2);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 0);
    a.text("").op8(Op::StoreLocal, 1);
    a.label("head")
        .op8(Op::LoadLocal, 0)
        .op8(Op::LoadParam, 1)
        .op(Op::Lt)
        .jump(Op::JumpFalse, "end");
    a.op8(Op::LoadLocal, 1)
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadLocal, 0)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat)
        .op8(Op::StoreLocal, 1);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ConstOne)
        .op(Op::Eq)
        .jump(Op::JumpFalse, "next");
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "redefine", 0)
        .op(Op::Pop);
    a.label("next")
        .op8(Op::LoadLocal, 0)
        .op(Op::ConstOne)
        .op(Op::Add)
        .op8(Op::StoreLocal, 0)
        .jump(Op::Jump, "head");
    a.label("end").op8(Op::LoadLocal, 1).op(Op::Return);
    let b2 = p.register(&a.bytes());
    assert_eq!(p.invoke(&b2, &[R::Inst("N"), n(5)]), "N0N1N22N23N24");
    // And the first loop sees the new method as well.
    assert_eq!(p.invoke(&b, &[R::Inst("N"), x, n(2)]), "N2x,N2x,");
}

#[test]
fn errors_panics_and_released_receivers_on_the_inline_path() {
    let p = Pair::new();
    // [:r :x | | keep | keep := 'held' , x. 'stacked' , (r boom: keep) , keep]
    let mut a = Asm::new(2, 1);
    a.text("held")
        .op8(Op::LoadParam, 1)
        .op(Op::Concat)
        .op8(Op::StoreLocal, 0);
    a.text("stacked")
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadLocal, 0)
        .send(Op::Send, "boom:", 1)
        .op(Op::Concat)
        .op8(Op::LoadLocal, 0)
        .op(Op::Concat)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    for _ in 0..3 {
        assert_eq!(
            p.invoke(&b, &[R::Inst("N"), R::V(Value::string("1"))]),
            "ERR boom held1"
        );
    }
    // The receiver releases itself inside the method; the next send to it misses and fails
    // like the interpreter's. [:r | (r die) , (r echo: 1)]
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0).send(Op::Send, "die", 0);
    a.op8(Op::LoadParam, 0)
        .op(Op::ConstOne)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    for _ in 0..2 {
        assert_eq!(
            p.invoke(&b, &[R::Inst("N")]).split(':').next(),
            Some("ERR instance not found")
        );
    }
    // A panic from a warm site propagates through compiled code; the runtime keeps working.
    let mut a = Asm::new(1, 1);
    a.text("held").op8(Op::StoreLocal, 0);
    a.text("x")
        .op8(Op::LoadParam, 0)
        .send(Op::Send, "bang", 0)
        .op(Op::Concat)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    for _ in 0..3 {
        for (rt, blk) in [(&p.interp, &b.0), (&p.jit, &b.1)] {
            let r = Value::instance(rt.new_instance("N").unwrap());
            let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.invoke_block(blk, &[r])
            }))
            .expect_err("the panic propagates");
            assert_eq!(e.downcast_ref::<&str>(), Some(&"native bang"));
        }
    }
    let b = p.register(&echo_loop());
    assert_eq!(
        p.invoke(
            &b,
            &[R::Inst("N"), R::V(Value::int(1)), R::V(Value::int(2))]
        ),
        "N1,N1,"
    );
}

#[test]
fn arguments_and_receivers_keep_exact_counts() {
    let p = Pair::new();
    // [:r :j | | l | l := j. (r echo: j) , (r echo: l) , (r echo: (l , 'x')) , (r pair: r and: j)]
    let mut a = Asm::new(2, 1);
    a.op8(Op::LoadParam, 1).op8(Op::StoreLocal, 0);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "echo:", 1);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadLocal, 0)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadLocal, 0)
        .text("x")
        .op(Op::Concat)
        .send(Op::Send, "echo:", 1)
        .op(Op::Concat);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "pair:and:", 2)
        .op(Op::Concat)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    let json = Value::json(serde_json::json!({"k": [1, 2]}));
    let node = json.json_node().unwrap();
    for _ in 0..3 {
        let recv_i = p.interp.new_instance("N").unwrap();
        let recv_j = p.jit.new_instance("N").unwrap();
        let c0 = Arc::strong_count(&node);
        let i = outcome(
            p.interp
                .invoke_block(&b.0, &[Value::instance(recv_i.clone()), json.clone()]),
        );
        let c1 = Arc::strong_count(&node);
        let j = outcome(
            p.jit
                .invoke_block(&b.1, &[Value::instance(recv_j.clone()), json.clone()]),
        );
        let c2 = Arc::strong_count(&node);
        assert_eq!(i, j);
        assert!(i.starts_with("N{"), "{i}");
        assert_eq!((c1 - c0, c2 - c1), (0, 0), "argument counts");
        // Only the test's own reference and the object space's are left.
        assert_eq!(Arc::strong_count(&recv_i), Arc::strong_count(&recv_j));
    }
    assert!(b.1.code().compiled().is_some());
}

#[test]
fn depth_limit_through_native_frames() {
    let p = Pair::new();
    // [:r :b | r again: b]: `again:` invokes the block again, through a native frame each time.
    let mut a = Asm::new(2, 0);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "again:", 1)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    let i = outcome(p.interp.invoke_block(
        &b.0,
        &[
            Value::instance(p.interp.new_instance("N").unwrap()),
            Value::block(b.0.clone()),
        ],
    ));
    let j = outcome(p.jit.invoke_block(
        &b.1,
        &[
            Value::instance(p.jit.new_instance("N").unwrap()),
            Value::block(b.1.clone()),
        ],
    ));
    assert_eq!(i, j);
    assert!(i.starts_with("ERR block invocation depth limit ("), "{i}");
    assert!(b.1.code().compiled().is_some());
}

#[test]
fn found_bytecode_and_bash_fallback_methods_at_warm_sites() {
    let p = Pair::new();
    let x = R::V(Value::string("x"));
    let n = |k: i64| R::V(Value::int(k));
    // A site monomorphic on a bytecode method: the inline check finds it in entry 0 and hands
    // it to `tt_jit_send_found`.
    let b = p.register(&echo_loop());
    for _ in 0..3 {
        assert_eq!(p.invoke(&b, &[R::Inst("B"), x.clone(), n(3)]), "x,x,x,");
    }
    // The same site after `echo:` becomes native, and bytecode again.
    p.both(|rt| {
        rt.add_method(
            "B",
            Side::Instance,
            "echo:",
            MethodImpl::native(|_rt, _this, args| {
                Ok(Value::string(&format!("b{}", text(&args[0]))))
            }),
        )
        .unwrap()
    });
    assert_eq!(p.invoke(&b, &[R::Inst("B"), x.clone(), n(2)]), "bx,bx,");
    p.both(|rt| {
        let mut a = Asm::new(1, 0);
        a.op8(Op::LoadParam, 0)
            .op8(Op::LoadParam, 0)
            .op(Op::Concat)
            .op(Op::Return);
        let v = tt_vm::ttbc::load_verified(&a.bytes()).unwrap();
        rt.add_method("B", Side::Instance, "echo:", MethodImpl::bytecode(v))
            .unwrap()
    });
    assert_eq!(p.invoke(&b, &[R::Inst("B"), x.clone(), n(2)]), "xx,xx,");
    // A site monomorphic on a Bash-only method: found, then not understood (no bridge).
    let b = p.register(&echo_loop());
    for _ in 0..3 {
        assert_eq!(
            p.invoke(&b, &[R::Inst("F"), x.clone(), n(2)]),
            "ERR F>>echo_ is a Bash method (no native body)"
        );
    }
    // Owned arguments and an error raised inside the found bytecode method.
    // [:r :a | r pair: (a , '1') and: (r echo: a)] on `B` (no `pair:and:`): not understood.
    let mut a = Asm::new(2, 0);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .text("1")
        .op(Op::Concat)
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .send(Op::Send, "echo:", 1)
        .send(Op::Send, "pair:and:", 2)
        .op(Op::Return);
    let b = p.register(&a.bytes());
    for _ in 0..3 {
        assert_eq!(
            p.invoke(&b, &[R::Inst("B"), R::V(Value::string("q"))]),
            "ERR unknown method: B pair_and_"
        );
        assert_eq!(
            p.invoke(&b, &[R::Inst("N"), R::V(Value::string("q"))]),
            "q1+Nq"
        );
    }
}
