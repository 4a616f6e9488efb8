//! The plugin loader (docs/spec/c-abi.md §8, docs/spec/daemon-protocol.md §9): used by the
//! runtime's lazy class loading ([`PluginDir`], installed by [`crate::lifecycle::init`]), by
//! `tt_private_load_plugin` and by hosts such as the daemon ([`load_plugin`],
//! [`find_json_dispatch`]).
//!
//! * Files are opened with `dlopen(RTLD_NOW | RTLD_GLOBAL)`; constructors run inside `dlopen`.
//! * `int TT_PluginInit(void)` is called once, on the loading thread, with no loader or runtime
//!   lock held, if the file itself exports it: `dlsym` also searches a plugin's dependencies, so
//!   a plugin-side symbol counts only when `dladdr` places it inside the file being loaded.
//! * A non-zero `TT_PluginInit` result fails the load and unregisters every class registered on
//!   the loading thread during the load (constructors included). The failure is remembered, so
//!   `TT_PluginInit` never runs twice for one file.
//! * A file is identified by device and inode: loading the same file twice (under any path)
//!   returns the first report with `already_loaded` set. Plugins are never unloaded.
//! * `dlopen` failures are not remembered: a later attempt may succeed (e.g. once the file
//!   exists or its dependencies are installed).
//! * Classes count as registered by a load when the registering code reports them with
//!   [`record_class`] (the C ABI's `TT_RegisterClass` does) on the loading thread.
//! * A failed lazy load is reported to the hook set with [`set_load_error_hook`] (the C ABI
//!   records it as the thread's last error).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::thread::ThreadId;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
use parking_lot::{Condvar, Mutex, RwLock};
use tt_vm::Runtime;

/// The file name extension of plugins on this platform.
pub const PLUGIN_EXT: &str = if cfg!(target_os = "macos") {
    "dylib"
} else {
    "so"
};

thread_local! {
    /// Classes registered on this thread while a plugin load records them (a stack: loads nest).
    static RECORDING: RefCell<Vec<Vec<String>>> = const { RefCell::new(Vec::new()) };
}

/// Starts recording the classes this thread registers.
fn begin_recording() {
    RECORDING.with(|r| r.borrow_mut().push(Vec::new()));
}

/// Stops the innermost recording and returns the classes registered meanwhile.
fn end_recording() -> Vec<String> {
    RECORDING.with(|r| r.borrow_mut().pop().unwrap_or_default())
}

/// Reports that `name` was registered on the calling thread: a plugin load running on this
/// thread counts the class as its own (and unregisters it if the load fails). Called by the
/// C ABI's `TT_RegisterClass`; a no-op outside a load.
pub fn record_class(name: &str) {
    RECORDING.with(|r| {
        if let Some(top) = r.borrow_mut().last_mut()
            && !top.iter().any(|n| n == name)
        {
            top.push(name.to_owned());
        }
    });
}

/// What is told about a failed lazy load ([`PluginDir::load_class`]).
pub type LoadErrorHook = fn(&PluginError);

static LOAD_ERROR_HOOK: RwLock<Option<LoadErrorHook>> = RwLock::new(None);

/// Sets the hook told about failed lazy loads (replacing any earlier one). The C ABI sets one
/// that records the failure as the calling thread's last error.
pub fn set_load_error_hook(hook: LoadErrorHook) {
    *LOAD_ERROR_HOOK.write() = Some(hook);
}

