//! Shared helpers of the `daemon_*` end-to-end tests: locating (and building) the `tt` binary,
//! temporary directories, starting daemons, one-shot socket requests, the §13 vectors and the
//! JSON-dispatch test plugin.
//!
//! The `tt` binary is found next to the test executable's `deps/` directory
//! (`target/<profile>/tt`). `CARGO_BIN_EXE_tt` only exists for integration tests of the `tt`
//! package itself and binary dev-dependencies are not supported by cargo, so the first test that
//! needs it runs `cargo build -p tt` (a no-op when it is fresh) for the same profile directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// The `tt` executable, built on first use.
pub fn tt_bin() -> &'static Path {
    &artifacts().0
}

/// `libtt_plugin_counter_rs.so` (the Rust Counter plugin), built on first use.
pub fn counter_rs_plugin() -> &'static Path {
    &artifacts().1
}

/// (`tt`, the Rust Counter plugin) in `target/<profile>/`, built together once.
fn artifacts() -> &'static (PathBuf, PathBuf) {
    static BIN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let bin = profile_dir.join("tt");
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "tt",
            "-p",
            "tt-plugin-counter-rs",
            "--target-dir",
        ])
        .arg(&target_dir);
        if profile != "debug" {
            cmd.args([
                "--profile",
                if profile == "release" {
                    "release"
                } else {
                    &profile
                },
            ]);
        }
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        let status = cmd.status().expect("running cargo build -p tt");
        assert!(status.success(), "cargo build -p tt failed");
        assert!(bin.is_file(), "{} missing after build", bin.display());
        let rs = profile_dir.join(format!(
            "libtt_plugin_counter_rs.{}",
            if cfg!(target_os = "macos") {
                "dylib"
            } else {
                "so"
            }
        ));
        (bin, rs)
    })
}

/// A temporary directory removed on drop.
pub struct TmpDir(pub PathBuf);

impl TmpDir {
    /// A fresh directory under the system temp dir (short path: sockets have a 108-byte limit).
    pub fn new(tag: &str) -> TmpDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "tt-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }

