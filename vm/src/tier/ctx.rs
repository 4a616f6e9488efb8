//! The context compiled code receives ([`JitCtx`]) and the entry points the JIT's runtime
//! helpers call back into the interpreter through.
//!
//! Everything an instruction does that compiled code does not inline (sends, block creation
//! and invocation, JSON ops, captures, ivars, non-local return) runs through
//! [`JitCtx::exec_op`] and [`JitCtx::send`], which call the very interpreter methods the
//! interpreter loop uses, so both tiers share one implementation of those semantics.
//!
//! Errors, non-local returns that travel further out and panics are *parked* in the
//! [`JitCtx`]; the helper returns [`UNWIND`], compiled code releases what it owns and returns
//! [`UNWIND`] too, and the interpreter's entry into compiled code (`interp::compiled`) turns
//! the parked reason back into `Err(Unwind)` (or resumes the panic), exactly where the
//! interpreter would have returned it.

use std::any::Any;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicU32;

use tt_dispatch::{Method, SendCache, Side};

use super::abi::UNWIND;
use crate::interp::{Args, Flow, Frame, Run, Unwind};
use crate::method::MethodImpl;
use crate::runtime::Runtime;
use crate::value::Value;

/// What compiled code receives as its first argument: the run and the frame of the activation,
/// plus the slots where a helper parks why the activation stops.
///
/// Generated code reads one field, the registry's epoch pointer at
/// [`JitCtx::EPOCH_OFFSET`] (for its inline-cache checks), and otherwise only passes the
/// context's address to helpers and native entries.
///
/// The run is *lazy* for compiled leaf entries (`Run::enter_compiled_leaf`): `run` points to
/// uninitialised stack space until a helper first needs it ([`JitCtx::run`] then writes a
/// detached run there), so a leaf call whose code calls no run-using helper never builds, checks
/// or drops one.
#[repr(C)]
pub struct JitCtx<'r, 'f, 'rt> {
    // The fields are crate-visible for the interpreter's entry into compiled code
    // (`interp::compiled`), which builds the context on its stack and reads back what was parked.
    /// The running runtime's dispatch epoch (`Registry::epoch_ptr`).
    pub(crate) epoch: *const AtomicU32,
    /// The activation's run once `run_live`; before that, space for a detached one.
    pub(crate) run: *mut Run<'rt>,
    /// Whether `*run` holds a run.
    pub(crate) run_live: bool,
    /// The running runtime.
    pub(crate) rt: &'rt Runtime,
    /// The activation's frame.
    pub(crate) frame: &'r Frame<'f>,
    /// Why the activation stops, parked by a helper.
    pub(crate) unwind: Option<Unwind>,
    /// A panic caught in a helper or a native method, resumed by the entry.
    pub(crate) panic: Option<Box<dyn Any + Send + 'static>>,
}

/// The operands of a SEND handed over by compiled code: the receiver (borrowed: the caller
/// drops it only when it owned it) and the `n - 1` owned arguments after it.
///
/// # Safety
/// `vals` points to `n >= 1` live value bits; the arguments are consumed (each read once).
unsafe fn send_operands(vals: *const u64, n: usize) -> (ManuallyDrop<Value>, Args) {
    // SAFETY: `vals[0]` is a live value; the `ManuallyDrop` leaves its ownership to the caller.
    let recv = ManuallyDrop::new(unsafe { Value::from_raw_bits(*vals) });
    let args: Args = (1..n)
        // SAFETY: the caller passes `n - 1` owned argument bits after the receiver, each
        // consumed once here.
        .map(|i| unsafe { Value::from_raw_bits(*vals.add(i)) })
        .collect();
    (recv, args)
}

