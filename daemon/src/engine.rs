//! The runtime as the daemon uses it: initialization (`TT_Init(db, plugin_dir)`), the plugin
//! directory, the sticky session, persisting after a request, and `TT_Close`.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use tt_vm::Runtime;

use crate::plugins::Plugins;
use crate::trace::LogSink;

/// Settings of the runtime and of diagnostics.
#[derive(Debug, Default)]
pub struct EngineConfig {
    /// `--db` (docs/spec/persistence.md §2 resolution when `None`).
    pub db: Option<PathBuf>,
    /// `--plugin-dir` (already defaulted).
    pub plugin_dir: Option<PathBuf>,
    /// `--trash-dir` (classes from source; `None` = do not load any).
    pub trash_dir: Option<PathBuf>,
    /// `--debug`: diagnostics on stderr.
    pub debug: bool,
    /// `--trace` sink.
    pub trace: LogSink,
    /// `--profile` sink.
    pub profile: LogSink,
    /// The limits of each request (`--request-timeout`, `--request-memory`; docs/limits.md).
    pub limits: RequestLimits,
}

/// What one request may use before it is stopped (docs/limits.md). `None` = unbounded.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestLimits {
    /// Wall time from the start of its execution (`--request-timeout SECS`).
    pub timeout: Option<std::time::Duration>,
    /// Bytes its runtime values may allocate (`--request-memory MB`).
    pub memory: Option<u64>,
}

/// Initialization failures (`tt: <message>`, exit 1).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `TT_Init` failed (e.g. the database could not be opened).
    #[error("{0}")]
    Init(String),
}

/// The initialized runtime plus the daemon's view of plugins and sessions.
pub struct Engine {
    rt: &'static Runtime,
    plugins: Arc<Plugins>,
    cfg: EngineConfig,
    session: Mutex<Option<String>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// `TT_Init(db, plugin_dir)`: opens the database, enables lazy plugin loading and the Bash
    /// bridge (the JIT is installed by `main`).
    pub fn start(cfg: EngineConfig) -> Result<Engine, EngineError> {
        let rt = Runtime::global();
        let db = cfg.db.as_ref().map(|p| p.to_string_lossy().into_owned());
        let dir = cfg
            .plugin_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        tt_host::lifecycle::init_with(
            db.as_deref(),
            dir.as_deref(),
            tt_host::lifecycle::PluginDirRule::MayBeMissing,
        )
        .map_err(|e| EngineError::Init(e.to_string()))?;
        let plugins = Arc::new(Plugins::new(cfg.plugin_dir.clone()));
        // Sends that reach Bash roll the request back instead of running Bash (§15).
        crate::transaction::install(rt);
        let engine = Engine {
            rt,
            plugins,
            cfg,
            session: Mutex::new(None),
        };
        engine.debug(&format!(
            "runtime initialized (db {}, plugins {})",
            engine
                .cfg
                .db
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "default".into()),
            engine
                .plugins
                .dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none".into())
        ));
        engine.plugin_dir_diagnostics();
        engine.load_classes();
        Ok(engine)
    }

    /// `--debug` lines about the plugin directory: missing (lazy loading finds nothing until it
    /// is created), or holding `lib`-prefixed files that are never loaded (docs/daemon.md).
    fn plugin_dir_diagnostics(&self) {
        let Some(dir) = self.plugins.dir() else {
            return;
        };
        if !dir.is_dir() {
            self.debug(&format!(
                "plugin directory {} does not exist (yet): no plugin is loaded until it does",
                dir.display()
            ));
            return;
        }
        for w in tt_host::plugin::PluginDir::new(dir.to_path_buf()).misnamed_files() {
            self.debug(&format!("warning: {w}"));
        }
    }

    /// Compiles and registers the classes of the trash directory (issue #15; §14). Classes a
    /// native plugin already registered keep their plugin methods (a plugin's method wins).
    fn load_classes(&self) {
        let Some(dir) = self.cfg.trash_dir.as_ref() else {
            return;
        };
        let loaded = crate::classes::load_dir(self.rt, dir);
        for (file, why) in &loaded.skipped {
            self.debug(&format!("classes: {} left out: {why}", file.display()));
        }
        let (mut native, mut fallback) = (0usize, 0usize);
        for class in &loaded.report.classes {
            for m in &class.methods {
                if m.native {
                    native += 1;
                } else {
                    fallback += 1;
                    self.debug(&format!(
                        "classes: {}>>{} falls back: {}",
                        class.name,
                        m.selector,
                        m.reason.as_deref().unwrap_or("not native")
                    ));
                }
            }
        }
        self.debug(&format!(
            "classes from {}: {} classes, {native} native methods, {fallback} fallback",
            dir.display(),
            loaded.report.classes.len()
        ));
    }

    /// The runtime.
    pub fn rt(&self) -> &'static Runtime {
        self.rt
    }

    /// The plugin directory and loaded plugins.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// The trace sink.
    pub fn trace(&self) -> &LogSink {
        &self.cfg.trace
    }

    /// The profile sink.
    pub fn profile(&self) -> &LogSink {
        &self.cfg.profile
    }

    /// Writes a `--debug` line on stderr.
    pub fn debug(&self, text: &str) {
        if self.cfg.debug {
            eprintln!("[{}] tt: {text}", crate::trace::timestamp());
        }
    }

    /// Makes `sid` the current session if non-empty (sticky).
    pub fn set_session(&self, sid: &str) {
        if sid.is_empty() {
            return;
        }
        let mut cur = self.session.lock();
        if cur.as_deref() != Some(sid) {
            *cur = Some(sid.to_owned());
            tt_host::store::set_session(Some(sid));
        }
    }

    /// The limits of each request.
    pub fn request_limits(&self) -> RequestLimits {
        self.cfg.limits
    }

    /// Reopens the database when its file was deleted or replaced since the last request
    /// (docs/spec/persistence.md §3.5): one `stat` per request otherwise.
    pub fn refresh_store(&self) {
        match tt_host::store::reopen_if_replaced(self.rt) {
            Ok(true) => self.debug("database file deleted or replaced: reopened"),
            Ok(false) => {}
            Err(e) => self.debug(&format!("reopening the database: {e}")),
        }
    }

    /// Saves every resident instance modified since it was loaded or saved, except `except`
    /// (the transient receiver), in one transaction when possible
    /// (`tt_host::store::save_instances`). Returns the first error.
    pub fn persist_dirty(&self, except: Option<&str>) -> Result<(), tt_vm::Error> {
        if self.rt.store().is_none() {
            return Ok(());
        }
        let dirty: Vec<_> = self
            .rt
            .resident_instances()
            .into_iter()
            .filter(|i| i.is_dirty() && !i.is_released() && Some(i.id()) != except)
            .collect();
        tt_host::store::save_instances(self.rt, &dirty)
    }

    /// `TT_Close`: saves modified instances, drops instances and blocks, closes the database.
    pub fn close(&self) {
        if let Err(e) = self.persist_dirty(None) {
            self.debug(&format!("close: {e}"));
        }
        if let Err(e) = tt_host::lifecycle::close() {
            self.debug(&format!("close: {e}"));
        }
        self.rt.set_store(None);
        self.debug("runtime closed");
    }
}
