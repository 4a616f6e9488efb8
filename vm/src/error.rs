//! The runtime's error type: a kind plus the spec's message, boxed so `Result<Value, Error>`
//! stays two words.

use std::fmt;

/// What kind of failure an [`Error`] is. The daemon maps [`ErrorKind::NotFound`] to exit 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Unknown class / method / instance / block (the "not found" family, docs/spec/c-abi.md §4).
    NotFound,
    /// A run-time error of a block or method (docs/spec/ttbc.md §7.5).
    Runtime,
    /// A chunk refused by the loader/verifier.
    Bytecode,
    /// Bad input at an API edge (JSON, ids, arguments).
    InvalidInput,
    /// Persistence (SQLite) failure.
    Persistence,
    /// Bash bridge failure.
    Bridge,
    /// A bug or a caught panic.
    Internal,
    /// The call was interrupted from another thread or by shutdown (docs/limits.md).
    Interrupted,
    /// The calling thread's deadline passed (docs/limits.md).
    DeadlineExceeded,
    /// The calling thread's memory budget is spent (docs/limits.md).
    MemoryLimit,
}

/// A runtime error: kind + message (messages cross every boundary unchanged).
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
        }))
    }

    /// A run-time error.
    pub fn runtime(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Runtime, message)
    }

    /// A not-found error.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    /// An invalid-input error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// True for the errors of [`crate::limits`] (interrupted, deadline exceeded, memory limit
    /// exceeded): the call was stopped, not failed by its own code.
    pub fn is_limit(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::Interrupted | ErrorKind::DeadlineExceeded | ErrorKind::MemoryLimit
        )
    }

    /// True for the not-found family.
    pub fn is_not_found(&self) -> bool {
        self.0.kind == ErrorKind::NotFound
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.0.kind, self.0.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::ttbc::TtbcError> for Error {
    fn from(e: crate::ttbc::TtbcError) -> Error {
        Error::new(ErrorKind::Bytecode, e.to_string())
    }
}

/// Result alias of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

const _: () = assert!(std::mem::size_of::<Error>() == 8);
