//! Bash bridge tests (docs/spec/daemon-protocol.md §10) against `tests/fixtures/fake_trash.bash`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tt_vm::bridge::{BashBridge, BridgeConfig, BridgeError};

/// A temporary `TRASHTALK_ROOT` whose `lib/trash.bash` is the fixture.
fn fake_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lib")).expect("mkdir lib");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_trash.bash");
    std::fs::copy(&fixture, root.path().join("lib/trash.bash")).expect("copy fixture");
    root
}

fn bridge_with(root: &Path, timeout: Duration) -> BashBridge {
    BashBridge::new(BridgeConfig {
        trash_root: root.to_path_buf(),
        timeout,
    })
}

fn bridge(root: &Path) -> BashBridge {
    bridge_with(root, Duration::from_secs(20))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn plain_call_strips_one_trailing_newline() {
    let root = fake_root();
    let b = bridge(root.path());
    assert!(b.available());
    assert_eq!(b.child_pid(), None, "the child is started lazily");
    let out = b.call("s1", "Echo", "args", &strings(&["a", "b"])).unwrap();
    assert_eq!(out, "ECHO args\narg:a\narg:b");
    assert_eq!(b.call("s1", "Echo", "trailing", &[]).unwrap(), "a\n");
    assert_eq!(b.call("s1", "Quiet", "x", &[]).unwrap(), "");
    assert_eq!(b.call("s1", "Echo", "count", &[]).unwrap(), "0");
}

#[test]
fn child_is_persistent() {
    let root = fake_root();
    let b = bridge(root.path());
    let first = b.call("s", "Pid", "x", &[]).unwrap();
    let pid = b.child_pid().expect("child running");
    assert_eq!(first, pid.to_string());
    for _ in 0..5 {
        assert_eq!(b.call("s", "Pid", "x", &[]).unwrap(), first);
    }
}

#[test]
fn arguments_arrive_byte_exact_and_are_never_executed() {
    let root = fake_root();
    let canary: PathBuf = root.path().join("CANARY");
    let c = canary.display().to_string();
    let nasty: Vec<String> = vec![
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("; touch {c}"),
        format!("\"; touch {c}; echo \""),
        format!("'; touch {c}; echo '"),
        format!("$(touch {c}) && `touch {c}` | touch {c} & touch {c}"),
        format!("\ntouch {c}\n"),
        "line1\nline2\n\n".into(),
        String::new(),
        "   leading and trailing spaces   ".into(),
        "tab\there\\n backslash \\ end\\".into(),
        "${HOME} $HOME $((1+1)) ~ * ? [a-z] {a,b} !! \\$".into(),
        "\r\n\u{7}\u{1b}[31m".into(),
        "日本語 – émoji 🎉 ∑".into(),
        "-n".into(),
        "-e".into(),
        "--".into(),
        "%s %d %%".into(),
        String::new(),
    ];
    let b = bridge(root.path());
    let out = b.call("s", "Echo", "nul", &nasty).unwrap();
    let mut got: Vec<&str> = out.split('\0').collect();
    assert_eq!(got.pop(), Some(""), "every argument is NUL-terminated");
    assert_eq!(got, nasty.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        b.call("s", "Echo", "count", &nasty).unwrap(),
        nasty.len().to_string()
    );
    // Receiver and selector are data too.
    let err = b
        .call("s", &format!("$(touch {c})"), &format!("`touch {c}`"), &[])
        .unwrap_err();
    assert!(matches!(err, BridgeError::NotFound { .. }), "{err:?}");
    assert!(!canary.exists(), "an argument was executed as shell code");
}

#[test]
fn nul_bytes_are_refused() {
    let root = fake_root();
    let b = bridge(root.path());
    let err = b
        .call("s", "Echo", "args", &strings(&["a\0b"]))
        .unwrap_err();
    assert!(matches!(err, BridgeError::NulByte), "{err:?}");
    assert_eq!(b.child_pid(), None, "refused before starting a child");
}

#[test]
fn send_does_not_read_the_protocol_stream() {
    let root = fake_root();
    let b = bridge(root.path());
    assert_eq!(b.call("s", "Stdin", "x", &[]).unwrap(), "0");
    assert_eq!(
        b.call("s", "Echo", "args", &strings(&["still", "fine"]))
            .unwrap(),
        "ECHO args\narg:still\narg:fine"
    );
}

#[test]
fn failure_carries_exit_status_and_stderr() {
    let root = fake_root();
    let b = bridge(root.path());
    let err = b.call("s", "Fail", "boom", &[]).unwrap_err();
    match &err {
        BridgeError::Exit { code, stderr } => {
            assert_eq!(*code, 3);
            assert_eq!(stderr, "failure: boom");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.to_string(), "bash error (exit 3): failure: boom");
    let err = b.call("s", "Exit", "7", &[]).unwrap_err();
    assert_eq!(err.to_string(), "bash error (exit 7)");
    // `exit` inside `@` ends only the send's subshell, not the child.
    let pid = b.child_pid();
    assert_eq!(b.call("s", "Echo", "x", &[]).unwrap(), "ECHO x");
    assert_eq!(b.child_pid(), pid);
}

#[test]
fn exit_200_is_not_found() {
    let root = fake_root();
    let b = bridge(root.path());
    let err = b.call("s", "Missing", "frob", &[]).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "bash error (exit 200): Error: Method 'frob' not found in Missing or its superclasses"
    );
    let e: tt_vm::Error = err.into();
    assert!(e.is_not_found());
}

#[test]
fn timeout_kills_and_replaces_the_child() {
    let root = fake_root();
    let b = bridge_with(root.path(), Duration::from_millis(300));
    // Start the child first so start-up is not part of the measured call.
    assert_eq!(b.call("s", "Echo", "x", &[]).unwrap(), "ECHO x");
    let before = b.child_pid().expect("child");
    let t = Instant::now();
    let err = b.call("s", "Sleep", "5", &[]).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(err, BridgeError::Timeout(_)), "{err:?}");
    assert_eq!(err.to_string(), "bash bridge timed out after 300 ms");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(b.child_pid(), None, "the timed-out child is gone");
    assert!(
        !Path::new(&format!("/proc/{before}")).exists()
            || std::fs::read_to_string(format!("/proc/{before}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true),
        "old child still running"
    );
    assert_eq!(b.call("s", "Echo", "x", &[]).unwrap(), "ECHO x");
    assert_ne!(b.child_pid(), Some(before));
}

#[test]
fn killed_child_is_reported_then_replaced() {
    let root = fake_root();
    let b = bridge(root.path());
    assert_eq!(b.call("s", "Echo", "x", &[]).unwrap(), "ECHO x");
    let before = b.child_pid().expect("child");
    let err = b.call("s", "Die", "x", &[]).unwrap_err();
    assert!(matches!(err, BridgeError::Died(_)), "{err:?}");
    assert!(err.to_string().starts_with("bash bridge process died"));
    assert_eq!(b.call("s", "Echo", "y", &[]).unwrap(), "ECHO y");
    assert_ne!(b.child_pid(), Some(before));
}

#[test]
fn child_killed_between_calls_is_replaced_silently() {
    let root = fake_root();
    let b = bridge(root.path());
    b.call("s", "Echo", "x", &[]).unwrap();
    let pid = b.child_pid().expect("child");
    let st = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.call("s", "Echo", "z", &[]).unwrap(), "ECHO z");
    assert_ne!(b.child_pid(), Some(pid));
}

#[test]
fn environment_of_the_child() {
    let root = fake_root();
    let b = bridge(root.path());
    assert_eq!(
        b.call("sess-1", "Env", "x", &[]).unwrap(),
        "1\nsess-1\n/tmp/trashtalk_sess-1"
    );
}

#[test]
fn session_change_re_exports_without_restarting() {
    let root = fake_root();
    let b = bridge(root.path());
    assert_eq!(
        b.call("a", "Env", "x", &[]).unwrap(),
        "1\na\n/tmp/trashtalk_a"
    );
    let pid = b.child_pid();
    assert_eq!(
        b.call("b", "Env", "x", &[]).unwrap(),
        "1\nb\n/tmp/trashtalk_b"
    );
    assert_eq!(b.child_pid(), pid);
}

#[test]
fn fallback_trait_uses_the_configured_session() {
    use tt_vm::runtime::BashFallback;
    let root = fake_root();
    let b = bridge(root.path());
    b.set_session(Some("trait-sess"));
    assert_eq!(b.session(), "trait-sess");
    let out = BashFallback::call(&b, "Env", "x", &[]).unwrap();
    assert_eq!(out, "1\ntrait-sess\n/tmp/trashtalk_trait-sess");
    let err = BashFallback::call(&b, "Fail", "boom", &[]).unwrap_err();
    assert_eq!(err.message(), "bash error (exit 3): failure: boom");
    assert_eq!(err.kind(), tt_vm::ErrorKind::Bridge);
    b.set_session(Some(""));
    assert_eq!(b.session(), tt_vm::bridge::default_session());
}

#[test]
fn missing_runtime_is_unavailable() {
    let root = tempfile::tempdir().unwrap();
    let b = bridge(root.path());
    assert!(!b.available());
    let err = b.call("s", "Echo", "x", &[]).unwrap_err();
    assert!(matches!(err, BridgeError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.to_string(), "bash bridge not available");
}

#[test]
fn concurrent_calls_are_serialized() {
    let root = fake_root();
    let b = std::sync::Arc::new(bridge(root.path()));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let b = b.clone();
            std::thread::spawn(move || {
                for j in 0..10 {
                    let arg = format!("{i}-{j}");
                    let out = b
                        .call("s", "Echo", "args", std::slice::from_ref(&arg))
                        .unwrap();
                    assert_eq!(out, format!("ECHO args\narg:{arg}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn large_arguments_and_output() {
    let root = fake_root();
    let b = bridge(root.path());
    let big = "x\ny'z\"".repeat(20_000);
    let out = b
        .call("s", "Echo", "nul", std::slice::from_ref(&big))
        .unwrap();
    assert_eq!(out, format!("{big}\0"));
}
