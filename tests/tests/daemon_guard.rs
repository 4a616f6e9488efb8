//! Issue #18, deliverables 6–8 at the daemon: no orphans (a daemon whose socket file was removed
//! or replaced exits), local security (peers of another uid are refused; plugins that other
//! users could write are not loaded), and clear command-line errors (negative numbers are
//! arguments; bad arguments get one line and exit 2; `--db` in a missing directory fails).

mod daemon_support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon_support::*;

const PING: &str = r#"{"class":"","selector":"ping","args":[]}"#;

fn tt(args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(tt_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

// ----- no orphans --------------------------------------------------------------------------------

#[test]
fn a_daemon_whose_socket_file_was_removed_exits() {
    let mut d = Daemon::start("orphan-rm", false, &["--debug"]);
    assert!(d.raw(PING).contains("fallback"));
    let pid_file = d.dir.join("tt.sock.pid");
    assert!(pid_file.exists());
    std::fs::remove_file(&d.sock).unwrap();
    assert_eq!(d.wait_exit(3), Some(0), "still running without its socket");
    assert!(d.stderr().contains("socket file removed"));
    assert!(
        !pid_file.exists(),
        "its own pid file is removed on the way out"
    );
}

#[test]
fn a_daemon_whose_socket_was_replaced_exits() {
    let mut a = Daemon::start("orphan-a", false, &[]);
    let b = Daemon::start("orphan-b", false, &[]);
    // Another daemon's socket now sits at A's path.
    std::fs::rename(&b.sock, &a.sock).unwrap();
    assert_eq!(a.wait_exit(3), Some(0), "still running on a path it lost");
    assert!(
        std::fs::symlink_metadata(&a.sock).is_ok(),
        "the exiting daemon removed a socket that was not its own"
    );
}

#[test]
fn a_daemon_whose_path_was_taken_over_leaves_the_new_daemon_alone() {
    let mut a = Daemon::start("orphan-take", false, &[]);
    // What the Bash client does when its pid check fails: remove the files, start a new daemon.
    std::fs::remove_file(&a.sock).unwrap();
    std::fs::remove_file(a.dir.join("tt.sock.pid")).unwrap();
    let mut b = Command::new(tt_bin())
        .arg("--socket")
        .arg(&a.sock)
        .arg("--plugin-dir")
        .arg(&a.plugins)
        .arg("--db")
        .arg(a.dir.join("b.sqlite"))
        .env("HOME", &a.dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&a.sock).is_err() {
        assert!(Instant::now() < until, "the new daemon did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(a.wait_exit(3), Some(0), "the old daemon is an orphan");
    // The new daemon keeps its socket and its pid file.
    assert!(request(&a.sock, PING).contains("fallback"));
    assert_eq!(
        std::fs::read_to_string(a.dir.join("tt.sock.pid"))
            .unwrap()
            .trim(),
        b.id().to_string()
    );
    let _ = Command::new("kill")
        .args(["-s", "TERM", &b.id().to_string()])
        .status();
    assert!(b.wait().unwrap().success());
}

// ----- local security ----------------------------------------------------------------------------

/// The uid the refused client runs as (`nobody`).
const STRANGER: u32 = 65534;

/// When `TT_PEER_CLIENT` names a socket, this test is the client of
/// [`a_peer_with_another_uid_is_refused`] (re-executed as another uid): it sends a ping and
/// prints what came back.
#[test]
fn a_peer_with_another_uid_is_refused() {
    if let Ok(sock) = std::env::var("TT_PEER_CLIENT") {
        let reply = UnixStream::connect(&sock).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.write_all(format!("{PING}\n").as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out).map(|_| out)
        });
        match reply {
            Ok(r) => println!("\nREPLY:{}", r.trim()),
            Err(e) => println!("\nERROR:{e}"),
        }
        return;
    }
    if unsafe_free_euid() != 0 {
        tt_testkit::skip::skip(
            concat!(module_path!(), "::a_peer_with_another_uid_is_refused"),
            "needs root to run a client as another uid",
        );
        return;
    }
    let mut d = Daemon::start("peer", false, &["--debug", "--socket-mode", "0666"]);
    // The stranger must be able to execute the client wherever the checkout lives (CI's clone may
    // sit under a directory other users cannot traverse): run a world-readable copy from /tmp.
    let exe_dir = std::env::temp_dir().join(format!("tt-peer-client-{}", std::process::id()));
    std::fs::create_dir_all(&exe_dir).unwrap();
    std::fs::set_permissions(&exe_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = exe_dir.join("client");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let client = |uid: Option<u32>| {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "a_peer_with_another_uid_is_refused",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TT_PEER_CLIENT", &d.sock)
        .current_dir("/");
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("REPLY:") || l.starts_with("ERROR:"))
            .unwrap_or_else(|| panic!("client printed no reply: {text}"))
            .to_owned()
    };
    // Our own uid is served; the stranger gets the connection closed without a reply.
    assert!(client(None).contains("fallback"));
    let stranger = client(Some(STRANGER));
    let _ = std::fs::remove_dir_all(&exe_dir);
    assert!(!stranger.contains("exit_code"), "{stranger}");
    assert!(d.raw(PING).contains("fallback"), "the daemon still serves");
    d.signal("TERM");
    assert_eq!(d.wait_exit(5), Some(0));
    let err = d.stderr();
    assert!(
        err.contains(&format!("refused a connection from uid {STRANGER}")),
        "{err}"
    );
}

/// The effective uid, read from `/proc/self/status` (this file holds no `unsafe`); `u32::MAX`
/// when unknown.
fn unsafe_free_euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                .and_then(|u| u.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

#[test]
fn a_group_writable_plugin_is_not_loaded_and_the_fix_is_named() {
    let mut d = Daemon::start("plugperm", true, &["--debug"]);
    let so = d.plugins.join("Counter.so");
    std::fs::set_permissions(&so, std::fs::Permissions::from_mode(0o664)).unwrap();
    let (req, _) = COUNTER_VECTORS[0];
    let reply: serde_json::Value = serde_json::from_str(&d.raw(req)).unwrap();
    assert_eq!(reply["exit_code"], 200, "the plugin was used: {reply}");
    d.signal("TERM");
    assert_eq!(d.wait_exit(5), Some(0));
    let err = d.stderr();
    assert!(
        err.contains("refusing to load")
            && err.contains(&format!(
                "chmod go-w {}",
                std::fs::canonicalize(&so).unwrap().display()
            )),
        "{err}"
    );
}

// ----- clear errors ------------------------------------------------------------------------------

#[test]
fn negative_number_is_an_argument_not_a_flag() {
    let add = "5454424300010000000000062200220150f000000201780179000000";
    let (out, err, code) = tt(&["run", add, "-7", "2"]);
    assert_eq!((out.trim(), code), ("-5", Some(0)), "{err}");
    for jit in ["--jit=never", "--jit=always"] {
        let (out, err, code) = tt(&["eval", "[:x :y | x + y]", "-7", "-2", jit]);
        assert_eq!((out.trim(), code), ("-9", Some(0)), "{jit}: {err}");
    }
    let dir = TmpDir::new("negload");
    let file = dir.join("k.trash");
    std::fs::write(&file, "K subclass: Object\n  method: one [ ^ 1 ]\n").unwrap();
    let (out, err, code) = tt(&["load", file.to_str().unwrap(), "-e", "-7"]);
    assert_eq!((out.lines().last(), code), (Some("-7"), Some(0)), "{err}");
}

#[test]
fn bad_arguments_get_one_line_naming_them_and_exit_2() {
    for (args, names) in [
        (&["--bogus"][..], "'--bogus'"),
        (&["run", "5454", "--nope"], "'--nope'"),
        (&["run"], "<CHUNK>"),
        (&["eval"], "<SOURCE>"),
        (&["eval", "[:x | x]", "--jit", "sometimes"], "'sometimes'"),
        (&["--idle-timeout", "-5"], "'-5'"),
        (&["run", "zz"], "chunk zz"),
        (&["run", "@/nonexistent/chunk"], "chunk @/nonexistent/chunk"),
        (&["load", "/nonexistent/x.trash"], "/nonexistent/x.trash"),
        (
            &["--trace", "/nonexistent/dir/t.log"],
            "--trace /nonexistent/dir/t.log",
        ),
    ] {
        let (out, err, code) = tt(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("tt: ") && first.contains(names),
            "{args:?}: first line {first:?} does not name {names}"
        );
        assert!(err.lines().count() <= 2, "{args:?}: {err}");
    }
}

#[test]
fn db_in_a_missing_directory_fails_instead_of_creating_it() {
    let dir = TmpDir::new("nodbdir");
    let db = dir.join("nonexistent/dir/x.db");
    let sock = dir.join("tt.sock");
    let (out, err, code) = tt(&[
        "--socket",
        sock.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(
        err.starts_with("tt: ")
            && err.contains(db.to_str().unwrap())
            && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        !dir.join("nonexistent").exists(),
        "directories were created"
    );
    assert!(!sock.exists());
}
