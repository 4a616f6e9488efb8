//! The daemon with a registering (native method-table) plugin: the transient receiver of
//! docs/spec/daemon-protocol.md §8.3, persistence of created instances (§8.2 step 5), and proof that a
//! plugin loaded into `tt` shares `tt`'s runtime (docs/spec/c-abi.md §1).
//!
//! The plugin (`tests/c/native_counter.c`) is linked with `-ltrashtalk` against a stub library
//! that is not on the loader path: it can only load because `tt` itself carries the library's
//! SONAME `libtrashtalk.so.<major>` and exports the `TT_*` functions.

mod daemon_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use daemon_support::*;
use serde_json::{Value as Json, json};

/// The library's SONAME (capi/build.rs), which `tt` carries too (daemon/build.rs).
const SONAME: &str = concat!("libtrashtalk.so.", env!("CARGO_PKG_VERSION_MAJOR"));

/// Builds the native Counter plugin into `plugins/Counter.so`.
fn build_native_counter(dir: &TmpDir) -> PathBuf {
    let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/include");
    let stub = dir.join("stub");
    std::fs::create_dir_all(&stub).unwrap();
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .arg("-shared")
        .arg("-fPIC")
        .arg(format!("-Wl,-soname,{SONAME}"))
        .arg("-o")
        .arg(stub.join("libtrashtalk.so"))
        .arg(c.join("stub_trashtalk.c"))
        .status()
        .unwrap();
    assert!(st.success());
    let out = plugins.join("Counter.so");
    let st = Command::new(&cc)
        .args(["-shared", "-fPIC", "-I"])
        .arg(&include)
        .arg("-o")
        .arg(&out)
        .arg(c.join("native_counter.c"))
        .arg("-L")
        .arg(&stub)
        .arg("-ltrashtalk")
        .status()
        .unwrap();
    assert!(st.success());
    // The stub must not be found at run time.
    std::fs::remove_dir_all(&stub).unwrap();
    out
}

fn start_native(tag: &str) -> Daemon {
    let d = Daemon::start(tag, false, &[]);
    let tmp = TmpDir::new(&format!("{tag}b"));
    let built = build_native_counter(&tmp);
    std::fs::copy(&built, d.plugins.join("Counter.so")).unwrap();
    d
}

fn stored(db: &Path, id: &str) -> Option<Json> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT data FROM instances WHERE id = ?1", [id], |r| {
        r.get::<_, String>(0)
    })
    .ok()
    .map(|t| serde_json::from_str(&t).unwrap())
}

fn send(d: &Daemon, instance: &str, selector: &str, args: &[&str]) -> Json {
    let req = json!({"class":"Counter","instance":instance,"selector":selector,"args":args,"session_id":"4242"});
    d.json(&req.to_string())
}

#[test]
fn native_table_counter_with_transient_receivers() {
    let d = start_native("native");
    let state = r#"{"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":0,"step":1}"#;
    let r = send(&d, state, "incrementBy_", &["5"]);
    assert_eq!(
        r,
        json!({"instance":r#"{"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":5,"step":1}"#,
               "result":"5","exit_code":0,"execution_mode":"native"})
    );
    // Unchanged state → no `instance`.
    let r = send(&d, state, "getValue", &[]);
    assert_eq!(
        r,
        json!({"result":"0","exit_code":0,"execution_mode":"native"})
    );
    // Without `_vars` (the class's ivars are used), without created_at, with an orphan key.
    let r = send(
        &d,
        r#"{"class":"Counter","value":2,"step":3,"note":"keep me"}"#,
        "increment",
        &[],
    );
    assert_eq!(r["result"], "5");
    assert_eq!(
        r["instance"],
        r#"{"class":"Counter","_vars":["value","step"],"value":5,"step":3,"note":"keep me"}"#
    );
    // Unknown selector, Bash-only entry → 200; an error value → 1.
    let fallback = json!({"exit_code":200,"execution_mode":"fallback"});
    assert_eq!(send(&d, state, "frobnicate", &[]), fallback);
    assert_eq!(send(&d, state, "bashOnly", &[]), fallback);
    assert_eq!(send(&d, "", "frobnicate", &[]), fallback);
    assert_eq!(
        send(&d, state, "fail", &[]),
        json!({"exit_code":1,"error":"native counter failure"})
    );
    // Bad state JSON → 1.
    let r = send(&d, "{not json", "getValue", &[]);
    assert_eq!(r["exit_code"], 1, "{r}");
    // TT_PluginInit ran exactly once.
    assert_eq!(send(&d, "", "initCount", &[])["result"], "1");
}

