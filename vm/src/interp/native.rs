//! The vm side of the compiled tier: the context handed to compiled code, the entry into
//! compiled code from an activation (`Run::exec_compiled`), and the entry points the JIT's
//! runtime helpers call back into.
//!
//! Everything an instruction does that compiled code does not inline (sends, block creation
//! and invocation, JSON ops, captures, ivars, non-local return) runs through
//! [`JitCtx::exec_op`] and [`JitCtx::send`], which call the very interpreter methods the
//! interpreter loop uses, so both tiers share one implementation of those semantics.
//!
//! Errors, non-local returns that travel further out and panics are *parked* in the
//! [`JitCtx`]; the helper returns [`UNWIND`], compiled code releases what it owns and returns
//! [`UNWIND`] too, and `Run::exec_compiled` turns the parked reason back into
//! `Err(Unwind)` (or resumes the panic), exactly where the interpreter would have returned it.

use std::any::Any;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::AtomicU32;

use tt_dispatch::{Method, SendCache, Side};

use super::exec::{Flow, Frame, Run, Unwind, no_self};
use super::{Args, Ins};
use crate::block::{Block, Home};
use crate::error::{Error, ErrorKind};
use crate::runtime::Runtime;
use crate::runtime::{MethodImpl, NativeClosure, NativeFn};
use crate::tier::{Compiled, TierMode};
use crate::value::Value;

/// Returned by compiled code and by helpers instead of a value when the activation must stop:
/// the reason is parked in the [`JitCtx`]. It is a non-canonical NaN, which no [`Value`] ever
/// holds (floats are canonicalised), so it cannot be confused with a result.
pub const UNWIND: u64 = 0xFFF8_0000_0000_0001;

