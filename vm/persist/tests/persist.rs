//! Persistence tests (docs/spec/persistence.md): store schema and settings, statements, ids, key/value
//! rows, coexistence with the `sqlite3` CLI, the instance document and the runtime glue (value
//! typing and the property tests: `typing.rs`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{Value as Json, json};
use tt_persist::{InstanceDoc, PersistError, Store, resolve_db_path_with};
use tt_vm::object::InstanceState;
use tt_vm::runtime::InstanceStore;
use tt_vm::{ClassDef, Instance, Runtime, Value};

const SQLITE3: &str = "/usr/bin/sqlite3";

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("instances.db");
    let store = Store::open(&path).expect("open");
    (dir, path, store)
}

/// Whether the `sqlite3` CLI is installed; if not, reports the skip of `test` (a test name).
fn sqlite3_available(test: &str) -> bool {
    if Path::new(SQLITE3).exists() {
        true
    } else {
        tt_testkit::skip::skip(
            &format!("{}::{test}", module_path!()),
            &format!("{SQLITE3} not installed"),
        );
        false
    }
}

/// Runs SQL through the `sqlite3` CLI as the Bash runtime does; returns stdout.
fn cli(db: &Path, sql: &str) -> String {
    let out = Command::new(SQLITE3)
        .arg("-cmd")
        .arg(".timeout 5000")
        .arg(db)
        .arg(sql)
        .output()
        .expect("run sqlite3");
    assert!(
        out.status.success(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

type XInfo = Vec<(String, String, bool, bool, i64)>;

/// `PRAGMA table_xinfo(instances)` as (name, type, notnull, pk, hidden).
fn table_xinfo(db: &Path) -> XInfo {
    let c = Connection::open(db).unwrap();
    let mut st = c.prepare("PRAGMA table_xinfo(instances)").unwrap();
    st.query_map([], |r| {
        Ok((
            r.get::<_, String>("name")?,
            r.get::<_, String>("type")?,
            r.get::<_, bool>("notnull")?,
            r.get::<_, i64>("pk")? != 0,
            r.get::<_, i64>("hidden")?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn index_sql(db: &Path) -> Option<String> {
    let c = Connection::open(db).unwrap();
    c.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'idx_instances_class'",
        [],
        |r| r.get(0),
    )
    .ok()
}

// ----- schema and connection --------------------------------------------------------------

#[test]
fn schema_matches_spec() {
    let (_d, path, _store) = temp_store();
    let want: XInfo = vec![
        ("id".into(), "TEXT".into(), false, true, 0),
        ("data".into(), "JSON".into(), true, false, 0),
        ("class".into(), "TEXT".into(), false, false, 2),
        ("created_at".into(), "TEXT".into(), false, false, 2),
    ];
    assert_eq!(table_xinfo(&path), want);
    assert_eq!(
        index_sql(&path).as_deref(),
        Some("CREATE INDEX idx_instances_class ON instances(class)")
    );
    let c = Connection::open(&path).unwrap();
    let gen_sql: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'instances'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        gen_sql.contains("class TEXT GENERATED ALWAYS AS (json_extract(data, '$.class')) VIRTUAL"),
        "{gen_sql}"
    );
    assert!(
        gen_sql.contains(
            "created_at TEXT GENERATED ALWAYS AS (json_extract(data, '$.created_at')) VIRTUAL"
        ),
        "{gen_sql}"
    );
}

#[test]
fn schema_equals_the_bash_side_initialization() {
    if !sqlite3_available("schema_equals_the_bash_side_initialization") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bash_db = dir.path().join("bash.db");
    cli(
        &bash_db,
        "CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, data JSON NOT NULL);
         ALTER TABLE instances ADD COLUMN class TEXT GENERATED ALWAYS AS (json_extract(data, '$.class')) VIRTUAL;
         ALTER TABLE instances ADD COLUMN created_at TEXT GENERATED ALWAYS AS (json_extract(data, '$.created_at')) VIRTUAL;
         CREATE INDEX IF NOT EXISTS idx_instances_class ON instances(class);",
    );
    let ours = dir.path().join("ours.db");
    Store::open(&ours).unwrap();
    assert_eq!(table_xinfo(&ours), table_xinfo(&bash_db));
    assert_eq!(index_sql(&ours), index_sql(&bash_db));
    // Opening the Bash-created file adds nothing.
    Store::open(&bash_db).unwrap();
    assert_eq!(table_xinfo(&ours), table_xinfo(&bash_db));
}

#[test]
fn reopen_is_idempotent_and_tolerates_extra_columns() {
    let (_d, path, store) = temp_store();
    drop(store);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "ALTER TABLE instances ADD COLUMN name TEXT GENERATED ALWAYS AS (json_extract(data, '$.name')) VIRTUAL;
             CREATE INDEX IF NOT EXISTS idx_instances_name ON instances(name);",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let again = Store::open(&path).unwrap();
    let names: Vec<String> = table_xinfo(&path).into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["id", "data", "class", "created_at", "name"]);
    store
        .save("p_1", r#"{"class":"Person","_vars":["name"],"name":"Ann"}"#)
        .unwrap();
    assert_eq!(again.ids_of_class("Person").unwrap(), ["p_1"]);
}

#[test]
fn rollback_journal_mode_is_on() {
    let (_d, path, store) = temp_store();
    assert!(store.warnings().is_empty(), "{:?}", store.warnings());
    assert_eq!(store.journal_mode().unwrap(), "delete");
    let c = Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "a second connection sees the file's mode");
    store.checkpoint().unwrap();
}

#[test]
fn parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/instances.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert!(path.exists());
}

#[test]
fn open_failure_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, PersistError::Sqlite(_)), "{err:?}");
    assert_eq!(err.to_string(), "file is not a database");
}

#[test]
fn db_path_resolution_order() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    let all: &[(&str, &str)] = &[
        ("SQLITE_JSON_DB", "/x/db.sqlite"),
        ("TRASHTALK_ROOT", "/root/tt"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(
        resolve_db_path_with(Some(Path::new("/explicit.db")), env(all)),
        PathBuf::from("/explicit.db")
    );
    assert_eq!(
        resolve_db_path_with(None, env(all)),
        PathBuf::from("/x/db.sqlite")
    );
    assert_eq!(
        resolve_db_path_with(
            None,
            env(&[("TRASHTALK_ROOT", "/root/tt"), ("HOME", "/home/u")])
        ),
        PathBuf::from("/root/tt/instances.db")
    );
    assert_eq!(
        resolve_db_path_with(
            None,
            env(&[
                ("SQLITE_JSON_DB", ""),
                ("TRASHTALK_ROOT", ""),
                ("HOME", "/home/u")
            ])
        ),
        PathBuf::from("/home/u/.trashtalk/instances.db")
    );
}

// ----- statements ---------------------------------------------------------------------------

#[test]
fn save_load_delete() {
    let (_d, _p, store) = temp_store();
    assert_eq!(store.load("counter_1").unwrap(), None);
    store
        .save(
            "counter_1",
            "{ \"class\" : \"Counter\",\n \"created_at\": \"1700000000\", \"_vars\": [\"value\"], \"value\": 0 }",
        )
        .unwrap();
    assert_eq!(
        store.load("counter_1").unwrap().as_deref(),
        Some(r#"{"class":"Counter","created_at":"1700000000","_vars":["value"],"value":0}"#),
        "json() minifies and keeps key order"
    );
    store
        .save(
            "counter_1",
            r#"{"class":"Counter","_vars":["value"],"value":5}"#,
        )
        .unwrap();
    assert_eq!(
        store.load("counter_1").unwrap().as_deref(),
        Some(r#"{"class":"Counter","_vars":["value"],"value":5}"#)
    );
    assert_eq!(store.count_of_class("Counter").unwrap(), 1);
    assert!(store.delete("counter_1").unwrap());
    assert!(!store.delete("counter_1").unwrap());
    assert_eq!(store.load("counter_1").unwrap(), None);
}

#[test]
fn malformed_and_non_object_documents_are_refused() {
    let (_d, _p, store) = temp_store();
    let err = store.save("x_1", "{not json").unwrap_err();
    assert!(matches!(err, PersistError::Sqlite(_)), "{err:?}");
    assert_eq!(err.to_string(), "malformed JSON");
    for doc in ["[1,2]", "42", "\"s\"", "null", ""] {
        let err = store.save("x_1", doc).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid instance JSON: not a JSON object",
            "{doc}"
        );
    }
    assert_eq!(store.load("x_1").unwrap(), None);
}

#[test]
fn class_queries() {
    let (_d, _p, store) = temp_store();
    for i in 0..3 {
        store
            .save(&format!("counter_{i}"), r#"{"class":"Counter"}"#)
            .unwrap();
    }
    store
        .save("myapp_counter_1", r#"{"class":"MyApp::Counter"}"#)
        .unwrap();
    let mut ids = store.ids_of_class("Counter").unwrap();
    ids.sort();
    assert_eq!(ids, ["counter_0", "counter_1", "counter_2"]);
    assert_eq!(store.count_of_class("Counter").unwrap(), 3);
    assert_eq!(store.count_of_class("MyApp::Counter").unwrap(), 1);
    assert_eq!(store.count_of_class("Nope").unwrap(), 0);
    assert!(store.ids_of_class("Nope").unwrap().is_empty());
}

#[test]
fn batch_of_10000_in_one_transaction() {
    let (_d, path, store) = temp_store();
    let docs: Vec<(String, String)> = (0..10_000)
        .map(|i| {
            (
                format!("item_{i}"),
                format!(r#"{{"class":"Item","_vars":["n"],"n":{i}}}"#),
            )
        })
        .collect();
    assert_eq!(store.save_batch(&docs).unwrap(), 10_000);
    assert_eq!(store.count_of_class("Item").unwrap(), 10_000);
    assert_eq!(
        store.load("item_9999").unwrap().as_deref(),
        Some(r#"{"class":"Item","_vars":["n"],"n":9999}"#)
    );

    // All or nothing: a malformed document at the end rolls the whole batch back.
    let mut bad: Vec<(String, String)> = (0..100)
        .map(|i| (format!("other_{i}"), r#"{"class":"Other"}"#.to_string()))
        .collect();
    bad.push(("other_x".into(), "{broken".into()));
    let err = store.save_batch(&bad).unwrap_err();
    assert_eq!(err.to_string(), "malformed JSON");
    assert_eq!(store.count_of_class("Other").unwrap(), 0);
    // An invalid id is found before anything is written.
    let err = store
        .save_batch(&[
            ("ok_1".into(), r#"{"class":"Other"}"#.into()),
            ("bad id".into(), r#"{"class":"Other"}"#.into()),
        ])
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid id format: bad id");
    assert_eq!(store.count_of_class("Other").unwrap(), 0);
    assert_eq!(store.save_batch(&[]).unwrap(), 0);
    // No transaction is left open: another connection can write.
    let c = Connection::open(&path).unwrap();
    c.execute(
        "INSERT OR REPLACE INTO instances (id, data) VALUES ('z_1', json('{\"class\":\"Z\"}'))",
        [],
    )
    .unwrap();
}

#[test]
fn id_format_is_enforced() {
    let (_d, _p, store) = temp_store();
    let doc = r#"{"class":"Counter"}"#;
    for bad in [
        "",
        "a b",
        "x/y",
        "semi;colon",
        "quote'd",
        "é",
        "tab\t",
        "new\nline",
    ] {
        let err = store.save(bad, doc).unwrap_err();
        assert!(matches!(err, PersistError::InvalidId(_)), "{bad:?}");
        assert_eq!(err.to_string(), format!("invalid id format: {bad}"));
        assert!(matches!(
            store.load(bad).unwrap_err(),
            PersistError::InvalidId(_)
        ));
        assert!(matches!(
            store.delete(bad).unwrap_err(),
            PersistError::InvalidId(_)
        ));
    }
    for good in [
        "counter_2f1c4b6e-8a4d-4c1e-9a53-3b0f7c2d9e10",
        "counter_2F1C4B6E-8A4D-4C1E-9A53-3B0F7C2D9E10",
        "counter_12345_1700000000",
        "a.b:c-d_E9",
    ] {
        store.save(good, doc).unwrap();
        assert!(store.load(good).unwrap().is_some(), "{good}");
    }
    let e: tt_vm::Error = PersistError::InvalidId("a b".into()).into();
    assert_eq!(e.kind(), tt_vm::ErrorKind::InvalidInput);
    assert_eq!(e.message(), "invalid id format: a b");
}

#[test]
fn kv_rows_are_never_touched() {
    let (_d, path, store) = temp_store();
    let c = Connection::open(&path).unwrap();
    c.execute(
        "INSERT OR REPLACE INTO instances (id, data) VALUES ('__kv__greeting', json('{\"v\":\"hello\"}'))",
        [],
    )
    .unwrap();
    let kv = || -> String {
        c.query_row(
            "SELECT data FROM instances WHERE id = '__kv__greeting'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(store.load("__kv__greeting").unwrap(), None);
    let err = store
        .save("__kv__greeting", r#"{"class":"Counter"}"#)
        .unwrap_err();
    assert!(matches!(err, PersistError::ReservedId(_)), "{err:?}");
    assert!(matches!(
        store.delete("__kv__greeting").unwrap_err(),
        PersistError::ReservedId(_)
    ));
    assert!(matches!(
        store
            .save_batch(&[("__kv__greeting".into(), "{}".into())])
            .unwrap_err(),
        PersistError::ReservedId(_)
    ));
    assert_eq!(kv(), r#"{"v":"hello"}"#);
    // Excluded from class queries (NULL class).
    let class: Option<String> = c
        .query_row(
            "SELECT class FROM instances WHERE id = '__kv__greeting'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(class, None);
    store.save("counter_1", r#"{"class":"Counter"}"#).unwrap();
    assert_eq!(store.ids_of_class("Counter").unwrap(), ["counter_1"]);
    assert_eq!(store.count_of_class("").unwrap(), 0);
}

// ----- coexistence with the sqlite3 CLI -----------------------------------------------------

#[test]
fn sqlite3_cli_and_store_see_each_other() {
    if !sqlite3_available("sqlite3_cli_and_store_see_each_other") {
        return;
    }
    let (_d, path, store) = temp_store();
    assert_eq!(cli(&path, "PRAGMA journal_mode;").trim(), "delete");
    cli(
        &path,
        r#"INSERT OR REPLACE INTO instances (id, data) VALUES ('counter_bash', json('{"class":"Counter","created_at":"1700000000","_vars":["value"],"value":25}'));"#,
    );
    assert_eq!(
        store.load("counter_bash").unwrap().as_deref(),
        Some(r#"{"class":"Counter","created_at":"1700000000","_vars":["value"],"value":25}"#)
    );
    store
        .save(
            "counter_rt",
            r#"{"class":"Counter","_vars":["value"],"value":"it's"}"#,
        )
        .unwrap();
    assert_eq!(
        cli(&path, "SELECT data FROM instances WHERE id = 'counter_rt';").trim(),
        r#"{"class":"Counter","_vars":["value"],"value":"it's"}"#
    );
    assert_eq!(
        cli(
            &path,
            "SELECT COUNT(*) FROM instances WHERE class = 'Counter';"
        )
        .trim(),
        "2"
    );
    // Interleaved writers.
    for i in 0..20 {
        cli(
            &path,
            &format!(
                r#"INSERT OR REPLACE INTO instances (id, data) VALUES ('c_{i}', json('{{"class":"C"}}'));"#
            ),
        );
        store.save(&format!("r_{i}"), r#"{"class":"C"}"#).unwrap();
    }
    assert_eq!(store.count_of_class("C").unwrap(), 40);
    store.checkpoint().unwrap();
    assert_eq!(
        cli(&path, "SELECT COUNT(*) FROM instances WHERE class = 'C';").trim(),
        "40"
    );
}

/// A `sqlite3` process holding `BEGIN EXCLUSIVE` until dropped.
struct Locker {
    child: std::process::Child,
}

impl Locker {
    fn hold(db: &Path) -> Locker {
        let mut child = Command::new(SQLITE3)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sqlite3");
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            "BEGIN EXCLUSIVE;\nINSERT INTO instances (id, data) VALUES ('locker_1', json('{{\"class\":\"L\"}}'));\nSELECT 'locked';"
        )
        .unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        Locker { child }
    }

    fn commit(mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        writeln!(stdin, "COMMIT;").unwrap();
        drop(stdin);
        assert!(self.child.wait().unwrap().success());
    }
}

#[test]
fn write_failure_is_reported_with_sqlites_message() {
    if !sqlite3_available("write_failure_is_reported_with_sqlites_message") {
        return;
    }
    let (_d, path, store) = temp_store();
    store.set_busy_timeout(Duration::from_millis(200)).unwrap();
    store.save("before_1", r#"{"class":"B"}"#).unwrap();
    let locker = Locker::hold(&path);
    let err = store.save("blocked_1", r#"{"class":"B"}"#).unwrap_err();
    assert_eq!(err.to_string(), "database is locked");
    assert_eq!(err.sqlite_code(), Some(rusqlite::ErrorCode::DatabaseBusy));
    let e: tt_vm::Error = err.into();
    assert_eq!(e.kind(), tt_vm::ErrorKind::Persistence);
    let err = store
        .save_batch(&[("blocked_2".into(), r#"{"class":"B"}"#.into())])
        .unwrap_err();
    assert_eq!(err.to_string(), "database is locked");
    // With the rollback journal (§3.2) an EXCLUSIVE lock blocks readers too: they wait out the
    // busy timeout and fail the same way.
    let err = store.load("before_1").unwrap_err();
    assert_eq!(err.to_string(), "database is locked");
    locker.commit();
    assert!(store.load("before_1").unwrap().is_some());
    store.save("blocked_1", r#"{"class":"B"}"#).unwrap();
    assert!(store.load("locker_1").unwrap().is_some());
    assert_eq!(store.count_of_class("B").unwrap(), 2);
}

#[test]
fn read_only_file_write_failure() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    drop(Store::open(&path).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        // Root ignores the file mode (CI runs as root): make the file read-only for SQLite
        // itself instead. A file-format write version above 2 (header byte 18) makes SQLite
        // open the database read-only whoever the caller is (fileformat.html §1.3.3), so the
        // save below fails with the same SQLITE_READONLY error as for a 0444 file.
        let mut bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..16], b"SQLite format 3\0");
        bytes[18] = 3;
        std::fs::write(&path, bytes).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let err = store.save("x_1", r#"{"class":"X"}"#).unwrap_err();
    assert!(matches!(err, PersistError::Sqlite(_)), "{err:?}");
    assert!(err.to_string().contains("readonly"), "{err}");
}

// ----- instance document --------------------------------------------------------------------

#[test]
fn document_key_order_and_orphans() {
    let text = r#"{
        "note": "orphan 1",
        "_vars": ["value", "step"],
        "step": 1,
        "class": "Counter",
        "extra": [1, {"b": 2, "a": 1}],
        "value": 0,
        "created_at": "2024-01-01T00:00:00Z"
    }"#;
    let doc = InstanceDoc::parse(text, None).unwrap();
    assert_eq!(doc.class, "Counter");
    assert_eq!(doc.created_at.as_deref(), Some("2024-01-01T00:00:00Z"));
    assert!(doc.has_vars_key);
    assert_eq!(
        doc.vars,
        vec![("value".into(), json!(0)), ("step".into(), json!(1))]
    );
    assert_eq!(
        doc.orphans,
        vec![
            ("note".into(), json!("orphan 1")),
            ("extra".into(), json!([1, {"b": 2, "a": 1}])),
        ]
    );
    assert_eq!(doc.id, None);
    assert_eq!(
        doc.to_json(),
        r#"{"class":"Counter","created_at":"2024-01-01T00:00:00Z","_vars":["value","step"],"value":0,"step":1,"note":"orphan 1","extra":[1,{"b":2,"a":1}]}"#
    );
    // Rewriting is stable.
    assert_eq!(
        InstanceDoc::parse(&doc.to_json(), None).unwrap().to_json(),
        doc.to_json()
    );
}

#[test]
fn document_absent_created_at_is_not_invented() {
    let doc = InstanceDoc::parse(r#"{"class":"C","_vars":["a"],"a":null}"#, None).unwrap();
    assert_eq!(doc.created_at, None);
    assert_eq!(doc.to_json(), r#"{"class":"C","_vars":["a"],"a":null}"#);
    let doc =
        InstanceDoc::parse(r#"{"class":"C","created_at":1700000000,"_vars":[]}"#, None).unwrap();
    assert_eq!(doc.created_at.as_deref(), Some("1700000000"));
}

#[test]
fn document_listed_var_without_key_reads_null() {
    let doc = InstanceDoc::parse(r#"{"class":"C","_vars":["a","b"],"a":1}"#, None).unwrap();
    assert_eq!(doc.var("b"), Some(&Json::Null));
    assert_eq!(doc.var("zzz"), None);
}

#[test]
fn document_missing_vars_unknown_class() {
    let doc = InstanceDoc::parse(r#"{"class":"Counter","value":0,"step":1}"#, None).unwrap();
    assert!(!doc.has_vars_key);
    assert_eq!(
        doc.vars,
        vec![("value".into(), json!(0)), ("step".into(), json!(1))]
    );
    assert!(doc.orphans.is_empty());
    assert_eq!(doc.to_json(), r#"{"class":"Counter","value":0,"step":1}"#);
}

#[test]
fn document_missing_vars_registered_class() {
    let reg: Vec<String> = vec!["step".into(), "value".into(), "label".into()];
    let doc = InstanceDoc::parse(
        r#"{"class":"Counter","created_at":"1","value":0,"junk":true,"step":1}"#,
        Some(&reg),
    )
    .unwrap();
    assert!(!doc.has_vars_key);
    assert_eq!(
        doc.vars,
        vec![
            ("step".into(), json!(1)),
            ("value".into(), json!(0)),
            ("label".into(), Json::Null),
        ]
    );
    assert_eq!(doc.orphans, vec![("junk".into(), json!(true))]);
    // `_vars` present: the registered list is not consulted.
    let doc = InstanceDoc::parse(
        r#"{"class":"Counter","_vars":["value"],"value":3}"#,
        Some(&reg),
    )
    .unwrap();
    assert_eq!(doc.vars, vec![("value".into(), json!(3))]);
}

#[test]
fn document_id_key_is_exposed_but_not_written() {
    let doc = InstanceDoc::parse(
        r#"{"id":"counter_1","class":"Counter","_vars":["value"],"value":1}"#,
        None,
    )
    .unwrap();
    assert_eq!(doc.id.as_deref(), Some("counter_1"));
    assert!(doc.orphans.is_empty());
    assert_eq!(
        doc.to_json(),
        r#"{"class":"Counter","_vars":["value"],"value":1}"#
    );
    let doc =
        InstanceDoc::parse(r#"{"id":"counter_1","class":"Counter","value":1}"#, None).unwrap();
    assert_eq!(doc.id.as_deref(), Some("counter_1"));
    assert_eq!(doc.vars, vec![("value".into(), json!(1))]);
}

#[test]
fn document_errors() {
    let cases = [
        ("{", "invalid instance JSON: "),
        ("[1]", "invalid instance JSON: not a JSON object"),
        (r#"{"value":1}"#, "invalid instance JSON: missing \"class\""),
        (
            r#"{"class":7}"#,
            "invalid instance JSON: \"class\" is not a string",
        ),
        (
            r#"{"class":"C","_vars":"a"}"#,
            "invalid instance JSON: \"_vars\" is not an array of strings",
        ),
        (
            r#"{"class":"C","_vars":[1]}"#,
            "invalid instance JSON: \"_vars\" is not an array of strings",
        ),
    ];
    for (text, prefix) in cases {
        let err = InstanceDoc::parse(text, None).unwrap_err();
        assert!(matches!(err, PersistError::InvalidJson(_)));
        assert!(err.to_string().starts_with(prefix), "{text}: {err}");
    }
}

#[test]
fn document_new_writes_vars() {
    let doc = InstanceDoc::new(
        "MyApp::Counter",
        Some("1700000000".into()),
        vec![("value".into(), json!(2.5))],
        vec![("legacy".into(), json!("x"))],
    );
    assert_eq!(
        doc.to_json(),
        r#"{"class":"MyApp::Counter","created_at":"1700000000","_vars":["value"],"value":2.5,"legacy":"x"}"#
    );
}

// ----- round trip through the store and the runtime glue -----------------------------------

#[test]
fn instance_store_round_trip_through_sqlite() {
    let (_d, _p, store) = temp_store();
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Counter".into(),
        ivars: vec!["value".into(), "step".into()],
        ..ClassDef::default()
    })
    .unwrap();
    let inst = Instance::new(
        "counter_1".into(),
        "Counter".into(),
        rt.resolve_class("Counter"),
        Some("1700000000".into()),
        InstanceState {
            names: vec!["value".into(), "step".into()],
            values: vec![Value::float(3.0), Value::string("[1, 2]")],
            orphans: vec![("legacy".into(), json!({"x": 1}))],
        },
    );
    inst.set_dirty(true);
    InstanceStore::save(&store, &rt, &inst).unwrap();
    assert!(!inst.is_dirty());
    assert_eq!(
        store.load("counter_1").unwrap().as_deref(),
        Some(
            r#"{"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":3.0,"step":[1,2],"legacy":{"x":1}}"#
        )
    );
    let back = InstanceStore::load(&store, &rt, "counter_1")
        .unwrap()
        .unwrap();
    assert_eq!(back.id(), "counter_1");
    assert_eq!(back.class_id(), rt.resolve_class("Counter"));
    assert_eq!(back.created_at(), Some("1700000000"));
    assert!(back.get("value").unwrap().unwrap().is_float());
    assert_eq!(back.get("step").unwrap().unwrap().text(), "[1,2]");
    assert_eq!(
        back.snapshot().unwrap().orphans,
        vec![("legacy".to_string(), json!({"x": 1}))]
    );
    assert!(
        InstanceStore::load(&store, &rt, "counter_2")
            .unwrap()
            .is_none()
    );

    // Hand-written row without `_vars` for a registered class.
    store
        .save("counter_3", r#"{"class":"Counter","step":2,"other":1}"#)
        .unwrap();
    let i3 = InstanceStore::load(&store, &rt, "counter_3")
        .unwrap()
        .unwrap();
    let st = i3.snapshot().unwrap();
    let names: Vec<&str> = st.names.iter().map(|n| &**n).collect();
    assert_eq!(names, ["value", "step"]);
    assert!(st.values[0].is_nil());
    assert_eq!(st.values[1].as_int(), Some(2));
    assert_eq!(st.orphans, vec![("other".to_string(), json!(1))]);

    // Unregistered class still loads.
    store
        .save("thing_1", r#"{"class":"Thing","_vars":["a"],"a":"x"}"#)
        .unwrap();
    let t = InstanceStore::load(&store, &rt, "thing_1")
        .unwrap()
        .unwrap();
    assert_eq!(t.class_id(), None);
    assert_eq!(t.get("a").unwrap().unwrap().as_str(), Some("x"));
}