#[test]
fn created_instances_are_persisted_and_the_receiver_is_not() {
    let d = start_native("persist");
    // Class-side `new` (no class method of that name): TT_New semantics, saved at once.
    let r = send(&d, "", "new", &[]);
    assert_eq!(r["exit_code"], 0, "{r}");
    assert_eq!(r["execution_mode"], "native");
    let id = r["result"].as_str().unwrap().to_owned();
    assert!(id.starts_with("counter_"), "{id}");
    let doc = stored(&d.db, &id).expect("new instance persisted");
    assert_eq!(doc["class"], "Counter");
    assert_eq!(doc["_vars"], json!(["value", "step"]));

    // A class method creating and modifying an instance: persisted with its value.
    let r = send(&d, "", "make_", &["7"]);
    let made = r["result"].as_str().unwrap().to_owned();
    assert_eq!(
        stored(&d.db, &made).expect("made instance persisted")["value"],
        7
    );

    // An instance method creating another instance: the new one is saved before the reply,
    // the transient receiver (with its own fresh id) is not.
    let state = r#"{"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":5,"step":1}"#;
    let r = send(&d, state, "spawn", &[]);
    let spawned = r["result"].as_str().unwrap().to_owned();
    assert!(r.get("instance").is_none(), "receiver unchanged: {r}");
    assert_eq!(
        stored(&d.db, &spawned).expect("spawned instance persisted")["value"],
        105
    );
    let count = rusqlite::Connection::open(&d.db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM instances WHERE class = 'Counter'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(count, 3, "only new, make_ and spawn results are stored");

    // `--inspect <id>` reads the stored document.
    let out = Command::new(tt_bin())
        .args(["--inspect", &made, "--plugin-dir"])
        .arg(&d.plugins)
        .arg("--db")
        .arg(&d.db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("ID: {made}"));
    assert_eq!(lines[1], "Class: Counter");
    assert!(
        lines[2].starts_with("Created: ") && lines[2].len() > "Created: ".len(),
        "{text}"
    );
    assert_eq!(&lines[3..], ["  value: 7", "  step: null"], "{text}");

    // The receiver can be named with `instance_id`; it is still not persisted.
    let req = json!({"class":"Counter","instance":state,"selector":"increment","args":[],"instance_id":"counter_fixed_id"});
    let r = d.json(&req.to_string());
    assert_eq!(r["result"], "6");
    assert!(stored(&d.db, "counter_fixed_id").is_none());
}

#[test]
fn a_plugin_loaded_into_tt_shares_its_runtime() {
    let d = start_native("shared");
    // A block registered through the socket …
    let r = d.json(r#"{"block_op":"register","block_data":"5454424300010000000000042200b4f00000010161000000"}"#);
    let block = r["block_id"].as_str().unwrap().to_owned();
    // … is invoked by plugin code through TT_InvokeBlock: only possible in the same runtime.
    let r = send(&d, "", "invoke_with_", &[&block, "[1,2,3,4]"]);
    assert_eq!(
        r,
        json!({"result":"4","exit_code":0,"execution_mode":"native"})
    );
    // And the class the plugin registered from its constructor is the daemon's.
    let r = send(&d, "", "initCount", &[]);
    assert_eq!(r["result"], "1");
}

#[test]
fn native_plugin_in_stdio_mode() {
    let dir = TmpDir::new("nstdio");
    build_native_counter(&dir);
    let state = r#"{\"class\":\"Counter\",\"_vars\":[\"value\",\"step\"],\"value\":1,\"step\":1}"#;
    let input = format!(
        "{}\n{}\n",
        r#"{"class":"Counter","instance":"","selector":"new","args":[]}"#,
        format_args!(
            r#"{{"class":"Counter","instance":"{state}","selector":"incrementBy_","args":["41"]}}"#
        )
    );
    let (lines, code) = run_stdio(&dir, &[], &input);
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 2, "{lines:?}");
    let created: Json = serde_json::from_str(&lines[0]).unwrap();
    let id = created["result"].as_str().unwrap();
    assert!(stored(&dir.join("db.sqlite"), id).is_some());
    let r: Json = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(r["result"], "42");
    assert_eq!(
        r["instance"],
        r#"{"class":"Counter","_vars":["value","step"],"value":42,"step":1}"#
    );
}

/// The team's Counter plugins (`plugins/native/c/counter.c`, `plugins/counter-rs`): class-side
/// `new` (which sends `initialize`), instance messages with the state coming back, the created
/// instance in SQLite, and a class method.
fn team_counter(tag: &str, plugin: &Path, description: &str) {
    assert!(plugin.is_file(), "{} not built", plugin.display());
    let d = Daemon::start(tag, false, &[]);
    std::fs::copy(plugin, d.plugins.join("Counter.so")).unwrap();
    let r = send(&d, "", "new", &[]);
    assert_eq!(r["exit_code"], 0, "{r}");
    let id = r["result"].as_str().unwrap().to_owned();
    let doc = stored(&d.db, &id).expect("created instance persisted");
    assert_eq!(
        (doc["value"].clone(), doc["step"].clone()),
        (json!(0), json!(1)),
        "{doc}"
    );
    let state = doc.to_string();
    let r = send(&d, &state, "incrementBy_", &["5"]);
    assert_eq!(r["result"], "5", "{r}");
    let after: Json = serde_json::from_str(r["instance"].as_str().unwrap()).unwrap();
    assert_eq!(after["value"], 5);
    assert_eq!(after["created_at"], doc["created_at"]);
    let r = send(&d, r["instance"].as_str().unwrap(), "increment", &[]);
    assert_eq!(r["result"], "6");
    assert_eq!(
        send(&d, &state, "getValue", &[]),
        json!({"result":"0","exit_code":0,"execution_mode":"native"})
    );
    assert_eq!(send(&d, "", "description", &[])["result"], description);
    assert_eq!(
        send(&d, &state, "nope", &[]),
        json!({"exit_code":200,"execution_mode":"fallback"})
    );
    // The receiver was not written to the database by the daemon.
    assert_eq!(stored(&d.db, &id).unwrap()["value"], 0);
}

#[test]
fn counter_c_plugin() {
    team_counter(
        "counterc",
        &tt_plugin_native::plugin_path("Counter"),
        "Counter (C plugin)",
    );
}

#[test]
fn counter_rs_plugin_in_tt() {
    team_counter("counterrs", counter_rs_plugin(), "Counter (Rust plugin)");
}
