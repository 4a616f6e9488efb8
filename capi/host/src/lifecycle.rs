//! The runtime's lifecycle (docs/spec/c-abi.md §4 rule 6, §5): [`init`] (the Rust side of
//! `TT_Init`), [`close`] (of `TT_Close`) and the "initialized" gate ([`runtime`]).
//!
//! Besides the gate, an initialized runtime publishes its dispatch registry's epoch cell
//! ([`epoch_cell`]), which the C ABI's send cache keys its entries with: whoever initializes
//! the runtime (a C host through `TT_Init`, or the daemon directly) thereby enables it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use parking_lot::Mutex;
use tt_vm::{Error, Runtime};

use crate::plugin::PluginDir;
use crate::store;

/// Why [`init`] refused its arguments (docs/spec/c-abi.md §5.3). Reported as a
/// [`tt_vm::Error`] of kind `InvalidInput` with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// The plugin directory does not exist (or is not a directory).
    #[error("TT_Init: plugin directory {0} does not exist or is not a directory")]
    MissingPluginDir(PathBuf),
    /// An explicit database path whose directory does not exist (only the default
    /// location's directory is created).
    #[error(
        "TT_Init: database {db}: directory {dir} does not exist (create it first; only the default location's directory is created)"
    )]
    MissingDbDir {
        /// The database path as given.
        db: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// Already initialized with another database or plugin directory.
    #[error(
        "TT_Init: already initialized with {what} {current}; call TT_Close first to use {requested}"
    )]
    AlreadyInitialized {
        /// `database` or `plugin directory`.
        what: &'static str,
        /// What is in use.
        current: String,
        /// What this call asked for.
        requested: String,
    },
}

impl From<InitError> for Error {
    fn from(e: InitError) -> Error {
        Error::invalid(e.to_string())
    }
}

/// Whether [`init_with`] requires the plugin directory to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginDirRule {
    /// It must exist (`TT_Init`).
    MustExist,
    /// It may be created later (the daemon: the Bash runtime names `$TRASHDIR/.compiled`
    /// before anything was compiled into it).
    MayBeMissing,
}

/// What the runtime was initialized with (compared against later `TT_Init` calls).
#[derive(Debug, Clone, PartialEq, Eq)]
struct InitConfig {
    db: PathBuf,
    plugin_dir: Option<PathBuf>,
}

static CONFIG: Mutex<Option<InitConfig>> = Mutex::new(None);

/// A path made comparable: canonical when it exists, as given otherwise.
fn comparable(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A later call while initialized: succeeds when every argument it gives names what is in use
/// (NULL / empty arguments match anything).
fn check_same(db: Option<&Path>, dir: Option<&Path>) -> Result<(), InitError> {
    let cfg = CONFIG.lock().clone();
    let Some(cfg) = cfg else { return Ok(()) };
    if let Some(db) = db {
        let requested = comparable(&tt_persist::resolve_db_path(Some(db)));
        if requested != cfg.db {
            return Err(InitError::AlreadyInitialized {
                what: "database",
                current: cfg.db.display().to_string(),
                requested: db.display().to_string(),
            });
        }
    }
    if let Some(dir) = dir
        && cfg.plugin_dir.as_deref() != Some(comparable(dir).as_path())
    {
        return Err(InitError::AlreadyInitialized {
            what: "plugin directory",
            current: cfg
                .plugin_dir
                .as_ref()
                .map_or_else(|| "none".to_owned(), |d| d.display().to_string()),
            requested: dir.display().to_string(),
        });
    }
    Ok(())
}

/// The checks of a first initialization: an existing plugin directory (per `rule`), and an
/// existing directory for an explicit database path.
fn check_new(db: Option<&Path>, dir: Option<&Path>, rule: PluginDirRule) -> Result<(), InitError> {
    if let Some(dir) = dir
        && rule == PluginDirRule::MustExist
        && !dir.is_dir()
    {
        return Err(InitError::MissingPluginDir(dir.to_path_buf()));
    }
    if let Some(db) = db
        && let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(InitError::MissingDbDir {
            db: db.to_path_buf(),
            dir: parent.to_path_buf(),
        });
    }
    Ok(())
}

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
/// epoch cell. [`init_with`] with [`PluginDirRule::MustExist`].
pub fn init(db_path: Option<&str>, plugin_dir: Option<&str>) -> Result<(), Error> {
    init_with(db_path, plugin_dir, PluginDirRule::MustExist)
}

/// [`init`] with a choice about a missing plugin directory (docs/spec/c-abi.md §5.3):
///
/// * A plugin directory that does not exist fails under [`PluginDirRule::MustExist`].
/// * An explicit database path (`db_path` non-empty) whose directory does not exist fails
///   ([`InitError::MissingDbDir`]); the default locations (persistence.md §2 steps 2–4) get
///   their directory created.
/// * Once initialized, a later call succeeds and changes nothing when each argument it gives
///   names the database / plugin directory in use (NULL or empty = anything); another one
///   fails with [`InitError::AlreadyInitialized`].
/// * Under [`PluginDirRule::MustExist`] with `TT_DEBUG` set, plugin files that lazy loading will never find because of a `lib`
///   prefix are reported on stderr ([`PluginDir::misnamed_files`]).
pub fn init_with(
    db_path: Option<&str>,
    plugin_dir: Option<&str>,
    rule: PluginDirRule,
) -> Result<(), Error> {
    let _g = LIFECYCLE.lock();
    let db_given = db_path.filter(|d| !d.is_empty()).map(Path::new);
    let dir_given = plugin_dir.filter(|d| !d.is_empty()).map(Path::new);
    if INITIALIZED.load(Ordering::Acquire) {
        return Ok(check_same(db_given, dir_given)?);
    }
    check_new(db_given, dir_given, rule)?;
    let rt = Runtime::global();
    let store = store::open_store(db_path)?;
    rt.set_store(store);
    match dir_given {
        Some(dir) => {
            let loader = PluginDir::new(dir.to_path_buf());
            // The daemon (MayBeMissing) reports these itself, under --debug.
            if rule == PluginDirRule::MustExist
                && std::env::var_os("TT_DEBUG").is_some_and(|v| !v.is_empty())
            {
                for w in loader.misnamed_files() {
                    eprintln!("tt: warning: {w}");
                }
            }
            rt.set_class_loader(Some(Arc::new(move |class: &str| loader.load_class(class))));
        }
        None => rt.set_class_loader(None),
    }
    store::install_bridge(rt);
    if !JIT_INSTALLED.swap(true, Ordering::AcqRel) {
        tt_jit::install(rt);
    }
    *CONFIG.lock() = Some(InitConfig {
        db: comparable(&tt_persist::resolve_db_path(db_given)),
        plugin_dir: dir_given.map(comparable),
    });
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
    *CONFIG.lock() = None;
    let rt = Runtime::global();
    let saved = store::save_modified(rt);
    rt.drop_all();
    rt.set_store(None);
    rt.set_class_loader(None);
    rt.set_bash_fallback(None);
    store::shutdown_bridge();
    saved
}
