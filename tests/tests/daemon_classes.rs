//! Classes from source (issue #15): the daemon compiles the `.trash` files of the class
//! directory at start and serves sends to them natively (docs/spec/daemon-protocol.md §14);
//! requests are transactions (§15); a deleted database file is reopened
//! (docs/spec/persistence.md §3.5).

mod daemon_support;

use std::path::Path;

use daemon_support::*;
use serde_json::{Value as Json, json};

const TALLY: &str = r#"# A test class written for these tests.
Tally subclass: Object
  include: Named
  instanceVars: count:0 step:2

  method: bump [
    count := count + step
    ^ count
  ]

  method: spawn [
    | t |
    t := @ Tally new
    @ t bump
    ^ t
  ]

  method: spawnThenShell [
    | t |
    t := @ Tally new
    count := count + 100
    ^ @ self shellOnly
  ]

  method: poke: other [
    @ other bump
    ^ @ self shellOnly
  ]

  method: forever [
    ^ @ self forever
  ]

  method: fast [
    pragma: procyonOnly
    ^ count + 1
  ]

  method: fastButBroken [
    pragma: procyonOnly
    ^ thisContext
  ]

  rawMethod: shellOnly [
    echo "from bash"
  ]

  method: quiet [
    pragma: bashOnly
    ^ 1
  ]

  classMethod: describe [
    ^ "tallies things"
  ]
"#;

const NAMED: &str = r#"Named trait
  instanceVars: name
  method: greet [
    ^ "hello " , name
  ]
"#;

const ITEM: &str = r#"package: Shop
Item subclass: Object
  instanceVars: price:5
  method: double [
    price := price * 2
    ^ price
  ]
"#;

/// A class directory with `Tally` (including the trait `Named`) and `Shop::Item`.
fn trash_dir(tag: &str) -> TmpDir {
    let d = TmpDir::new(tag);
    std::fs::create_dir_all(d.join("traits")).unwrap();
    std::fs::create_dir_all(d.join("Shop")).unwrap();
    std::fs::write(d.join("Tally.trash"), TALLY).unwrap();
    std::fs::write(d.join("traits/Named.trash"), NAMED).unwrap();
    std::fs::write(d.join("Shop/Item.trash"), ITEM).unwrap();
    d
}

fn start(tag: &str, trash: &Path) -> Daemon {
    Daemon::start(tag, false, &["--trash-dir", trash.to_str().unwrap()])
}

fn send(d: &Daemon, class: &str, instance: &str, selector: &str, args: &[&str]) -> Json {
    d.json(&json!({"class":class,"instance":instance,"selector":selector,"args":args}).to_string())
}

fn fallback() -> Json {
    json!({"exit_code":200,"execution_mode":"fallback"})
}

fn rows_of(db: &Path, class: &str) -> Vec<Json> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT data FROM instances WHERE json_extract(data, '$.class') = ?1")
        .unwrap();
    st.query_map([class], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|t| serde_json::from_str(&t.unwrap()).unwrap())
        .collect()
}

const STATE: &str = r#"{"class":"Tally","created_at":"1700000000","_vars":["count","step","name"],"count":1,"step":2,"name":"ann"}"#;

#[test]
fn classes_from_source_run_natively() {
    let trash = trash_dir("cls-src");
    let d = start("cls", &trash.0);
    let r = send(&d, "Tally", STATE, "bump", &[]);
    assert_eq!(
        r,
        json!({"instance":r#"{"class":"Tally","created_at":"1700000000","_vars":["count","step","name"],"count":3,"step":2,"name":"ann"}"#,
               "result":"3","exit_code":0,"execution_mode":"native"})
    );
    // A trait's method, a class method, a namespaced class.
    let r = send(&d, "Tally", STATE, "greet", &[]);
    assert_eq!(
        (r["exit_code"].clone(), r["result"].clone()),
        (json!(0), json!("hello ann")),
        "{r}"
    );
    assert_eq!(r["execution_mode"], "native");
    let r = send(&d, "Tally", "", "describe", &[]);
    assert_eq!(r["result"], "tallies things", "{r}");
    let r = send(
        &d,
        "Shop::Item",
        r#"{"class":"Shop::Item","_vars":["price"],"price":5}"#,
        "double",
        &[],
    );
    assert_eq!(r["result"], "10", "{r}");
    assert_eq!(r["execution_mode"], "native");
}

