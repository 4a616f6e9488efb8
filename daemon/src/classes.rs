//! Classes from source (issue #15): at start the daemon compiles the `.trash` files of the Bash
//! runtime's class directory (docs/spec/daemon-protocol.md §14) so that sends from the Bash
//! client to those classes run natively where their methods compiled.
//!
//! The directory is `--trash-dir DIR`, else the parent of `--plugin-dir` (the Bash client
//! starts `tt --plugin-dir $TRASHDIR/.compiled`); `--trash-dir none` turns it off. Files are
//! read from `traits/`, the directory itself and its namespaced subfolders (one level, hidden
//! folders skipped), in that order, sorted by name within each folder.

use std::path::{Path, PathBuf};

use tt_compiler::{LoadReport, load_classes};
use tt_vm::Runtime;

/// Where the class sources come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrashDir {
    /// The parent of the plugin directory (the default).
    #[default]
    Default,
    /// `--trash-dir none`.
    Off,
    /// `--trash-dir DIR`.
    Dir(PathBuf),
}

impl TrashDir {
    /// Parses the value of `--trash-dir`.
    pub fn parse(value: &str) -> TrashDir {
        if value == "none" {
            TrashDir::Off
        } else {
            TrashDir::Dir(PathBuf::from(value))
        }
    }

    /// The directory to read, given the plugin directory.
    pub fn resolve(&self, plugin_dir: Option<&Path>) -> Option<PathBuf> {
        match self {
            TrashDir::Off => None,
            TrashDir::Dir(d) => Some(d.clone()),
            TrashDir::Default => plugin_dir
                .and_then(|p| p.parent())
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf),
        }
    }
}

/// What loading the class directory did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The per-class, per-method report of the compiler.
    pub report: LoadReport,
    /// Files left out, with the reason (a structural error of the file).
    pub skipped: Vec<(PathBuf, String)>,
}

/// `.trash` files of one folder, sorted.
fn trash_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().and_then(|x| x.to_str()) == Some("trash"))
        .collect();
    out.sort();
    out
}

/// The class files of `dir`: `traits/`, then `dir`, then each namespaced subfolder.
pub fn class_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = trash_files(&dir.join("traits"));
    out.extend(trash_files(dir));
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n != "traits" && !n.starts_with('.'))
        })
        .collect();
    subs.sort();
    for s in subs {
        out.extend(trash_files(&s));
    }
    out
}

/// Compiles and registers the classes of `dir`. A file whose structure is wrong (the compiler
/// refuses the whole set naming it) is left out and the rest loaded again.
pub fn load_dir(rt: &Runtime, dir: &Path) -> Loaded {
    let mut files: Vec<(PathBuf, String)> = class_files(dir)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect();
    let mut loaded = Loaded::default();
    while !files.is_empty() {
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        let refs: Vec<(&str, &str)> = names
            .iter()
            .zip(&files)
            .map(|(n, (_, t))| (n.as_str(), t.as_str()))
            .collect();
        // Parsing and planning come before any registration, so a refused set registers
        // nothing and can be tried again without the offending file.
        match load_classes(rt, &refs) {
            Ok(report) => {
                loaded.report = report;
                break;
            }
            Err(e) => {
                let msg = e.to_string();
                let culprit = names.iter().position(|n| msg.contains(n.as_str()));
                let Some(i) = culprit else {
                    loaded
                        .skipped
                        .extend(files.drain(..).map(|(p, _)| (p, msg.clone())));
                    break;
                };
                let (p, _) = files.remove(i);
                loaded.skipped.push((p, msg));
            }
        }
    }
    loaded
}