impl<'rt> JitCtx<'_, '_, 'rt> {
    /// The activation's run, made (detached, owning nothing) on first use by a leaf entry.
    #[inline]
    pub(super) fn run(&mut self) -> &mut Run<'rt> {
        if !self.run_live {
            self.make_run();
        }
        // SAFETY: `run` is live now: set by `exec_compiled_at` (the activation's own run, which
        // outlives the context) or written by `make_run` into the leaf entry's slot, which
        // outlives the context too; the context is used by one call at a time.
        unsafe { &mut *self.run }
    }

    #[cold]
    #[inline(never)]
    fn make_run(&mut self) {
        // SAFETY: not live: `run` points to the leaf entry's uninitialised slot for a `Run`.
        unsafe { self.run.write(Run::detached(self.rt, Vec::new())) };
        self.run_live = true;
    }

    /// Byte offset of the epoch pointer (`*const AtomicU32`, the running runtime's
    /// `Registry::epoch_ptr`).
    pub const EPOCH_OFFSET: usize = std::mem::offset_of!(JitCtx<'static, 'static, 'static>, epoch);

    /// Parks the outcome of a helper: a value's bits, or [`UNWIND`] with the reason kept.
    #[inline]
    fn settle(&mut self, r: std::thread::Result<Flow>) -> u64 {
        match r {
            Ok(Ok(v)) => v.into_raw_bits(),
            Ok(Err(u)) => {
                self.unwind = Some(u);
                UNWIND
            }
            Err(p) => {
                self.panic = Some(p);
                UNWIND
            }
        }
    }

    /// Parks the error or panic of a native method's thin entry (out of line: the hot path of
    /// the entry keeps nothing live across the call for it).
    #[cold]
    #[inline(never)]
    pub(super) fn park_native(
        &mut self,
        r: std::thread::Result<crate::error::Result<Value>>,
    ) -> u64 {
        self.settle(r.map(|r| r.map_err(Unwind::from)))
    }

    /// The out-of-line half of the poll compiled code makes at loop back-edges (its inline
    /// half found [`crate::limits::ATTENTION`] raised): 0 when the thread may go on, else
    /// [`UNWIND`] with the thread's limit error parked (docs/limits.md).
    #[cold]
    pub fn poll(&mut self) -> u64 {
        match crate::limits::poll_slow() {
            Ok(()) => 0,
            Err(e) => {
                self.unwind = Some(Unwind::from(e));
                UNWIND
            }
        }
    }

    /// Executes instruction `pc` of the running unit the way the interpreter does, for the
    /// instructions compiled code does not inline. `vals` are the instruction's popped
    /// operands (deepest first), each an owned value that this call consumes. Returns the bits
    /// of the pushed value (an owned value; for instructions that push nothing, nil), or
    /// [`UNWIND`] with the reason parked.
    ///
    /// # Safety
    /// `vals` must point to `n` value bits, each owning its value (as from
    /// [`Value::into_raw_bits`]), none of which is used again by the caller.
    pub unsafe fn exec_op(&mut self, pc: usize, vals: *const u64, n: usize) -> u64 {
        let operands: Args = (0..n)
            // SAFETY: the caller passes `n` owned value bits at `vals`, each consumed once here.
            .map(|i| unsafe { Value::from_raw_bits(*vals.add(i)) })
            .collect();
        let frame = self.frame;
        let run = self.run();
        let r = catch_unwind(AssertUnwindSafe(|| run.jit_op(frame, pc, operands)));
        self.settle(r)
    }

    /// SEND through `site` (one of the running unit's sites): `vals` are the receiver then the
    /// `n - 1` arguments. The arguments are owned values this call consumes; the receiver too
    /// when `recv_owned`, otherwise it is only borrowed (a param, constant or local of the
    /// caller). Same path as the interpreter's SEND (`Run::send`: receiver classification, the
    /// site's inline cache, the method call). Returns the result's bits or [`UNWIND`].
    ///
    /// # Safety
    /// As for [`JitCtx::exec_op`], with `n >= 1`; a borrowed receiver must stay alive for the
    /// whole call.
    pub unsafe fn send(
        &mut self,
        site: &SendCache<MethodImpl>,
        vals: *const u64,
        n: usize,
        recv_owned: bool,
    ) -> u64 {
        // SAFETY: forwarded contract.
        let (recv, args) = unsafe { send_operands(vals, n) };
        let this = self.frame.this;
        let run = self.run();
        let r = catch_unwind(AssertUnwindSafe(|| run.send(&recv, site, args, this)));
        if recv_owned {
            drop(ManuallyDrop::into_inner(recv));
        }
        self.settle(r)
    }

    /// SEND whose method compiled code found in `site`'s entry 0 for an instance receiver (the
    /// inline check passed), when it is not a native method: counts the hit and calls the
    /// method like the interpreter after a cache hit (`Run::call_found`: a bytecode method's
    /// nested activation, or the not-understood path of a Bash-fallback method), without the
    /// receiver classification and the cache probe of `Run::send`. `vals` as for
    /// [`JitCtx::send`].
    ///
    /// # Safety
    /// As for [`JitCtx::send`]; `m` was read from `site`'s entry 0 by the cache's reader
    /// protocol with the key of the receiver `vals[0]` under the running registry's epoch.
    pub unsafe fn send_found(
        &mut self,
        site: &SendCache<MethodImpl>,
        m: &'static Method<MethodImpl>,
        vals: *const u64,
        n: usize,
        recv_owned: bool,
    ) -> u64 {
        // SAFETY: forwarded contract.
        let (recv, args) = unsafe { send_operands(vals, n) };
        site.record_hit();
        let this = self.frame.this;
        let run = self.run();
        let r = catch_unwind(AssertUnwindSafe(|| match recv.as_instance() {
            Some(inst) => run.call_found(
                Some(m),
                &recv,
                inst.class_name(),
                site,
                args,
                Side::Instance,
            ),
            // Not what compiled code checked: the general path.
            None => run.send(&recv, site, args, this),
        }));
        if recv_owned {
            drop(ManuallyDrop::into_inner(recv));
        }
        self.settle(r)
    }
}
