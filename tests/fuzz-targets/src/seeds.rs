//! The committed seed corpus (`tests/fuzz-targets/seeds/<target>/`) and the bounded run over it
//! that `cargo test` does.

use std::path::{Path, PathBuf};

use crate::Target;
use crate::mutate::{Rng, mutate};

/// `tests/fuzz-targets/seeds/<target>`.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

/// Every seed of `target`, sorted by file name.
pub fn load(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = dir(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a readable seed");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into();
            (name, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

/// Runs `target` on every seed of its corpus, then on `mutations` deterministic mutations of them
/// (generator seeded with `rng_seed`). A panic names the seed or prints the mutated input as hex
/// so it can be saved as a new seed or regression test. Answers the number of inputs run.
pub fn run(name: &str, target: Target, mutations: usize, rng_seed: u64) -> usize {
    let seeds = load(name);
    assert!(!seeds.is_empty(), "target {name} has no seeds");
    for (file, bytes) in &seeds {
        if let Err(p) = std::panic::catch_unwind(|| target(bytes)) {
            eprintln!("{name}: seed {file} failed");
            std::panic::resume_unwind(p);
        }
    }
    let mut rng = Rng::new(rng_seed);
    for _ in 0..mutations {
        let base = &seeds[rng.below(seeds.len())].1;
        let other = &seeds[rng.below(seeds.len())].1;
        let input = mutate(&mut rng, base, other);
        if let Err(p) = std::panic::catch_unwind(|| target(&input)) {
            eprintln!("{name}: mutated input {} failed", hex_of(&input));
            std::panic::resume_unwind(p);
        }
    }
    seeds.len() + mutations
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
