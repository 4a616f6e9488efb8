//! The calling convention of compiled code: the entry signature ([`JitEntry`]) and the
//! unwinding marker ([`UNWIND`]). See the [`crate::tier`] module docs for the whole contract.

/// Native entry of a compiled code unit: `(ctx, params) -> value bits or UNWIND` (see the
/// module docs for the calling convention).
pub type JitEntry = unsafe extern "C" fn(ctx: *mut std::ffi::c_void, params: *const u64) -> u64;

/// Returned by compiled code and by helpers instead of a value when the activation must stop:
/// the reason is parked in the [`super::JitCtx`]. It is a non-canonical NaN, which no
/// [`crate::Value`] ever holds (floats are canonicalised), so it cannot be confused with a result.
pub const UNWIND: u64 = 0xFFF8_0000_0000_0001;
