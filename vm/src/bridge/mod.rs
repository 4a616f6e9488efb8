//! The Bash bridge (docs/spec/daemon-protocol.md §10, docs/spec/c-abi.md §5 `TT_BashFallback`): runs
//! `@ <receiver> <selector> <args…>` in a persistent `bash` child that has sourced the Bash
//! runtime (`$TRASHTALK_ROOT/lib/trash.bash`).
//!
//! # Protocol
//!
//! The child runs a small driver loop ([`DRIVER`], passed once with `bash -c`). Each call writes
//! one request to the child's stdin:
//!
//! ```text
//! <field count> NUL <session> NUL <receiver> NUL <selector> NUL <arg 1> NUL … <arg n> NUL
//! ```
//!
//! The driver reads every field with `IFS= read -r -d ''` (byte-exact: no word splitting, no
//! backslash processing, no trimming, no expansion), exports the session variables, runs
//! `( @ "${fields[@]}" )` in a subshell with stdin from `/dev/null` and stdout/stderr redirected
//! to two files in a private temporary directory, then answers with the exit status on one line.
//! The bridge reads both files itself, so output is byte-exact too. Arguments are never part of
//! any shell code; a NUL byte (impossible in a C string) is refused.
//!
//! The subshell keeps an `exit` inside `@` from ending the driver; the cost of sourcing the
//! runtime is paid once per child. Calls are serialized (one child, one mutex).
//!
//! # Failures
//!
//! * exit 0 → stdout minus one trailing newline;
//! * exit 200 → [`BridgeError::NotFound`]; other non-zero → [`BridgeError::Exit`], both
//!   displaying `bash error (exit <n>)[: <stderr>]`;
//! * no answer within the timeout → the child's whole process group is killed, the child is
//!   replaced on the next call, and [`BridgeError::Timeout`] is returned;
//! * the child dies during a call → [`BridgeError::Died`]; the next call starts a new child.
//!   A child found dead *between* calls is replaced silently (no request was lost).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, ErrorKind};

/// Default per-call timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit status the Bash runtime uses for "not found".
pub const NOT_FOUND_EXIT: i32 = 200;

/// The driver loop run by the child (`bash -c DRIVER tt-bash-bridge <tmpdir> <trash.bash>`).
///
/// Every name it uses starts with `__tt_bridge_` so the sourced runtime cannot collide with it,
/// and it calls `builtin read`/`builtin printf` in case the runtime defines functions of those
/// names. Shell options set by the runtime while being sourced are restored inside each call's
/// subshell, while the loop itself runs with `set +e +u`.
pub const DRIVER: &str = r#"
__tt_bridge_dir=$1
__tt_bridge_lib=$2
set --
source "$__tt_bridge_lib" </dev/null >/dev/null 2>&1
__tt_bridge_opts=$(set +o)
set +e +u
builtin printf 'ready\n'
while IFS= builtin read -r -d '' __tt_bridge_n; do
    __tt_bridge_f=()
    for ((__tt_bridge_i = 0; __tt_bridge_i < __tt_bridge_n; __tt_bridge_i++)); do
        IFS= builtin read -r -d '' __tt_bridge_x || exit 0
        __tt_bridge_f+=("$__tt_bridge_x")
    done
    export TRASH_SESSION_ID="${__tt_bridge_f[0]}"
    export _ENV_DIR="/tmp/trashtalk_${__tt_bridge_f[0]}"
    (
        eval "$__tt_bridge_opts"
        @ "${__tt_bridge_f[@]:1}"
    ) </dev/null >"$__tt_bridge_dir/out" 2>"$__tt_bridge_dir/err"
    builtin printf '%d\n' "$?"
done
"#;

/// A Bash bridge failure.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// `<root>/lib/trash.bash` does not exist.
    #[error("bash bridge not available")]
    Unavailable {
        /// The missing runtime file.
        path: PathBuf,
    },
    /// The send exited with 200: the Bash runtime found no such class/method/instance.
    #[error("bash error (exit {NOT_FOUND_EXIT}){}", colon(.stderr))]
    NotFound {
        /// Standard error of the send, trailing whitespace removed.
        stderr: String,
    },
    /// The send exited with another non-zero status.
    #[error("bash error (exit {code}){}", colon(.stderr))]
    Exit {
        /// The exit status (128 + n for a signal n).
        code: i32,
        /// Standard error of the send, trailing whitespace removed.
        stderr: String,
    },
    /// No answer within the timeout; the child was killed.
    #[error("bash bridge timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The child process died during the call.
    #[error("bash bridge process died ({0})")]
    Died(String),
    /// An argument contains a NUL byte, which no Bash argument can hold.
    #[error("bash bridge argument contains a NUL byte")]
    NulByte,
    /// The child could not be started or talked to.
    #[error("bash bridge I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn colon(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl BridgeError {
    /// True for [`BridgeError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, BridgeError::NotFound { .. })
    }
}

