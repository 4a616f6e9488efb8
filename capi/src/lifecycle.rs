//! `TT_Init`, `TT_Close`, `TT_SetSessionID` and the "initialized" gate (docs/spec/c-abi.md §4
//! rule 6, §5): `extern "C"` wrappers over [`tt_host::lifecycle`], plus the hooks the C ABI
//! adds to the host layer ([`install_host_hooks`]); and the per-thread limits of calls:
//! `TT_CurrentThread`, `TT_ReleaseThread`, `TT_Interrupt`, `TT_SetDeadline`,
//! `TT_SetMemoryLimit` (docs/spec/c-abi.md §12, docs/limits.md; wrappers over
//! [`tt_vm::limits`]).

use std::ffi::{c_char, c_int, c_longlong};
use std::time::{Duration, Instant};

use tt_vm::Runtime;
use tt_vm::limits::{self, ThreadHandle};

use crate::convert::c_str;
use crate::error::{CapiError, CapiResult, guard};

pub use tt_host::lifecycle::{close, init, is_initialized};

/// The process-wide runtime, or `runtime not initialized`.
#[inline(always)]
pub fn require_init() -> CapiResult<&'static Runtime> {
    tt_host::lifecycle::runtime().ok_or(CapiError::NotInitialized)
}

/// Connects the host layer to the C ABI's per-thread state: a failed lazy plugin load
/// (`tt_host::plugin::PluginDir`) becomes the calling thread's last error. `TT_Init` calls it;
/// a Rust host that initializes the runtime with [`tt_host::lifecycle::init`] and lets plugins
/// call `TT_*` (the daemon) calls it once at startup. Idempotent.
pub fn install_host_hooks() {
    tt_host::plugin::set_load_error_hook(|e| crate::error::set_last_error(&e.to_string()));
}

/// `int TT_Init(char* dbPath, char* pluginDir)`: 0, or -1 with the last error set.
///
/// # Safety
/// Both arguments are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Init(db_path: *const c_char, plugin_dir: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let db = unsafe { c_str(db_path) };
        // SAFETY: as above.
        let dir = unsafe { c_str(plugin_dir) };
        install_host_hooks();
        init(db.as_deref(), dir.as_deref())?;
        Ok(0)
    })
}

/// `void TT_Close()`.
///
/// # Safety
/// Must not run concurrently with other calls; every handle becomes invalid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Close() {
    guard(|| Ok(close()?))
}

/// `void TT_SetSessionID(char* sessionID)`: the process-wide Bash bridge session; NULL or `""`
/// restores the default.
///
/// # Safety
/// `session_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SetSessionID(session_id: *const c_char) {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let s = unsafe { c_str(session_id) };
        tt_host::store::set_session(s.as_deref().filter(|s| !s.is_empty()));
        Ok(())
    })
}

// ----- limits of calls (docs/spec/c-abi.md §12) ---------------------------------------------

/// The C type behind `TT_Thread*`: a boxed handle on a thread.
pub struct TtThread(ThreadHandle);

/// `TT_Thread* TT_CurrentThread(void)`: a new handle on the calling thread (works before
/// `TT_Init`); release it with `TT_ReleaseThread`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_CurrentThread() -> *mut TtThread {
    Box::into_raw(Box::new(TtThread(ThreadHandle::current())))
}

/// `void TT_ReleaseThread(TT_Thread* thread)`: frees a handle (NULL is allowed).
///
/// # Safety
/// `thread` is NULL or a handle from `TT_CurrentThread` not released yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ReleaseThread(thread: *mut TtThread) {
    if !thread.is_null() {
        // SAFETY: a live handle from `TT_CurrentThread` (the contract), released once.
        drop(unsafe { Box::from_raw(thread) });
    }
}

/// `int TT_Interrupt(TT_Thread* thread)`: from any thread, makes the thread's running call (or,
/// if it runs none, its next one) fail with `interrupted` at its next poll. 0, or -1 for NULL.
///
/// # Safety
/// `thread` is NULL or a live handle from `TT_CurrentThread`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Interrupt(thread: *const TtThread) -> c_int {
    guard(|| {
        // SAFETY: NULL or a live handle (the contract).
        let t = unsafe { thread.as_ref() }.ok_or(CapiError::Internal("NULL thread".into()))?;
        t.0.interrupt();
        Ok(0)
    })
}

/// `int TT_SetDeadline(long long ms)`: the calling thread's calls fail with `deadline
/// exceeded` once `ms` milliseconds from now have passed, until the deadline is replaced or
/// cleared (`ms <= 0`). Returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn TT_SetDeadline(ms: c_longlong) -> c_int {
    guard(|| {
        let at = (ms > 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
        limits::set_deadline(at);
        Ok(0)
    })
}

/// `int TT_SetMemoryLimit(long long bytes)`: from now on, the runtime values the calling
/// thread's calls make (strings, collections, blocks, instances) may take `bytes` in all; past
/// that they fail with `memory limit exceeded` until the limit is set again (`bytes <= 0`
/// removes it). Returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn TT_SetMemoryLimit(bytes: c_longlong) -> c_int {
    guard(|| {
        limits::set_memory_limit((bytes > 0).then_some(bytes as u64));
        Ok(0)
    })
}
