//! Method records: what a method dictionary entry holds ([`MethodImpl`]) and native methods
//! ([`NativeFn`]) with their thin entry for compiled code ([`NativeEntry`]).
//!
//! The records' layout is part of the compiled tier's ABI: generated code tells a native method
//! from the others and calls its entry at the offsets of [`crate::tier::layout`].

use std::sync::Arc;

use crate::error::Result;
use crate::interp::CodeUnit;
use crate::runtime::Runtime;
use crate::value::Value;

/// The closure type of a native method: `(runtime, self, args) -> result`.
pub type NativeClosure = dyn Fn(&Runtime, &Value, &[Value]) -> Result<Value> + Send + Sync;

/// A native method implemented in Rust (or a C function wrapped by the C ABI):
/// `(runtime, self, args) -> result`. `self` is an instance value, or the class name for
/// class-side methods.
///
/// Besides the shared closure it holds a thin `extern "C"` entry ([`NativeEntry`]) that compiled
/// code calls directly on an inline-cache hit (an indirect call through the method record, no
/// argument vector, no `Arc` or refcount traffic; see `docs/jit.md`, "Sends"). The entry is
/// instantiated for the closure's concrete type by [`NativeFn::new`]; [`NativeFn::from_arc`]
/// (an already type-erased closure) gets one that calls through the closure's vtable.
/// `#[repr(C)]`: the entry is the first word ([`crate::tier::layout`]).
#[repr(C)]
#[derive(Clone)]
pub struct NativeFn {
    entry: NativeEntry,
    /// The closure's data address for a typed entry (`native_entry::<F>` reads it instead of
    /// deriving it from the fat `Arc` through the vtable); 0 for `native_entry_dyn`.
    env: usize,
    f: Arc<NativeClosure>,
}

/// The thin entry of a native method for compiled code:
/// `(native, ctx, self, args, argc) -> value bits | UNWIND`.
///
/// * `native` is the [`NativeFn`] the entry was read from (inside a live, never freed method
///   record);
/// * `ctx` the calling activation's [`crate::tier::JitCtx`];
/// * `self` and the `argc` values at `args` are **borrowed** (the caller keeps them alive for
///   the whole call and releases what it owns afterwards);
/// * the result is an owned value's bits, or [`crate::tier::UNWIND`] with the error
///   or the caught panic parked in `ctx`, exactly as the interpreter's native call would have
///   returned or raised it.
pub type NativeEntry = unsafe extern "C" fn(
    native: *const NativeFn,
    ctx: *mut std::ffi::c_void,
    this: u64,
    args: *const u64,
    argc: usize,
) -> u64;

impl NativeFn {
    /// Byte offset of the [`NativeEntry`] (`#[repr(C)]`: the first word).
    pub const ENTRY_OFFSET: usize = std::mem::offset_of!(NativeFn, entry);

    /// A native method from a closure, with a thin entry specialised to it.
    pub fn new(
        f: impl Fn(&Runtime, &Value, &[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> NativeFn {
        NativeFn::typed(Arc::new(f))
    }

    fn typed<F>(f: Arc<F>) -> NativeFn
    where
        F: Fn(&Runtime, &Value, &[Value]) -> Result<Value> + Send + Sync + 'static,
    {
        NativeFn {
            entry: crate::tier::native_entry::native_entry::<F>,
            env: Arc::as_ptr(&f) as usize,
            f,
        }
    }

    /// A native method from a type-erased closure (its thin entry calls through the vtable).
    pub fn from_arc(f: Arc<NativeClosure>) -> NativeFn {
        NativeFn {
            entry: crate::tier::native_entry::native_entry_dyn,
            env: 0,
            f,
        }
    }

    /// The shared closure.
    #[inline]
    pub fn closure(&self) -> &Arc<NativeClosure> {
        &self.f
    }

    /// The thin entry for compiled code.
    #[inline]
    pub fn entry(&self) -> NativeEntry {
        self.entry
    }

    /// The closure's data address as a typed entry sees it (0 for a type-erased one).
    #[inline]
    pub(crate) fn env(&self) -> usize {
        self.env
    }
}

impl std::ops::Deref for NativeFn {
    type Target = NativeClosure;

    #[inline]
    fn deref(&self) -> &NativeClosure {
        &*self.f
    }
}

impl From<Arc<NativeClosure>> for NativeFn {
    fn from(f: Arc<NativeClosure>) -> NativeFn {
        NativeFn::from_arc(f)
    }
}

/// A method dictionary entry.
///
/// `#[repr(u8)]` (a `u8` tag first, then the variant's fields in `#[repr(C)]` order), so that
/// compiled code can tell a native method from the others and find its [`NativeEntry`] at the
/// documented offsets ([`crate::tier::layout`]).
#[derive(Clone)]
#[repr(u8)]
pub enum MethodImpl {
    /// Native code.
    Native(NativeFn) = 0,
    /// A TTBC method: the chunk runs with `self` bound; its params are the arguments.
    Bytecode(Arc<CodeUnit>) = 1,
    /// A Bash-only method: sends fall back to the Bash bridge (exit 200 in the daemon).
    BashFallback {
        /// Why the method is not native.
        reason: String,
    } = 2,
}

impl MethodImpl {
    /// A bytecode method from a verified chunk.
    pub fn bytecode(v: Arc<crate::ttbc::Verified>) -> MethodImpl {
        MethodImpl::Bytecode(CodeUnit::decode(v))
    }

    /// A native method from a closure.
    pub fn native(
        f: impl Fn(&Runtime, &Value, &[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> MethodImpl {
        MethodImpl::Native(NativeFn::new(f))
    }

    /// `"native"`, `"bytecode"` or `"bash"`.
    pub fn kind(&self) -> &'static str {
        match self {
            MethodImpl::Native(_) => "native",
            MethodImpl::Bytecode(_) => "bytecode",
            MethodImpl::BashFallback { .. } => "bash",
        }
    }
}

impl std::fmt::Debug for MethodImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}