/// Why a plugin load failed. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The file could not be opened (missing, not a shared object, unresolved symbols, …).
    #[error("plugin {path}: cannot load: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// `dlopen`'s (or the file system's) reason.
        reason: String,
    },
    /// `TT_PluginInit` returned non-zero; the classes registered during the load were
    /// unregistered.
    #[error("plugin {path}: TT_PluginInit failed with code {code}")]
    InitFailed {
        /// The file.
        path: PathBuf,
        /// The non-zero result.
        code: c_int,
    },
    /// The file, or a directory it is reached through, could be written by another user
    /// (docs/spec/c-abi.md §8.1); nothing was loaded.
    #[error("plugin {path}: refusing to load: {reason}")]
    Insecure {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The file is being loaded by this very thread (a constructor or `TT_PluginInit`
    /// triggered loading its own file again).
    #[error("plugin {path}: recursive load")]
    Recursive {
        /// The file.
        path: PathBuf,
    },
}

/// What a successful load found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReport {
    /// The file as given to the first load.
    pub path: PathBuf,
    /// Classes registered on the loading thread during the load, in registration order.
    pub classes: Vec<String>,
    /// True when the file exports `TT_PluginInit` (it was called and returned 0).
    pub plugin_init: bool,
    /// The result of `GetClassName()`, if the file exports it.
    pub class_name: Option<String>,
    /// JSON-dispatch symbols the file exports: `Dispatch` and `<Class>_Dispatch` for the class
    /// names known from `GetClassName` and the file name.
    pub dispatch_symbols: Vec<String>,
    /// True when this call found the file already loaded (nothing ran again).
    pub already_loaded: bool,
}

impl PluginReport {
    /// True when the file exports any JSON-dispatch symbol (`GetClassName`, `Dispatch`,
    /// `<Class>_Dispatch`).
    pub fn json_dispatch(&self) -> bool {
        self.class_name.is_some() || !self.dispatch_symbols.is_empty()
    }

    /// The report as JSON (what `tt_private_load_plugin` returns).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path.to_string_lossy(),
            "classes": self.classes,
            "plugin_init": self.plugin_init,
            "json_dispatch": self.json_dispatch(),
            "class_name": self.class_name,
            "dispatch_symbols": self.dispatch_symbols,
            "already_loaded": self.already_loaded,
        })
    }
}

/// `char* fn(char* instanceJSON, char* selector, char* argsJSON)` of JSON-dispatch plugins.
pub type JsonDispatchFn =
    unsafe extern "C" fn(*mut c_char, *mut c_char, *mut c_char) -> *mut c_char;

/// A JSON-dispatch entry point found for a class (docs/spec/daemon-protocol.md §9.2).
#[derive(Debug, Clone, Copy)]
pub struct JsonDispatch {
    /// The function.
    pub func: JsonDispatchFn,
}

impl JsonDispatch {
    /// Calls the plugin; returns its reply (the `malloc`ed string is freed), `None` for NULL.
    ///
    /// # Safety
    /// The plugin must honour the JSON-dispatch contract (docs/spec/c-abi.md §8).
    pub unsafe fn call(
        &self,
        instance_json: &str,
        selector: &str,
        args_json: &str,
    ) -> Option<String> {
        let c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let (i, s, a) = (c(instance_json), c(selector), c(args_json));
        // SAFETY: valid NUL-terminated arguments that outlive the call; the plugin contract
        // makes the result NULL or a malloc'ed string now owned by us.
        unsafe {
            let r = (self.func)(
                i.as_ptr() as *mut _,
                s.as_ptr() as *mut _,
                a.as_ptr() as *mut _,
            );
            if r.is_null() {
                return None;
            }
            let out = CStr::from_ptr(r).to_string_lossy().into_owned();
            libc::free(r.cast());
            Some(out)
        }
    }
}

struct Loaded {
    lib: Library,
    result: Result<PluginReport, PluginError>,
}

enum Slot {
    Loading(ThreadId),
    Done(Box<Loaded>),
}

static PLUGINS: Mutex<Option<HashMap<(u64, u64), Slot>>> = Mutex::new(None);
static LOADED: Condvar = Condvar::new();

fn file_key(path: &Path) -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// True when `addr` lies in the object file `key` (via `dladdr`).
fn defined_in(addr: *const c_void, key: (u64, u64)) -> bool {
    if addr.is_null() {
        return false;
    }
    // SAFETY: `Dl_info` is plain data; `dladdr` fills it for any address (or returns 0).
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid out-pointer; `addr` is only used as a number by dladdr.
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return false;
    }
    // SAFETY: dladdr returned a NUL-terminated file name owned by the loader.
    let fname = unsafe { CStr::from_ptr(info.dli_fname) };
    let p = Path::new(std::ffi::OsStr::from_bytes(fname.to_bytes()));
    file_key(p).is_ok_and(|k| k == key)
}

