//! The compiled tier's plug-in point. The vm builds, runs and tests without any compiler; the
//! `tt-jit` crate implements [`Compiler`] and installs itself with
//! [`crate::Runtime::set_compiler`].
//!
//! # Calling convention of compiled code
//!
//! A compiled unit is one native function of type [`JitEntry`]:
//! `extern "C" fn(ctx, params) -> u64`.
//!
//! * `ctx` points to the activation's [`JitCtx`] (the running registry's
//!   epoch pointer, the run, the frame, and the slot where a helper parks an
//!   [`crate::interp::Unwind`] or a panic). Generated code reads only the epoch pointer (at
//!   [`layout::CTX_EPOCH`], for its inline cache checks); otherwise it passes the context on to
//!   the helpers and to native methods' thin entries ([`crate::method::NativeEntry`]).
//! * `params` points to the activation's `param_count` argument values (borrowed: the run's
//!   register file owns them for the whole activation).
//! * The result is the bits of the returned [`crate::Value`] (ownership passes to the caller), or
//!   [`UNWIND`] when the activation stopped early (error, non-local return
//!   travelling further out, or a caught panic); the reason is then parked in the context.
//!
//! See `docs/jit.md` for the whole design.
//!
//! # Files
//!
//! * `abi.rs`: the entry signature and the unwinding marker;
//! * `ctx.rs`: the context compiled code receives and the helpers' way back into the
//!   interpreter;
//! * `layout.rs`: the offsets generated code relies on;
//! * `native_entry.rs`: native methods' thin entries for compiled code.
//!
//! The interpreter's side (entering compiled code from an activation or a leaf call) is
//! `interp::compiled`.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::interp::CodeUnit;

mod abi;
mod ctx;
pub mod layout;
pub(crate) mod native_entry;

pub use abi::{JitEntry, UNWIND};
pub use ctx::JitCtx;

/// Result of compiling one code unit.
#[derive(Clone)]
pub struct Compiled {
    /// Native entry point.
    pub entry: JitEntry,
    /// Size of the generated machine code in bytes.
    pub code_bytes: usize,
    /// Time spent compiling.
    pub compile_time: Duration,
    /// Whatever the compiler needs to keep alive as long as the code can run (its code memory,
    /// constants the code refers to).
    pub keep_alive: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("entry", &(self.entry as *const u8))
            .field("code_bytes", &self.code_bytes)
            .field("compile_time", &self.compile_time)
            .finish()
    }
}

/// A compiler from decoded TTBC code units to native code.
///
/// # Safety
/// The interpreter calls the [`Compiled::entry`] of every `Ok` this returns, trusting it
/// blindly: an implementation must return only entries that follow the calling convention of
/// the module docs for `unit` (they read at most `param_count` params, pass `ctx` only to the
/// helpers and thin entries, and return an owned value's bits or [`UNWIND`] with a reason
/// parked), and whose `keep_alive` keeps their code and everything it refers to alive.
pub unsafe trait Compiler: Send + Sync {
    /// Compiles one unit. An error leaves the unit in the interpreter with the reason recorded.
    fn compile(&self, unit: &CodeUnit) -> Result<Compiled, String>;
}

/// When code units tier up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TierMode {
    /// Never compile.
    Never = 0,
    /// Compile every unit before its first run.
    Always = 1,
    /// Compile when invocations + back-edges reach the threshold.
    Auto = 2,
}

/// Default tier-up threshold (invocations + loop back-edges). Measured break-even points
/// (compile time / time saved per invocation or back-edge) range from ~7 000 (string-heavy
/// blocks) to ~15 000 (integer loops); 10 000 sits in between, within 1.5× of each. See
/// docs/jit.md ("Choosing the threshold") and `jit/examples/tier_threshold.rs`.
pub const DEFAULT_THRESHOLD: u32 = 10_000;
