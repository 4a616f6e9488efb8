//! Same answers as the Bash runtime (issue #15, deliverable 3): the same sends run once by the
//! Bash runtime alone and once with the daemon serving the classes it compiled from source;
//! results and the working-set state JSON after each send must be equal.
//!
//! Needs a checkout of the Bash runtime (`TRASHTALK_SRC`, with `trash/.compiled` built by
//! `make bash`), jq ≥ 1.7 (`TT_JQ` = the jq executable, or its directory), bash, `nc`,
//! `uuidgen`, `sqlite3`; skipped with the reason otherwise (docs/spec/daemon-protocol.md §14).
//! The checkout is copied to a temporary directory and used through a private `HOME`; it is
//! never written to.

mod daemon_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use daemon_support::*;

/// The Bash runtime checkout and jq's directory, or the reason to skip.
fn setup(test: &str) -> Option<(PathBuf, PathBuf)> {
    let name = format!("bash_differential::{test}");
    let Some(src) = std::env::var_os("TRASHTALK_SRC").map(PathBuf::from) else {
        tt_testkit::skip::skip(&name, "TRASHTALK_SRC (a Bash runtime checkout) not set");
        return None;
    };
    if !src.join("lib/trash.bash").is_file() || !src.join("trash/.compiled").is_dir() {
        tt_testkit::skip::skip(
            &name,
            "TRASHTALK_SRC has no lib/trash.bash or trash/.compiled",
        );
        return None;
    }
    let Some(jq) = std::env::var_os("TT_JQ").map(PathBuf::from) else {
        tt_testkit::skip::skip(&name, "TT_JQ (jq >= 1.7) not set");
        return None;
    };
    let jq_dir = if jq.is_dir() {
        jq
    } else {
        jq.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    for tool in ["bash", "nc", "uuidgen", "sqlite3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            tt_testkit::skip::skip(&name, &format!("{tool} not installed"));
            return None;
        }
    }
    Some((src, jq_dir))
}

/// A private copy of the runtime: `<dir>/home/.trashtalk` → `<dir>/src`.
fn private_copy(dir: &TmpDir, src: &Path) -> PathBuf {
    let copy = dir.join("src");
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    let _ = std::fs::remove_file(copy.join("instances.db"));
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::symlink(&copy, home.join(".trashtalk")).unwrap();
    home
}

