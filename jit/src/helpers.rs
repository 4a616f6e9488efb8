//! The `extern "C"` runtime helpers compiled code calls.
//!
//! Compiled code inlines the small-integer, boolean and nil cases; everything else calls one of
//! these. Ownership (see `docs/jit.md`):
//!
//! * the value helpers ([`Helper::Arith`] … [`Helper::Strlen`]) take their operands plus an
//!   `owned` bit mask: bit `i` set means operand `i` is owned by compiled code and the helper
//!   consumes (releases) it; a clear bit means the operand is borrowed and left alone;
//! * [`Helper::Op`] and [`Helper::Release`] consume their operands; [`Helper::Retain`] adds one
//!   strong count.
//!
//! [`Helper::Op`] runs arbitrary code (sends, block invocation, JSON); it catches panics and
//! parks them in the context (see `tt_vm::interp::compiled`). The value helpers and
//! [`Helper::Resume`] (the slow path of speculative runs, see [`crate::resume`]) only run the
//! vm's value operations, which do not panic.

use std::mem::ManuallyDrop;

use tt_dispatch::{Method, SendCache};
use tt_vm::tier::JitCtx;
use tt_vm::value::ops::{self, Arith, Cmp};
use tt_vm::{MethodImpl, Value};

use crate::resume;

/// Every helper compiled code may call. The discriminant indexes [`Helper::ALL`] and the
/// engine's table of declared functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Helper {
    /// `retain(v)`: one more strong count of a heap value (a `clone`).
    Retain,
    /// `release(v)`: drops a heap value (consumes it).
    Release,
    /// `arith(op, a, b, owned) -> v`: ADD…MOD with the full semantics.
    Arith,
    /// `neg(a, owned) -> v`.
    Neg,
    /// `compare(op, a, b, owned) -> true|false bits`: LT/LE/GT/GE/EQ/NE.
    Compare,
    /// `truthy(v, owned) -> 0|1`.
    Truthy,
    /// `text_empty(v, owned) -> 0|1`: `text(v) == ""`.
    TextEmpty,
    /// `concat(a, b, owned) -> v`.
    Concat,
    /// `strlen(a, owned) -> v`.
    Strlen,
    /// `op(ctx, pc, vals, n) -> v | UNWIND`: a delegated instruction (consumes `vals`).
    Op,
    /// `send(ctx, site, vals, n, recv_owned) -> v | UNWIND`: SEND through the site's inline
    /// cache (consumes the arguments in `vals`, and the receiver when `recv_owned`).
    Send,
    /// `resume(site, buf)`: re-executes a speculative run that left the fast path
    /// ([`crate::resume`]).
    Resume,
    /// `send_found(ctx, site, m, vals, n, recv_owned) -> v | UNWIND`: SEND to the method `m`
    /// compiled code found in the site's entry 0, when it is not native (counts the hit;
    /// consumes like [`Helper::Send`]).
    SendFound,
    /// `flush_hits(site)`: reports a send site's hits to its registry (every
    /// [`tt_dispatch::stats::HIT_FLUSH`] hits counted inline by compiled code).
    FlushHits,
    /// `poll(ctx) -> 0 | UNWIND`: the out-of-line half of the interrupt poll at loop
    /// back-edges (docs/limits.md), called only when `tt_vm::limits::ATTENTION` is raised.
    Poll,
}

impl Helper {
    /// All helpers, in declaration order.
    pub(crate) const ALL: [Helper; 15] = [
        Helper::Retain,
        Helper::Release,
        Helper::Arith,
        Helper::Neg,
        Helper::Compare,
        Helper::Truthy,
        Helper::TextEmpty,
        Helper::Concat,
        Helper::Strlen,
        Helper::Op,
        Helper::Send,
        Helper::Resume,
        Helper::SendFound,
        Helper::FlushHits,
        Helper::Poll,
    ];

