//! Injected write failures, so tests can prove that a failed write is never acknowledged even
//! when they run as root (where a read-only file mode proves nothing). See docs/fuzzing.md,
//! "Crash safety".
//!
//! Off unless the environment variable [`FAULT_FILE_ENV`] names a file when the first write
//! of the process happens. Then every write (each statement outside a transaction, and each
//! transaction just before its commit, so its rows are rolled back) reads that file: while it
//! exists and holds `readonly`, `full` or `io`, the write fails as SQLite fails for a read-only
//! database, a full disk or an I/O error. A missing or empty file means no fault. Without the
//! variable, a write costs one initialized-`OnceLock` read.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Names the file whose content selects the injected fault.
pub const FAULT_FILE_ENV: &str = "TT_PERSIST_FAULT_FILE";

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `attempt to write a readonly database` (`SQLITE_READONLY`).
    ReadOnly,
    /// `database or disk is full` (`SQLITE_FULL`).
    DiskFull,
    /// `disk I/O error` (`SQLITE_IOERR_WRITE`).
    Io,
}

impl Fault {
    /// The fault named by a fault file's content (`readonly`, `full`, `io`; surrounding white
    /// space ignored), `None` for anything else.
    pub fn parse(text: &str) -> Option<Fault> {
        match text.trim() {
            "readonly" => Some(Fault::ReadOnly),
            "full" => Some(Fault::DiskFull),
            "io" => Some(Fault::Io),
            _ => None,
        }
    }

    /// The error SQLite reports for this failure.
    pub fn error(self) -> rusqlite::Error {
        let (code, message) = match self {
            Fault::ReadOnly => (
                rusqlite::ffi::SQLITE_READONLY,
                "attempt to write a readonly database",
            ),
            Fault::DiskFull => (rusqlite::ffi::SQLITE_FULL, "database or disk is full"),
            Fault::Io => (rusqlite::ffi::SQLITE_IOERR_WRITE, "disk I/O error"),
        };
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.into()))
    }
}

/// The fault file named by [`FAULT_FILE_ENV`], read once.
fn fault_file() -> Option<&'static PathBuf> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| {
        std::env::var_os(FAULT_FILE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
    .as_ref()
}

/// The fault in effect now, if any.
pub fn current() -> Option<Fault> {
    let file = fault_file()?;
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| Fault::parse(&t))
}

/// Fails with the injected fault, if one is in effect; called by the store before each write.
pub(crate) fn check() -> Result<(), rusqlite::Error> {
    match current() {
        Some(f) => Err(f.error()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_parse() {
        assert_eq!(Fault::parse(" readonly\n"), Some(Fault::ReadOnly));
        assert_eq!(Fault::parse("full"), Some(Fault::DiskFull));
        assert_eq!(Fault::parse("io"), Some(Fault::Io));
        assert_eq!(Fault::parse(""), None);
        assert_eq!(Fault::parse("nonsense"), None);
    }

    #[test]
    fn faults_carry_sqlite_codes() {
        let code = |f: Fault| match f.error() {
            rusqlite::Error::SqliteFailure(e, _) => e.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(Fault::ReadOnly), rusqlite::ErrorCode::ReadOnly);
        assert_eq!(code(Fault::DiskFull), rusqlite::ErrorCode::DiskFull);
        assert_eq!(code(Fault::Io), rusqlite::ErrorCode::SystemIoFailure);
    }
}
