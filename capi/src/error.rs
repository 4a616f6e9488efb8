//! Errors of the C ABI (docs/spec/c-abi.md §4): the typed [`CapiError`], the per-thread last error, and
//! [`guard`], which every exported function runs its body in.
//!
//! `guard` catches Rust panics (no unwinding may cross the ABI) and turns them into
//! `internal error: <panic message>`; on any failure it records the message as the calling
//! thread's last error and returns the function's failure indicator ([`Failure`]).

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use tt_vm::{Error, ErrorKind};

use crate::types::{TTBlock, TTInstance, TTSel, TTValue};
use tt_host::plugin::PluginError;

/// A failure of a C ABI call. `Display` is the normative message (docs/spec/c-abi.md §4).
#[derive(Debug, thiserror::Error)]
pub enum CapiError {
    /// A function other than the pre-init ones was called before `TT_Init`.
    #[error("runtime not initialized")]
    NotInitialized,
    /// A NULL instance handle.
    #[error("nil instance")]
    NilInstance,
    /// A NULL block handle.
    #[error("nil block")]
    NilBlock,
    /// A NULL/empty selector, or a `TTSel` that was never issued.
    #[error("invalid selector")]
    InvalidSelector,
    /// A `TTValue` tag outside 0..=8 (or a non-NULL ARRAY).
    #[error("invalid TTValue type {0}")]
    InvalidType(c_int),
    /// `TT_SetIVarByIndex` (and the get) outside the class's full ivar list.
    #[error("ivar index {index} out of range for {class}")]
    IvarIndex {
        /// The index given.
        index: c_int,
        /// The instance's class.
        class: String,
    },
    /// `TT_SetIVar` with a name the instance does not have.
    #[error("unknown instance variable '{name}' for {class}")]
    UnknownIvar {
        /// The name given.
        name: String,
        /// The instance's class.
        class: String,
    },
    /// `TT_Release` of an id that is neither a resident instance nor a registered block.
    #[error("not found: {0}")]
    NotFound(String),
    /// An ERROR value received as an argument or returned by a method: its message verbatim.
    #[error("{0}")]
    ErrorValue(String),
    /// `TT_RegisterClass` with a NULL or empty class name.
    #[error("invalid class name")]
    InvalidClassName,
    /// `TT_BashFallback` without a bridge.
    #[error("bash bridge not available")]
    BridgeUnavailable,
    /// An error of the runtime (message verbatim, kind kept).
    #[error("{0}")]
    Vm(#[from] Error),
    /// A plugin failed to load.
    #[error("{0}")]
    Plugin(#[from] PluginError),
    /// A caught panic (or another bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl CapiError {
    /// The runtime error kind this failure maps to when it travels into the vm (e.g. out of
    /// a wrapped C method).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CapiError::Vm(e) => e.kind(),
            CapiError::NotFound(_) => ErrorKind::NotFound,
            CapiError::InvalidSelector
            | CapiError::InvalidType(_)
            | CapiError::InvalidClassName => ErrorKind::InvalidInput,
            CapiError::BridgeUnavailable => ErrorKind::Bridge,
            CapiError::Internal(_) | CapiError::Plugin(_) => ErrorKind::Internal,
            _ => ErrorKind::Runtime,
        }
    }
}

impl From<CapiError> for Error {
    fn from(e: CapiError) -> Error {
        match e {
            CapiError::Vm(e) => e,
            other => Error::new(other.kind(), other.to_string()),
        }
    }
}

/// Result alias of the C ABI layer.
pub type CapiResult<T> = Result<T, CapiError>;

thread_local! {
    static LAST_ERROR: RefCell<Option<Box<str>>> = const { RefCell::new(None) };
}

/// Records `msg` as the calling thread's last error.
pub fn set_last_error(msg: &str) {
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(msg.into()));
}

/// The calling thread's last error message (`None` if no call on this thread has failed).
pub fn last_error() -> Option<String> {
    LAST_ERROR.with(|l| l.borrow().as_deref().map(str::to_owned))
}

/// What an exported function returns when it fails (docs/spec/c-abi.md §3.1, "failure indicator").
pub trait Failure {
    /// The failure value; `msg` is the error message (already recorded as the last error).
    fn failure(msg: &str) -> Self;
}

impl Failure for () {
    fn failure(_: &str) {}
}

impl Failure for c_int {
    fn failure(_: &str) -> c_int {
        -1
    }
}

impl Failure for i64 {
    fn failure(_: &str) -> i64 {
        0
    }
}

impl Failure for *mut c_char {
    fn failure(_: &str) -> *mut c_char {
        std::ptr::null_mut()
    }
}

impl Failure for *mut TTInstance {
    fn failure(_: &str) -> *mut TTInstance {
        std::ptr::null_mut()
    }
}

impl Failure for *mut TTBlock {
    fn failure(_: &str) -> *mut TTBlock {
        std::ptr::null_mut()
    }
}

impl Failure for TTValue {
    /// A `TT_TYPE_ERROR` value owning a `malloc`ed copy of the message.
    fn failure(msg: &str) -> TTValue {
        crate::convert::error_value(msg)
    }
}

impl Failure for TTSel {
    /// `TTSel` failure is 0 (the invalid selector).
    fn failure(_: &str) -> TTSel {
        0
    }
}

/// The text of a panic payload.
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Runs the body of an exported function: catches panics, records failures as the thread's
/// last error, and returns `R`'s failure indicator on failure.
#[inline]
pub fn guard<R: Failure>(f: impl FnOnce() -> CapiResult<R>) -> R {
    guard_with(R::failure, f)
}

/// [`guard`] with an explicit failure value (e.g. NIL instead of an ERROR value).
#[inline]
pub fn guard_with<R>(fail: impl FnOnce(&str) -> R, f: impl FnOnce() -> CapiResult<R>) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => fail_with(fail, &e.to_string()),
        Err(p) => fail_with(
            fail,
            &CapiError::Internal(panic_message(p.as_ref())).to_string(),
        ),
    }
}

#[cold]
#[inline(never)]
fn fail_with<R>(fail: impl FnOnce(&str) -> R, msg: &str) -> R {
    set_last_error(msg);
    fail(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_records_errors_and_panics_per_thread() {
        let r: c_int = guard(|| Err(CapiError::NilInstance));
        assert_eq!(r, -1);
        assert_eq!(last_error().as_deref(), Some("nil instance"));
        let r: c_int = guard(|| -> CapiResult<c_int> { panic!("boom {}", 7) });
        assert_eq!(r, -1);
        assert_eq!(last_error().as_deref(), Some("internal error: boom 7"));
        // Success does not clear it.
        let r: c_int = guard(|| Ok(0));
        assert_eq!(r, 0);
        assert_eq!(last_error().as_deref(), Some("internal error: boom 7"));
        std::thread::spawn(|| assert_eq!(last_error(), None))
            .join()
            .unwrap();
    }

    #[test]
    fn messages_are_the_spec_texts() {
        assert_eq!(
            CapiError::InvalidType(9).to_string(),
            "invalid TTValue type 9"
        );
        assert_eq!(
            CapiError::IvarIndex {
                index: 5,
                class: "Counter".into()
            }
            .to_string(),
            "ivar index 5 out of range for Counter"
        );
        assert_eq!(
            CapiError::UnknownIvar {
                name: "x".into(),
                class: "Counter".into()
            }
            .to_string(),
            "unknown instance variable 'x' for Counter"
        );
        assert_eq!(CapiError::NotFound("a".into()).to_string(), "not found: a");
        let e: Error = CapiError::NotFound("a".into()).into();
        assert!(e.is_not_found());
    }
}
