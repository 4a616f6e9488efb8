//! Every fuzz target on its committed seeds plus deterministic mutations of them
//! (docs/fuzzing.md, "In CI"). A few thousand inputs per target keep this to seconds in debug.

use tt_fuzz_targets::{TARGETS, seeds, target};

/// Mutated inputs per target.
const MUTATIONS: usize = 3000;

fn run(name: &str) {
    let f = target(name).expect("a known target");
    let n = seeds::run(name, f, MUTATIONS, 0x5eed_0000 + name.len() as u64);
    assert!(n > MUTATIONS);
}

#[test]
fn load_target_on_seeds_and_mutations() {
    run("load");
}

#[test]
fn request_target_on_seeds_and_mutations() {
    run("request");
}

#[test]
fn compile_target_on_seeds_and_mutations() {
    run("compile");
}

#[test]
fn exec_target_on_seeds_and_mutations() {
    run("exec");
}

#[test]
fn persist_target_on_seeds_and_mutations() {
    run("persist");
}

#[test]
fn every_target_has_a_seed_directory_and_a_test() {
    let this = include_str!("seeds.rs");
    for (name, _) in TARGETS {
        assert!(!seeds::load(name).is_empty(), "{name} has seeds");
        assert!(
            this.contains(&format!("fn {name}_target_on_seeds_and_mutations")),
            "{name} has a test here"
        );
    }
}

#[test]
fn most_exec_seeds_verify_and_cannot_loop() {
    use tt_fuzz_targets::exec::may_loop;
    let seeds = seeds::load("exec");
    let runnable = seeds
        .iter()
        .filter(|(_, b)| {
            b.len() > 1 && tt_vm::ttbc::load_verified(&b[1..]).is_ok_and(|v| !may_loop(v.chunk()))
        })
        .count();
    assert!(
        runnable * 2 > seeds.len(),
        "only {runnable} of {} exec seeds run in both tiers",
        seeds.len()
    );
}

#[test]
fn backward_jumps_are_loops_and_forward_jumps_are_not() {
    use tt_fuzz_targets::exec::may_loop;
    let chunk = |h: &str| tt_vm::ttbc::load(&hex::decode(h).unwrap()).unwrap();
    // docs/spec/ttbc.md §13.1 `[:a :b | a + b]`: no jump.
    assert!(!may_loop(&chunk(
        "5454424300010000000000062200220150F000000201780179000000"
    )));
    // The summing loop of tests/tests/jit_differential.rs: `JUMP -24`.
    assert!(may_loop(&chunk(
        "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000"
    )));
    // `ifTrue:ifFalse:` (forward jumps only).
    assert!(!may_loop(&chunk(
        "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000"
    )));
}
