//! Socket mode (docs/spec/daemon-protocol.md §4, §5).
//!
//! # Threading
//!
//! Connections are served by a pool of worker threads in a leader/follower arrangement: every
//! idle worker blocks in `accept` on the shared listener; the worker that gets a connection reads
//! and parses the request itself and, when it was the last idle worker, first starts another one,
//! so there is always a thread accepting and a slow or idle client only ever occupies its own
//! worker. Execution is serialized by the [`Gate`], a ticket lock: a worker takes a ticket when its
//! request is complete and parsed and runs the request when its ticket comes up, so requests
//! execute one at a time in the order their reading completed. Requests that need no runtime state
//! (`class` `""` without `block_op`, and refused lines) are answered without the gate, so a ping
//! is answered at once even while another request executes. In the common uncontended case a
//! request is accepted, read, executed and answered by one thread with no hand-off.
//!
//! The main thread waits for SIGTERM/SIGINT (through a self-pipe) or the idle timeout, then stops
//! accepting, interrupts the request being executed (`tt_vm::limits::interrupt_all`: it stops at
//! its next poll and saves nothing), closes the gate (queued requests are dropped),
//! removes the socket and the pid file and closes the runtime.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::engine::Engine;
use crate::handler;
use crate::protocol::{MAX_REQUEST, Response, parse_request};

/// No complete request within this time → close without reply (§5).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Workers started with the server.
const INITIAL_WORKERS: usize = 4;
/// Idle workers kept; more exit after their connection.
const MAX_IDLE_WORKERS: usize = 16;
/// Stack of a worker (requests run on it).
const WORKER_STACK: usize = 16 * 1024 * 1024;

/// Socket-mode settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket path.
    pub socket: PathBuf,
    /// Permission bits applied to the socket after binding.
    pub mode: u32,
    /// Exit after this long without a new connection (`None` = never).
    pub idle_timeout: Option<Duration>,
}

/// Startup failures (`tt: <message>`, exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket")]
    NotASocket(String),
    /// A live daemon answers on the socket.
    #[error("another daemon is listening on {0}")]
    AlreadyRunning(String),
    /// Any I/O failure while preparing the socket or pid file.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.into();
    move |err| ServerError::Io { what, err }
}

/// The pid file path of a socket: `<socket>.pid`.
pub fn pid_path(socket: &Path) -> PathBuf {
    let mut s = socket.as_os_str().to_owned();
    s.push(".pid");
    PathBuf::from(s)
}

/// §4.1 step 3: refuse a non-socket or a live daemon; remove a stale socket.
pub fn check_socket_path(socket: &Path) -> Result<(), ServerError> {
    let shown = socket.display().to_string();
    match std::fs::symlink_metadata(socket) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ServerError::Io {
            what: shown,
            err: e,
        }),
        Ok(md) if !md.file_type().is_socket() => Err(ServerError::NotASocket(shown)),
        Ok(_) => {
            if UnixStream::connect(socket).is_ok() {
                return Err(ServerError::AlreadyRunning(shown));
            }
            match std::fs::remove_file(socket) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(ServerError::Io {
                    what: format!("removing stale socket {shown}"),
                    err: e,
                }),
            }
        }
    }
}

