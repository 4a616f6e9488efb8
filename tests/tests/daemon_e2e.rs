//! End-to-end tests of the `tt` daemon: the real binary in socket mode and in stdin/stdout mode
//! (docs/spec/daemon-protocol.md §3–§8, §13).

mod daemon_support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use daemon_support::*;
use serde_json::Value as Json;

#[test]
fn socket_mode_answers_the_section_13_vectors() {
    let d = Daemon::start("vec", false, &[]);
    for (i, (req, expect)) in VECTORS.iter().enumerate() {
        check(i + 1, req, &d.raw(req), *expect);
    }
}

#[test]
fn stdio_mode_answers_the_section_13_vectors() {
    let dir = TmpDir::new("stdio");
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    // Empty lines are skipped.
    let input: String = VECTORS.iter().map(|(r, _)| format!("{r}\n\n")).collect();
    let (lines, code) = run_stdio(&dir, &[], &input);
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), VECTORS.len(), "{lines:#?}");
    for (i, ((req, expect), line)) in VECTORS.iter().zip(&lines).enumerate() {
        check(i + 1, req, &format!("{line}\n"), *expect);
    }
    assert!(!dir.join("tt.sock.pid").exists());
}

#[test]
fn json_dispatch_counter_rows_27_to_29() {
    let d = Daemon::start("json", true, &[]);
    for (i, (req, expect)) in COUNTER_VECTORS.iter().enumerate() {
        check(i + 27, req, &d.raw(req), *expect);
    }
    // The same rows over stdin/stdout.
    let dir = TmpDir::new("jsonio");
    build_json_counter(&dir.join("plugins"));
    let input: String = COUNTER_VECTORS
        .iter()
        .map(|(r, _)| format!("{r}\n"))
        .collect();
    let (lines, code) = run_stdio(&dir, &[], &input);
    assert_eq!(code, Some(0));
    for (i, ((req, expect), line)) in COUNTER_VECTORS.iter().zip(&lines).enumerate() {
        check(i + 27, req, &format!("{line}\n"), *expect);
    }
}

#[test]
fn json_dispatch_error_replies() {
    let d = Daemon::start("jsonerr", true, &[]);
    let send = |sel: &str| {
        d.json(&format!(
            r#"{{"class":"Counter","instance":"","selector":"{sel}","args":[]}}"#
        ))
    };
    assert_eq!(
        send("nil"),
        serde_json::json!({"exit_code":1,"error":"dispatch returned nil"})
    );
    assert!(
        send("garbage")["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid dispatch response: ")
    );
    assert_eq!(
        send("weird"),
        serde_json::json!({"exit_code":1,"error":"plugin returned exit code 7"})
    );
    assert_eq!(
        send("fail"),
        serde_json::json!({"exit_code":1,"error":"counter failure"})
    );
    // Class side: instanceJSON is the class name; an object `instance` comes back as its JSON text.
    let r = send("new");
    assert_eq!(r["result"], "counter_fresh");
    assert_eq!(r["instance"], r#"{"class":"Counter","value":0}"#);
    // Another class without a plugin file, and the ping, still fall back.
    let r = d.json(r#"{"class":"Nope","instance":"","selector":"new","args":[]}"#);
    assert_eq!(
        r,
        serde_json::json!({"exit_code":200,"execution_mode":"fallback"})
    );
}

#[test]
fn a_plugin_that_fails_to_load_falls_back() {
    let d = Daemon::start("badplug", false, &["--debug"]);
    std::fs::write(d.plugins.join("Broken.so"), b"not an ELF file").unwrap();
    std::fs::write(d.plugins.join("MyApp__Broken.so"), b"not an ELF file").unwrap();
    for class in ["Broken", "MyApp::Broken"] {
        let r = d.json(&format!(
            r#"{{"class":"{class}","instance":"","selector":"new","args":[]}}"#
        ));
        assert_eq!(
            r,
            serde_json::json!({"exit_code":200,"execution_mode":"fallback"})
        );
    }
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );
}

#[test]
fn socket_and_pid_file_permissions() {
    let d = Daemon::start("perm", false, &[]);
    let mode = std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    let pid_file = d.dir.join("tt.sock.pid");
    assert_eq!(
        std::fs::metadata(&pid_file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        d.pid().to_string()
    );

    let d2 = Daemon::start("perm2", false, &["--socket-mode", "0660"]);
    let mode = std::fs::metadata(&d2.sock).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o660);
}

#[test]
fn bad_input_never_kills_the_daemon() {
    let d = Daemon::start("bad", false, &[]);
    let bad: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[]".to_vec(),
        b"\"just a string\"".to_vec(),
        b"42".to_vec(),
        b"null".to_vec(),
        b"{\"class\":null,\"selector\":null,\"args\":null}".to_vec(),
        b"{\"class\":[1]}".to_vec(),
        b"{\"args\":\"x\"}".to_vec(),
        b"{\"block_op\":7}".to_vec(),
        vec![0xff, 0xfe, 0x00, b'{'],
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        b"{\"block_op\":\"invoke\",\"block_id\":\"bytecode_block_1\",\"block_data\":\"[1,2]\"}"
            .to_vec(),
        b"{\"block_op\":\"register\",\"block_data\":\"545442430001\"}".to_vec(),
        b"{\"block_op\":\"register\",\"block_data\":\"abc\"}".to_vec(),
        b"{\"class\":\"Counter\",\"instance\":\"not json\",\"selector\":\"x\",\"args\":[]}"
            .to_vec(),
        b"{\"class\":\"../../etc/passwd\",\"selector\":\"x\",\"args\":[]}".to_vec(),
        b"{\"class\":\"A\\u0000B\",\"selector\":\"x\",\"args\":[]}".to_vec(),
    ];
    for line in &bad {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(line).unwrap();
        s.write_all(b"\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let j: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        let code = j["exit_code"].as_i64().unwrap();
        assert!(code == 1 || code == 200, "{out}");
        if code == 1 {
            assert!(!j["error"].as_str().unwrap().is_empty());
        }
    }
    // Connections that close early, or send nothing.
    for partial in [&b""[..], b"{\"class\":", b"\n"] {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(partial).unwrap();
        drop(s);
    }
    // A client that sends and closes without reading.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(b"{\"block_op\":\"serialize\"}\n").unwrap();
    drop(s);
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );
    assert_eq!(d.json(VECTORS[4].0)["block_id"], "bytecode_block_1");
}

