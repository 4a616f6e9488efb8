//! Daemon figures, measured against the real `tt` binary in socket mode:
//!
//! * `daemon/round_trip_invoke`: one block `invoke` request per connection (connect, write the
//!   line, read to EOF), beside `daemon/round_trip_echo`: a raw Unix-socket echo server with the
//!   same framing (one request per connection, newline-terminated, then close), run as a separate
//!   process like the daemon. Goal: invoke ≤ 1.5 × echo.
//! * `daemon/8_clients`: requests per second with 8 concurrent clients (mixed invokes and pings).
//! * `daemon/nc_from_bash`: the Bash client's path, `echo "$req" | nc -U "$sock"` in a bash loop
//!   (skipped with a message when `nc` lacks `-U`; Debian: `netcat-openbsd`), printed as `peer`
//!   lines (one per round; `TT_BENCH_NC_ITERS` requests in all, default 200). Beside it, in the
//!   same run: `daemon/nc_from_bash_echo` (the same loop against the echo server: what bash and
//!   `nc` cost by themselves) and `daemon/bash_client_send` (a ping under `timeout 1` and then the
//!   request under `timeout 5`, each through its own `nc -U`, as the Bash client sends a message).
//!
//! The `tt` binary is `target/<profile>/tt`; it is built with `cargo build -p tt` if missing.
//! The echo server is this bench executable re-run with `TT_BENCH_ECHO=<socket>`.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

const INVOKE: &str =
    r#"{"block_op":"invoke","block_id":"bytecode_block_1","block_data":"[\"10\",\"32\"]"}"#;
const PING: &str = r#"{"class":"","selector":"ping","args":[]}"#;
const REGISTER: &str = r#"{"block_op":"register","block_data":"5454424300010000000000062200220150f000000201780179000000","block_captures":"[]"}"#;

/// The echo server: one request per connection, reply = the request line, then close.
fn echo_server(sock: &Path) -> ! {
    let _ = std::fs::remove_file(sock);
    let listener = UnixListener::bind(sock).expect("bind echo socket");
    let mut buf = Vec::with_capacity(4096);
    loop {
        let Ok((mut s, _)) = listener.accept() else {
            continue;
        };
        buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(p) = chunk[..n].iter().position(|&b| b == b'\n') {
                        buf.extend_from_slice(&chunk[..=p]);
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        let _ = s.write_all(&buf);
    }
}

fn tt_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let bin = profile_dir.join("tt");
    if !bin.is_file() {
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "-q", "-p", "tt", "--target-dir"])
            .arg(profile_dir.parent().unwrap());
        if release {
            cmd.arg("--release");
        }
        let st = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build -p tt");
        assert!(
            st.success() && bin.is_file(),
            "could not build {}",
            bin.display()
        );
    }
    bin
}

struct Proc {
    child: Child,
    sock: PathBuf,
}

impl Proc {
    fn wait_ready(self) -> Proc {
        let until = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&self.sock).is_err() {
            assert!(
                Instant::now() < until,
                "{} did not come up",
                self.sock.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.sock);
    }
}

fn request(sock: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.write_all(line.as_bytes()).unwrap();
    s.write_all(b"\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Mean round trip of `n` sequential requests.
fn mean_round_trip(sock: &Path, line: &str, n: u32) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(request(sock, line));
    }
    t.elapsed() / n
}

fn nc_has_unix_sockets() -> bool {
    Command::new("nc")
        .arg("-h")
        .output()
        .map(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.contains("-U")
        })
        .unwrap_or(false)
}

