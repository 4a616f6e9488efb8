//! Golden files: compare a produced text with the file that records it.
//!
//! [`check`] compares `actual` with the file at `path`; with `UPDATE_GOLDEN=1` in the
//! environment it writes `actual` to the file instead (creating its folder) and succeeds. Every
//! error names the file; a mismatch shows the first differing line and a line diff.
//! [`assert_golden`] is the panicking form for a harness with one file per test; a harness
//! checking many files collects the [`GoldenError`]s of [`check`] and fails once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The environment variable that makes [`check`] rewrite the files instead of comparing.
pub const UPDATE_VAR: &str = "UPDATE_GOLDEN";

/// Why a golden file did not match.
#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    /// The file could not be read (usually: it does not exist yet).
    #[error("{}: {source} (run with UPDATE_GOLDEN=1 to create it)", path.display())]
    Read {
        /// The golden file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// `UPDATE_GOLDEN=1` was set but the file could not be written.
    #[error("{}: cannot write golden file: {source}", path.display())]
    Write {
        /// The golden file.
        path: PathBuf,
        /// The write error.
        source: std::io::Error,
    },
    /// The file exists and differs from the produced text.
    #[error("{}: differs from the produced text (UPDATE_GOLDEN=1 rewrites it)\n{diff}", path.display())]
    Differs {
        /// The golden file.
        path: PathBuf,
        /// The first differing line and a line diff (`-` expected, `+` produced).
        diff: String,
    },
}

/// True when the environment asks for the golden files to be rewritten (`UPDATE_GOLDEN` set to
/// anything but empty or `0`).
pub fn updating() -> bool {
    std::env::var_os(UPDATE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compares `actual` with the golden file at `path`, or rewrites the file when [`updating`].
pub fn check(path: impl AsRef<Path>, actual: &str) -> Result<(), GoldenError> {
    check_with(path.as_ref(), actual, updating())
}

/// [`check`], panicking with the error's message on failure.
#[track_caller]
pub fn assert_golden(path: impl AsRef<Path>, actual: &str) {
    if let Err(e) = check(path, actual) {
        panic!("{e}");
    }
}

/// [`check`] with the update decision given (the tests of this module use it).
fn check_with(path: &Path, actual: &str, update: bool) -> Result<(), GoldenError> {
    if update {
        let write = || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, actual)
        };
        return write().map_err(|source| GoldenError::Write {
            path: path.to_owned(),
            source,
        });
    }
    let expected = std::fs::read_to_string(path).map_err(|source| GoldenError::Read {
        path: path.to_owned(),
        source,
    })?;
    if expected == actual {
        return Ok(());
    }
    Err(GoldenError::Differs {
        path: path.to_owned(),
        diff: diff(&expected, actual),
    })
}

/// Largest product of line counts diffed line by line; above it only the first difference shows.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A readable description of how `actual` differs from `expected`.
fn diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.split('\n').collect();
    let new: Vec<&str> = actual.split('\n').collect();
    let first = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let mut out = format!("first difference at line {}:\n", first + 1);
    let show = |l: Option<&&str>| l.map_or("<end of text>".to_owned(), |l| format!("{l:?}"));
    let _ = writeln!(out, "  expected: {}", show(old.get(first)));
    let _ = writeln!(out, "  produced: {}", show(new.get(first)));
    if old.len().saturating_mul(new.len()) <= MAX_DIFF_CELLS {
        out.push_str("--- expected\n+++ produced\n");
        out.push_str(&line_diff(&old, &new));
    }
    out
}

/// Lines only in `old` as `-`, only in `new` as `+`, common lines as ` ` (longest common
/// subsequence), with runs of more than six unchanged lines elided.
fn line_diff(old: &[&str], new: &[&str]) -> String {
    let (n, m) = (old.len(), new.len());
    // lcs[i][j] = length of the LCS of old[i..] and new[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            lines.push((' ', old[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', old[i]));
            i += 1;
        } else {
            lines.push(('+', new[j]));
            j += 1;
        }
    }
    let mut out = String::new();
    let mut k = 0;
    while k < lines.len() {
        let run = lines[k..].iter().take_while(|(c, _)| *c == ' ').count();
        if run > 6 {
            // Keep three lines of context on each side of a change.
            let head = if k == 0 { 0 } else { 3 };
            let tail = if k + run == lines.len() { 0 } else { 3 };
            for (c, l) in &lines[k..k + head] {
                let _ = writeln!(out, "{c}{l}");
            }
            let _ = writeln!(out, "  … {} unchanged lines", run - head - tail);
            for (c, l) in &lines[k + run - tail..k + run] {
                let _ = writeln!(out, "{c}{l}");
            }
            k += run;
        } else {
            let (c, l) = lines[k];
            let _ = writeln!(out, "{c}{l}");
            k += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tt-testkit-{}", std::process::id()));
        dir.join(name)
    }

    #[test]
    fn equal_text_passes() {
        let path = temp("equal/a.txt");
        check_with(&path, "one\ntwo\n", true).unwrap();
        check_with(&path, "one\ntwo\n", false).unwrap();
    }

    #[test]
    fn missing_file_names_it() {
        let path = temp("missing/none.txt");
        let e = check_with(&path, "x", false).unwrap_err();
        assert!(matches!(e, GoldenError::Read { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("none.txt") && msg.contains("UPDATE_GOLDEN=1"),
            "{msg}"
        );
    }

    #[test]
    fn mismatch_shows_file_first_difference_and_diff() {
        let path = temp("differs/b.txt");
        check_with(&path, "a\nb\nc\n", true).unwrap();
        let e = check_with(&path, "a\nB\nc\n", false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("b.txt"), "{msg}");
        assert!(msg.contains("first difference at line 2"), "{msg}");
        assert!(msg.contains("\n-b\n+B\n"), "{msg}");
        assert!(msg.contains("\n a\n"), "{msg}");
    }

    #[test]
    fn update_rewrites_the_file() {
        let path = temp("update/c.txt");
        check_with(&path, "old", true).unwrap();
        check_with(&path, "new", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn long_unchanged_runs_are_elided() {
        let old: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let mut new = old.clone();
        new[10] = "ten".into();
        let d = diff(&old.join("\n"), &new.join("\n"));
        assert!(d.contains("… 7 unchanged lines"), "{d}");
        assert!(d.contains("-10\n+ten\n"), "{d}");
    }

    #[test]
    fn write_failure_names_the_file() {
        // A path below a regular file cannot be created.
        let file = temp("blocker");
        check_with(&file, "", true).unwrap();
        let path = file.join("d.txt");
        let e = check_with(&path, "x", true).unwrap_err();
        assert!(matches!(e, GoldenError::Write { .. }));
        assert!(e.to_string().contains("d.txt"));
    }
}