/// §4.1 step 4: writes `<socket>.pid` through a temporary file and a rename (never follows a
/// symlink at the destination), mode 0644.
pub fn write_pid_file(socket: &Path) -> Result<PathBuf, ServerError> {
    let path = pid_path(socket);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(io_err(format!("creating {}", tmp.display())))?;
    let write = (|| {
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        f.write_all(std::process::id().to_string().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = write {
        let _ = std::fs::remove_file(&tmp);
        return Err(ServerError::Io {
            what: format!("writing {}", path.display()),
            err: e,
        });
    }
    Ok(path)
}

/// §4.1 step 5: binds under umask 077, then applies `mode`.
pub fn bind(socket: &Path, mode: u32) -> Result<UnixListener, ServerError> {
    // SAFETY: `umask` only swaps the process's file-creation mask; no other thread creates
    // files during startup.
    let old = unsafe { libc::umask(0o077) };
    let listener = UnixListener::bind(socket);
    // SAFETY: as above; restores the previous mask.
    unsafe { libc::umask(old) };
    let listener = listener.map_err(io_err(format!("binding {}", socket.display())))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(io_err(format!("chmod {}", socket.display())))?;
    Ok(listener)
}

// ----- owning the socket path and checking peers (docs/daemon.md "Orphans", "Peers") -------------

/// How often the main thread checks that the socket path is still this daemon's.
const OWNERSHIP_CHECK: Duration = Duration::from_secs(1);

/// Device and inode of the file at `path` (not following a symlink), if one is there.
fn file_identity(path: &Path) -> io::Result<(u64, u64)> {
    std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino()))
}

/// Why this daemon no longer owns its socket path (the file it bound, identified by device and
/// inode, was removed or replaced), or `None` while it does. Other failures to look (e.g. a
/// transient permission error) count as still owned.
fn lost_socket(path: &Path, bound: (u64, u64)) -> Option<&'static str> {
    match file_identity(path) {
        Ok(id) if id == bound => None,
        Ok(_) => Some("socket file replaced"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some("socket file removed"),
        Err(_) => None,
    }
}

/// On stop: removes the socket file only if it is still the one this daemon bound, and the pid
/// file only if it still holds this daemon's pid (a daemon that took the path over keeps both).
fn remove_own_files(socket: &Path, bound: (u64, u64), pid_file: &Path) {
    if file_identity(socket).is_ok_and(|id| id == bound) {
        let _ = std::fs::remove_file(socket);
    }
    let ours =
        std::fs::read_to_string(pid_file).is_ok_and(|t| t.trim() == std::process::id().to_string());
    if ours {
        let _ = std::fs::remove_file(pid_file);
    }
}

/// The uid of the process at the other end of a connection (`SO_PEERCRED`; `getpeereid` on
/// the BSDs and macOS).
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: `ucred` is plain data; all-zero is a valid value.
        let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `cred` and `len` are valid out-pointers of the sizes given; the descriptor
        // belongs to `stream` for the duration of the call.
        let r = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: valid out-pointers; the descriptor belongs to `stream`.
        let r = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

/// True when a peer with `peer` uid may use a daemon running as `own`: the same uid, or root
/// (which can act as any user anyway). See docs/daemon.md "Peers".
pub fn peer_allowed(peer: u32, own: u32) -> bool {
    peer == own || peer == 0
}

/// The effective uid of this process.
fn own_uid() -> u32 {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks the peer of a fresh connection; logs (under `--debug`) and refuses strangers.
fn accept_peer(engine: &Engine, stream: &UnixStream) -> bool {
    match peer_uid(stream) {
        Ok(uid) if peer_allowed(uid, own_uid()) => true,
        Ok(uid) => {
            engine.debug(&format!(
                "refused a connection from uid {uid} (this daemon serves uid {} only)",
                own_uid()
            ));
            false
        }
        Err(e) => {
            engine.debug(&format!("refused a connection: peer credentials: {e}"));
            false
        }
    }
}

// ----- the execution gate ------------------------------------------------------------------------

#[derive(Default)]
struct GateState {
    next_ticket: u64,
    serving: u64,
    busy: bool,
    closed: bool,
}

/// Serializes execution in ticket order (the order in which reading completed).
#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

impl Gate {
    /// Runs `f` when this caller's turn comes; `None` if the gate closed first.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let mut st = self.state.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        while st.serving != ticket && !st.closed {
            self.cv.wait(&mut st);
        }
        if st.closed {
            return None;
        }
        st.busy = true;
        drop(st);
        // Advance the queue even if `f` unwinds.
        struct Done<'a>(&'a Gate);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut st = self.0.state.lock();
                st.busy = false;
                st.serving += 1;
                drop(st);
                self.0.cv.notify_all();
            }
        }
        let _done = Done(self);
        Some(f())
    }

    /// Refuses every later turn and waits until the request being executed has finished.
    pub fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        self.cv.notify_all();
        while st.busy {
            self.cv.wait(&mut st);
        }
    }
}

// ----- connections -------------------------------------------------------------------------------

/// What reading a connection produced.
enum Incoming {
    /// A request line (without its newline), or the data before EOF.
    Line(Vec<u8>),
    /// Over the size limit.
    TooLarge,
    /// EOF without data, timeout, or an I/O error: close without reply.
    Nothing,
}

fn read_request(stream: &mut UnixStream, deadline: Instant) -> Incoming {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Incoming::Nothing;
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return if buf.is_empty() {
                    Incoming::Nothing
                } else {
                    Incoming::Line(buf)
                };
            }
            Ok(n) => {
                if let Some(pos) = chunk[..n].iter().position(|&b| b == b'\n') {
                    if buf.len() + pos > MAX_REQUEST {
                        return Incoming::TooLarge;
                    }
                    buf.extend_from_slice(&chunk[..pos]);
                    return Incoming::Line(buf);
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_REQUEST {
                    return Incoming::TooLarge;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Incoming::Nothing,
        }
    }
}

