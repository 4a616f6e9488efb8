//! The plugin directory as the daemon sees it (docs/spec/daemon-protocol.md §9), on top of the runtime's
//! loader in `tt_host::plugin` (`load_plugin`, `find_json_dispatch`): that loader is shared
//! with the runtime's lazy class loading, so a file is loaded (and its `TT_PluginInit` run) once
//! whoever asks first.
//!
//! Per class the daemon remembers what it found (a JSON-dispatch entry, or a successful load
//! without one), so a request for a known class costs a map lookup, not a `stat` and `dlsym`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use tt_host::plugin::{JsonDispatch, PLUGIN_EXT, find_json_dispatch, load_plugin};

/// What [`Plugins::ensure`] found for a class.
#[derive(Debug, Clone)]
pub enum Ensure {
    /// A JSON-dispatch entry (§9.2): the daemon calls it.
    Json {
        /// The entry point.
        dispatch: JsonDispatch,
        /// The plugin file, when the class has one.
        path: Option<PathBuf>,
    },
    /// The class's file loaded (now or earlier) without a dispatch entry: native-table path.
    Loaded,
    /// No plugin file for the class (it may still be registered by another plugin).
    NoFile,
    /// The file exists but failed to load (`dlopen` error or `TT_PluginInit` non-zero).
    Failed(String),
}

#[derive(Clone)]
enum Known {
    Json(JsonDispatch, Option<PathBuf>),
    Loaded,
}

/// The plugin directory and what is known per class.
#[derive(Debug)]
pub struct Plugins {
    dir: Option<PathBuf>,
    known: Mutex<HashMap<String, Known>>,
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Known::Json(_, p) => write!(f, "Json({p:?})"),
            Known::Loaded => f.write_str("Loaded"),
        }
    }
}

/// `MyApp::Counter` → `MyApp__Counter`.
pub fn compiled_name(class: &str) -> String {
    class.replace("::", "__")
}

/// `MyApp__Counter` → `MyApp::Counter`.
pub fn class_from_compiled(compiled: &str) -> String {
    compiled.replace("__", "::")
}

impl Plugins {
    /// Plugins of `dir` (`None` = no plugin directory).
    pub fn new(dir: Option<PathBuf>) -> Plugins {
        Plugins {
            dir,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The plugin directory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The plugin file of a class (whether or not it exists).
    pub fn path_for(&self, class: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        if class.is_empty() || class.contains('/') || class.contains('\0') {
            return None;
        }
        Some(dir.join(format!("{}.{PLUGIN_EXT}", compiled_name(class))))
    }

    /// Loads the plugin file of `class` if needed and finds its JSON-dispatch entry.
    pub fn ensure(&self, class: &str) -> Ensure {
        if let Some(k) = self.known.lock().get(class).cloned() {
            return match k {
                Known::Json(dispatch, path) => Ensure::Json { dispatch, path },
                Known::Loaded => Ensure::Loaded,
            };
        }
        let path = self.path_for(class).filter(|p| p.is_file());
        let found = match &path {
            Some(p) => match load_plugin(p) {
                Ok(_) => Ensure::Loaded,
                Err(e) => Ensure::Failed(e.to_string()),
            },
            None => Ensure::NoFile,
        };
        // A dispatch entry may come from the class's own file or from another loaded plugin.
        if let Some(dispatch) = find_json_dispatch(class) {
            self.known
                .lock()
                .insert(class.to_owned(), Known::Json(dispatch, path.clone()));
            return Ensure::Json { dispatch, path };
        }
        if matches!(found, Ensure::Loaded) {
            self.known.lock().insert(class.to_owned(), Known::Loaded);
        }
        found
    }

    /// Plugin files of the directory, sorted: (class name, size in bytes).
    pub fn files(&self) -> Vec<(String, u64)> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<(String, u64)> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                if p.extension().and_then(|x| x.to_str()) != Some(PLUGIN_EXT) {
                    return None;
                }
                let stem = p.file_stem()?.to_str()?.to_owned();
                let size = e.metadata().ok()?.len();
                Some((class_from_compiled(&stem), size))
            })
            .collect();
        out.sort();
        out
    }
}

/// Calls a JSON-dispatch entry; `None` when it returned NULL.
pub fn call_dispatch(
    d: &JsonDispatch,
    instance: &str,
    selector: &str,
    args: &str,
) -> Option<String> {
    // SAFETY: the entry was found by the runtime's loader under the JSON-dispatch contract
    // (docs/spec/c-abi.md §8); `call` passes valid NUL-terminated strings and frees the reply.
    unsafe { d.call(instance, selector, args) }
}