/// Requests per `nc_loop` run (`TT_BENCH_NC_ITERS`, default 200), split into `NC_ROUNDS` rounds.
fn nc_iters() -> u32 {
    std::env::var("TT_BENCH_NC_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &u32| n > 0)
        .unwrap_or(200)
}

/// Rounds of an `nc_loop`: one `peer` line per round, so the report can show a median and range.
const NC_ROUNDS: u32 = 5;

/// Times `one` (a bash command using `$req`) in a bash `for` loop and prints one
/// `peer <id>: <ns> ns/iter (<what>)` line per round.
fn nc_loop(id: &str, what: &str, one: &str) {
    let per_round = nc_iters().div_ceil(NC_ROUNDS).max(1);
    for _ in 0..NC_ROUNDS {
        let script =
            format!("req='{INVOKE}'; for i in $(seq 1 {per_round}); do {one} || exit 1; done");
        let t = Instant::now();
        let st = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .status()
            .expect("bash");
        let per = t.elapsed() / per_round;
        if !st.success() {
            println!("peer {id}: unavailable (bash loop failed: {st})");
            return;
        }
        println!("peer {id}: {:.3} ns/iter ({what})", per.as_nanos() as f64);
    }
}

fn main() {
    if let Some(sock) = std::env::var_os("TT_BENCH_ECHO") {
        echo_server(Path::new(&sock));
    }
    let dir = std::env::temp_dir().join(format!("tt-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("plugins")).unwrap();

    let daemon = Proc {
        child: Command::new(tt_bin())
            .arg("--socket")
            .arg(dir.join("tt.sock"))
            .arg("--plugin-dir")
            .arg(dir.join("plugins"))
            .arg("--db")
            .arg(dir.join("db.sqlite"))
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tt"),
        sock: dir.join("tt.sock"),
    }
    .wait_ready();
    let echo = Proc {
        child: Command::new(std::env::current_exe().unwrap())
            .env("TT_BENCH_ECHO", dir.join("echo.sock"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start echo server"),
        sock: dir.join("echo.sock"),
    }
    .wait_ready();

    let r = request(&daemon.sock, REGISTER);
    assert!(r.contains("bytecode_block_1"), "{r}");
    let r = request(&daemon.sock, INVOKE);
    assert!(r.contains("\"42\""), "{r}");

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("daemon");
        g.throughput(Throughput::Elements(1));
        g.bench_function("round_trip_invoke", |b| {
            b.iter(|| request(&daemon.sock, INVOKE))
        });
        g.bench_function("round_trip_echo", |b| {
            b.iter(|| request(&echo.sock, INVOKE))
        });
        g.bench_function("8_clients", |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(8).max(1);
                let t = Instant::now();
                std::thread::scope(|s| {
                    for c in 0..8 {
                        let sock = daemon.sock.clone();
                        s.spawn(move || {
                            for i in 0..per {
                                let line = if (i + c) % 4 == 0 { PING } else { INVOKE };
                                std::hint::black_box(request(&sock, line));
                            }
                        });
                    }
                });
                t.elapsed() * (iters as u32) / ((per * 8) as u32)
            })
        });
        g.finish();
    }

    // Same-run summary: ratio against the echo server, requests/second with 8 clients.
    let n = 3000;
    let (inv, ech) = (
        mean_round_trip(&daemon.sock, INVOKE, n),
        mean_round_trip(&echo.sock, INVOKE, n),
    );
    println!(
        "peer daemon/round_trip_invoke echo: {:.3} ns/iter (echo server); invoke {:.3} ns/iter; ratio {:.2} (goal <= 1.5)",
        ech.as_nanos() as f64,
        inv.as_nanos() as f64,
        inv.as_secs_f64() / ech.as_secs_f64()
    );
    let total = 8 * 1000;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..8 {
            let sock = daemon.sock.clone();
            s.spawn(move || {
                for _ in 0..1000 {
                    std::hint::black_box(request(&sock, INVOKE));
                }
            });
        }
    });
    println!(
        "daemon/8_clients: {:.0} requests/s",
        total as f64 / t.elapsed().as_secs_f64()
    );

    if nc_has_unix_sockets() {
        let sock = daemon.sock.display().to_string();
        let echo_sock = echo.sock.display().to_string();
        let one = format!("echo \"$req\" | nc -U '{sock}' >/dev/null");
        nc_loop("daemon/nc_from_bash", "bash loop, echo | nc -U", &one);
        let one = format!("echo \"$req\" | nc -U '{echo_sock}' >/dev/null");
        nc_loop(
            "daemon/nc_from_bash_echo",
            "bash loop, echo | nc -U to the echo server",
            &one,
        );
        if Command::new("timeout").arg("--version").output().is_ok() {
            // What the Bash client does per message send (docs/spec/daemon-protocol.md §11.3, §11.7): a ping
            // under `timeout 1`, then the request under `timeout 5`, each through its own `nc -U`.
            let one = format!(
                "r=$(echo '{PING}' | timeout 1 nc -U '{sock}'); [ -n \"$r\" ] && echo \"$req\" | timeout 5 nc -U '{sock}' >/dev/null"
            );
            nc_loop(
                "daemon/bash_client_send",
                "bash loop, ping + request, each `timeout N nc -U` like the Bash client",
                &one,
            );
        } else {
            println!("peer daemon/bash_client_send: unavailable (no timeout command)");
        }
    } else {
        for id in [
            "daemon/nc_from_bash",
            "daemon/nc_from_bash_echo",
            "daemon/bash_client_send",
        ] {
            println!("peer {id}: unavailable (nc without -U; install netcat-openbsd)");
        }
    }
    drop(daemon);
    drop(echo);
    let _ = std::fs::remove_dir_all(&dir);
    c.final_summary();
}
