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