/// Reads and discards input until EOF or the deadline (so a client still writing an oversized
/// request gets to read the answer instead of a broken pipe).
fn drain(stream: &mut UnixStream, deadline: Instant) {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn reply(stream: &mut UnixStream, resp: &Response) {
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let _ = stream.write_all(&resp.to_line());
}

struct Shared {
    engine: Engine,
    listener: UnixListener,
    gate: Gate,
    stopping: AtomicBool,
    idle: AtomicUsize,
    started: Instant,
    /// Milliseconds after `started` of the last accepted connection.
    last_accept: AtomicU64,
}

impl Shared {
    fn serve(&self, mut stream: UnixStream) {
        let deadline = Instant::now() + READ_TIMEOUT;
        match read_request(&mut stream, deadline) {
            Incoming::Nothing => {}
            Incoming::TooLarge => {
                reply(&mut stream, &Response::too_large());
                let _ = stream.shutdown(std::net::Shutdown::Write);
                drain(&mut stream, deadline);
            }
            Incoming::Line(line) => {
                let resp = match parse_request(&line) {
                    Err(e) => Response::from_parse_error(&e),
                    Ok(req) if req.is_stateless() => Response::fallback(),
                    Ok(req) => match self.gate.run(|| handler::execute(&self.engine, &req)) {
                        Some(r) => r,
                        None => return,
                    },
                };
                reply(&mut stream, &resp);
            }
        }
    }
}

fn spawn_worker(shared: &Arc<Shared>) {
    shared.idle.fetch_add(1, Ordering::AcqRel);
    let s = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("tt-worker".into())
        .stack_size(WORKER_STACK)
        .spawn(move || worker(s));
    if spawned.is_err() {
        shared.idle.fetch_sub(1, Ordering::AcqRel);
    }
}

fn worker(shared: Arc<Shared>) {
    loop {
        let accepted = shared.listener.accept();
        let idle_left = shared.idle.fetch_sub(1, Ordering::AcqRel) - 1;
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let stream = match accepted {
            Ok((s, _)) if accept_peer(&shared.engine, &s) => s,
            Ok(_) => {
                shared.idle.fetch_add(1, Ordering::AcqRel);
                continue;
            }
            Err(e) => {
                if e.raw_os_error() == Some(libc::EMFILE) || e.raw_os_error() == Some(libc::ENFILE)
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                shared.idle.fetch_add(1, Ordering::AcqRel);
                continue;
            }
        };
        shared.last_accept.store(
            shared.started.elapsed().as_millis() as u64,
            Ordering::Release,
        );
        if idle_left == 0 {
            spawn_worker(&shared);
        }
        shared.serve(stream);
        if shared.idle.load(Ordering::Acquire) >= MAX_IDLE_WORKERS {
            return;
        }
        shared.idle.fetch_add(1, Ordering::AcqRel);
    }
}

/// Runs socket mode after the runtime is initialized: §4.1 steps 3–5, serving, §4.3 stop.
/// Returns after a clean stop (the caller exits 0).
pub fn run(engine: Engine, cfg: &ServerConfig) -> Result<(), ServerError> {
    check_socket_path(&cfg.socket)?;
    let (sig_read, sig_write) = UnixStream::pair().map_err(io_err("signal pipe"))?;
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let w = sig_write.try_clone().map_err(io_err("signal pipe"))?;
        signal_hook::low_level::pipe::register(sig, w)
            .map_err(io_err("installing signal handlers"))?;
    }
    let pid_file = write_pid_file(&cfg.socket)?;
    let listener = match bind(&cfg.socket, cfg.mode) {
        Ok(l) => l,
        Err(e) => {
            let _ = std::fs::remove_file(&pid_file);
            return Err(e);
        }
    };
    let bound = match file_identity(&cfg.socket) {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_file(&pid_file);
            return Err(ServerError::Io {
                what: format!("stat {}", cfg.socket.display()),
                err: e,
            });
        }
    };
    engine.debug(&format!(
        "listening on {} (pid {})",
        cfg.socket.display(),
        std::process::id()
    ));
    let shared = Arc::new(Shared {
        engine,
        listener,
        gate: Gate::default(),
        stopping: AtomicBool::new(false),
        idle: AtomicUsize::new(0),
        started: Instant::now(),
        last_accept: AtomicU64::new(0),
    });
    for _ in 0..INITIAL_WORKERS {
        spawn_worker(&shared);
    }

    let why = wait_for_stop(&shared, &sig_read, cfg.idle_timeout, (&cfg.socket, bound));
    shared.engine.debug(&format!("stopping ({why})"));
    shared.stopping.store(true, Ordering::Release);
    // The running request stops at its next poll with `interrupted` and saves nothing
    // (docs/limits.md); the queued ones are dropped by the closed gate.
    tt_vm::limits::interrupt_all();
    // SAFETY: shutting down our own listening socket; wakes every worker blocked in accept.
    unsafe { libc::shutdown(shared.listener.as_raw_fd(), libc::SHUT_RDWR) };
    shared.gate.close();
    remove_own_files(&cfg.socket, bound, &pid_file);
    shared.engine.close();
    Ok(())
}

