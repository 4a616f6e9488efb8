//! The core builds and tests without SQLite and without the parser (issue 14, item 4): neither
//! `tt-vm`'s normal and build dependencies nor its dev-dependencies may reach the leaf
//! subsystems (`tt-compiler`, `tt-persist`) or SQLite (`rusqlite`, `libsqlite3-sys`).

use std::path::Path;
use std::process::Command;

/// Package names `tt-vm` must not depend on, in any dependency kind.
const FORBIDDEN: &[&str] = &["rusqlite", "libsqlite3-sys", "tt-compiler", "tt-persist"];

/// The package names (one per line, `name vX.Y.Z ...`) of `cargo tree -p tt-vm -e <kinds>`.
fn tree(kinds: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "-p",
            "tt-vm",
            "-e",
        ])
        .arg(kinds)
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_core_free(kinds: &str) {
    let names = tree(kinds);
    assert!(
        names.iter().any(|n| n == "tt-vm"),
        "tree lists tt-vm: {names:?}"
    );
    for bad in FORBIDDEN {
        assert!(
            !names.iter().any(|n| n == bad),
            "tt-vm depends on {bad} (cargo tree -p tt-vm -e {kinds})"
        );
    }
}

#[test]
fn core_builds_without_sqlite_or_the_parser() {
    assert_core_free("normal,build");
}

#[test]
fn core_tests_without_sqlite_or_the_parser() {
    assert_core_free("normal,build,dev");
}