/// Runs `script` (Bash with `send_and_show` available) in the private runtime; with `socket`
/// the client talks to that daemon. Returns stdout.
fn run_bash(home: &Path, jq_dir: &Path, socket: &Path, script: &str) -> String {
    let prelude = r#"
cd "$HOME/.trashtalk"
source lib/trash.bash 2>/dev/null
norm() { sed -e "s/[a-z]*_[0-9a-f]\{8\}-[0-9a-f-]*/ID/g" -e 's/"created_at":"[0-9]*"/"created_at":"T"/g'; }
show() { local out; out=$(@ "$@" 2>&1 | grep -v '^\[INFO\]'); echo "result: $out" | norm; }
state() { _env_get "$1" | norm; echo; }
mode() { echo "mode: $(_get_last_execution_mode)"; }
"#;
    let path = format!(
        "{}:{}",
        jq_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .env("HOME", home)
        .env("PATH", path)
        .env("TT_SOCKET", socket)
        .env_remove("TT_BIN")
        .env_remove("SQLITE_JSON_DB")
        .env_remove("TRASHTALK_ROOT")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `classes` (name, source) into the copy's `trash/` and compiles them with the Bash
/// runtime's own compiler into `trash/.compiled/`.
fn add_classes(home: &Path, jq_dir: &Path, classes: &[(&str, &str)]) {
    let root = home.join(".trashtalk");
    let path = format!(
        "{}:{}",
        jq_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (name, text) in classes {
        std::fs::write(root.join(format!("trash/{name}.trash")), text).unwrap();
        let out = Command::new("bash")
            .arg("lib/jq-compiler/driver.bash")
            .arg("compile")
            .arg(format!("trash/{name}.trash"))
            .current_dir(&root)
            .env("HOME", home)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(root.join(format!("trash/.compiled/{name}")), out.stdout).unwrap();
    }
}

/// The sends of `script` through the Bash runtime alone and with the daemon: (alone, daemon).
fn both(tag: &str, test: &str, script: &str) -> Option<(String, String)> {
    both_with(tag, test, &[], script)
}

/// [`both`] with extra classes compiled into both copies first.
fn both_with(
    tag: &str,
    test: &str,
    classes: &[(&str, &str)],
    script: &str,
) -> Option<(String, String)> {
    let (src, jq_dir) = setup(test)?;
    let alone_dir = TmpDir::new(&format!("{tag}a"));
    let home = private_copy(&alone_dir, &src);
    add_classes(&home, &jq_dir, classes);
    let alone = run_bash(&home, &jq_dir, &alone_dir.join("none.sock"), script);

    let dir = TmpDir::new(&format!("{tag}d"));
    let home = private_copy(&dir, &src);
    add_classes(&home, &jq_dir, classes);
    let sock = dir.join("tt.sock");
    let plugins = home.join(".trashtalk/trash/.compiled");
    let mut child = Command::new(tt_bin())
        .arg("--socket")
        .arg(&sock)
        .arg("--plugin-dir")
        .arg(&plugins)
        .env("HOME", &home)
        .env_remove("SQLITE_JSON_DB")
        .env_remove("TRASHTALK_ROOT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sock.exists() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let with = run_bash(&home, &jq_dir, &sock, script);
    let _ = child.kill();
    let _ = child.wait();
    Some((alone, with))
}

/// Lines that are not `mode:` lines.
fn answers(out: &str) -> Vec<&str> {
    out.lines().filter(|l| !l.starts_with("mode:")).collect()
}

#[test]
fn counter_sends_answer_as_in_bash() {
    let script = r#"
c=$(@ Counter new)
state "$c"
show $c setStep: 3; state "$c"
show $c increment; mode; state "$c"
show $c incrementBy: 10; state "$c"
show $c decrement; state "$c"
show $c getValue; mode
show $c reset; state "$c"
show Counter description; mode
"#;
    let Some((alone, with)) = both("diffc", "counter_sends_answer_as_in_bash", script) else {
        return;
    };
    assert!(
        with.lines().any(|l| l == "mode: native"),
        "the daemon served none of the sends natively:\n{with}"
    );
    assert!(
        !answers(&alone).is_empty(),
        "no output from the Bash runtime"
    );
    assert_eq!(
        answers(&alone),
        answers(&with),
        "alone:\n{alone}\nwith the daemon:\n{with}"
    );
}

const DIFF_BASE: &str = "DiffBase subclass: Object
  instanceVars: total:5 label
  method: addTo: n [
    total := total + n
    ^ total
  ]
  method: named: s [
    label := s
    ^ label
  ]
";

const DIFF_KID: &str = "DiffKid subclass: DiffBase
  include: Debuggable
  instanceVars: ratio:2 tag:'kid'
  method: scale [
    total := total * ratio
    ^ total
  ]
  method: getTag [
    ^ tag
  ]
";

#[test]
fn inherited_ivars_defaults_and_traits_answer_as_in_bash() {
    let script = r#"
k=$(@ DiffKid new)
state "$k"
show $k addTo: 3; mode; state "$k"
show $k scale; mode; state "$k"
show $k named: hello; state "$k"
show $k getTag; mode
show $k addTo: -20; state "$k"
"#;
    let classes = [("DiffBase", DIFF_BASE), ("DiffKid", DIFF_KID)];
    let Some((alone, with)) = both_with(
        "diffk",
        "inherited_ivars_defaults_and_traits_answer_as_in_bash",
        &classes,
        script,
    ) else {
        return;
    };
    assert!(
        with.lines().any(|l| l == "mode: native"),
        "the daemon served none of the sends natively:\n{with}"
    );
    assert!(
        alone.contains("\"_vars\""),
        "no state from the Bash runtime:\n{alone}"
    );
    assert_eq!(
        answers(&alone),
        answers(&with),
        "alone:\n{alone}\nwith the daemon:\n{with}"
    );
}