/// Blocks until a stop signal arrives, the idle timeout expires, or the socket path is no
/// longer this daemon's (checked about once a second; docs/daemon.md "Orphans").
fn wait_for_stop(
    shared: &Shared,
    sig: &UnixStream,
    idle: Option<Duration>,
    owned: (&Path, (u64, u64)),
) -> &'static str {
    loop {
        if let Some(why) = lost_socket(owned.0, owned.1) {
            return why;
        }
        let timeout_ms: i32 = match idle {
            None => -1,
            Some(idle) => {
                let last = Duration::from_millis(shared.last_accept.load(Ordering::Acquire));
                let since = shared.started.elapsed().saturating_sub(last);
                if since >= idle {
                    return "idle timeout";
                }
                (idle - since).as_millis().min(i32::MAX as u128) as i32 + 1
            }
        };
        let mut pfd = libc::pollfd {
            fd: sig.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let check_ms = OWNERSHIP_CHECK.as_millis() as i32;
        let timeout_ms = if timeout_ms < 0 {
            check_ms
        } else {
            timeout_ms.min(check_ms)
        };
        // SAFETY: `pfd` is a valid pollfd array of length 1 for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n > 0 && pfd.revents & libc::POLLIN != 0 {
            return "signal";
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_runs_in_ticket_order_and_closes() {
        let gate = Arc::new(Gate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (g, o) = (gate.clone(), order.clone());
                std::thread::spawn(move || g.run(|| o.lock().push(i)))
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap().is_some());
        }
        assert_eq!(order.lock().len(), 8);
        gate.close();
        assert!(gate.run(|| ()).is_none());
    }

    #[test]
    fn the_peer_uid_is_our_own_over_a_socket_pair_and_strangers_are_refused() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), own_uid());
        assert!(peer_allowed(1000, 1000) && peer_allowed(0, 1000) && peer_allowed(0, 0));
        assert!(!peer_allowed(1001, 1000) && !peer_allowed(1000, 0));
    }

    #[test]
    fn a_lost_socket_path_is_noticed_and_only_own_files_are_removed() {
        let dir = std::env::temp_dir().join(format!("tt-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("tt.sock");
        let _ = std::fs::remove_file(&sock);
        let l = UnixListener::bind(&sock).unwrap();
        let bound = file_identity(&sock).unwrap();
        assert_eq!(lost_socket(&sock, bound), None);
        // Replaced by another socket: noticed; neither the new socket nor a pid file holding
        // another pid is removed.
        std::fs::remove_file(&sock).unwrap();
        let other = UnixListener::bind(&sock).unwrap();
        assert_eq!(lost_socket(&sock, bound), Some("socket file replaced"));
        let pid = dir.join("tt.sock.pid");
        std::fs::write(&pid, "1").unwrap();
        remove_own_files(&sock, bound, &pid);
        assert!(sock.exists() && pid.exists());
        // Our own files are removed.
        let ours = file_identity(&sock).unwrap();
        std::fs::write(&pid, std::process::id().to_string()).unwrap();
        remove_own_files(&sock, ours, &pid);
        assert!(!sock.exists() && !pid.exists());
        assert_eq!(lost_socket(&sock, bound), Some("socket file removed"));
        drop((l, other));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pid_files_are_written_by_rename() {
        let dir = std::env::temp_dir().join(format!("tt-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("tt.sock");
        let p = write_pid_file(&sock).unwrap();
        assert_eq!(p, dir.join("tt.sock.pid"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            std::process::id().to_string()
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