    /// Symbol name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Helper::Retain => "tt_jit_retain",
            Helper::Release => "tt_jit_release",
            Helper::Arith => "tt_jit_arith",
            Helper::Neg => "tt_jit_neg",
            Helper::Compare => "tt_jit_compare",
            Helper::Truthy => "tt_jit_truthy",
            Helper::TextEmpty => "tt_jit_text_empty",
            Helper::Concat => "tt_jit_concat",
            Helper::Strlen => "tt_jit_strlen",
            Helper::Op => "tt_jit_op",
            Helper::Send => "tt_jit_send",
            Helper::Resume => "tt_jit_resume",
            Helper::FlushHits => "tt_jit_flush_hits",
            Helper::SendFound => "tt_jit_send_found",
            Helper::Poll => "tt_jit_poll",
        }
    }

    /// Number of (64-bit integer or pointer) parameters.
    pub(crate) fn arity(self) -> usize {
        match self {
            Helper::Retain | Helper::Release | Helper::FlushHits | Helper::Poll => 1,
            Helper::Neg | Helper::Truthy | Helper::TextEmpty | Helper::Strlen | Helper::Resume => 2,
            Helper::Concat => 3,
            Helper::Arith | Helper::Compare | Helper::Op => 4,
            Helper::Send => 5,
            Helper::SendFound => 6,
        }
    }

    /// True when the helper returns a 64-bit result.
    pub(crate) fn returns(self) -> bool {
        !matches!(
            self,
            Helper::Retain | Helper::Release | Helper::Resume | Helper::FlushHits
        )
    }

    /// The helper's address.
    pub(crate) fn address(self) -> *const u8 {
        match self {
            Helper::Retain => tt_jit_retain as *const u8,
            Helper::Release => tt_jit_release as *const u8,
            Helper::Arith => tt_jit_arith as *const u8,
            Helper::Neg => tt_jit_neg as *const u8,
            Helper::Compare => tt_jit_compare as *const u8,
            Helper::Truthy => tt_jit_truthy as *const u8,
            Helper::TextEmpty => tt_jit_text_empty as *const u8,
            Helper::Concat => tt_jit_concat as *const u8,
            Helper::Strlen => tt_jit_strlen as *const u8,
            Helper::Op => tt_jit_op as *const u8,
            Helper::Send => tt_jit_send as *const u8,
            Helper::Resume => resume::tt_jit_resume as *const u8,
            Helper::FlushHits => tt_jit_flush_hits as *const u8,
            Helper::SendFound => tt_jit_send_found as *const u8,
            Helper::Poll => tt_jit_poll as *const u8,
        }
    }
}

/// The operand encoding of [`Helper::Arith`].
pub(crate) fn arith_code(op: Arith) -> i64 {
    match op {
        Arith::Add => 0,
        Arith::Sub => 1,
        Arith::Mul => 2,
        Arith::Div => 3,
        Arith::Mod => 4,
    }
}

/// EQ in the operand encoding of [`Helper::Compare`].
pub(crate) const CMP_EQ: i64 = 4;
/// NE in the operand encoding of [`Helper::Compare`].
pub(crate) const CMP_NE: i64 = 5;

/// The operand encoding of [`Helper::Compare`] for LT/LE/GT/GE.
pub(crate) fn cmp_code(op: Cmp) -> i64 {
    match op {
        Cmp::Lt => 0,
        Cmp::Le => 1,
        Cmp::Gt => 2,
        Cmp::Ge => 3,
    }
}

/// The operands of a value helper: views of value bits that compiled code owns or borrows.
/// Dropping it releases the operands whose bit is set in `owned` (compiled code handed them
/// over) and leaves the borrowed ones alone.
struct Operands<const N: usize> {
    vals: [ManuallyDrop<Value>; N],
    owned: u64,
}

impl<const N: usize> Operands<N> {
    /// Views `bits` as values.
    ///
    /// # Safety
    /// Each of `bits` is the bits of a value that stays alive for the whole helper call (compiled
    /// code owns it, or borrows it from the frame's params or locals or the unit's constants);
    /// those whose bit is set in `owned` are handed over: the caller never uses them again.
    #[inline(always)]
    unsafe fn new(bits: [u64; N], owned: u64) -> Self {
        Operands {
            // SAFETY: live values (the caller's contract); the `ManuallyDrop` leaves borrowed
            // ones alone, and `drop` releases only the handed-over ones.
            vals: bits.map(|b| ManuallyDrop::new(unsafe { Value::from_raw_bits(b) })),
            owned,
        }
    }
}