/// What compiled code receives as its first argument: the run and the frame of the activation,
/// plus the slots where a helper parks why the activation stops.
///
/// Generated code reads one field, the registry's epoch pointer at
/// [`JitCtx::EPOCH_OFFSET`] (for its inline-cache checks), and otherwise only passes the
/// context's address to helpers and native entries.
///
/// The run is *lazy* for compiled leaf entries ([`Run::enter_compiled_leaf`]): `run` points to
/// uninitialised stack space until a helper first needs it ([`JitCtx::run`] then writes a
/// detached run there), so a leaf call whose code calls no run-using helper never builds, checks
/// or drops one.
#[repr(C)]
pub struct JitCtx<'r, 'f, 'rt> {
    /// The running runtime's dispatch epoch (`Registry::epoch_ptr`).
    epoch: *const AtomicU32,
    /// The activation's run once `run_live`; before that, space for a detached one.
    run: *mut Run<'rt>,
    /// Whether `*run` holds a run.
    run_live: bool,
    rt: &'rt Runtime,
    frame: &'r Frame<'f>,
    unwind: Option<Unwind>,
    panic: Option<Box<dyn Any + Send + 'static>>,
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
    fn run(&mut self) -> &mut Run<'rt> {
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
    fn park_native(&mut self, r: std::thread::Result<crate::error::Result<Value>>) -> u64 {
        self.settle(r.map(|r| r.map_err(Unwind::from)))
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

/// The [`crate::runtime::NativeEntry`] of a [`NativeFn`] made from a closure of type `F`
/// ([`NativeFn::new`]): calls `F` directly (no vtable).
///
/// # Safety
/// `native` points to a live [`NativeFn`] whose closure is an `F` (the entry is only stored
/// next to such a closure); the rest as for [`crate::runtime::NativeEntry`].
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

/// The [`crate::runtime::NativeEntry`] of a type-erased [`NativeFn`] ([`NativeFn::from_arc`]):
/// calls the closure through its vtable.
///
/// # Safety
/// `native` points to a live [`NativeFn`]; the rest as for [`crate::runtime::NativeEntry`].
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

impl Run<'_> {
    /// Runs an activation whose unit has compiled code.
    pub(crate) fn exec_compiled(&mut self, frame: &Frame<'_>, code: &Compiled) -> Flow {
        let params = self.regs[frame.base..].as_ptr() as *const u64;
        // SAFETY: the params are the activation's arguments in the register file, which holds
        // them until the activation ends (see `exec_compiled_at`).
        unsafe { self.exec_compiled_at(frame, code, params) }
    }

    /// Direct entry into a leaf unit (`CodeUnit::leaf`) with the caller's arguments: no run,
    /// no depth accounting (a leaf activation never nests another one) and no non-local-return
    /// bookkeeping (a leaf has no `^` and makes no blocks). Compiled code reads the arguments
    /// in place; the interpreter borrows the thread's leaf register file
    /// ([`Run::exec_leaf`]). `None` when `b` is not a leaf or `args` are fewer than its
    /// params (the general path pads them).
    #[inline]
    pub(crate) fn invoke_leaf(
        rt: &Runtime,
        b: &Block,
        args: &[Value],
    ) -> Option<crate::error::Result<Value>> {
        let unit = &*b.code;
        if !unit.leaf || args.len() < unit.param_count {
            return None;
        }
        let Some(code) = unit.compiled() else {
            if let Some(t) = unit.trivial
                && rt.tier_mode_fast() != TierMode::Always
            {
                // Only `Always` compiles a trivial unit (`Runtime::maybe_tier_up`).
                return Some(Ok(t.eval(args, &unit.consts)));
            }
            return Some(Run::invoke_leaf_uncompiled(rt, b, args));
        };
        let frame = Run::leaf_frame(b);
        // SAFETY: `args` holds at least `param_count` values, borrowed from the caller for the
        // whole call; compiled code only reads them (calling convention of `crate::tier`).
        Some(unsafe { Run::enter_compiled_leaf(rt, &frame, code, args.as_ptr() as *const u64) })
    }

    /// The entry frame of a leaf activation of `b` (a detached run's only frame).
    #[inline(always)]
    fn leaf_frame(b: &Block) -> Frame<'_> {
        Frame {
            unit: &b.code,
            block: Some(b),
            this: b.bound_self.as_ref(),
            home: Home { run: 0, frame: 1 },
            uid: 1, // the entry frame of the (detached) run
            base: 0,
        }
    }

    /// [`Run::invoke_leaf`] of a leaf that is not compiled (yet): counts it for tiering (and
    /// enters it compiled if that compiled it), else evaluates a trivial body on the arguments
    /// or interprets it. Out of line: the compiled entry keeps a small frame.
    #[inline(never)]
    fn invoke_leaf_uncompiled(
        rt: &Runtime,
        b: &Block,
        args: &[Value],
    ) -> crate::error::Result<Value> {
        let unit = &*b.code;
        rt.maybe_tier_up(unit);
        let frame = Run::leaf_frame(b);
        let Some(code) = unit.compiled() else {
            if let Some(t) = unit.trivial {
                return Ok(t.eval(args, &unit.consts));
            }
            return Run::exec_leaf(rt, &frame, args);
        };
        // SAFETY: as in `invoke_leaf`.
        unsafe { Run::enter_compiled_leaf(rt, &frame, code, args.as_ptr() as *const u64) }
    }

    /// Enters a compiled leaf in a detached run. The fast path (a value came back and the run
    /// and context hold nothing) drops neither: there is nothing to drop, and their drop glue
    /// is most of the cost of a short call. Everything else goes through
    /// [`Run::finish_compiled_leaf`].
    ///
    /// # Safety
    /// As [`Run::exec_compiled_at`].
    #[inline]
    unsafe fn enter_compiled_leaf(
        rt: &Runtime,
        frame: &Frame<'_>,
        code: &Compiled,
        params: *const u64,
    ) -> crate::error::Result<Value> {
        let mut slot = std::mem::MaybeUninit::<Run<'_>>::uninit();
        let mut ctx = JitCtx {
            epoch: rt.dispatch().epoch_ptr(),
            run: slot.as_mut_ptr(),
            run_live: false,
            rt,
            frame,
            unwind: None,
            panic: None,
        };
        // SAFETY: forwarded contract (see `exec_compiled_at`).
        let r = unsafe { (code.entry)(&mut ctx as *mut JitCtx<'_, '_, '_> as *mut c_void, params) };
        if r != UNWIND && !ctx.run_live && ctx.unwind.is_none() && ctx.panic.is_none() {
            // Nothing was made that needs dropping: no run, no parked reason.
            std::mem::forget(ctx);
            // SAFETY: a result other than UNWIND is an owned value's bits (calling convention).
            return Ok(unsafe { Value::from_raw_bits(r) });
        }
        Run::finish_compiled_leaf(ctx, r)
    }

    /// The slow end of [`Run::enter_compiled_leaf`]: an unwind, a panic, or a context holding
    /// something. The run is moved out of the caller's (never dropped) slot, which keeps an
    /// empty detached run owning nothing, and is dropped here.
    #[cold]
    #[inline(never)]
    fn finish_compiled_leaf(ctx: JitCtx<'_, '_, '_>, r: u64) -> crate::error::Result<Value> {
        let JitCtx {
            run,
            run_live,
            rt,
            unwind,
            panic,
            ..
        } = ctx;
        let mut run = if run_live {
            // SAFETY: a live run in the leaf entry's slot, moved out once (the slot is never
            // read or dropped again).
            unsafe { run.read() }
        } else {
            Run::detached(rt, Vec::new())
        };
        if let Some(p) = panic {
            drop(run);
            resume_unwind(p);
        }
        let flow = if r != UNWIND {
            // SAFETY: a result other than UNWIND is an owned value's bits (calling convention).
            Ok(unsafe { Value::from_raw_bits(r) })
        } else {
            Err(unwind.unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Internal,
                    "compiled code unwound without a reason",
                )
                .into()
            }))
        };
        run.finish(flow)
    }

    /// Runs compiled code with its params at `params`.
    ///
    /// # Safety
    /// `params` points to `frame.unit.param_count` live values that stay alive and unmodified
    /// for the whole call.
    unsafe fn exec_compiled_at(
        &mut self,
        frame: &Frame<'_>,
        code: &Compiled,
        params: *const u64,
    ) -> Flow {
        let rt = self.rt;
        let mut ctx = JitCtx {
            epoch: rt.dispatch().epoch_ptr(),
            run: self,
            run_live: true,
            rt,
            frame,
            unwind: None,
            panic: None,
        };
        // SAFETY: `code.entry` was produced by the installed compiler for `frame.unit` and
        // follows the calling convention of `crate::tier`: it reads `param_count` values at
        // `params` (the activation's arguments, laid out by `activate` and owned by the register
        // file until the activation ends; `Value` is `repr(transparent)` over `u64`; compiled
        // code loads them in its entry block, before any helper can grow the register file),
        // and only passes `ctx` to helpers, which use it during this call only.
        let r = unsafe { (code.entry)(&mut ctx as *mut JitCtx<'_, '_, '_> as *mut c_void, params) };
        if r != UNWIND {
            // SAFETY: a result other than UNWIND is an owned value's bits (calling convention).
            return Ok(unsafe { Value::from_raw_bits(r) });
        }
        if let Some(p) = ctx.panic.take() {
            resume_unwind(p);
        }
        Err(ctx.unwind.take().unwrap_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                "compiled code unwound without a reason",
            )
            .into()
        }))
    }

    /// One instruction that compiled code delegates, with the interpreter's semantics
    /// (mirrors the corresponding arms of [`Run::exec`]).
    fn jit_op(&mut self, f: &Frame<'_>, pc: usize, mut vals: Args) -> Flow {
        let unit = f.unit;
        match unit.ins[pc] {
            Ins::Const(k) => Ok(unit.consts[k as usize].clone()),
            Ins::Empty => Ok(Value::empty_string()),
            Ins::LoadCapture(c) => Ok(f.block.map(|b| b.cell(c as usize)).unwrap_or(Value::NIL)),
            Ins::StoreCapture(c) => {
                let v = vals.pop().unwrap_or(Value::NIL);
                if let Some(b) = f.block {
                    b.set_cell(c as usize, v)?;
                }
                Ok(Value::NIL)
            }
            Ins::LoadIvar(k) => Ok(self.rt.load_ivar(f.this, &unit.names[k as usize])?),
            Ins::StoreIvar(k) => {
                let v = vals.pop().unwrap_or(Value::NIL);
                self.rt.store_ivar(f.this, &unit.names[k as usize], v)?;
                Ok(Value::NIL)
            }
            Ins::Send { site, .. } => {
                let recv = vals.remove(0);
                self.send(&recv, &unit.sites[site as usize], vals, f.this)
            }
            Ins::SendSelf { site, .. } => {
                drop(vals.remove(0));
                let recv = f.this.cloned().ok_or_else(no_self)?;
                self.send(&recv, &unit.sites[site as usize], vals, f.this)
            }
            Ins::SendSuper { site, .. } => {
                let recv = f.this.cloned().ok_or_else(no_self)?;
                self.send_super(&recv, &unit.sites[site as usize], vals)
            }
            Ins::SendClass { class, site, .. } => {
                let recv = unit.consts[class as usize].clone();
                self.send_class(
                    &unit.names[class as usize],
                    &recv,
                    &unit.sites[site as usize],
                    vals,
                )
            }
            Ins::MakeBlock { k, .. } => Ok(Value::block(self.make_block(f, k, vals))),
            Ins::InvokeBlock(_) => {
                let b = vals.remove(0);
                self.invoke_value(&b, vals, f.this)
            }
            Ins::ArrayNew => Ok(Value::json(serde_json::Value::Array(Vec::new()))),
            Ins::ObjectNew => Ok(Value::json(serde_json::Value::Object(Default::default()))),
            Ins::Json(op) => Ok(super::json_ops::apply(op, &vals)?),
            Ins::NonLocalRet => {
                let value = vals.pop().unwrap_or(Value::NIL);
                let h = f.home;
                let frame = self.return_target(h, f.uid);
                if frame == f.uid {
                    return Ok(value);
                }
                Err(self.unwind_to(frame, value))
            }
            other => Err(Error::new(
                ErrorKind::Internal,
                format!("compiled code delegated an instruction it must inline: {other:?}"),
            )
            .into()),
        }
    }
}