    /// A path inside.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The JSON-dispatch test plugin (`tests/c/json_counter.c`) compiled into `dir/Counter.so`.
pub fn build_json_counter(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/json_counter.c");
    let out = dir.join("Counter.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(cc)
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("running cc");
    assert!(st.success(), "cc failed for {}", src.display());
    out
}

/// A running `tt --socket …` daemon in its own directory.
pub struct Daemon {
    /// The child process.
    pub child: Child,
    /// Socket path.
    pub sock: PathBuf,
    /// Plugin directory.
    pub plugins: PathBuf,
    /// Database file.
    pub db: PathBuf,
    /// The directory holding all of them (removed on drop).
    pub dir: TmpDir,
}

impl Daemon {
    /// Starts `tt --socket <dir>/tt.sock --plugin-dir <dir>/plugins --db <dir>/db.sqlite` plus
    /// `extra`, with the JSON counter plugin installed when `with_counter`.
    pub fn start(tag: &str, with_counter: bool, extra: &[&str]) -> Daemon {
        Daemon::start_env(tag, with_counter, extra, &[])
    }

    /// [`Daemon::start`] with extra environment variables.
    pub fn start_env(
        tag: &str,
        with_counter: bool,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let dir = TmpDir::new(tag);
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        if with_counter {
            build_json_counter(&plugins);
        }
        let sock = dir.join("tt.sock");
        let db = dir.join("db.sqlite");
        let mut cmd = Command::new(tt_bin());
        cmd.arg("--socket")
            .arg(&sock)
            .arg("--plugin-dir")
            .arg(&plugins)
            .arg("--db")
            .arg(&db);
        cmd.args(extra)
            .env("HOME", &dir.0)
            .env_remove("SQLITE_JSON_DB")
            .env_remove("TRASHTALK_ROOT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawning tt");
        let d = Daemon {
            child,
            sock,
            plugins,
            db,
            dir,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if UnixStream::connect(&self.sock).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("daemon did not start on {}", self.sock.display());
    }

    /// One request (the line without newline); the raw reply.
    pub fn raw(&self, line: &str) -> String {
        request(&self.sock, line)
    }

    /// One request; the parsed reply.
    pub fn json(&self, line: &str) -> Json {
        let r = self.raw(line);
        serde_json::from_str(&r)
            .unwrap_or_else(|e| panic!("reply to {line:?} is not JSON ({e}): {r:?}"))
    }

    /// The PID of the daemon.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args(["-s", sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for exit (up to `secs`); the exit code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Stderr of an exited daemon.
    pub fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &self.pid().to_string()])
                .status();
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One request over a fresh connection: writes `line` + `\n`, reads to EOF.
pub fn request(sock: &Path, line: &str) -> String {
    let mut s =
        UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(line.as_bytes()).unwrap();
    s.write_all(b"\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The expected answer of one vector.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Exactly this JSON (compared parsed).
    Json(&'static str),
    /// Exit 1 with an error starting with this prefix.
    ErrorPrefix(&'static str),
}

/// The 26 requests of docs/spec/daemon-protocol.md §13, in order.
pub const VECTORS: &[(&str, Expect)] = &[
    (
        r#"{"class":"","selector":"ping","args":[]}"#,
        Expect::Json(r#"{"exit_code":200,"execution_mode":"fallback"}"#),
    ),
    (
        r#"{"class":"Counter","instance":"","selector":"new","args":[],"session_id":"4242"}"#,
        Expect::Json(r#"{"exit_code":200,"execution_mode":"fallback"}"#),
    ),
    ("this is not json", Expect::ErrorPrefix("invalid JSON: ")),
    (
        r#"{"class":"Counter","selector":"getValue","args":[5]}"#,
        Expect::ErrorPrefix("invalid JSON: "),
    ),
    (
        r#"{"block_op":"register","block_data":"5454424300010000000000062200220150f000000201780179000000","block_captures":"[]"}"#,
        Expect::Json(r#"{"exit_code":0,"block_id":"bytecode_block_1"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_1","block_data":"[\"10\",\"32\"]"}"#,
        Expect::Json(r#"{"result":"42","exit_code":0,"execution_mode":"native"}"#),
    ),
    (
        r#"{"block_op":"serialize","block_id":"bytecode_block_1"}"#,
        Expect::Json(
            r#"{"result":"[]","exit_code":0,"block_id":"bytecode_block_1","block_data":"5454424300010000000000062200220150f000000201780179000000"}"#,
        ),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_99999","block_data":"[]"}"#,
        Expect::Json(r#"{"exit_code":200,"execution_mode":"fallback"}"#),
    ),
    (
        r#"{"block_op":"serialize","block_id":"bytecode_block_99999"}"#,
        Expect::Json(r#"{"exit_code":1,"error":"block not found: bytecode_block_99999"}"#),
    ),
    (
        r#"{"block_op":"serialize"}"#,
        Expect::Json(r#"{"exit_code":1,"error":"block_id is required"}"#),
    ),
    (
        r#"{"block_op":"register","block_data":"zz"}"#,
        Expect::ErrorPrefix("invalid hex bytecode: "),
    ),
    (
        r#"{"block_op":"register","block_data":"5454425800010000000000062200220150f000000201780179000000"}"#,
        Expect::Json(
            r#"{"exit_code":1,"error":"failed to deserialize bytecode: invalid magic 54544258 at byte 0"}"#,
        ),
    ),
    (
        r#"{"block_op":"register","block_data":""}"#,
        Expect::Json(
            r#"{"exit_code":1,"error":"failed to deserialize bytecode: unexpected end of data reading magic at byte 0"}"#,
        ),
    ),
    (
        r#"{"block_op":"register","block_data":"545442430001000200000007300010000070f000010001210000010178000000","block_captures":"[{\"value\":\"hi\",\"name\":\"x\",\"source\":0,\"instance_id\":\"\"}]"}"#,
        Expect::Json(r#"{"exit_code":0,"block_id":"bytecode_block_2"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_2"}"#,
        Expect::Json(r#"{"result":"hi!","exit_code":0,"execution_mode":"native"}"#),
    ),
    (
        r#"{"block_op":"serialize","block_id":"bytecode_block_2"}"#,
        Expect::Json(
            r#"{"result":"[{\"value\":\"hi\",\"name\":\"x\",\"source\":0}]","exit_code":0,"block_id":"bytecode_block_2","block_data":"545442430001000200000007300010000070f000010001210000010178000000"}"#,
        ),
    ),
    (
        r#"{"block_op":"register","block_data":"545442430001000200000007300010000070f000010001210000010178000000","block_captures":"not json"}"#,
        Expect::ErrorPrefix("invalid captures JSON: "),
    ),
    (
        r#"{"block_op":"register","block_data":"5454424300010000000000062200220150f000000201780179000000","block_captures":"[{\"value\":1}]"}"#,
        Expect::Json(r#"{"exit_code":1,"error":"too many captures: got 1, block declares 0"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_1","block_data":"oops"}"#,
        Expect::ErrorPrefix("invalid args JSON: "),
    ),
    (
        r#"{"block_op":"frobnicate"}"#,
        Expect::Json(r#"{"exit_code":1,"error":"unknown block operation: frobnicate"}"#),
    ),
    (
        r#"{"block_op":"register","block_data":"5454424300010000000000042200b4f00000010161000000"}"#,
        Expect::Json(r#"{"exit_code":0,"block_id":"bytecode_block_3"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_3","block_data":"[\"abc\"]"}"#,
        Expect::ErrorPrefix("ARRAY_LEN: invalid JSON: "),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_3","block_data":"[\"[1,2,3]\"]"}"#,
        Expect::Json(r#"{"result":"3","exit_code":0,"execution_mode":"native"}"#),
    ),
    (
        r#"{"block_op":"register","block_data":"5454424300010000000000072200a0000001f00001001e5454424300010002000000063000220050f0000001017900010178030000010178000000"}"#,
        Expect::Json(r#"{"exit_code":0,"block_id":"bytecode_block_4"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_4","block_data":"[\"5\"]"}"#,
        Expect::Json(r#"{"result":"bytecode_block_5","exit_code":0,"execution_mode":"native"}"#),
    ),
    (
        r#"{"block_op":"invoke","block_id":"bytecode_block_5","block_data":"[\"10\"]"}"#,
        Expect::Json(r#"{"result":"15","exit_code":0,"execution_mode":"native"}"#),
    ),
];

/// Rows 27–29 (JSON-dispatch `Counter.so`).
pub const COUNTER_VECTORS: &[(&str, Expect)] = &[
    (
        r#"{"class":"Counter","instance":"{\"class\":\"Counter\",\"created_at\":\"1700000000\",\"_vars\":[\"value\",\"step\"],\"value\":0,\"step\":1}","selector":"incrementBy_","args":["5"],"session_id":"4242"}"#,
        Expect::Json(
            r#"{"instance":"{\"class\":\"Counter\",\"created_at\":\"1700000000\",\"_vars\":[\"value\",\"step\"],\"value\":5,\"step\":1}","result":"5","exit_code":0,"execution_mode":"native"}"#,
        ),
    ),
    (
        r#"{"class":"Counter","instance":"{\"class\":\"Counter\",\"created_at\":\"1700000000\",\"_vars\":[\"value\",\"step\"],\"value\":0,\"step\":1}","selector":"frobnicate","args":[]}"#,
        Expect::Json(r#"{"exit_code":200,"execution_mode":"fallback"}"#),
    ),
    (
        r#"{"class":"Counter","instance":"{\"class\":\"Counter\",\"value\":0,\"step\":1}","selector":"getValue","args":[]}"#,
        Expect::Json(
            r#"{"instance":"{\"class\":\"Counter\",\"value\":0,\"step\":1}","result":"0","exit_code":0,"execution_mode":"native"}"#,
        ),
    ),
];

/// Asserts one reply against its expectation.
pub fn check(n: usize, request: &str, reply: &str, expect: Expect) {
    assert!(
        reply.ends_with('\n'),
        "row {n}: reply not newline-terminated: {reply:?}"
    );
    assert_eq!(
        reply.matches('\n').count(),
        1,
        "row {n}: reply spans several lines: {reply:?}"
    );
    let got: Json = serde_json::from_str(reply)
        .unwrap_or_else(|e| panic!("row {n}: not JSON ({e}): {reply:?}"));
    match expect {
        Expect::Json(want) => {
            let want: Json = serde_json::from_str(want).unwrap();
            assert_eq!(got, want, "row {n}: request {request}");
        }
        Expect::ErrorPrefix(prefix) => {
            assert_eq!(got["exit_code"], 1, "row {n}: {reply}");
            let err = got["error"].as_str().unwrap_or_default();
            assert!(
                err.starts_with(prefix),
                "row {n}: error {err:?} lacks prefix {prefix:?}"
            );
            assert_eq!(
                got.as_object().unwrap().len(),
                2,
                "row {n}: extra fields in {reply}"
            );
        }
    }
}

/// Runs `tt` in stdin/stdout mode over `input`; (stdout lines, exit code).
pub fn run_stdio(dir: &TmpDir, args: &[&str], input: &str) -> (Vec<String>, Option<i32>) {
    let mut child = Command::new(tt_bin())
        .args(["--plugin-dir"])
        .arg(dir.join("plugins"))
        .arg("--db")
        .arg(dir.join("db.sqlite"))
        .args(args)
        .env("HOME", &dir.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = out.lines().map(|l| l.unwrap()).collect();
    writer.join().unwrap();
    let code = child.wait().unwrap().code();
    (lines, code)
}