/// A symbol's address if the plugin file itself defines it.
fn own_symbol(lib: &Library, name: &str, key: (u64, u64)) -> Option<*const c_void> {
    // SAFETY: the symbol is only read as an address here, never called or dereferenced.
    let sym = unsafe { lib.get::<*const c_void>(name) }.ok()?;
    let addr = *sym;
    defined_in(addr, key).then_some(addr)
}

/// The class names a file name or `GetClassName` result stands for: (compiled, short).
fn dispatch_names(class: &str) -> [String; 2] {
    let short = class.rsplit("::").next().unwrap_or(class);
    [
        format!("{}_Dispatch", class.replace("::", "__")),
        format!("{}_Dispatch", short.replace("::", "__")),
    ]
}

fn inspect_json(lib: &Library, path: &Path, key: (u64, u64)) -> (Option<String>, Vec<String>) {
    let class_name = own_symbol(lib, "GetClassName", key).and_then(|addr| {
        // SAFETY: `GetClassName` has the signature `char* GetClassName(void)` (docs/spec/c-abi.md §8)
        // and returns NULL or a malloc'ed string that we own and free.
        unsafe {
            let f: unsafe extern "C" fn() -> *mut c_char = std::mem::transmute(addr);
            let r = f();
            if r.is_null() {
                return None;
            }
            let s = CStr::from_ptr(r).to_string_lossy().into_owned();
            libc::free(r.cast());
            Some(s)
        }
    });
    let mut candidates = Vec::new();
    if let Some(c) = &class_name {
        candidates.extend(dispatch_names(c));
    }
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
        candidates.extend(dispatch_names(&stem.replace("__", "::")));
    }
    candidates.push("Dispatch".into());
    let mut found = Vec::new();
    for c in candidates {
        if !found.contains(&c) && own_symbol(lib, &c, key).is_some() {
            found.push(c);
        }
    }
    (class_name, found)
}

fn unregister(classes: &[String]) {
    let rt = Runtime::global();
    for c in classes {
        if let Some(cid) = rt.dispatch().class_id(c) {
            rt.dispatch().remove_class(cid);
        }
    }
}

/// Why `md` (of `what`) may not be trusted: writable by group or others, or owned by a uid
/// other than `own` and root. `None` when it is fine.
fn untrusted(what: &Path, md: &std::fs::Metadata, own: u32) -> Option<String> {
    let shown = what.display();
    if md.mode() & 0o022 != 0 {
        return Some(format!(
            "{shown} is writable by group or others (mode {:04o}); fix: chmod go-w {shown}",
            md.mode() & 0o7777
        ));
    }
    if md.uid() != own && md.uid() != 0 {
        return Some(format!(
            "{shown} is owned by uid {}, not by uid {own} or root; fix: chown {own} {shown} (or move the plugin)",
            md.uid()
        ));
    }
    None
}

/// Refuses a plugin file that another user could have written or replaced (docs/spec/c-abi.md
/// §8.1, like ssh with keys): the file (symlinks followed), the directory holding it, and the
/// directory named in `path` if that differs, must each be owned by this process's effective
/// uid or by root and not be writable by group or others. Root gets no exemption: the rule is
/// on mode bits and owners, so it holds for a root process too.
pub fn check_trusted(path: &Path) -> Result<(), PluginError> {
    let insecure = |reason: String| PluginError::Insecure {
        path: path.to_path_buf(),
        reason,
    };
    let open = |e: std::io::Error| PluginError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    let real = std::fs::canonicalize(path).map_err(open)?;
    let mut checked: Vec<PathBuf> = Vec::new();
    let given_dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let candidates = [
        Some(real.clone()),
        real.parent().map(Path::to_path_buf),
        std::fs::canonicalize(given_dir).ok(),
    ];
    for p in candidates.into_iter().flatten() {
        if checked.contains(&p) {
            continue;
        }
        let md = std::fs::metadata(&p).map_err(open)?;
        if let Some(reason) = untrusted(&p, &md, own) {
            return Err(insecure(reason));
        }
        checked.push(p);
    }
    Ok(())
}

