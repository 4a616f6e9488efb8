//! The runtime's lifecycle (docs/spec/c-abi.md §4 rule 6, §5): [`init`] (the Rust side of
//! `TT_Init`), [`close`] (of `TT_Close`) and the "initialized" gate ([`runtime`]).
//!
//! Besides the gate, an initialized runtime publishes its dispatch registry's epoch cell
//! ([`epoch_cell`]), which the C ABI's send cache keys its entries with: whoever initializes
//! the runtime (a C host through `TT_Init`, or the daemon directly) thereby enables it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use parking_lot::Mutex;
use tt_vm::{Error, Runtime};

use crate::plugin::PluginDir;
use crate::store;

static INITIALIZED: AtomicBool = AtomicBool::new(false);
/// Serializes [`init`] / [`close`] against each other.
static LIFECYCLE: Mutex<()> = Mutex::new(());
static JIT_INSTALLED: AtomicBool = AtomicBool::new(false);
/// The registry's epoch cell while the runtime is initialized; null otherwise.
static EPOCH: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());

/// The process-wide runtime, or `None` before [`init`] / after [`close`].
#[inline(always)]
pub fn runtime() -> Option<&'static Runtime> {
    INITIALIZED.load(Ordering::Acquire).then(Runtime::global)
}

/// True between a successful [`init`] and the next [`close`].
pub fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::Acquire)
}

/// The dispatch registry's epoch cell of the initialized runtime (it lives for the process);
/// null when not initialized. Published by [`init`] before the runtime counts as initialized,
/// withdrawn by [`close`] first.
#[inline(always)]
pub fn epoch_cell() -> *const AtomicU32 {
    EPOCH.load(Ordering::Acquire)
}

/// Initializes the runtime (the Rust side of `TT_Init`): opens the store, installs the lazy
/// plugin loader for `plugin_dir`, the Bash bridge if available, and the JIT; publishes the
/// epoch cell. Idempotent: once initialized, later calls return `Ok` and change nothing.
pub fn init(db_path: Option<&str>, plugin_dir: Option<&str>) -> Result<(), Error> {
    let _g = LIFECYCLE.lock();
    if INITIALIZED.load(Ordering::Acquire) {
        return Ok(());
    }
    let rt = Runtime::global();
    let store = store::open_store(db_path)?;
    rt.set_store(store);
    match plugin_dir.filter(|d| !d.is_empty()) {
        Some(dir) => {
            let loader = PluginDir::new(PathBuf::from(dir));
            rt.set_class_loader(Some(Arc::new(move |class: &str| loader.load_class(class))));
        }
        None => rt.set_class_loader(None),
    }
    store::install_bridge(rt);
    if !JIT_INSTALLED.swap(true, Ordering::AcqRel) {
        tt_jit::install(rt);
    }
    EPOCH.store(rt.dispatch().epoch_ptr().cast_mut(), Ordering::Release);
    INITIALIZED.store(true, Ordering::Release);
    Ok(())
}

/// Shuts the runtime down (the Rust side of `TT_Close`): saves modified instances, drops all
/// instances and blocks, closes the store. Classes, selectors and plugins stay. No-op when
/// not initialized. Returns the first save failure (the shutdown completes regardless).
pub fn close() -> Result<(), Error> {
    let _g = LIFECYCLE.lock();
    if !INITIALIZED.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    EPOCH.store(std::ptr::null_mut(), Ordering::Release);
    let rt = Runtime::global();
    let saved = store::save_modified(rt);
    rt.drop_all();
    rt.set_store(None);
    rt.set_class_loader(None);
    rt.set_bash_fallback(None);
    store::shutdown_bridge();
    saved
}
