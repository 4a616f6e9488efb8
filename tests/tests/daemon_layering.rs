//! The daemon depends on no C-ABI internals (issue 14, item 4): its Rust host layer is
//! `tt-host`; the C-ABI crate `trashtalk` is used only by `daemon/src/exports.rs`, which keeps the
//! exported `TT_*` symbols in the executable for plugins. And `tt-host` never depends on
//! `trashtalk` (the C exports are wrappers over the host layer, not the other way round).

use std::path::{Path, PathBuf};

/// The one daemon file allowed to name the `trashtalk` crate.
const ALLOWED: &str = "exports.rs";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// True when `line` names the crate `trashtalk` as a path (`trashtalk::…`, `use trashtalk`,
/// `extern crate trashtalk`), not as part of another word (`libtrashtalk`, `.trashtalk/`).
fn names_the_crate(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find("trashtalk") {
        let at = from + i;
        let end = at + "trashtalk".len();
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let rest = line[end..].trim_start();
        let prefix = line[..at].trim_end();
        let as_path = rest.starts_with("::");
        let as_item = (prefix.ends_with("use") || prefix.ends_with("extern crate"))
            && !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if before_ok && (as_path || as_item) {
            return true;
        }
        from = end;
    }
    false
}

#[test]
fn the_matcher_finds_crate_paths_only() {
    assert!(names_the_crate("use trashtalk::plugin::load_plugin;"));
    assert!(names_the_crate(
        "    trashtalk::lifecycle::init(None, None)"
    ));
    assert!(names_the_crate("use trashtalk;"));
    assert!(names_the_crate("extern crate trashtalk;"));
    assert!(!names_the_crate("let p = \".trashtalk/trash/.compiled\";"));
    assert!(!names_the_crate("// libtrashtalk::x and trashtalk_foo"));
    assert!(!names_the_crate("use tt_host::plugin::JsonDispatch;"));
}

#[test]
fn only_exports_rs_uses_the_c_abi_crate() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../daemon/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with(ALLOWED)),
        "daemon/src/{ALLOWED} not found"
    );
    let mut offences = Vec::new();
    for f in &files {
        if f.parent() == Some(src.as_path()) && f.ends_with(ALLOWED) {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read source");
        for (n, line) in text.lines().enumerate() {
            if names_the_crate(line) {
                let rel = f.strip_prefix(&src).unwrap_or(f);
                offences.push(format!(
                    "daemon/src/{}:{}: {}",
                    rel.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the daemon uses the C-ABI crate `trashtalk` outside daemon/src/{ALLOWED} \
         (use tt_host instead):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_host_layer_does_not_depend_on_the_c_abi_crate() {
    let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/host");
    let manifest = std::fs::read_to_string(host.join("Cargo.toml")).expect("read manifest");
    for (n, line) in manifest.lines().enumerate() {
        let key = line.split(['=', '.']).next().unwrap_or("").trim();
        assert_ne!(
            key,
            "trashtalk",
            "capi/host/Cargo.toml:{}: tt-host depends on trashtalk",
            n + 1
        );
    }
    let mut files = Vec::new();
    rust_files(&host.join("src"), &mut files);
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        for (n, line) in text.lines().enumerate() {
            assert!(
                !names_the_crate(line),
                "{}:{}: tt-host names the C-ABI crate: {}",
                f.display(),
                n + 1,
                line.trim()
            );
        }
    }
}
