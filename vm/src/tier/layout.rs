//! Byte offsets and constants generated code relies on to check a send site's inline cache and
//! call a cached native method without a helper (`docs/jit.md`, "Sends"). The vm's tests check
//! each against the real layout.

use super::ctx::JitCtx;
use crate::method::{MethodImpl, NativeFn};
use crate::object::Instance;

/// Offset of the `u32` cache class key in an [`Instance`] ([`Instance::cache_class`]).
pub const INSTANCE_CACHE_CLASS: usize = Instance::CACHE_CLASS_OFFSET;
/// Offset of the `imp` field ([`MethodImpl`]) in a `Method<MethodImpl>` record.
pub const METHOD_IMPL: usize = std::mem::offset_of!(tt_dispatch::Method<MethodImpl>, imp);
/// The `u8` tag of [`MethodImpl::Native`] (at offset 0 of a [`MethodImpl`]).
pub const IMPL_TAG_NATIVE: u8 = 0;
/// Offset of the [`NativeFn`] inside a [`MethodImpl::Native`].
pub const IMPL_NATIVE: usize = std::mem::offset_of!(NativeVariant, f);
/// Offset of the [`crate::method::NativeEntry`] inside a [`NativeFn`].
pub const NATIVE_ENTRY: usize = NativeFn::ENTRY_OFFSET;
/// Offset of the registry epoch pointer (`*const AtomicU32`) in a [`JitCtx`].
pub const CTX_EPOCH: usize = JitCtx::EPOCH_OFFSET;

/// The layout `#[repr(u8)]` gives the `Native` variant: the tag, then the field.
#[repr(C)]
struct NativeVariant {
    _tag: u8,
    f: NativeFn,
}

#[cfg(test)]
mod tests {
    use super as layout;
    use crate::method::{MethodImpl, NativeFn};
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
                        version: 1,
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
