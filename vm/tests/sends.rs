//! Send semantics through the runtime (docs/spec/c-abi.md §6, docs/spec/ttbc.md §10): receivers, class-side `new`,
//! `initialize`, unknown selectors, re-entrant native sends, cache invalidation seen by the
//! interpreter's send sites, reflection and cache statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tt_vm::ttbc::{Chunk, serialize};
use tt_vm::{ClassDef, MethodImpl, Runtime, Side, Value};

fn class(rt: &Runtime, name: &str, sup: Option<&str>, ivars: &[&str]) {
    rt.define_class(ClassDef {
        name: name.into(),
        superclass: sup.map(Into::into),
        ivars: ivars.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap();
}

fn constant(v: &str) -> MethodImpl {
    let v = v.to_owned();
    MethodImpl::native(move |_, _, _| Ok(Value::string(&v)))
}

/// `[:r | r <selector>]` as a registered block: one SEND site, reused across calls.
fn send_block(rt: &Runtime, selector: &str) -> Arc<tt_vm::Block> {
    let chunk = Chunk {
        version: 1,
        code: vec![0x22, 0x00, 0x90, 0x00, 0x00, 0x00, 0xF0],
        constants: vec![selector.as_bytes().to_vec()],
        params: vec!["r".into()],
        ..Default::default()
    };
    rt.register_block(&serialize(&chunk).unwrap(), Vec::new())
        .unwrap()
}

#[test]
fn class_side_new_creates_and_initializes() {
    let rt = Runtime::new();
    class(&rt, "Pkg::Counter", None, &["value"]);
    rt.add_method(
        "Pkg::Counter",
        Side::Instance,
        "initialize",
        MethodImpl::native(|_, this, _| {
            this.as_instance()
                .unwrap()
                .set("value", Value::int(7), true)?;
            Ok(Value::NIL)
        }),
    )
    .unwrap();
    let c = rt.send(&Value::string("Pkg::Counter"), "new", &[]).unwrap();
    let inst = c.as_instance().expect("new returns an instance");
    assert!(inst.id().starts_with("pkg_counter_"), "{}", inst.id());
    assert_eq!(inst.get("value").unwrap().unwrap().as_int(), Some(7));
    assert_eq!(rt.live_instances("Pkg::Counter"), 1);
}

#[test]
fn receivers_may_be_values_ids_or_class_names() {
    let rt = Runtime::new();
    class(&rt, "Greeter", None, &[]);
    rt.add_method("Greeter", Side::Instance, "hello", constant("hi"))
        .unwrap();
    rt.add_method("Greeter", Side::Class, "kind", constant("class side"))
        .unwrap();
    let g = rt.new_instance("Greeter").unwrap();
    assert_eq!(
        rt.send(&Value::instance(g.clone()), "hello", &[])
            .unwrap()
            .text(),
        "hi"
    );
    assert_eq!(
        rt.send(&Value::string(g.id()), "hello", &[])
            .unwrap()
            .text(),
        "hi"
    );
    assert_eq!(
        rt.send(&Value::string("Greeter"), "kind", &[])
            .unwrap()
            .text(),
        "class side"
    );
}

#[test]
fn unknown_selectors_name_class_and_selector() {
    let rt = Runtime::new();
    class(&rt, "Thing", None, &[]);
    let t = rt.new_instance("Thing").unwrap();
    let e = rt
        .send(&Value::instance(t), "frobnicate:", &[Value::int(1)])
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "unknown method: Thing frobnicate_");
    let e = rt.send(&Value::string("Thing"), "frob", &[]).unwrap_err();
    assert_eq!(e.to_string(), "unknown class method: Thing frob");
    let e = rt.send(&Value::string("Nope"), "new", &[]).unwrap_err();
    assert_eq!(e.to_string(), "unknown class: Nope");
}

#[test]
fn native_methods_reenter_the_runtime_without_deadlock() {
    let rt = Arc::new(Runtime::new());
    class(&rt, "Node", None, &["peer", "count"]);
    // `ping` sends `pong` to self, and `bump:` to its peer (another instance).
    rt.add_method(
        "Node",
        Side::Instance,
        "ping",
        MethodImpl::native(|rt, this, _| {
            let pong = rt.send(this, "pong", &[])?;
            let peer = this
                .as_instance()
                .unwrap()
                .get("peer")?
                .unwrap_or(Value::NIL);
            rt.send(&peer, "bump:", &[Value::int(2)])?;
            Ok(pong)
        }),
    )
    .unwrap();
    rt.add_method("Node", Side::Instance, "pong", constant("pong"))
        .unwrap();
    rt.add_method(
        "Node",
        Side::Instance,
        "bump:",
        MethodImpl::native(|_, this, args| {
            let inst = this.as_instance().unwrap();
            let n = inst.get("count")?.and_then(|v| v.as_int()).unwrap_or(0);
            inst.set("count", Value::int(n + args[0].as_int().unwrap_or(0)), true)?;
            Ok(Value::NIL)
        }),
    )
    .unwrap();
    let a = rt.new_instance("Node").unwrap();
    let b = rt.new_instance("Node").unwrap();
    a.set("peer", Value::instance(b.clone()), true).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (rt, a) = (rt.clone(), a.clone());
            std::thread::spawn(move || {
                for _ in 0..250 {
                    assert_eq!(
                        rt.send(&Value::instance(a.clone()), "ping", &[])
                            .unwrap()
                            .text(),
                        "pong"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Ivar updates are atomic per access, not per method, so concurrent bumps may interleave;
    // every call did run.
    let count = b.get("count").unwrap().unwrap().as_int().unwrap();
    assert!(
        count > 0 && count <= 2000 && count % 2 == 0,
        "count {count}"
    );
}

#[test]
fn redefining_a_method_is_seen_by_a_cached_send_site() {
    let rt = Runtime::new();
    class(&rt, "Base", None, &[]);
    class(&rt, "Sub", Some("Base"), &[]);
    rt.add_method("Base", Side::Instance, "who", constant("base v1"))
        .unwrap();
    let site = send_block(&rt, "who");
    let s = Value::instance(rt.new_instance("Sub").unwrap());
    for _ in 0..3 {
        assert_eq!(
            rt.invoke_block(&site, std::slice::from_ref(&s))
                .unwrap()
                .text(),
            "base v1"
        );
    }
    rt.add_method("Base", Side::Instance, "who", constant("base v2"))
        .unwrap();
    assert_eq!(
        rt.invoke_block(&site, std::slice::from_ref(&s))
            .unwrap()
            .text(),
        "base v2"
    );
    rt.add_method("Sub", Side::Instance, "who", constant("sub"))
        .unwrap();
    assert_eq!(
        rt.invoke_block(&site, std::slice::from_ref(&s))
            .unwrap()
            .text(),
        "sub"
    );
    // Superclass change: Sub loses its own method by re-registration and now inherits from Other.
    class(&rt, "Other", None, &[]);
    rt.add_method("Other", Side::Instance, "who", constant("other"))
        .unwrap();
    class(&rt, "Sub", Some("Other"), &[]);
    assert_eq!(
        rt.invoke_block(&site, std::slice::from_ref(&s))
            .unwrap()
            .text(),
        "other"
    );
}

#[test]
fn reflection_reports_methods_ivars_and_chains() {
    let rt = Runtime::new();
    class(&rt, "Animal", None, &["name"]);
    class(&rt, "Dog", Some("Animal"), &["breed", "name"]);
    rt.add_method("Animal", Side::Instance, "speak", constant("..."))
        .unwrap();
    rt.add_method("Dog", Side::Instance, "speak", constant("woof"))
        .unwrap();
    rt.add_method(
        "Dog",
        Side::Instance,
        "fetch",
        MethodImpl::BashFallback {
            reason: "raw".into(),
        },
    )
    .unwrap();
    let dog = rt.dispatch().class_id("Dog").unwrap();
    let names: Vec<String> = rt.ivar_names(dog).iter().map(|s| s.to_string()).collect();
    assert_eq!(names, ["name", "breed"], "inherited first, no duplicates");
    assert_eq!(rt.superclass_chain("Dog").unwrap(), ["Dog", "Animal"]);
    let methods = rt.dispatch().methods(dog, Side::Instance);
    let owners: Vec<(String, String)> = methods
        .iter()
        .map(|m| {
            (
                tt_dispatch::selector_name(m.selector).unwrap().to_string(),
                rt.dispatch().class_name(m.owner).unwrap().to_string(),
            )
        })
        .collect();
    assert!(owners.contains(&("speak".into(), "Dog".into())));
    assert!(owners.contains(&("fetch".into(), "Dog".into())));
    assert_eq!(
        owners.iter().filter(|(s, _)| s == "speak").count(),
        1,
        "overridden once"
    );
    let d = Value::instance(rt.new_instance("Dog").unwrap());
    assert!(rt.responds_to(&d, "speak").unwrap());
    assert!(
        rt.responds_to(&d, "fetch").unwrap(),
        "a Bash-fallback entry counts"
    );
    assert!(!rt.responds_to(&d, "fly").unwrap());
    assert_eq!(rt.class_of(&d).unwrap(), "Dog");
    assert_eq!(rt.live_instances("Dog"), 1);
}

#[test]
fn cache_statistics_count_states_hits_and_misses() {
    let rt = Runtime::new();
    let calls = Arc::new(AtomicUsize::new(0));
    for name in ["A", "B", "C", "D", "E", "F"] {
        class(&rt, name, None, &[]);
        let calls = calls.clone();
        rt.add_method(
            name,
            Side::Instance,
            "m",
            MethodImpl::native(move |_, _, _| {
                calls.fetch_add(1, Ordering::Relaxed);
                Ok(Value::NIL)
            }),
        )
        .unwrap();
    }
    let site = send_block(&rt, "m");
    let a = Value::instance(rt.new_instance("A").unwrap());
    for _ in 0..10 {
        rt.invoke_block(&site, std::slice::from_ref(&a)).unwrap();
    }
    let s = rt.dispatch().stats();
    assert!(s.monomorphic >= 1, "{s:?}");
    assert!(s.misses >= 1);
    for name in ["B", "C", "D", "E", "F"] {
        let v = Value::instance(rt.new_instance(name).unwrap());
        rt.invoke_block(&site, std::slice::from_ref(&v)).unwrap();
    }
    let s = rt.dispatch().stats();
    assert!(
        s.megamorphic >= 1,
        "six classes at one site make it megamorphic: {s:?}"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 15);
}

/// Regression: activations of runs nested through native code count towards the depth limit
/// (each run keeps its depth locally and publishes it before calling native code). Unbounded
/// recursion block → native method → block must end in the depth-limit error.
#[test]
fn depth_limit_counts_activations_across_native_reentry() {
    let rt = Runtime::new();
    rt.set_depth_limit(200);
    class(&rt, "Rec", None, &[]);
    let again = send_block(&rt, "down");
    rt.add_method(
        "Rec",
        Side::Instance,
        "down",
        MethodImpl::native(move |rt, recv, _| rt.invoke_block(&again, std::slice::from_ref(recv))),
    )
    .unwrap();
    let r = Value::instance(rt.new_instance("Rec").unwrap());
    let err = rt.send(&r, "down", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "block invocation depth limit (200) exceeded"
    );
    // The thread's count is back to zero: a shallow call still works.
    let shallow = send_block(&rt, "noSuchThing");
    assert!(rt.invoke_block(&shallow, &[r]).is_err());
    let ok = rt.send(&Value::string("Rec"), "new", &[]);
    assert!(ok.is_ok());
}