#[test]
fn framing_eof_without_newline_and_empty_connections() {
    let d = Daemon::start("frame", false, &[]);
    // EOF before `\n`: non-empty data is processed.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(br#"{"class":"","selector":"ping","args":[]}"#)
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert_eq!(out, "{\"exit_code\":200,\"execution_mode\":\"fallback\"}\n");
    // Empty data: closed without reply.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert_eq!(out, "");
    // Only the first line of a connection is a request.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.write_all(b"{\"block_op\":\"serialize\"}\n{\"block_op\":\"frobnicate\"}\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert_eq!(
        out,
        "{\"exit_code\":1,\"error\":\"block_id is required\"}\n"
    );
}

#[test]
fn request_size_limit() {
    let d = Daemon::start("big", false, &[]);
    // Just under 16 MiB is accepted.
    let filler = "x".repeat(16 * 1024 * 1024 - 100);
    let line = format!(r#"{{"class":"","selector":"{filler}","args":[]}}"#);
    assert!(line.len() <= 16 * 1024 * 1024);
    assert_eq!(d.json(&line)["exit_code"], 200);
    // Over the limit: `request too large` (the client may still be writing).
    let filler = "x".repeat(17 * 1024 * 1024);
    let line = format!(r#"{{"class":"","selector":"{filler}","args":[]}}"#);
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(line.as_bytes());
            let _ = w.write_all(b"\n");
            let _ = w.shutdown(std::net::Shutdown::Write);
        })
    };
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    writer.join().unwrap();
    assert_eq!(out, "{\"exit_code\":1,\"error\":\"request too large\"}\n");
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );

    // stdin/stdout mode: the same limit, then the next line is served.
    let dir = TmpDir::new("bigio");
    let input = format!(
        "{}\n{}\n",
        "y".repeat(17 * 1024 * 1024),
        r#"{"block_op":"serialize"}"#
    );
    let (lines, code) = run_stdio(&dir, &[], &input);
    assert_eq!(code, Some(0));
    assert_eq!(
        lines,
        vec![
            r#"{"exit_code":1,"error":"request too large"}"#.to_owned(),
            r#"{"exit_code":1,"error":"block_id is required"}"#.to_owned(),
        ]
    );
}

