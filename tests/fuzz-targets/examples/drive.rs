//! A coverage-blind long run of one target without libFuzzer (docs/fuzzing.md, "Long runs"):
//! deterministic mutations of the committed seeds, chained (a mutated input that did not fail
//! may be mutated again), for a given number of seconds.
//!
//! `cargo run -p tt-fuzz-targets --profile test --example drive -- <target> <seconds> [seed]`
//! prints the executions run; a failing input is written to `drive-crash-<target>.bin` and the
//! run stops with the panic.

use std::time::{Duration, Instant};

use tt_fuzz_targets::mutate::{Rng, mutate};
use tt_fuzz_targets::{seeds, target};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("load");
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let f = target(name).unwrap_or_else(|| panic!("unknown target {name}"));
    let seeds: Vec<Vec<u8>> = seeds::load(name).into_iter().map(|(_, b)| b).collect();
    let mut rng = Rng::new(seed);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut execs: u64 = 0;
    let mut current = seeds[0].clone();
    while Instant::now() < until {
        for _ in 0..256 {
            if rng.below(8) == 0 {
                current = seeds[rng.below(seeds.len())].clone();
            }
            let other = &seeds[rng.below(seeds.len())];
            let input = mutate(&mut rng, &current, other);
            if std::panic::catch_unwind(|| f(&input)).is_err() {
                let file = format!("drive-crash-{name}.bin");
                std::fs::write(&file, &input).expect("writing the crash input");
                eprintln!("{name}: crash after {execs} executions, input in {file}");
                std::process::exit(1);
            }
            execs += 1;
            if input.len() < 4096 {
                current = input;
            }
        }
    }
    println!("{name}: {execs} executions in {secs} s, 0 crashes (seed {seed})");
}
