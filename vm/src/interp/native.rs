//! Old path of the compiled tier's context and unwinding marker, now in [`crate::tier`] (the
//! interpreter's entry into compiled code is `interp::compiled`).
#![doc(hidden)]

// TODO(lead): old path, remove after the merge
pub use crate::tier::{JitCtx, UNWIND};