impl<const N: usize> std::ops::Index<usize> for Operands<N> {
    type Output = Value;
    #[inline(always)]
    fn index(&self, i: usize) -> &Value {
        &self.vals[i]
    }
}

impl<const N: usize> Drop for Operands<N> {
    #[inline(always)]
    fn drop(&mut self) {
        for (i, v) in self.vals.iter_mut().enumerate() {
            if self.owned & (1 << i) != 0 {
                // SAFETY: bit `i` says compiled code owned this operand and handed it over
                // (`Operands::new`'s contract); it is dropped exactly once, here, and `vals`
                // is never read again.
                unsafe { ManuallyDrop::drop(v) };
            }
        }
    }
}

/// `retain(v)`.
///
/// # Safety
/// `v` is the bits of a live value; the caller owns the new strong count (the bits it keeps).
unsafe extern "C" fn tt_jit_retain(v: u64) {
    // SAFETY: `v` is a live value (the caller's contract); the clone's count is handed to the
    // caller, which now owns one more reference.
    std::mem::forget(unsafe { Value::clone_from_bits(v) });
}

/// `release(v)`.
///
/// # Safety
/// `v` is the bits of a value the caller owns and never uses again.
unsafe extern "C" fn tt_jit_release(v: u64) {
    // SAFETY: the caller hands over its owned value (the caller's contract); dropped once.
    drop(unsafe { Value::from_raw_bits(v) });
}

/// `arith(op, a, b, owned) -> v`.
///
/// # Safety
/// As for [`Operands::new`] with `[a, b]` and `owned`.
unsafe extern "C" fn tt_jit_arith(op: u64, a: u64, b: u64, owned: u64) -> u64 {
    let op = match op {
        0 => Arith::Add,
        1 => Arith::Sub,
        2 => Arith::Mul,
        3 => Arith::Div,
        _ => Arith::Mod,
    };
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a, b], owned) };
    ops::arith(op, &v[0], &v[1]).into_raw_bits()
}

/// `neg(a, owned) -> v`.
///
/// # Safety
/// As for [`Operands::new`] with `[a]` and `owned`.
unsafe extern "C" fn tt_jit_neg(a: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a], owned) };
    ops::neg(&v[0]).into_raw_bits()
}

/// `compare(op, a, b, owned) -> true|false bits`.
///
/// # Safety
/// As for [`Operands::new`] with `[a, b]` and `owned`.
unsafe extern "C" fn tt_jit_compare(op: u64, a: u64, b: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a, b], owned) };
    let r = match op as i64 {
        0 => ops::compare(Cmp::Lt, &v[0], &v[1]),
        1 => ops::compare(Cmp::Le, &v[0], &v[1]),
        2 => ops::compare(Cmp::Gt, &v[0], &v[1]),
        3 => ops::compare(Cmp::Ge, &v[0], &v[1]),
        CMP_EQ => ops::text_eq(&v[0], &v[1]),
        _ => !ops::text_eq(&v[0], &v[1]),
    };
    Value::bool(r).into_raw_bits()
}

/// `truthy(v, owned) -> 0|1`.
///
/// # Safety
/// As for [`Operands::new`] with `[a]` and `owned`.
unsafe extern "C" fn tt_jit_truthy(a: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a], owned) };
    ops::truthy(&v[0]) as u64
}

/// `text_empty(v, owned) -> 0|1`.
///
/// # Safety
/// As for [`Operands::new`] with `[a]` and `owned`.
unsafe extern "C" fn tt_jit_text_empty(a: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a], owned) };
    ops::text_is_empty(&v[0]) as u64
}

