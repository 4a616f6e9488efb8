//! Persistence: the SQLite store shared with the Bash runtime (docs/spec/persistence.md).
//!
//! * [`store`]: the database file — location (§2), schema and connection settings (§3), the
//!   statements of §3.4, id checks (§8) and the key/value-row guard (§9).
//! * [`document`]: the instance JSON document (§4) — parsing with orphans and a missing
//!   `_vars`, and compact writing in the spec's key order.
//! * [`typing`]: value typing between runtime [`Value`](tt_vm::Value)s and JSON (§5).
//! * [`writer`]: the direct document writer — the §4 compact text of a live instance in one
//!   pass, byte-identical to [`document_of`]`(..).to_json()`.
//! * [`failpoint`]: injected write failures for tests (`TT_PERSIST_FAULT_FILE`).
//! * [`instance_store`]: glue that lets a [`Store`] serve as the runtime's
//!   [`InstanceStore`](tt_vm::runtime::InstanceStore) and converts live instances to and from
//!   documents.
//!
//! Everything here fails with a typed [`PersistError`]; SQLite failures display SQLite's own
//! message (e.g. `database is locked`).

#![warn(missing_docs)]

pub mod document;
pub mod failpoint;
pub mod instance_store;
pub mod store;
pub mod typing;
pub mod writer;

use std::path::PathBuf;

pub use document::InstanceDoc;
pub use instance_store::{document_of, instance_from_doc};
pub use store::{JournalMode, Store, Tracked, resolve_db_path, resolve_db_path_with};
pub use typing::{json_to_value, value_to_json};
pub use writer::{document_json_of, write_document_json};

use tt_vm::error::{Error, ErrorKind};

/// Prefix of key/value rows (§9); such rows are never instances and are never modified.
pub const KV_PREFIX: &str = "__kv__";

/// A persistence failure.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// An id that does not match `^[0-9a-zA-Z._:-]+$` (§8).
    #[error("invalid id format: {0}")]
    InvalidId(String),
    /// An id of a key/value row (`__kv__…`, §9), which the runtime must not modify.
    #[error("reserved key/value id: {0}")]
    ReservedId(String),
    /// A document that is not a valid instance document (§4), or not a JSON object.
    #[error("invalid instance JSON: {0}")]
    InvalidJson(String),
    /// A released instance, whose document can no longer be written
    /// (`instance not found: <id>`, the message of the runtime's not-found family).
    #[error("instance not found: {0}")]
    InstanceNotFound(String),
    /// A failure reported by SQLite; displays SQLite's own message.
    #[error("{}", sqlite_message(.0))]
    Sqlite(#[from] rusqlite::Error),
    /// The directory of the database file could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
}

impl PersistError {
    /// The SQLite primary error code, for SQLite failures.
    pub fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            PersistError::Sqlite(e) => e.sqlite_error_code(),
            _ => None,
        }
    }

    /// True when SQLite gave up waiting for a lock (`database is locked`, `database table is
    /// locked`): retrying at once would wait for the same lock.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// The message SQLite itself gives for a failure (what `sqlite3_errmsg` / `sqlite3_errstr`
/// would print), so errors cross the C ABI with the texts the Bash side also sees.
fn sqlite_message(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqliteFailure(err, None) => match err.code {
            C::DatabaseBusy => "database is locked".into(),
            C::DatabaseLocked => "database table is locked".into(),
            C::ReadOnly => "attempt to write a readonly database".into(),
            C::CannotOpen => "unable to open database file".into(),
            C::NotADatabase => "file is not a database".into(),
            C::DatabaseCorrupt => "database disk image is malformed".into(),
            C::DiskFull => "database or disk is full".into(),
            C::SystemIoFailure => "disk I/O error".into(),
            C::ConstraintViolation => "constraint failed".into(),
            C::OutOfMemory => "out of memory".into(),
            _ => e.to_string(),
        },
        other => other.to_string(),
    }
}

impl From<PersistError> for Error {
    fn from(e: PersistError) -> Error {
        let kind = match e {
            PersistError::InvalidId(_)
            | PersistError::ReservedId(_)
            | PersistError::InvalidJson(_) => ErrorKind::InvalidInput,
            PersistError::InstanceNotFound(_) => ErrorKind::NotFound,
            PersistError::Sqlite(_) | PersistError::CreateDir { .. } => ErrorKind::Persistence,
        };
        Error::new(kind, e.to_string())
    }
}

/// Checks the saved-id format `^[0-9a-zA-Z._:-]+$` (§8).
pub fn check_id(id: &str) -> Result<(), PersistError> {
    if tt_vm::object::is_valid_id(id) {
        Ok(())
    } else {
        Err(PersistError::InvalidId(id.to_owned()))
    }
}

/// True for key/value row ids (`__kv__…`, §9).
pub fn is_kv_id(id: &str) -> bool {
    id.starts_with(KV_PREFIX)
}
