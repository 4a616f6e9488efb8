//! Issue 4, "the test corpus passes in both tiers": the compiler's class-file corpus
//! (`vm/compiler/tests/corpus/*.trash`) and semantic cases, run in the interpreter (`TierMode::Never`)
//! and with the Cranelift tier forced on (`TierMode::Always`, JIT installed).
//!
//! The data is shared with `vm/compiler/tests/compiler.rs` (module `vm/compiler/tests/compiler_cases`): the same
//! block sources, scripted sends and expected results. Every step runs in both tiers, which
//! must agree with each other and with the expected result; afterwards every TTBC method of the
//! classes exercised, every nested block the scripts reach and every block passed as an
//! argument must have been compiled in the JIT runtime (and nothing in the interpreter one).

mod common_jit;
#[path = "../../vm/compiler/tests/compiler_cases/mod.rs"]
mod compiler_cases;

use std::path::PathBuf;
use std::sync::Arc;

use compiler_cases::{Env, Step, bytes, check, outcome_text};
use tt_compiler::LoadReport;
use tt_vm::interp::CodeUnit;
use tt_vm::tier::TierMode;
use tt_vm::{MethodImpl, Runtime, Side, Value};

/// `vm/compiler/tests/corpus`, the directory `vm/compiler/tests/compiler.rs` loads.
fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vm/compiler/tests/corpus")
}

