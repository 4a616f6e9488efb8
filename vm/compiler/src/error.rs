//! Compile errors: every error carries the 1-based line and column where it was detected.

use std::fmt;

/// A source position (1-based line and column, 0-based byte offset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// 0-based byte offset into the source text.
    pub offset: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a source text could not be compiled.
///
/// `Display` is `<line>:<column>: <message>`, e.g.
/// `3:14: expected ']' to close block, found '.'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The parser expected one thing and found another.
    #[error("{line}:{column}: expected {expected}, found {found}")]
    Expected {
        /// 1-based line of the offending token.
        line: u32,
        /// 1-based column of the offending token.
        column: u32,
        /// What would have been accepted here.
        expected: String,
        /// The token that was found (quoted), or `end of input`.
        found: String,
    },
    /// A lexical problem (unterminated string, stray character…).
    #[error("{line}:{column}: {message}")]
    Lex {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Description.
        message: String,
    },
    /// Well-formed source that TTBC cannot express faithfully (e.g. `thisContext`, assignment
    /// to a captured variable, a Trashtalk string intrinsic).
    #[error("{line}:{column}: {message}")]
    Unsupported {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Description.
        message: String,
    },
    /// A semantic error: undefined variable, assignment to an argument, …
    #[error("{line}:{column}: {message}")]
    Semantic {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Description.
        message: String,
    },
    /// A format limit of TTBC was exceeded (255 locals, 65 535 constants, jump distance…).
    #[error("{line}:{column}: {message}")]
    Limit {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Description.
        message: String,
    },
    /// The runtime refused a class or method definition.
    #[error("{message}")]
    Registration {
        /// The runtime's message.
        message: String,
    },
    /// An error located in a named class file.
    #[error("{file}:{inner}")]
    InFile {
        /// File name as given to the loader.
        file: String,
        /// The error inside that file.
        inner: Box<CompileError>,
    },
}

impl CompileError {
    /// 1-based line of the error (0 for [`CompileError::Registration`]).
    pub fn line(&self) -> u32 {
        match self {
            CompileError::Expected { line, .. }
            | CompileError::Lex { line, .. }
            | CompileError::Unsupported { line, .. }
            | CompileError::Semantic { line, .. }
            | CompileError::Limit { line, .. } => *line,
            CompileError::InFile { inner, .. } => inner.line(),
            CompileError::Registration { .. } => 0,
        }
    }

    /// 1-based column of the error (0 for [`CompileError::Registration`]).
    pub fn column(&self) -> u32 {
        match self {
            CompileError::Expected { column, .. }
            | CompileError::Lex { column, .. }
            | CompileError::Unsupported { column, .. }
            | CompileError::Semantic { column, .. }
            | CompileError::Limit { column, .. } => *column,
            CompileError::InFile { inner, .. } => inner.column(),
            CompileError::Registration { .. } => 0,
        }
    }

    /// The message without the `line:column: ` prefix.
    pub fn message(&self) -> String {
        match self {
            CompileError::Expected {
                expected, found, ..
            } => {
                format!("expected {expected}, found {found}")
            }
            CompileError::Lex { message, .. }
            | CompileError::Unsupported { message, .. }
            | CompileError::Semantic { message, .. }
            | CompileError::Limit { message, .. }
            | CompileError::Registration { message } => message.clone(),
            CompileError::InFile { inner, .. } => inner.message(),
        }
    }

    pub(crate) fn expected(
        pos: Pos,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        CompileError::Expected {
            line: pos.line,
            column: pos.column,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn lex(pos: Pos, message: impl Into<String>) -> Self {
        CompileError::Lex {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(pos: Pos, message: impl Into<String>) -> Self {
        CompileError::Unsupported {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(crate) fn semantic(pos: Pos, message: impl Into<String>) -> Self {
        CompileError::Semantic {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(crate) fn limit(pos: Pos, message: impl Into<String>) -> Self {
        CompileError::Limit {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(crate) fn in_file(self, file: &str) -> Self {
        match self {
            e @ (CompileError::InFile { .. } | CompileError::Registration { .. }) => e,
            e => CompileError::InFile {
                file: file.to_string(),
                inner: Box::new(e),
            },
        }
    }
}