impl From<BridgeError> for Error {
    fn from(e: BridgeError) -> Error {
        let kind = match e {
            BridgeError::NotFound { .. } => ErrorKind::NotFound,
            BridgeError::NulByte => ErrorKind::InvalidInput,
            _ => ErrorKind::Bridge,
        };
        Error::new(kind, e.to_string())
    }
}

/// Where the Bash runtime lives and how long a call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `TRASHTALK_ROOT`; the child sources `<trash_root>/lib/trash.bash`.
    pub trash_root: PathBuf,
    /// Per-call timeout (default 30 s).
    pub timeout: Duration,
}

impl BridgeConfig {
    /// `$TRASHTALK_ROOT` (non-empty), else `$HOME/.trashtalk`; timeout 30 s.
    pub fn from_env() -> BridgeConfig {
        let root = std::env::var_os("TRASHTALK_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_default()
                    .join(".trashtalk")
            });
        BridgeConfig {
            trash_root: root,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The runtime file the child sources.
    pub fn trash_bash(&self) -> PathBuf {
        self.trash_root.join("lib").join("trash.bash")
    }

    /// True when the runtime file exists (the bridge is usable).
    pub fn available(&self) -> bool {
        self.trash_bash().is_file()
    }
}

/// The session used when none is set: `$TRASH_SESSION_ID` (non-empty), else the process id.
pub fn default_session() -> String {
    std::env::var("TRASH_SESSION_ID")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::process::id().to_string())
}

/// A running child and the means to talk to it.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    dir: PathBuf,
}

impl Worker {
    fn spawn(config: &BridgeConfig, session: &str) -> Result<Worker, BridgeError> {
        use std::os::unix::fs::DirBuilderExt;
        use std::os::unix::process::CommandExt;

        let dir = std::env::temp_dir().join(format!(
            "tt-bash-bridge-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let spawned = Command::new("bash")
            .arg("--noprofile")
            .arg("--norc")
            .arg("-c")
            .arg(DRIVER)
            .arg("tt-bash-bridge")
            .arg(&dir)
            .arg(config.trash_bash())
            .env("TRASHTALK_DISABLE_NATIVE", "1")
            .env("TRASHTALK_ROOT", &config.trash_root)
            .env("TRASH_SESSION_ID", session)
            .env("_ENV_DIR", env_dir(session))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(BridgeError::Died("no pipes to the child".into()));
        };
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("tt-bash-bridge-reader".into())
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            if tx.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            })?;
        let mut w = Worker {
            child,
            stdin,
            lines,
            dir,
        };
        match w.next_line(config.timeout)? {
            l if l == "ready" => Ok(w),
            other => Err(BridgeError::Died(format!(
                "unexpected start-up output {other:?}"
            ))),
        }
    }

    /// The next protocol line (without its newline) within `timeout`.
    fn next_line(&mut self, timeout: Duration) -> Result<String, BridgeError> {
        match self.lines.recv_timeout(timeout) {
            Ok(Ok(mut l)) => {
                if l.ends_with('\n') {
                    l.pop();
                }
                Ok(l)
            }
            Ok(Err(e)) => Err(BridgeError::Died(format!("reading from the child: {e}"))),
            Err(RecvTimeoutError::Timeout) => Err(BridgeError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(BridgeError::Died(self.exit_text())),
        }
    }

    /// How the child ended (waits for it; it has closed its stdout).
    fn exit_text(&mut self) -> String {
        match self.child.wait() {
            Ok(st) => st.to_string(),
            Err(e) => e.to_string(),
        }
    }

    fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn call(&mut self, request: &[u8], timeout: Duration) -> Result<String, BridgeError> {
        let deadline = Instant::now() + timeout;
        if let Err(e) = self
            .stdin
            .write_all(request)
            .and_then(|_| self.stdin.flush())
        {
            return Err(BridgeError::Died(format!(
                "writing to the child: {e}; {}",
                self.exit_text()
            )));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match self.next_line(left) {
            Err(BridgeError::Timeout(_)) => return Err(BridgeError::Timeout(timeout)),
            other => other?,
        };
        let code: i32 = line
            .trim()
            .parse()
            .map_err(|_| BridgeError::Died(format!("unexpected protocol line {line:?}")))?;
        let stdout = std::fs::read(self.dir.join("out"))?;
        let stderr = std::fs::read(self.dir.join("err"))?;
        match code {
            0 => {
                let mut out = String::from_utf8_lossy(&stdout).into_owned();
                if out.ends_with('\n') {
                    out.pop();
                }
                Ok(out)
            }
            _ => {
                let stderr = String::from_utf8_lossy(&stderr).trim_end().to_owned();
                if code == NOT_FOUND_EXIT {
                    Err(BridgeError::NotFound { stderr })
                } else {
                    Err(BridgeError::Exit { code, stderr })
                }
            }
        }
    }

    /// Kills the child's whole process group (the driver and anything a send started).
    fn kill(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id())
            && pid > 0
        {
            // SAFETY: `kill(2)` has no memory-safety preconditions. The child was spawned with
            // `process_group(0)`, so `-pid` names the group it leads, and it has not been
            // reaped yet (we still own the `Child`), so the id cannot have been reused.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env_dir(session: &str) -> String {
    format!("/tmp/trashtalk_{session}")
}

/// The Bash bridge: one lazily started, persistent `bash` child. See the module docs.
pub struct BashBridge {
    config: BridgeConfig,
    worker: Mutex<Option<Worker>>,
    session: Mutex<Option<String>>,
}

impl std::fmt::Debug for BashBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BashBridge")
            .field("config", &self.config)
            .field("session", &*self.session.lock())
            .finish_non_exhaustive()
    }
}