/// Loads a plugin file (see the module docs). Loading the same file again returns the first
/// report with `already_loaded` set. A file that fails [`check_trusted`] is not opened.
pub fn load_plugin(path: impl AsRef<Path>) -> Result<PluginReport, PluginError> {
    let path = path.as_ref();
    let open_err = |reason: String| PluginError::Open {
        path: path.to_path_buf(),
        reason,
    };
    let key = file_key(path).map_err(|e| open_err(e.to_string()))?;
    check_trusted(path)?;
    let me = std::thread::current().id();
    {
        let mut g = PLUGINS.lock();
        loop {
            match g.get_or_insert_with(HashMap::new).get(&key) {
                Some(Slot::Done(l)) => {
                    return l.result.clone().map(|mut r| {
                        r.already_loaded = true;
                        r
                    });
                }
                Some(Slot::Loading(t)) if *t == me => {
                    return Err(PluginError::Recursive {
                        path: path.to_path_buf(),
                    });
                }
                Some(Slot::Loading(_)) => LOADED.wait(&mut g),
                None => break,
            }
        }
        g.get_or_insert_with(HashMap::new)
            .insert(key, Slot::Loading(me));
    }
    let finish = |slot: Option<Slot>| {
        let mut g = PLUGINS.lock();
        let map = g.get_or_insert_with(HashMap::new);
        match slot {
            Some(s) => map.insert(key, s),
            None => map.remove(&key),
        };
        LOADED.notify_all();
    };

    begin_recording();
    // SAFETY: loading a plugin runs its constructors: trusted code by contract (docs/spec/c-abi.md §8).
    let lib = match unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) } {
        Ok(l) => l,
        Err(e) => {
            let classes = end_recording();
            unregister(&classes);
            finish(None);
            return Err(open_err(e.to_string()));
        }
    };
    let mut plugin_init = false;
    let mut code = 0;
    if let Some(addr) = own_symbol(&lib, "TT_PluginInit", key) {
        plugin_init = true;
        // SAFETY: `TT_PluginInit` has the signature `int TT_PluginInit(void)` (docs/spec/c-abi.md §3.3);
        // no lock is held while it runs.
        code = unsafe {
            let f: unsafe extern "C" fn() -> c_int = std::mem::transmute(addr);
            f()
        };
    }
    let classes = end_recording();
    let result = if code != 0 {
        unregister(&classes);
        Err(PluginError::InitFailed {
            path: path.to_path_buf(),
            code,
        })
    } else {
        let (class_name, dispatch_symbols) = inspect_json(&lib, path, key);
        Ok(PluginReport {
            path: path.to_path_buf(),
            classes,
            plugin_init,
            class_name,
            dispatch_symbols,
            already_loaded: false,
        })
    };
    finish(Some(Slot::Done(Box::new(Loaded {
        lib,
        result: result.clone(),
    }))));
    result
}

/// Number of plugin files loaded successfully.
pub fn loaded_count() -> usize {
    PLUGINS.lock().as_ref().map_or(0, |m| {
        m.values()
            .filter(|s| matches!(s, Slot::Done(l) if l.result.is_ok()))
            .count()
    })
}

