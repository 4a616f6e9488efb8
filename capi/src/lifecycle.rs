//! `TT_Init`, `TT_Close`, `TT_SetSessionID` and the "initialized" gate (docs/spec/c-abi.md §4 rule 6, §5).

use std::ffi::{c_char, c_int};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tt_vm::Runtime;

use crate::convert::c_str;
use crate::error::{CapiError, CapiResult, guard};
use crate::plugin::PluginDir;

static INITIALIZED: AtomicBool = AtomicBool::new(false);
/// Serializes `TT_Init` / `TT_Close` against each other.
static LIFECYCLE: Mutex<()> = Mutex::new(());
static JIT_INSTALLED: AtomicBool = AtomicBool::new(false);

/// The process-wide runtime, or `runtime not initialized`.
#[inline(always)]
pub fn require_init() -> CapiResult<&'static Runtime> {
    if INITIALIZED.load(Ordering::Acquire) {
        Ok(Runtime::global())
    } else {
        Err(CapiError::NotInitialized)
    }
}

/// True between a successful `TT_Init` and the next `TT_Close`.
pub fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::Acquire)
}

/// Initializes the runtime (the Rust side of `TT_Init`): opens the store, installs the lazy
/// plugin loader for `plugin_dir`, the Bash bridge if available, and the JIT. Idempotent.
pub fn init(db_path: Option<&str>, plugin_dir: Option<&str>) -> CapiResult<()> {
    let _g = LIFECYCLE.lock();
    if INITIALIZED.load(Ordering::Acquire) {
        return Ok(());
    }
    let rt = Runtime::global();
    let store = crate::persist::open_store(db_path)?;
    rt.set_store(store);
    match plugin_dir.filter(|d| !d.is_empty()) {
        Some(dir) => {
            let loader = PluginDir::new(PathBuf::from(dir));
            rt.set_class_loader(Some(Arc::new(move |class: &str| loader.load_class(class))));
        }
        None => rt.set_class_loader(None),
    }
    crate::persist::install_bridge(rt);
    if !JIT_INSTALLED.swap(true, Ordering::AcqRel) {
        tt_jit::install(rt);
    }
    crate::send_cache::set_epoch_cell(rt.dispatch().epoch_ptr());
    INITIALIZED.store(true, Ordering::Release);
    Ok(())
}

/// Shuts the runtime down (the Rust side of `TT_Close`): saves modified instances, drops all
/// instances and blocks, closes the store. Classes, selectors and plugins stay. No-op when
/// not initialized.
pub fn close() -> CapiResult<()> {
    let _g = LIFECYCLE.lock();
    if !INITIALIZED.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    crate::send_cache::set_epoch_cell(std::ptr::null());
    let rt = Runtime::global();
    let saved = crate::persist::save_modified(rt);
    rt.drop_all();
    rt.set_store(None);
    rt.set_class_loader(None);
    rt.set_bash_fallback(None);
    crate::persist::shutdown_bridge();
    Ok(saved?)
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
    guard(close)
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
        crate::persist::set_session(s.as_deref().filter(|s| !s.is_empty()));
        Ok(())
    })
}
