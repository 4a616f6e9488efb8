//! Request limits of the daemon (docs/limits.md): a deadline per request (`--request-timeout`),
//! a memory budget per request (`--request-memory`), and SIGTERM stopping running requests.

mod daemon_support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use daemon_support::{Daemon, tt_bin};

/// `tt compile SOURCE`: the chunk's hex.
fn compile(source: &str) -> String {
    let out = Command::new(tt_bin())
        .args(["compile", source])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn register(d: &Daemon, source: &str) -> String {
    let r = d.json(&format!(
        r#"{{"block_op":"register","block_data":"{}"}}"#,
        compile(source)
    ));
    assert_eq!(r["exit_code"], 0, "{r}");
    r["block_id"].as_str().unwrap().to_string()
}

fn invoke(id: &str, args: &str) -> String {
    format!(
        r#"{{"block_op":"invoke","block_id":"{id}","block_data":"{}"}}"#,
        args.replace('"', "\\\"")
    )
}

/// The daemon still answers a plain block.
fn still_serving(d: &Daemon) {
    let add = register(d, "[:a :b | a + b]");
    let r = d.json(&invoke(&add, r#"["40","2"]"#));
    assert_eq!(r["exit_code"], 0, "{r}");
    assert_eq!(r["result"], "42");
}

#[test]
fn an_endless_block_answers_deadline_exceeded_and_the_daemon_keeps_serving() {
    let d = Daemon::start("limit-deadline", false, &["--request-timeout", "0.3"]);
    for source in [
        "[[true] whileTrue]",
        "[| n | n := 0. [true] whileTrue: [n := n + 1]]",
    ] {
        let id = register(&d, source);
        let t = Instant::now();
        let r = d.json(&invoke(&id, "[]"));
        let took = t.elapsed();
        assert_eq!(r["exit_code"], 1, "{r}");
        let err = r["error"].as_str().unwrap();
        assert!(
            err.starts_with("deadline exceeded") && err.contains("--request-timeout"),
            "{err}"
        );
        assert!(took < Duration::from_secs(5), "answered after {took:?}");
        still_serving(&d);
    }
}

#[test]
fn a_string_doubled_in_a_loop_answers_memory_limit_exceeded() {
    let d = Daemon::start("limit-memory", false, &["--request-memory", "8"]);
    let id = register(&d, "[| s | s := 'ab'. [true] whileTrue: [s := s , s]]");
    let r = d.json(&invoke(&id, "[]"));
    assert_eq!(r["exit_code"], 1, "{r}");
    let err = r["error"].as_str().unwrap();
    assert!(
        err.starts_with("memory limit exceeded") && err.contains("--request-memory"),
        "{err}"
    );
    still_serving(&d);
    // The budget is per request: the next one starts with a full one.
    let r = d.json(&invoke(&id, "[]"));
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .starts_with("memory limit exceeded")
    );
}

#[test]
fn sigterm_with_three_endless_requests_exits_within_a_second() {
    let mut d = Daemon::start("limit-sigterm", false, &["--request-timeout", "60"]);
    let id = Arc::new(register(&d, "[[true] whileTrue]"));
    let sock = Arc::new(d.sock.clone());
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (id, sock) = (id.clone(), sock.clone());
            std::thread::spawn(move || {
                let mut s = std::os::unix::net::UnixStream::connect(&*sock).unwrap();
                use std::io::{Read, Write};
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s.write_all(format!("{}\n", invoke(&id, "[]")).as_bytes())
                    .unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    d.signal("TERM");
    let code = d.wait_exit(10);
    let took = t.elapsed();
    assert_eq!(code, Some(0), "{}", d.stderr());
    assert!(took < Duration::from_secs(1), "exited after {took:?}");
    for c in clients {
        let reply = c.join().unwrap();
        // The running request answers `interrupted`; the queued ones get no reply.
        assert!(reply.is_empty() || reply.contains("interrupted"), "{reply}");
    }
}

#[test]
fn tt_eval_timeout_stops_an_endless_loop_in_both_tiers() {
    for jit in ["never", "always"] {
        let t = Instant::now();
        let out = Command::new(tt_bin())
            .args(["eval", "--jit", jit, "--timeout", "0.2"])
            .arg("[| n | n := 0. [true] whileTrue: [n := n + 1]]")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "tt: deadline exceeded"
        );
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    // Without a timeout a finite block is unaffected.
    let out = Command::new(tt_bin())
        .args(["eval", "--timeout", "5", "[:x | x + 1]", "41"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}
