//! `tt-bench-report`: writes `BENCHMARKS.md` and `docs/bench-plot.svg` from the results of a
//! `benches/run-all.sh` run. See `tt_benches::report`.
//!
//! ```text
//! tt-bench-report [--run-dir DIR] [--out FILE] [--svg FILE] [--reasons FILE] [--history FILE]
//! ```
//!
//! Defaults (relative to the workspace root): `target/bench-report`, `BENCHMARKS.md`,
//! `docs/bench-plot.svg`, `benches/report/reasons.md`, `benches/report/history.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use tt_benches::report::{Options, generate};

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let mut opts = Options {
        run_dir: root.join("target/bench-report"),
        out: root.join("BENCHMARKS.md"),
        svg: root.join("docs/bench-plot.svg"),
        reasons: root.join("benches/report/reasons.md"),
        history: root.join("benches/report/history.md"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let slot = match a.as_str() {
            "--run-dir" => &mut opts.run_dir,
            "--out" => &mut opts.out,
            "--svg" => &mut opts.svg,
            "--reasons" => &mut opts.reasons,
            "--history" => &mut opts.history,
            "-h" | "--help" => {
                println!(
                    "usage: tt-bench-report [--run-dir DIR] [--out FILE] [--svg FILE] [--reasons FILE] \
                     [--history FILE]"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("tt-bench-report: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(v) => *slot = PathBuf::from(v),
            None => {
                eprintln!("tt-bench-report: {a} needs a value");
                return ExitCode::from(2);
            }
        }
    }
    match generate(&opts) {
        Ok(sum) => {
            println!(
                "tt-bench-report: wrote {} and {}: {} rows, {} goals met, {} missed, {} unavailable",
                opts.out.display(),
                opts.svg.display(),
                sum.rows,
                sum.met,
                sum.missed.len(),
                sum.unavailable.len()
            );
            for (key, has_reason) in &sum.missed {
                if !has_reason {
                    println!(
                        "  missed without a reason: {key} (add `## {key}` to {})",
                        opts.reasons.display()
                    );
                }
            }
            for (key, why) in &sum.unavailable {
                println!("  unavailable: {key}: {why}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tt-bench-report: {e}");
            ExitCode::FAILURE
        }
    }
}