impl BashBridge {
    /// A bridge; no process is started until the first call.
    pub fn new(config: BridgeConfig) -> BashBridge {
        BashBridge {
            config,
            worker: Mutex::new(None),
            session: Mutex::new(None),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    /// True when the Bash runtime file exists.
    pub fn available(&self) -> bool {
        self.config.available()
    }

    /// Sets the process-wide session used by [`crate::runtime::BashFallback::call`]
    /// (`TT_SetSessionID`); `None` or `""` → [`default_session`].
    pub fn set_session(&self, session: Option<&str>) {
        *self.session.lock() = session.filter(|s| !s.is_empty()).map(str::to_owned);
    }

    /// The session in effect for [`crate::runtime::BashFallback::call`].
    pub fn session(&self) -> String {
        self.session.lock().clone().unwrap_or_else(default_session)
    }

    /// The pid of the running child, if one is running.
    pub fn child_pid(&self) -> Option<u32> {
        self.worker.lock().as_ref().map(|w| w.child.id())
    }

    /// Kills the child (if any); the next call starts a new one.
    pub fn shutdown(&self) {
        self.worker.lock().take();
    }

    /// Runs `@ receiver selector args…` in session `session` (exported as `TRASH_SESSION_ID`
    /// and `_ENV_DIR=/tmp/trashtalk_<session>` before the send). Returns stdout minus one
    /// trailing newline on exit 0. Every argument arrives byte-exact and is never interpreted
    /// as shell code.
    pub fn call(
        &self,
        session: &str,
        receiver: &str,
        selector: &str,
        args: &[String],
    ) -> Result<String, BridgeError> {
        let fields = [session, receiver, selector]
            .into_iter()
            .chain(args.iter().map(String::as_str));
        let mut request = Vec::with_capacity(64 + args.iter().map(String::len).sum::<usize>());
        request.extend_from_slice((3 + args.len()).to_string().as_bytes());
        request.push(0);
        for f in fields {
            if f.as_bytes().contains(&0) {
                return Err(BridgeError::NulByte);
            }
            request.extend_from_slice(f.as_bytes());
            request.push(0);
        }
        if !self.config.available() {
            return Err(BridgeError::Unavailable {
                path: self.config.trash_bash(),
            });
        }

        let mut slot = self.worker.lock();
        if slot.as_mut().is_some_and(|w| !w.is_alive()) {
            *slot = None;
        }
        let worker = match &mut *slot {
            Some(w) => w,
            empty @ None => empty.insert(Worker::spawn(&self.config, session)?),
        };
        let result = worker.call(&request, self.config.timeout);
        if matches!(
            result,
            Err(BridgeError::Timeout(_) | BridgeError::Died(_) | BridgeError::Io(_))
        ) {
            // Drop (and kill) the child: the next call starts a fresh one.
            *slot = None;
        }
        result
    }
}

impl crate::runtime::BashFallback for BashBridge {
    /// Runs the send in the session set by [`BashBridge::set_session`].
    fn call(
        &self,
        receiver: &str,
        selector: &str,
        args: &[String],
    ) -> crate::error::Result<String> {
        Ok(BashBridge::call(
            self,
            &self.session(),
            receiver,
            selector,
            args,
        )?)
    }
}
