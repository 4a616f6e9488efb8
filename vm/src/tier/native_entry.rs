//! The thin entries of native methods for compiled code ([`crate::method::NativeEntry`]):
//! compiled code calls them directly on an inline-cache hit, and they call the method exactly
//! as the interpreter's native call does, parking an error or a panic in the [`JitCtx`].

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::ctx::JitCtx;
use crate::method::{NativeClosure, NativeFn};
use crate::runtime::Runtime;
use crate::value::Value;

/// Calls native method `f` for compiled code, exactly as the interpreter's native call
/// (`Run::call_method`): the run's depth is published first, an error is parked as
/// `Unwind::Error`, a panic is caught and parked (compiled frames cannot unwind).
///
/// # Safety
/// `ctx` is the live `JitCtx` of the calling activation; `this` and the `argc` values at `args`
/// are live values the caller keeps alive for the whole call.
#[inline(always)]
unsafe fn call_native(
    f: &NativeClosure,
    ctx: *mut c_void,
    this: u64,
    args: *const u64,
    argc: usize,
) -> u64 {
    // SAFETY: compiled code passes the context it was entered with (created by
    // `Run::exec_compiled_at` for this activation, used by one call at a time).
    let ctx = unsafe { &mut *(ctx as *mut JitCtx<'_, '_, '_>) };
    // SAFETY: `this` is a live value's bits, borrowed for the call (never dropped here).
    let this = ManuallyDrop::new(unsafe { Value::from_raw_bits(this) });
    let args: &[Value] = if argc == 0 {
        &[]
    } else {
        // SAFETY: `argc` live values at `args`, borrowed for the call; `Value` is
        // `repr(transparent)` over `u64`.
        unsafe { std::slice::from_raw_parts(args as *const Value, argc) }
    };
    let run = ctx.run();
    run.publish_depth();
    let rt = run.rt;
    match catch_unwind(AssertUnwindSafe(|| f(rt, &this, args))) {
        Ok(Ok(v)) => v.into_raw_bits(),
        other => ctx.park_native(other),
    }
}

/// The [`crate::method::NativeEntry`] of a [`NativeFn`] made from a closure of type `F`
/// ([`NativeFn::new`]): calls `F` directly (no vtable).
///
/// # Safety
/// `native` points to a live [`NativeFn`] whose closure is an `F` (the entry is only stored
/// next to such a closure); the rest as for [`crate::method::NativeEntry`].
pub(crate) unsafe extern "C" fn native_entry<F>(
    native: *const NativeFn,
    ctx: *mut c_void,
    this: u64,
    args: *const u64,
    argc: usize,
) -> u64
where
    F: Fn(&Runtime, &Value, &[Value]) -> crate::error::Result<Value> + Send + Sync + 'static,
{
    // SAFETY: the entry was stored by `NativeFn::typed::<F>` together with `env`, the address
    // of the `F` inside the `Arc` it keeps (unsized to `Arc<NativeClosure>`), alive as long as
    // the (never freed) method record the caller read `native` from.
    let f: &F = unsafe { &*((*native).env() as *const F) };
    // SAFETY: forwarded from the caller.
    unsafe { call_native(f, ctx, this, args, argc) }
}

/// The [`crate::method::NativeEntry`] of a type-erased [`NativeFn`] ([`NativeFn::from_arc`]):
/// calls the closure through its vtable.
///
/// # Safety
/// `native` points to a live [`NativeFn`]; the rest as for [`crate::method::NativeEntry`].
pub(crate) unsafe extern "C" fn native_entry_dyn(
    native: *const NativeFn,
    ctx: *mut c_void,
    this: u64,
    args: *const u64,
    argc: usize,
) -> u64 {
    // SAFETY: the caller passes a live `NativeFn` (inside a never freed method record).
    let f: &NativeClosure = unsafe { &**(*native).closure() };
    // SAFETY: forwarded from the caller.
    unsafe { call_native(f, ctx, this, args, argc) }
}