#[test]
fn raw_and_bash_only_methods_fall_back() {
    let trash = trash_dir("cls-raw");
    let d = start("clsraw", &trash.0);
    assert_eq!(send(&d, "Tally", STATE, "shellOnly", &[]), fallback());
    assert_eq!(send(&d, "Tally", STATE, "quiet", &[]), fallback());
    assert_eq!(send(&d, "Tally", STATE, "noSuchSelector", &[]), fallback());
}

#[test]
fn trash_dir_none_turns_classes_off() {
    let trash = trash_dir("cls-off");
    // The default is the parent of --plugin-dir: put the classes there too.
    let d = Daemon::start("clsoff", false, &["--trash-dir", "none"]);
    std::fs::write(d.dir.join("Tally.trash"), TALLY).unwrap();
    assert_eq!(send(&d, "Tally", STATE, "bump", &[]), fallback());
    drop(trash);
}

#[test]
fn request_that_reaches_bash_is_rolled_back() {
    let trash = trash_dir("cls-tx");
    let d = start("clstx", &trash.0);
    // Without Bash: the instance created is saved (so the check below can fail).
    let r = send(&d, "Tally", STATE, "spawn", &[]);
    assert_eq!(r["exit_code"], 0, "{r}");
    let made = rows_of(&d.db, "Tally");
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["count"], 2);
    // Reaching a raw Bash method after creating an instance and changing the receiver:
    // nothing of the request is left behind, and the answer is 200.
    assert_eq!(send(&d, "Tally", STATE, "spawnThenShell", &[]), fallback());
    assert_eq!(
        rows_of(&d.db, "Tally").len(),
        1,
        "the instance created is not saved"
    );
}

#[test]
fn deleted_database_is_reopened_by_the_daemon() {
    let trash = trash_dir("cls-db");
    let d = start("clsdb", &trash.0);
    let r = send(&d, "Tally", "", "new", &[]);
    assert_eq!(r["exit_code"], 0, "{r}");
    assert_eq!(rows_of(&d.db, "Tally").len(), 1);
    // What the Bash runtime's tests do to start afresh.
    std::fs::remove_file(&d.db).unwrap();
    let r = send(&d, "Tally", "", "new", &[]);
    assert_eq!(r["exit_code"], 0, "{r}");
    let rows = rows_of(&d.db, "Tally");
    assert_eq!(rows.len(), 1, "saved into the new file: {rows:?}");
    assert_eq!(rows[0]["count"], 0, "ivar default");
    let names: Vec<String> = std::fs::read_dir(&d.dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("db.sqlite"))
        .collect();
    assert_eq!(names, ["db.sqlite"], "no -wal/-shm files");
}

#[test]
fn runtime_errors_answer_in_band() {
    let trash = trash_dir("cls-err");
    let d = start("clserr", &trash.0);
    let r = send(&d, "Tally", STATE, "forever", &[]);
    assert_eq!(r["exit_code"], 1, "{r}");
    let err = r["error"].as_str().unwrap_or_default();
    assert!(err.contains("depth limit"), "{r}");
    assert!(r.get("execution_mode").is_none() || r["execution_mode"] != "fallback");
}

#[test]
fn procyon_only_methods_run_natively_or_answer_the_bash_error() {
    let trash = trash_dir("cls-po");
    let d = start("clspo", &trash.0);
    let r = send(&d, "Tally", STATE, "fast", &[]);
    assert_eq!(r["result"], "2", "{r}");
    assert_eq!(r["execution_mode"], "native");
    let r = send(&d, "Tally", STATE, "fastButBroken", &[]);
    assert_eq!(
        r,
        json!({"exit_code":1,"error":"Method 'fastButBroken' requires the native Procyon plugin for Tally."})
    );
}

#[test]
fn fallback_says_why_under_debug() {
    let trash = trash_dir("cls-dbg");
    let mut d = Daemon::start(
        "clsdbg",
        false,
        &["--debug", "--trash-dir", trash.0.to_str().unwrap()],
    );
    assert_eq!(send(&d, "Tally", STATE, "shellOnly", &[]), fallback());
    assert_eq!(send(&d, "Tally", STATE, "quiet", &[]), fallback());
    assert_eq!(send(&d, "Tally", STATE, "spawnThenShell", &[]), fallback());
    d.signal("TERM");
    assert!(d.wait_exit(10).is_some());
    let err = d.stderr();
    let line = |needle: &str| {
        err.lines()
            .any(|l| l.contains("fallback") && l.contains(needle))
    };
    assert!(line("raw bash method"), "{err}");
    assert!(line("pragma bashOnly"), "{err}");
    assert!(line("rolled back"), "{err}");
}
