//! `tt_host::lifecycle::init` (the Rust side of `TT_Init`) refuses what it used to accept
//! silently (issue #18, docs/spec/c-abi.md §5.3). The runtime is process-global, so the tests
//! take turns.

use std::path::PathBuf;

use parking_lot::Mutex;
use tt_host::lifecycle::{PluginDirRule, close, init, init_with, is_initialized};

static TURN: Mutex<()> = Mutex::new(());

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tt-init-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_with_missing_plugin_dir_fails() {
    let _t = TURN.lock();
    let dir = scratch("nodir");
    let db = dir.join("x.db");
    let missing = dir.join("no-such-plugins");
    let e = init(Some(s(&db)), Some(s(&missing))).unwrap_err();
    assert!(!is_initialized());
    assert!(
        e.message().contains("plugin directory")
            && e.message().contains(s(&missing))
            && e.message().contains("does not exist"),
        "{e}"
    );
    // A file is not a directory either.
    std::fs::write(dir.join("file"), "x").unwrap();
    assert!(init(Some(s(&db)), Some(s(&dir.join("file")))).is_err());
    assert!(!is_initialized());
    // The daemon's rule lets the directory appear later.
    init_with(Some(s(&db)), Some(s(&missing)), PluginDirRule::MayBeMissing).unwrap();
    assert!(is_initialized());
    close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn init_with_db_in_missing_directory_fails_instead_of_creating_it() {
    let _t = TURN.lock();
    let dir = scratch("nodbdir");
    let db = dir.join("nonexistent/dir/x.db");
    let e = init(Some(s(&db)), None).unwrap_err();
    assert!(!is_initialized());
    assert!(
        e.message().contains(s(&db)) && e.message().contains("does not exist"),
        "{e}"
    );
    assert!(
        !dir.join("nonexistent").exists(),
        "directories were created"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn second_init_with_another_plugin_dir_or_db_fails() {
    let _t = TURN.lock();
    let dir = scratch("second");
    let (p1, p2) = (dir.join("p1"), dir.join("p2"));
    std::fs::create_dir_all(&p1).unwrap();
    std::fs::create_dir_all(&p2).unwrap();
    let (db1, db2) = (dir.join("one.db"), dir.join("two.db"));
    init(Some(s(&db1)), Some(s(&p1))).unwrap();
    // The same arguments again (also spelled differently), or none: harmless.
    init(Some(s(&db1)), Some(s(&p1))).unwrap();
    init(Some(s(&db1)), Some(&format!("{}/./", s(&p1)))).unwrap();
    init(None, None).unwrap();
    let e = init(Some(s(&db1)), Some(s(&p2))).unwrap_err();
    assert!(
        e.message()
            .contains("already initialized with plugin directory")
            && e.message().contains(s(&p2)),
        "{e}"
    );
    let e = init(Some(s(&db2)), Some(s(&p1))).unwrap_err();
    assert!(
        e.message().contains("already initialized with database") && e.message().contains(s(&db2)),
        "{e}"
    );
    assert!(
        is_initialized(),
        "a refused call leaves the runtime as it was"
    );
    close().unwrap();
    // After TT_Close another configuration is fine.
    init(Some(s(&db2)), Some(s(&p2))).unwrap();
    close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