#[test]
fn load_8_clients_x_250_mixed_requests() {
    let d = Arc::new(Daemon::start("load", false, &[]));
    let r = d.json(VECTORS[4].0);
    assert_eq!(r["block_id"], "bytecode_block_1");
    let start = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let d = d.clone();
            std::thread::spawn(move || {
                for i in 0..250i64 {
                    if i % 3 == 0 {
                        let r = d.json(r#"{"class":"","selector":"ping","args":[]}"#);
                        assert_eq!(r["exit_code"], 200);
                    } else {
                        let (a, b) = (c * 1000 + i, i * 7 - 3);
                        let req = format!(
                            r#"{{"block_op":"invoke","block_id":"bytecode_block_1","block_data":"[\"{a}\",\"{b}\"]"}}"#
                        );
                        let r = d.json(&req);
                        assert_eq!(r["exit_code"], 0, "{r}");
                        assert_eq!(r["result"], (a + b).to_string(), "{req}");
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client failed");
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "2000 requests took {took:?}"
    );
}

#[test]
fn a_silent_client_does_not_delay_others() {
    let d = Daemon::start("slow", false, &[]);
    let mut silent = Vec::new();
    for _ in 0..20 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(b"{\"class\":").unwrap(); // partial, never finished
        silent.push(s);
    }
    let t = Instant::now();
    assert_eq!(d.json(VECTORS[4].0)["exit_code"], 0);
    assert_eq!(
        d.json(
            r#"{"block_op":"invoke","block_id":"bytecode_block_1","block_data":"[\"1\",\"2\"]"}"#
        )["result"],
        "3"
    );
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    drop(silent);
}

#[test]
fn ping_is_answered_while_a_request_executes_and_execution_is_serialized() {
    let d = Arc::new(Daemon::start("busy", true, &[]));
    let sleep = |ms: u64| {
        format!(r#"{{"class":"Counter","instance":"","selector":"sleep_","args":["{ms}"]}}"#)
    };
    let slow = {
        let d = d.clone();
        let req = sleep(1500);
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = d.json(&req);
            (r, t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // Queued behind the slow one (needs the runtime).
    let queued = {
        let d = d.clone();
        let req = sleep(10);
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = d.json(&req);
            (r, t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "ping took {:?}",
        t.elapsed()
    );
    let (r, _) = slow.join().unwrap();
    assert_eq!(r["result"], "slept");
    let (r, waited) = queued.join().unwrap();
    assert_eq!(r["result"], "slept");
    assert!(
        waited >= Duration::from_millis(900),
        "the queued request ran concurrently ({waited:?})"
    );
}

#[test]
fn sigterm_finishes_the_current_request_and_cleans_up() {
    let mut d = Daemon::start("term", true, &[]);
    let sock = d.sock.clone();
    let pid_file = d.dir.join("tt.sock.pid");
    assert!(pid_file.exists());
    let slow = {
        let sock = sock.clone();
        std::thread::spawn(move || {
            request(
                &sock,
                r#"{"class":"Counter","instance":"","selector":"sleep_","args":["700"]}"#,
            )
        })
    };
    std::thread::sleep(Duration::from_millis(250));
    d.signal("TERM");
    assert_eq!(d.wait_exit(10), Some(0));
    let reply = slow.join().unwrap();
    assert!(reply.contains("\"slept\""), "{reply:?}");
    assert!(!sock.exists(), "socket left behind");
    assert!(!pid_file.exists(), "pid file left behind");

    let mut d = Daemon::start("int", false, &[]);
    d.signal("INT");
    assert_eq!(d.wait_exit(10), Some(0));
    assert!(!d.sock.exists() && !d.dir.join("tt.sock.pid").exists());
}

#[test]
fn sigpipe_does_not_terminate_the_daemon() {
    let d = Daemon::start("pipe", true, &[]);
    for _ in 0..20 {
        let mut s = UnixStream::connect(&d.sock).unwrap();
        s.write_all(br#"{"class":"Counter","instance":"","selector":"sleep_","args":["5"]}"#)
            .unwrap();
        s.write_all(b"\n").unwrap();
        drop(s); // gone before the reply is written
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );
}

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

#[test]
fn stale_socket_is_removed_and_obstacles_are_refused() {
    let dir = TmpDir::new("stale");
    let sock = dir.join("tt.sock");
    // A socket file nobody listens on.
    drop(UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let mut child = Command::new(tt_bin())
        .arg("--socket")
        .arg(&sock)
        .arg("--plugin-dir")
        .arg(dir.join("plugins"))
        .arg("--db")
        .arg(dir.join("db.sqlite"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&sock).is_err() {
        assert!(
            Instant::now() < until,
            "daemon did not replace the stale socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        request(&sock, r#"{"class":"","selector":"ping","args":[]}"#),
        "{\"exit_code\":200,\"execution_mode\":\"fallback\"}\n"
    );
    // A second daemon on a live socket is refused.
    let s = sock.to_str().unwrap();
    let (_, err, code) = tt(&["--socket", s, "--plugin-dir", "/nonexistent"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim(),
        format!("tt: another daemon is listening on {s}")
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert_eq!(child.wait().unwrap().code(), Some(0));

    // Not a socket.
    let file = dir.join("plain");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    let (_, err, code) = tt(&[
        "--socket",
        f,
        "--plugin-dir",
        "/nonexistent",
        "--db",
        dir.join("db2").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(err.trim(), format!("tt: {f} exists and is not a socket"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn status_kill_and_restart() {
    let mut d = Daemon::start("mgmt", false, &[]);
    let s = d.sock.to_str().unwrap().to_owned();
    let (out, _, code) = tt(&["--status", "--socket", &s]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        format!("Status: running\nPID: {}\nSocket: {s}\n", d.pid())
    );

    // --restart: stops the running daemon and serves again on the same socket.
    let mut restarted = Command::new(tt_bin())
        .args(["--restart", "--socket", &s, "--plugin-dir"])
        .arg(&d.plugins)
        .arg("--db")
        .arg(&d.db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(d.wait_exit(10), Some(0), "old daemon not stopped");
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let pid = std::fs::read_to_string(d.dir.join("tt.sock.pid")).unwrap_or_default();
        if pid.trim() == restarted.id().to_string() && UnixStream::connect(&d.sock).is_ok() {
            break;
        }
        assert!(Instant::now() < until, "restarted daemon not up");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );

    let (out, _, code) = tt(&["-kill", "-socket", &s]);
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("Killed daemon (PID {})\n", restarted.id()));
    assert_eq!(restarted.wait().unwrap().code(), Some(0));
    assert!(!d.sock.exists() && !d.dir.join("tt.sock.pid").exists());

    let (out, _, _) = tt(&["--status", &format!("--socket={s}")]);
    assert_eq!(
        out,
        format!("Status: stopped\nPID: none\nSocket: {s} (missing)\n")
    );
    std::fs::write(d.dir.join("tt.sock.pid"), "999999999").unwrap();
    let (out, _, _) = tt(&["--status", "--socket", &s]);
    assert_eq!(
        out,
        format!("Status: stopped\nPID: 999999999 (not running)\nSocket: {s} (missing)\n")
    );
    std::fs::remove_file(d.dir.join("tt.sock.pid")).unwrap();
    let (out, _, code) = tt(&["--kill", "--socket", &s]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "No daemon running (PID file not found)\n");
}

#[test]
fn idle_timeout_stops_the_daemon() {
    let mut d = Daemon::start("idle", false, &["--idle-timeout", "1"]);
    assert_eq!(
        d.json(r#"{"class":"","selector":"ping","args":[]}"#)["exit_code"],
        200
    );
    assert_eq!(d.wait_exit(10), Some(0));
    assert!(!d.sock.exists() && !d.dir.join("tt.sock.pid").exists());
}

#[test]
fn command_line_spellings_and_usage_errors() {
    for flag_style in 0..3 {
        let dir = TmpDir::new("flags");
        let sock = dir.join("tt.sock");
        let s = sock.to_str().unwrap();
        let p = dir.join("plugins");
        let p = p.to_str().unwrap();
        let args: Vec<String> = match flag_style {
            0 => vec![
                "--socket".into(),
                s.into(),
                "--plugin-dir".into(),
                p.into(),
                "--idle-timeout".into(),
                "1".into(),
            ],
            1 => vec![
                format!("--socket={s}"),
                format!("--plugin-dir={p}"),
                "--idle-timeout=1".into(),
            ],
            _ => vec![
                "-socket".into(),
                s.into(),
                "-plugin-dir".into(),
                p.into(),
                "-idle-timeout".into(),
                "1".into(),
            ],
        };
        let mut child = Command::new(tt_bin())
            .args(&args)
            .env("HOME", &dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&sock).is_err() {
            assert!(Instant::now() < until, "style {flag_style}: no socket");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
    for bad in [
        &["--bogus"][..],
        &["--idle-timeout", "soon"],
        &["--socket-mode", "999"],
        &["--socket"],
    ] {
        let (out, err, code) = tt(bad);
        assert_eq!(code, Some(2), "{bad:?}");
        assert!(out.is_empty());
        assert!(err.to_lowercase().contains("usage"), "{bad:?}: {err}");
    }
}

#[test]
fn inspect_lists_plugins_and_classes() {
    let dir = TmpDir::new("inspect");
    let plugins = dir.join("plugins");
    build_json_counter(&plugins);
    std::fs::write(plugins.join("MyApp__Thing.so"), vec![0u8; 1000]).unwrap();
    std::fs::write(plugins.join("README.txt"), "not a plugin").unwrap();
    let p = plugins.to_str().unwrap();
    let (out, _, code) = tt(&["--inspect", "classes", "--plugin-dir", p]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "Counter\nMyApp::Thing\n");
    let (out, _, code) = tt(&["--inspect", "plugins", "--plugin-dir", p]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("Counter"));
    assert!(lines[1].starts_with("MyApp::Thing") && lines[1].contains("1000"));
    assert!(lines[2].starts_with("Total: 2 plugins"));
    let db = dir.join("db.sqlite");
    let (out, _, code) = tt(&[
        "--inspect",
        "counter_nope",
        "--plugin-dir",
        p,
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "Instance not found: counter_nope\n");
}

#[test]
fn trace_and_profile_lines() {
    let dir = TmpDir::new("trace");
    let (trace, profile) = (dir.join("trace.log"), dir.join("profile.log"));
    let d = Daemon::start(
        "traced",
        true,
        &[
            "--trace",
            trace.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    for (req, _) in COUNTER_VECTORS {
        d.raw(req);
    }
    d.raw(r#"{"class":"Nope","instance":"","selector":"new","args":[]}"#);
    drop(d);
    let stamp = |line: &str| {
        let b = line.as_bytes();
        b.len() > 15
            && b[0] == b'['
            && b[13] == b']'
            && b[14] == b' '
            && line[1..13].chars().enumerate().all(|(i, c)| match i {
                2 | 5 => c == ':',
                8 => c == '.',
                _ => c.is_ascii_digit(),
            })
    };
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(!t.is_empty());
    assert!(t.lines().all(stamp), "{t}");
    assert!(t.contains("Counter>>incrementBy_: JSON dispatch"), "{t}");
    assert!(
        t.contains("Nope class>>new: no plugin, class not registered → fallback"),
        "{t}"
    );
    let p = std::fs::read_to_string(&profile).unwrap();
    assert!(p.lines().all(stamp), "{p}");
    for stage in [
        "plugin_ensure",
        "json_marshal_args",
        "ffi_dispatch",
        "json_unmarshal_resp",
        "request_total",
    ] {
        let line = p
            .lines()
            .find(|l| l[15..].starts_with(&format!("{stage}: ")))
            .unwrap_or_else(|| panic!("no {stage}: {p}"));
        let rest = &line[15 + stage.len() + 2..];
        let (num, detail) = rest.split_once("µs (").unwrap_or_else(|| panic!("{line}"));
        assert!(
            num.parse::<u64>().is_ok() && detail.ends_with(')'),
            "{line}"
        );
    }
}

#[test]
fn initialization_failure_exits_1() {
    let dir = TmpDir::new("initfail");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let db = blocker.join("sub/db.sqlite");
    let sock = dir.join("tt.sock");
    let (out, err, code) = tt(&[
        "--socket",
        sock.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(err.starts_with("tt: "), "{err}");
    assert!(!sock.exists() && !dir.join("tt.sock.pid").exists());
}

#[test]
fn tool_subcommands() {
    let (out, _, code) = tt(&["compile", "[:x :y | x + y]"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.trim(),
        "5454424300010000000000062200220150f000000201780179000000"
    );
    for jit in ["--jit=always", "--jit=never", "--jit=auto"] {
        let (out, _, code) = tt(&["eval", "[:x :y | x + y]", "10", "32", jit]);
        assert_eq!((out.trim(), code), ("42", Some(0)), "{jit}");
    }
    let (_, err, code) = tt(&["eval", "[:x | x + ]"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("tt: "), "{err}");
    let (out, _, code) = tt(&["run", VECTORS[4].0.split('"').nth(7).unwrap(), "1", "2"]);
    assert_eq!((out.trim(), code), ("3", Some(0)));

    let dir = TmpDir::new("load");
    let file = dir.join("counter.trash");
    std::fs::write(
        &file,
        "Counter subclass: Object\n  instanceVars: value:0 step:1\n  method: increment [ value := value + step. ^ value ]\n  rawMethod: dump [ echo \"$value\" ]\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (out, err, code) = tt(&[
        "load",
        f,
        "-e",
        "[ | c | c := Counter new. c increment. c increment ]",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Counter>>increment: native"), "{out}");
    assert!(out.contains("Counter>>dump: fallback ("), "{out}");
    assert_eq!(out.lines().last(), Some("2"), "{out}");

    let (out, _, code) = tt(&["stats"]);
    assert_eq!(code, Some(0));
    let j: Json = serde_json::from_str(out.trim()).unwrap();
    assert!(j.is_object() && j.get("classes").is_some(), "{out}");
}
