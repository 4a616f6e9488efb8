//! Management commands (docs/spec/daemon-protocol.md §3): `--status`, `--kill`, the stop step of
//! `--restart`, and `--inspect plugins|classes|<id>`. None of them starts a server.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::plugins::Plugins;
use crate::server::pid_path;

/// How long `--kill` / `--restart` wait for the daemon to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The PID recorded in `<socket>.pid`: `None` if the file is missing, `Some(None)` if it holds
/// no usable PID.
fn read_pid(socket: &Path) -> Option<Option<i32>> {
    let text = std::fs::read_to_string(pid_path(socket)).ok()?;
    Some(text.trim().parse::<i32>().ok().filter(|&p| p > 1))
}

/// True when process `pid` exists.
pub fn alive(pid: i32) -> bool {
    if pid <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission; `pid` > 1 never addresses a
    // process group.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn socket_line(socket: &Path) -> String {
    let missing = if std::fs::symlink_metadata(socket).is_ok() {
        ""
    } else {
        " (missing)"
    };
    format!("Socket: {}{missing}", socket.display())
}

/// `--status` output.
pub fn status(socket: &Path) -> String {
    match read_pid(socket) {
        Some(Some(pid)) if alive(pid) => {
            format!("Status: running\nPID: {pid}\n{}", socket_line(socket))
        }
        Some(Some(pid)) => format!(
            "Status: stopped\nPID: {pid} (not running)\n{}",
            socket_line(socket)
        ),
        Some(None) | None => format!("Status: stopped\nPID: none\n{}", socket_line(socket)),
    }
}

/// Sends SIGTERM to the daemon of `socket` and waits up to 2 s for it to exit. Returns its PID
/// if one was running.
fn terminate(socket: &Path) -> Option<i32> {
    let pid = read_pid(socket).flatten().filter(|&p| alive(p))?;
    // SAFETY: plain signal delivery to one process (`pid` > 1).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let until = Instant::now() + STOP_WAIT;
    while alive(pid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(pid)
}

fn remove_files(socket: &Path) {
    let _ = std::fs::remove_file(socket);
    let _ = std::fs::remove_file(pid_path(socket));
}

/// `--kill` output; removes the socket and the pid file.
pub fn kill(socket: &Path) -> String {
    let out = match read_pid(socket) {
        None => "No daemon running (PID file not found)".to_owned(),
        Some(_) => match terminate(socket) {
            Some(pid) => format!("Killed daemon (PID {pid})"),
            None => match read_pid(socket).flatten() {
                Some(pid) => format!("No daemon running (PID {pid} not running)"),
                None => "No daemon running (PID file empty)".to_owned(),
            },
        },
    };
    remove_files(socket);
    out
}

/// The stop step of `--restart`: SIGTERM, wait up to 2 s, remove socket and pid file.
pub fn stop_for_restart(socket: &Path) {
    terminate(socket);
    remove_files(socket);
}

/// `--inspect plugins`.
pub fn inspect_plugins(plugins: &Plugins) -> String {
    let files = plugins.files();
    let mut out = String::new();
    let mut total = 0u64;
    for (class, size) in &files {
        out.push_str(&format!("{class}\t{size} bytes\n"));
        total += size;
    }
    out.push_str(&format!("Total: {} plugins, {total} bytes", files.len()));
    out
}

/// `--inspect classes`.
pub fn inspect_classes(plugins: &Plugins) -> String {
    plugins
        .files()
        .into_iter()
        .map(|(c, _)| c)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--inspect <id>`: the stored instance, or `Instance not found: <id>`.
pub fn inspect_instance(rt: &tt_vm::Runtime, id: &str) -> String {
    let inst = match rt.lookup_instance(id) {
        Ok(i) => i,
        Err(_) => return format!("Instance not found: {id}"),
    };
    let mut out = format!(
        "ID: {id}\nClass: {}\nCreated: {}",
        inst.class_name(),
        inst.created_at().unwrap_or("")
    );
    if let Ok(state) = inst.snapshot() {
        for (n, v) in state.names.iter().zip(&state.values) {
            out.push_str(&format!("\n  {n}: {}", crate::typing::value_to_json(v)));
        }
    }
    out
}
