//! The compiled tier's plug-in point. The vm builds, runs and tests without any compiler; the
//! `tt-jit` crate implements [`Compiler`] and installs itself with
//! [`crate::Runtime::set_compiler`].
//!
//! # Calling convention of compiled code
//!
//! A compiled unit is one native function of type [`JitEntry`]:
//! `extern "C" fn(ctx, params) -> u64`.
//!
//! * `ctx` points to the activation's [`crate::interp::native::JitCtx`] (the running registry's
//!   epoch pointer, the run, the frame, and the slot where a helper parks an
//!   [`crate::interp::Unwind`] or a panic). Generated code reads only the epoch pointer (at
//!   [`layout::CTX_EPOCH`], for its inline cache checks); otherwise it passes the context on to
//!   the helpers and to native methods' thin entries ([`crate::runtime::NativeEntry`]).
//! * `params` points to the activation's `param_count` argument values (borrowed: the run's
//!   register file owns them for the whole activation).
//! * The result is the bits of the returned [`crate::Value`] (ownership passes to the caller), or
//!   [`crate::interp::native::UNWIND`] when the activation stopped early (error, non-local return
//!   travelling further out, or a caught panic); the reason is then parked in the context.
//!
//! See `docs/jit.md` for the whole design.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::interp::CodeUnit;

/// Native entry of a compiled code unit: `(ctx, params) -> value bits or UNWIND` (see the
/// module docs for the calling convention).
pub type JitEntry = unsafe extern "C" fn(ctx: *mut std::ffi::c_void, params: *const u64) -> u64;

/// Byte offsets and constants generated code relies on to check a send site's inline cache and
/// call a cached native method without a helper (`docs/jit.md`, "Sends"). The vm's tests check
/// each against the real layout.
pub mod layout {
    use crate::interp::native::JitCtx;
    use crate::object::Instance;
    use crate::runtime::{MethodImpl, NativeFn};

    /// Offset of the `u32` cache class key in an [`Instance`] ([`Instance::cache_class`]).
    pub const INSTANCE_CACHE_CLASS: usize = Instance::CACHE_CLASS_OFFSET;
    /// Offset of the `imp` field ([`MethodImpl`]) in a `Method<MethodImpl>` record.
    pub const METHOD_IMPL: usize = std::mem::offset_of!(tt_dispatch::Method<MethodImpl>, imp);
    /// The `u8` tag of [`MethodImpl::Native`] (at offset 0 of a [`MethodImpl`]).
    pub const IMPL_TAG_NATIVE: u8 = 0;
    /// Offset of the [`NativeFn`] inside a [`MethodImpl::Native`].
    pub const IMPL_NATIVE: usize = std::mem::offset_of!(NativeVariant, f);
    /// Offset of the [`crate::runtime::NativeEntry`] inside a [`NativeFn`].
    pub const NATIVE_ENTRY: usize = NativeFn::ENTRY_OFFSET;
    /// Offset of the registry epoch pointer (`*const AtomicU32`) in a [`JitCtx`].
    pub const CTX_EPOCH: usize = JitCtx::EPOCH_OFFSET;

    /// The layout `#[repr(u8)]` gives the `Native` variant: the tag, then the field.
    #[repr(C)]
    struct NativeVariant {
        _tag: u8,
        f: NativeFn,
    }
}

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
pub trait Compiler: Send + Sync {
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

#[cfg(test)]
mod tests {
    use super::layout;
    use crate::runtime::{MethodImpl, NativeFn};
    use crate::{ClassDef, Runtime, Value};

    /// Reads `T` at `base + off`.
    ///
    /// # Safety
    /// `base + off` must be a readable, aligned `T` inside a live object.
    unsafe fn read<T: Copy>(base: *const u8, off: usize) -> T {
        // SAFETY: forwarded from the caller.
        unsafe { *(base.add(off) as *const T) }
    }

    #[test]
    fn generated_code_layout_matches_the_types() {
        let rt = Runtime::new();
        let cid = rt
            .define_class(ClassDef {
                name: "L".into(),
                ..Default::default()
            })
            .unwrap();
        let inst = rt.new_instance("L").unwrap();
        let p = std::sync::Arc::as_ptr(&inst) as *const u8;
        // SAFETY: the offset is that of the `AtomicU32` field inside the live instance.
        let key: u32 = unsafe { read(p, layout::INSTANCE_CACHE_CLASS) };
        assert_eq!(key, cid.0 << 1);
        assert_eq!(key, inst.cache_class());
        rt.release(inst.id());
        // SAFETY: as above.
        let key: u32 = unsafe { read(p, layout::INSTANCE_CACHE_CLASS) };
        assert_eq!(key, crate::object::NO_CACHE_CLASS);

        let native = MethodImpl::native(|_rt, _this, _args| Ok(Value::NIL));
        let base = &native as *const MethodImpl as *const u8;
        // SAFETY: a `#[repr(u8)]` enum starts with its `u8` tag.
        assert_eq!(unsafe { read::<u8>(base, 0) }, layout::IMPL_TAG_NATIVE);
        let MethodImpl::Native(f) = &native else {
            unreachable!()
        };
        assert_eq!(
            f as *const NativeFn as usize - base as usize,
            layout::IMPL_NATIVE
        );
        // SAFETY: the entry is a function pointer inside the live `NativeFn`.
        let entry: usize = unsafe { read(f as *const NativeFn as *const u8, layout::NATIVE_ENTRY) };
        assert_eq!(entry, f.entry() as usize);
        for other in [
            MethodImpl::BashFallback { reason: "x".into() },
            MethodImpl::bytecode(
                crate::ttbc::load_verified(
                    &crate::ttbc::serialize(&crate::ttbc::Chunk {
                        code: vec![crate::ttbc::Op::ReturnNil.byte()],
                        ..Default::default()
                    })
                    .unwrap(),
                )
                .unwrap(),
            ),
        ] {
            let base = &other as *const MethodImpl as *const u8;
            // SAFETY: as above.
            assert_ne!(unsafe { read::<u8>(base, 0) }, layout::IMPL_TAG_NATIVE);
        }
        // The epoch pointer is the context's first field (`#[repr(C)]`).
        assert_eq!(layout::CTX_EPOCH, 0);
    }
}