/// A runtime in one tier, with no classes defined.
fn runtime(jit: bool) -> Runtime {
    let rt = Runtime::new();
    if jit {
        assert!(tt_jit::install(&rt), "JIT supported on this host");
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    rt
}

/// Interpreter and JIT runtimes side by side.
struct Tiers {
    interp: Runtime,
    jit: Runtime,
}

impl Tiers {
    fn new() -> Tiers {
        Tiers {
            interp: runtime(false),
            jit: runtime(true),
        }
    }

    /// Loads the corpus into both runtimes; the load reports must be identical.
    fn load_corpus(&self) -> LoadReport {
        let r = compiler_cases::load_corpus(&self.interp, &corpus_dir());
        let j = compiler_cases::load_corpus(&self.jit, &corpus_dir());
        assert_eq!(r, j, "load reports differ between the tiers");
        r
    }

    /// Runs `script` in both runtimes step by step: the outcomes (text, or error message) must
    /// be the same in both tiers, and what the step wants.
    fn run_script(&self, script: &[Step]) -> (Env, Env) {
        let (mut ei, mut ej) = (Env::new(), Env::new());
        for step in script {
            let ri = ei.send(&self.interp, step);
            let rj = ej.send(&self.jit, step);
            assert_eq!(
                common_jit::normalize(&outcome_text(&rj)),
                common_jit::normalize(&outcome_text(&ri)),
                "{step}: JIT (left) vs interpreter (right)"
            );
            check(&self.interp, step, &ri);
            check(&self.jit, step, &rj);
        }
        (ei, ej)
    }
}

/// The bytecode unit of a method, `None` for a Bash fallback.
fn method_unit(rt: &Runtime, class: &str, side: Side, sel: &str) -> Option<Arc<CodeUnit>> {
    let cid = rt.resolve_class(class).unwrap_or_else(|| panic!("{class}"));
    let m = rt
        .dispatch()
        .lookup(cid, side, tt_dispatch::intern(sel))
        .unwrap_or_else(|| panic!("{class} {sel} not registered"));
    match &m.imp {
        MethodImpl::Bytecode(u) => Some(u.clone()),
        MethodImpl::BashFallback { .. } => None,
        MethodImpl::Native(_) => panic!("{class} {sel}: a native closure"),
    }
}

/// `unit` and its nested units, depth first.
fn units(unit: &Arc<CodeUnit>) -> Vec<Arc<CodeUnit>> {
    let mut out = vec![unit.clone()];
    for n in unit.nested.iter().flatten() {
        out.extend(units(n));
    }
    out
}

/// Asserts that `unit` and all its nested units were compiled (`jit`) or not (interpreter).
fn assert_tree_compiled(unit: &Arc<CodeUnit>, jit: bool, what: &str) {
    for (i, u) in units(unit).iter().enumerate() {
        if jit {
            assert!(
                u.compiled().is_some(),
                "{what}: unit {i} (0 = the method, then nested blocks) not compiled: {:?}",
                u.compile_error()
            );
        } else {
            assert!(
                u.compiled().is_none(),
                "{what}: compiled by the interpreter tier"
            );
        }
    }
}

/// Checks every method of `class` in both runtimes: TTBC methods (the report's `native`) were
/// compiled with all their nested blocks in the JIT runtime and not in the interpreter one;
/// the others are Bash fallbacks in both. Returns the number of compiled units.
fn assert_class_compiled(t: &Tiers, report: &LoadReport, class: &str) -> usize {
    let c = report.class(class).unwrap_or_else(|| panic!("{class}"));
    let mut n = 0;
    for m in &c.methods {
        let what = format!("{class} {:?} {}", m.side, m.selector);
        let ui = method_unit(&t.interp, class, m.side, &m.selector);
        let uj = method_unit(&t.jit, class, m.side, &m.selector);
        assert_eq!(ui.is_some(), m.native, "{what}");
        assert_eq!(uj.is_some(), m.native, "{what}");
        if let (Some(ui), Some(uj)) = (ui, uj) {
            assert_tree_compiled(&ui, false, &what);
            assert_tree_compiled(&uj, true, &what);
            n += units(&uj).len();
        }
    }
    n
}

/// Checks the blocks a script passed as arguments: compiled in the JIT runtime except exactly
/// those of `never_invoked` (sources of blocks the script passes but no method runs), never
/// compiled in the interpreter one.
fn assert_arg_blocks(ei: &Env, ej: &Env, never_invoked: &[&str]) {
    for (src, b) in &ei.blocks {
        assert!(
            b.code().compiled().is_none(),
            "{src}: compiled by the interpreter tier"
        );
    }
    let mut uncompiled = Vec::new();
    for (src, b) in &ej.blocks {
        assert_eq!(b.code().compile_error(), None, "{src}: JIT compile error");
        if b.code().compiled().is_none() {
            uncompiled.push(*src);
        }
    }
    assert_eq!(
        uncompiled, never_invoked,
        "argument blocks the JIT did not compile"
    );
}

/// The expected Bash fallbacks of the corpus (everything else is TTBC).
fn fallbacks(report: &LoadReport) -> Vec<String> {
    report
        .classes
        .iter()
        .flat_map(|c| {
            c.methods
                .iter()
                .filter(|m| !m.native)
                .map(move |m| format!("{} {}", c.name, m.selector))
        })
        .collect()
}

// ----- the corpus --------------------------------------------------------------------------

#[test]
fn corpus_loads_identically_in_both_tiers() {
    let t = Tiers::new();
    let report = t.load_corpus();
    assert_eq!(
        fallbacks(&report),
        [
            "Demo::Counter shout",
            "Demo::Counter stamp",
            "Demo::Counter dump",
        ]
    );
    // Loading compiles nothing: units compile on their first run.
    for class in ["Demo::Counter", "List"] {
        for m in &report.class(class).unwrap().methods {
            if let Some(u) = method_unit(&t.jit, class, m.side, &m.selector) {
                assert!(u.compiled().is_none(), "{class} {}", m.selector);
            }
        }
    }
}

#[test]
fn corpus_counter_with_trait_in_both_tiers() {
    let t = Tiers::new();
    let report = t.load_corpus();
    let (ei, ej) = t.run_script(compiler_cases::COUNTER_SCRIPT);
    assert_arg_blocks(&ei, &ej, &[]);
    // 17 TTBC methods (own, trait, accessors, class side); `incrementBy:` and `countTo:`
    // inline their blocks.
    assert_eq!(assert_class_compiled(&t, &report, "Demo::Counter"), 17);
}

#[test]
fn corpus_collection_with_blocks_in_both_tiers() {
    let t = Tiers::new();
    let report = t.load_corpus();
    let (ei, ej) = t.run_script(compiler_cases::LIST_SCRIPT);
    // The `ifNone:` block of the `detect:ifNone:` that finds an element.
    assert_arg_blocks(&ei, &ej, &["['none']"]);
    // 16 TTBC methods and the blocks of collect:, select:, detect:, detect:ifNone:,
    // includes:, max and sumViaDo (its block assigns `total`: a TTBC v2 shared cell).
    assert_eq!(assert_class_compiled(&t, &report, "List"), 16 + 7);
}

#[test]
fn corpus_inject_into_over_1000_elements_in_both_tiers() {
    // The benchmark's workload (issue 4, "Benchmarks"): the loop runs compiled, the block is
    // invoked from compiled code 1000 times, and the sum leaves no room for a wrong element.
    let t = Tiers::new();
    t.load_corpus();
    let items: Vec<String> = (1..=1000).map(|i| format!("\"{i}\"")).collect();
    let items = format!("[{}]", items.join(","));
    let mut outs = Vec::new();
    for rt in [&t.interp, &t.jit] {
        let list = rt.send(&Value::string("List"), "new", &[]).unwrap();
        rt.send(&list, "setItems:", &[Value::string(&items)])
            .unwrap();
        let sum = Value::block(
            rt.register_block(&bytes("[:acc :x | acc + x]"), Vec::new())
                .unwrap(),
        );
        let r = rt.send(&list, "inject:into:", &[Value::int(0), sum.clone()]);
        let max = rt.send(&list, "max", &[]);
        let found = rt.send(
            &list,
            "detect:",
            &[Value::block(
                rt.register_block(&bytes("[:x | x * x > 250000]"), Vec::new())
                    .unwrap(),
            )],
        );
        outs.push([outcome_text(&r), outcome_text(&max), outcome_text(&found)]);
    }
    assert_eq!(outs[1], outs[0], "JIT (left) vs interpreter (right)");
    assert_eq!(outs[0], ["500500", "1000", "501"]);
    let u = method_unit(&t.jit, "List", Side::Instance, "inject:into:").unwrap();
    assert!(u.compiled().is_some(), "inject:into: not compiled");
}

#[test]
fn class_file_sends_to_self_super_and_classes_in_both_tiers() {
    let t = Tiers::new();
    let ri = compiler_cases::load_probe(&t.interp);
    let rj = compiler_cases::load_probe(&t.jit);
    assert_eq!(ri, rj);
    assert!(fallbacks(&ri).is_empty(), "{ri:?}");
    let (ei, ej) = t.run_script(compiler_cases::PROBE_SCRIPT);
    assert_arg_blocks(&ei, &ej, &[]);
    // Derived's `check:` is only reached through `run:`, `Base make` through `pair`.
    let n = assert_class_compiled(&t, &ri, "Derived") + assert_class_compiled(&t, &ri, "Base");
    // Derived: greet:, check:, run:, pair, cascade, viaBlock: + its block; Base: greet:, make.
    assert_eq!(n, 7 + 2);
}

#[test]
fn self_as_a_value_and_shared_cells_in_methods_in_both_tiers() {
    let t = Tiers::new();
    let ri = compiler_cases::load_self_probe(&t.interp);
    let rj = compiler_cases::load_self_probe(&t.jit);
    assert_eq!(ri, rj);
    assert!(fallbacks(&ri).is_empty(), "{ri:?}");
    let (ei, ej) = t.run_script(compiler_cases::SELF_SCRIPT);
    assert_arg_blocks(&ei, &ej, &[]);
    // Every method of Pt and the blocks of counter and sumTo: (`[self] value` is inlined).
    assert_eq!(assert_class_compiled(&t, &ri, "Pt"), 10 + 2);
}

// ----- semantic cases ----------------------------------------------------------------------

/// Runs the semantic cases of `group` in both tiers. Every case's outcome must be the same in
/// both tiers and the expected one; its unit must have been compiled by the JIT (not by the
/// interpreter); nested units must compile without error, and the only nested units left
/// uncompiled must belong to the cases of `uncompiled_nested` (blocks created but never
/// invoked).
fn check_cases(group: &str, cases: &[compiler_cases::Case], uncompiled_nested: &[&str]) {
    let t = Tiers::new();
    let mut failures = Vec::new();
    let mut not_compiled = Vec::new();
    for (src, args, want) in cases {
        let code = bytes(src);
        let bi = t.interp.register_block(&code, Vec::new()).unwrap();
        let bj = t.jit.register_block(&code, Vec::new()).unwrap();
        let argv: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
        let oi = outcome_text(&t.interp.invoke_block(&bi, &argv));
        let oj = outcome_text(&t.jit.invoke_block(&bj, &argv));
        if oi != oj || oi != *want {
            failures.push(format!(
                "{group}: {src} with {args:?}: interpreter {oi:?}, JIT {oj:?}, expected {want:?}"
            ));
        }
        assert_tree_compiled(bi.code(), false, src);
        let all = units(bj.code());
        assert!(
            all[0].compiled().is_some(),
            "{src}: not compiled: {:?}",
            all[0].compile_error()
        );
        for u in &all {
            assert_eq!(u.compile_error(), None, "{src}: JIT compile error");
            if u.compiled().is_none() && !not_compiled.contains(src) {
                not_compiled.push(*src);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        not_compiled, uncompiled_nested,
        "{group}: nested units left uncompiled"
    );
}

#[test]
fn semantic_cases_in_both_tiers() {
    for (group, cases) in compiler_cases::SEMANTIC_GROUPS {
        // Cases with a nested block that is created but never invoked (so never compiled).
        let uncompiled: &[&str] = match *group {
            // `[:p | p numArgs]` is only asked for its argument count.
            "blocks_and_captures" => &["[| f | f := [:p | p numArgs]. f numArgs]"],
            _ => &[],
        };
        check_cases(group, cases, uncompiled);
    }
}

#[test]
fn capture_values_given_at_registration_in_both_tiers() {
    // The 13.3 chunk, registered with a capture value (as in vm/compiler/tests/compiler.rs).
    let t = Tiers::new();
    let outer = tt_compiler::compile_block("[| x | [x , '!']]").unwrap();
    let mut outs = Vec::new();
    for rt in [&t.interp, &t.jit] {
        let b = rt
            .register_block(&outer.constants[0], vec![Some(Value::string("hi"))])
            .unwrap();
        outs.push(outcome_text(&rt.invoke_block(&b, &[])));
        assert_eq!(b.code().compiled().is_some(), std::ptr::eq(rt, &t.jit));
    }
    assert_eq!(outs, ["hi!", "hi!"]);
}

#[test]
fn golden_block_sources_agree_in_both_tiers() {
    // Every block source of the golden listings (`vm/compiler/tests/golden_compiler`, one file per
    // syntax form, written by vm/compiler/tests/compiler.rs) runs in both tiers with the same result.
    // Numbers keep every loop finite; a block gets as many arguments as it has parameters.
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vm/compiler/tests/golden_compiler");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let t = Tiers::new();
    let (mut blocks, mut methods) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy();
        let text = std::fs::read_to_string(path).unwrap();
        let src = text
            .strip_prefix("# source\n")
            .and_then(|s| s.split_once("\n# listing\n"))
            .unwrap_or_else(|| panic!("{name}: not a golden listing"))
            .0;
        if name.starts_with("method_") || name.starts_with("class_method_") {
            // Method bodies (ivars, `^` at top level) are not blocks.
            methods += 1;
            continue;
        }
        blocks += 1;
        let code = bytes(src);
        for args in [["3", "4"], ["0", "1"], ["-2", "2.5"], ["7", "7"]] {
            let bi = t.interp.register_block(&code, Vec::new()).unwrap();
            let bj = t.jit.register_block(&code, Vec::new()).unwrap();
            let argv: Vec<Value> = args[..bi.param_count()]
                .iter()
                .map(|a| Value::string(a))
                .collect();
            let oi = common_jit::normalize(&outcome_text(&t.interp.invoke_block(&bi, &argv)));
            let oj = common_jit::normalize(&outcome_text(&t.jit.invoke_block(&bj, &argv)));
            if oi != oj {
                failures.push(format!(
                    "{name}: {src} with {args:?}: interpreter {oi:?}, JIT {oj:?}"
                ));
            }
            assert!(
                bj.code().compiled().is_some(),
                "{name}: not compiled: {:?}",
                bj.code().compile_error()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        blocks >= 50 && methods > 0,
        "{blocks} blocks, {methods} methods"
    );
}

#[test]
fn corpus_with_tier_up_in_the_middle_of_the_scripts() {
    // `TierMode::Auto` with tiny thresholds: units switch from the interpreter to compiled
    // code while the scripts run, so interpreted and compiled activations of the corpus
    // methods and blocks call each other. The results must not change.
    for threshold in [1, 2, 3, 5, 8] {
        let rt = Runtime::new();
        assert!(tt_jit::install(&rt), "JIT supported on this host");
        rt.set_tier_mode(TierMode::Auto);
        rt.set_tier_threshold(threshold);
        compiler_cases::load_corpus(&rt, &corpus_dir());
        compiler_cases::load_probe(&rt);
        compiler_cases::run_script(&rt, compiler_cases::COUNTER_SCRIPT);
        compiler_cases::run_script(&rt, compiler_cases::LIST_SCRIPT);
        compiler_cases::run_script(&rt, compiler_cases::PROBE_SCRIPT);
        let compiled = |class: &str, sel: &str| {
            method_unit(&rt, class, Side::Instance, sel)
                .unwrap()
                .compiled()
                .is_some()
        };
        // `add:` runs 7 times, `do:` loops; `describe` runs once and has no loop.
        assert!(compiled("List", "add:"), "threshold {threshold}");
        assert!(compiled("List", "do:"), "threshold {threshold}");
        assert_eq!(
            compiled("Demo::Counter", "describe"),
            threshold == 1,
            "threshold {threshold}"
        );
    }
}