/// The JSON-dispatch entry point for `class` among the loaded plugins, by the order of
/// docs/spec/daemon-protocol.md §9.2: `<Compiled>_Dispatch`, `<Short>_Dispatch`, then `Dispatch` of a
/// plugin whose `GetClassName` names the class (or its short name).
pub fn find_json_dispatch(class: &str) -> Option<JsonDispatch> {
    let g = PLUGINS.lock();
    let loaded: Vec<&Loaded> = g
        .as_ref()?
        .values()
        .filter_map(|s| match s {
            Slot::Done(l) if l.result.is_ok() => Some(&**l),
            _ => None,
        })
        .collect();
    let short = class.rsplit("::").next().unwrap_or(class);
    let by_name = |sym: &str| {
        loaded.iter().find_map(|l| {
            let r = l.result.as_ref().ok()?;
            r.dispatch_symbols.iter().any(|s| s == sym).then_some(())?;
            let key = file_key(&r.path).ok()?;
            own_symbol(&l.lib, sym, key)
        })
    };
    let [compiled, short_sym] = dispatch_names(class);
    let addr = by_name(&compiled)
        .or_else(|| by_name(&short_sym))
        .or_else(|| {
            loaded.iter().find_map(|l| {
                let r = l.result.as_ref().ok()?;
                let named = r.class_name.as_deref()?;
                (named == class || named == short).then_some(())?;
                r.dispatch_symbols
                    .iter()
                    .any(|s| s == "Dispatch")
                    .then_some(())?;
                let key = file_key(&r.path).ok()?;
                own_symbol(&l.lib, "Dispatch", key)
            })
        })?;
    // SAFETY: the symbol is a JSON-dispatch entry point by the plugin contract (docs/spec/c-abi.md §8).
    let func: JsonDispatchFn = unsafe { std::mem::transmute(addr) };
    Some(JsonDispatch { func })
}

/// Lazy loading by class name from a plugin directory: `<dir>/<Class, :: → __>.so`.
#[derive(Debug, Clone)]
pub struct PluginDir {
    dir: PathBuf,
}

impl PluginDir {
    /// A loader for `dir`.
    pub fn new(dir: PathBuf) -> PluginDir {
        PluginDir { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that would hold `class`.
    pub fn path_for(&self, class: &str) -> PathBuf {
        self.dir
            .join(format!("{}.{PLUGIN_EXT}", class.replace("::", "__")))
    }

    /// Files of the directory that lazy loading never finds because of a `lib` prefix: one
    /// line per `lib<Name>.so` with no `<Name>.so` (first letter upper-cased) beside it, naming
    /// the file expected. Shared libraries a plugin depends on may legitimately live there, so
    /// this is a diagnostic, not an error.
    pub fn misnamed_files(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                let stem = name.strip_prefix("lib")?.strip_suffix(&format!(".{PLUGIN_EXT}"))?;
                let mut chars = stem.chars();
                let first = chars.next()?;
                let class = format!("{}{}", first.to_uppercase(), chars.as_str());
                let expected = self.path_for(&class.replace("__", "::"));
                let exists = expected.exists() || self.dir.join(format!("{stem}.{PLUGIN_EXT}")).exists();
                (!exists).then(|| {
                    format!(
                        "plugin directory {}: {name} is never loaded (plugin files are named after their class, without a lib prefix): the plugin of class {class} must be named {}",
                        self.dir.display(),
                        expected.display()
                    )
                })
            })
            .collect();
        out.sort();
        out
    }

