//! Honest skips.
//!
//! libtest counts a test that returns early as passed, and it captures what the test prints
//! with `print!`/`eprint!` (shown only when the test fails), so a skip would be invisible.
//! [`skip`] instead writes `SKIPPED <name>: <reason>` with `write_all` on [`std::io::stderr`],
//! which libtest's capture does not intercept (it replaces only the handle the printing macros
//! use), so the line appears in `cargo test` output, passing or not. When the environment
//! variable [`SKIP_LOG_VAR`] (`TT_SKIP_LOG`) names a file, the line is also appended there:
//! `.ci/run` sets it, lists the skips at the end of the run and fails on any skip that
//! `.ci/expected-skips` does not allow.
//!
//! ```no_run
//! if std::process::Command::new("nm").arg("--version").output().is_err() {
//!     tt_testkit::skip::skip(module_path!(), "`nm` is not installed");
//!     return;
//! }
//! ```

use std::io::Write;

/// The environment variable naming the file every skip is appended to.
pub const SKIP_LOG_VAR: &str = "TT_SKIP_LOG";

/// The line a skip reports: `SKIPPED <name>: <reason>` (no newline).
pub fn skip_line(name: &str, reason: &str) -> String {
    let reason = reason.replace('\n', " ");
    format!("SKIPPED {name}: {reason}")
}

/// Reports that the test `name` (a test function's path, e.g.
/// `concat!(module_path!(), "::my_test")`, or a module path for a group of checks) does not
/// run, or runs only in part, because of `reason`. The caller then returns (or leaves out the
/// part it cannot run).
///
/// Writes the line to the process's standard error, bypassing libtest's output capture, and
/// appends it to the file named by `TT_SKIP_LOG` if set. Failures to write are ignored: a
/// report must never fail the test that makes it.
pub fn skip(name: &str, reason: &str) {
    let line = skip_line(name, reason);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(format!("{line}\n").as_bytes());
    let _ = err.flush();
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR).filter(|p| !p.is_empty()) {
        let _ = append_line(std::path::Path::new(&path), &line);
    }
}

/// Appends `line` and a newline to `path` (created if missing). One `write_all` of one short
/// line on an `O_APPEND` file: lines of concurrent test processes do not interleave.
fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(format!("{line}\n").as_bytes())
}

/// Whether the program `tool` can be started (`tool --version` runs, whatever its status).
pub fn have_tool(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        assert_eq!(
            skip_line("a::b", "no `nm`\nat all"),
            "SKIPPED a::b: no `nm` at all"
        );
    }

    #[test]
    fn lines_are_appended_to_the_log() {
        let dir = std::env::temp_dir().join(format!("tt-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("skips.log");
        let _ = std::fs::remove_file(&log);
        append_line(&log, &skip_line("a::probe", "a reason")).unwrap();
        append_line(&log, &skip_line("a::probe2", "another")).unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text,
            "SKIPPED a::probe: a reason\nSKIPPED a::probe2: another\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