/// `concat(a, b, owned) -> v`.
///
/// # Safety
/// As for [`Operands::new`] with `[a, b]` and `owned`.
unsafe extern "C" fn tt_jit_concat(a: u64, b: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a, b], owned) };
    ops::concat(&v[0], &v[1]).into_raw_bits()
}

/// `strlen(a, owned) -> v`.
///
/// # Safety
/// As for [`Operands::new`] with `[a]` and `owned`.
unsafe extern "C" fn tt_jit_strlen(a: u64, owned: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let v = unsafe { Operands::new([a], owned) };
    ops::strlen(&v[0]).into_raw_bits()
}

/// `op(ctx, pc, vals, n) -> v | UNWIND`.
///
/// # Safety
/// `ctx` is the live, exclusively used `JitCtx` the calling compiled code was entered with;
/// `vals` as for [`JitCtx::exec_op`].
unsafe extern "C" fn tt_jit_op(
    ctx: *mut JitCtx<'_, '_, '_>,
    pc: usize,
    vals: *const u64,
    n: usize,
) -> u64 {
    // SAFETY: compiled code passes the `ctx` it was entered with (a live, exclusively used
    // `JitCtx` created by `Run::exec_compiled` for this activation), and `n` owned operand bits
    // at `vals` that it does not use again.
    unsafe { (*ctx).exec_op(pc, vals, n) }
}

/// `poll(ctx) -> 0 | UNWIND`.
///
/// # Safety
/// `ctx` is the live, exclusively used `JitCtx` the calling compiled code was entered with.
unsafe extern "C" fn tt_jit_poll(ctx: *mut JitCtx<'_, '_, '_>) -> u64 {
    // SAFETY: compiled code passes the `ctx` it was entered with (live, used by this call only).
    unsafe { (*ctx).poll() }
}

/// `send(ctx, site, vals, n, recv_owned) -> v | UNWIND`.
///
/// # Safety
/// As for [`tt_jit_op`]; `site` points to a live send cache of the running unit; `vals` as for
/// [`JitCtx::send`].
unsafe extern "C" fn tt_jit_send(
    ctx: *mut JitCtx<'_, '_, '_>,
    site: *const SendCache<MethodImpl>,
    vals: *const u64,
    n: usize,
    recv_owned: u64,
) -> u64 {
    // SAFETY: as in `tt_jit_op`; `site` points into the running unit's `sites` (embedded in the
    // code at compile time; the unit outlives every activation of its code), and compiled code
    // passes the receiver (owned iff `recv_owned`, else borrowed from its frame) plus the owned
    // arguments (`n >= 1`).
    unsafe { (*ctx).send(&*site, vals, n, recv_owned != 0) }
}

/// `flush_hits(site)`.
///
/// # Safety
/// `site` points to a live send cache of the running unit.
unsafe extern "C" fn tt_jit_flush_hits(site: *const SendCache<MethodImpl>) {
    // SAFETY: as in `tt_jit_send`: `site` points into the running unit's `sites`.
    unsafe { (*site).flush_hits() }
}

/// `send_found(ctx, site, m, vals, n, recv_owned) -> v | UNWIND`.
///
/// # Safety
/// As for [`tt_jit_send`]; `m` as for [`JitCtx::send_found`].
unsafe extern "C" fn tt_jit_send_found(
    ctx: *mut JitCtx<'_, '_, '_>,
    site: *const SendCache<MethodImpl>,
    m: *const Method<MethodImpl>,
    vals: *const u64,
    n: usize,
    recv_owned: u64,
) -> u64 {
    // SAFETY: as in `tt_jit_send`; `m` was read from `site`'s entry 0 by the reader protocol
    // after the receiver's key matched (method records are never freed, hence `'static`).
    unsafe { (*ctx).send_found(&*site, &*m, vals, n, recv_owned != 0) }
}

#[cfg(test)]
mod tests {
    use super::Helper;

    /// The engine indexes its declarations by discriminant: `ALL` must list the helpers in
    /// declaration order.
    #[test]
    fn all_is_in_declaration_order() {
        for (i, h) in Helper::ALL.iter().enumerate() {
            assert_eq!(*h as usize, i, "{h:?}");
        }
    }
}
