//! `TT_Init`, `TT_Close`, `TT_SetSessionID` and the "initialized" gate (docs/spec/c-abi.md §4
//! rule 6, §5): `extern "C"` wrappers over [`tt_host::lifecycle`], plus the hooks the C ABI
//! adds to the host layer ([`install_host_hooks`]).

use std::ffi::{c_char, c_int};

use tt_vm::Runtime;

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
