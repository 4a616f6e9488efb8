//! The database stays one self-contained file, and a deleted or replaced file is reopened
//! (docs/spec/persistence.md §3.2, §3.5): the Bash runtime and its tests `rm -f instances.db`
//! to start afresh, which broke every Bash-side query once the daemon had put the file in WAL
//! mode (stale `-wal`/`-shm` beside the new file) and left the daemon writing to the deleted
//! file.

use std::path::{Path, PathBuf};
use std::process::Command;

use tt_persist::{JournalMode, Store};

const SQLITE3: &str = "/usr/bin/sqlite3";

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("instances.db");
    let store = Store::open(&path).expect("open");
    (dir, path, store)
}

/// Files of `dir` whose names start with `instances.db`, sorted.
fn db_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("instances.db"))
        .collect();
    names.sort();
    names
}

#[test]
fn no_wal_files_left_behind() {
    let (dir, _path, store) = temp_store();
    store.save("a_1", r#"{"class":"A"}"#).unwrap();
    store
        .save_batch(&[("a_2".into(), r#"{"class":"A"}"#.into())])
        .unwrap();
    assert_eq!(
        store.load("a_1").unwrap().as_deref(),
        Some(r#"{"class":"A"}"#)
    );
    // While the store is open and between operations, the database is one file.
    assert_eq!(db_files(dir.path()), ["instances.db"]);
}

#[test]
fn a_wal_file_is_converted_back_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("instances.db");
    {
        let wal = Store::open_with(&path, JournalMode::Wal).unwrap();
        assert_eq!(wal.journal_mode().unwrap(), "wal");
        wal.save("w_1", r#"{"class":"W"}"#).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store.warnings().is_empty(), "{:?}", store.warnings());
    assert_eq!(store.journal_mode().unwrap(), "delete");
    assert!(
        store.load("w_1").unwrap().is_some(),
        "rows of the WAL file kept"
    );
    assert_eq!(db_files(dir.path()), ["instances.db"]);
}

#[test]
fn deleted_database_is_reopened() {
    let (dir, path, store) = temp_store();
    store.save("old_1", r#"{"class":"Old"}"#).unwrap();
    assert!(!store.reopen_if_replaced().unwrap(), "nothing changed yet");
    std::fs::remove_file(&path).unwrap();
    assert!(store.reopen_if_replaced().unwrap());
    assert!(path.exists(), "a fresh database file was created");
    assert_eq!(store.load("old_1").unwrap(), None, "the old rows are gone");
    store.save("new_1", r#"{"class":"New"}"#).unwrap();
    // A second connection on the path sees the row: the store writes to the new file.
    let other = Store::open(&path).unwrap();
    assert!(other.load("new_1").unwrap().is_some());
    assert!(!store.reopen_if_replaced().unwrap());
    assert_eq!(db_files(dir.path()), ["instances.db"]);
}

#[test]
fn replaced_database_is_reopened() {
    let (dir, path, store) = temp_store();
    store.save("old_1", r#"{"class":"Old"}"#).unwrap();
    let other_path = dir.path().join("other.db");
    {
        let other = Store::open(&other_path).unwrap();
        other.save("swapped_1", r#"{"class":"S"}"#).unwrap();
    }
    std::fs::rename(&other_path, &path).unwrap();
    assert!(store.reopen_if_replaced().unwrap());
    assert!(store.load("swapped_1").unwrap().is_some());
    assert_eq!(store.load("old_1").unwrap(), None);
}

#[test]
fn sqlite3_cli_reads_a_database_recreated_after_rm() {
    let name = "journal::sqlite3_cli_reads_a_database_recreated_after_rm";
    if !Path::new(SQLITE3).exists() {
        tt_testkit::skip::skip(name, &format!("{SQLITE3} not installed"));
        return;
    }
    let (_dir, path, store) = temp_store();
    store.save("a_1", r#"{"class":"A"}"#).unwrap();
    // What the Bash runtime's tests do to start afresh, then their first query.
    std::fs::remove_file(&path).unwrap();
    let cli = |sql: &str| {
        let out = Command::new(SQLITE3)
            .args(["-cmd", ".timeout 5000"])
            .arg(&path)
            .arg(sql)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sqlite3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    cli("CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, data JSON NOT NULL);");
    cli(r#"INSERT INTO instances VALUES ('b_1', '{"class":"B"}');"#);
    assert!(store.reopen_if_replaced().unwrap());
    assert!(
        store.load("b_1").unwrap().is_some(),
        "the store sees the CLI's row"
    );
    store.save("c_1", r#"{"class":"C"}"#).unwrap();
    assert_eq!(
        cli("SELECT id FROM instances ORDER BY id;").trim(),
        "b_1\nc_1"
    );
}