    /// Loads the file of `class` if it exists; true when `class` is registered afterwards.
    pub fn load_class(&self, class: &str) -> bool {
        if class.is_empty() || class.contains('/') {
            return false;
        }
        let path = self.path_for(class);
        if !path.is_file() {
            return false;
        }
        match load_plugin(&path) {
            Ok(_) => Runtime::global().dispatch().class_id(class).is_some(),
            Err(e) => {
                if let Some(hook) = *LOAD_ERROR_HOOK.read() {
                    hook(&e);
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_errors() {
        assert_eq!(
            dispatch_names("MyApp::Counter"),
            ["MyApp__Counter_Dispatch", "Counter_Dispatch"]
        );
        let d = PluginDir::new("/plugins".into());
        assert_eq!(
            d.path_for("MyApp::Counter"),
            PathBuf::from(format!("/plugins/MyApp__Counter.{PLUGIN_EXT}"))
        );
        let e = load_plugin("/nonexistent/Nope.so").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("plugin /nonexistent/Nope.so: cannot load: ")
        );
        assert!(!d.load_class("Nope"));
    }

    #[test]
    fn a_file_that_is_not_a_shared_object_fails_with_its_name() {
        let dir = std::env::temp_dir().join(format!("tt-plugin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("Bogus.so");
        std::fs::write(&f, b"not an ELF file").unwrap();
        let e = load_plugin(&f).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Bogus.so") && msg.contains("cannot load"),
            "{msg}"
        );
        // Not remembered: a second attempt tries again and fails the same way.
        assert!(matches!(load_plugin(&f), Err(PluginError::Open { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod trust_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tt-trust-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The check is on mode bits, so it holds when the tests run as root (CI).
    #[test]
    fn a_group_or_world_writable_plugin_file_is_refused_with_the_fix() {
        let dir = scratch("file");
        let f = dir.join("Bogus.so");
        std::fs::write(&f, b"not an ELF file").unwrap();
        for mode in [0o664, 0o646, 0o666] {
            chmod(&f, mode);
            let e = load_plugin(&f).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, PluginError::Insecure { .. }), "{msg}");
            assert!(
                msg.contains("refusing to load")
                    && msg.contains("writable by group or others")
                    && msg.contains(&format!("chmod go-w {}", f.display())),
                "{msg}"
            );
        }
        // Fixed as the message says: the check passes (the file then fails as not an ELF file).
        chmod(&f, 0o644);
        assert!(check_trusted(&f).is_ok());
        assert!(matches!(load_plugin(&f), Err(PluginError::Open { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_plugin_in_a_world_writable_directory_is_refused() {
        let dir = scratch("dir");
        let f = dir.join("Bogus.so");
        std::fs::write(&f, b"x").unwrap();
        chmod(&f, 0o644);
        chmod(&dir, 0o777);
        let msg = load_plugin(&f).unwrap_err().to_string();
        let real_dir = std::fs::canonicalize(&dir).unwrap();
        assert!(
            msg.contains(&format!("chmod go-w {}", real_dir.display())),
            "{msg}"
        );
        // The lazy loader refuses too (and reports through the hook, like any failed load).
        assert!(!PluginDir::new(dir.clone()).load_class("Bogus"));
        chmod(&dir, 0o755);
        assert!(check_trusted(&f).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lib_prefixed_plugin_is_reported_with_the_expected_name() {
        let dir = scratch("lib");
        std::fs::write(dir.join("libacc.so"), b"x").unwrap();
        // A dependency beside the plugin it belongs to is not reported.
        std::fs::write(dir.join("libdep.so"), b"x").unwrap();
        std::fs::write(dir.join("Dep.so"), b"x").unwrap();
        let lines = PluginDir::new(dir.clone()).misnamed_files();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let expected = dir.join(format!("Acc.{PLUGIN_EXT}"));
        assert!(
            lines[0].contains(&format!("libacc.{PLUGIN_EXT}"))
                && lines[0].contains(&format!("must be named {}", expected.display())),
            "{lines:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod json_plugin_tests {
    use super::*;

    /// `JsonCounter.so` calls nothing in the runtime, so it loads into any process.
    #[test]
    fn a_json_dispatch_plugin_reports_its_symbols_and_answers() {
        let path = tt_plugin_native::plugin_path("JsonCounter");
        let r = load_plugin(&path).expect("loads");
        assert!(r.classes.is_empty());
        assert!(!r.plugin_init && !r.already_loaded);
        assert!(r.json_dispatch());
        assert_eq!(r.class_name.as_deref(), Some("JsonCounter"));
        assert_eq!(r.dispatch_symbols, ["JsonCounter_Dispatch"]);
        let again = load_plugin(&path).expect("loads again");
        assert!(again.already_loaded);
        assert_eq!(again.classes, r.classes);
        assert!(loaded_count() >= 1);

        let d = find_json_dispatch("JsonCounter").expect("dispatch symbol");
        // SAFETY: JsonCounter honours the JSON-dispatch contract.
        let reply = unsafe { d.call(r#"{"class":"JsonCounter","value":41}"#, "increment", "[]") };
        let reply: serde_json::Value = serde_json::from_str(&reply.expect("reply")).unwrap();
        assert_eq!(reply["exit_code"], 0);
        assert_eq!(reply["result"], "42");
        assert_eq!(reply["instance"]["value"], 42);
        // `MyApp::JsonCounter` finds `<Short>_Dispatch`; an unrelated class finds nothing.
        assert!(find_json_dispatch("MyApp::JsonCounter").is_some());
        assert!(find_json_dispatch("Other").is_none());
    }
}
