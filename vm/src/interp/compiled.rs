//! The interpreter's entry into compiled code: an activation whose unit has compiled code
//! (`Run::exec_compiled`), the direct leaf entry of `Runtime::invoke_block`
//! (`Run::invoke_leaf`), and the instructions compiled code delegates back to the interpreter
//! (`Run::jit_op`, called through [`crate::tier::JitCtx::exec_op`]).
//!
//! This is the vm side of the calling convention of [`crate::tier`]: it builds the
//! [`JitCtx`] an activation's compiled code receives, calls the entry, and turns [`UNWIND`]
//! with the reason parked in the context back into `Err(Unwind)` (or resumes a caught panic),
//! exactly where the interpreter would have returned it.

use std::ffi::c_void;
use std::panic::resume_unwind;

use super::exec::{Flow, Frame, Run, no_self};
use super::{Args, Ins};
use crate::block::{Block, Home, cell_get, cell_set, new_cell};
use crate::error::{Error, ErrorKind};
use crate::runtime::Runtime;
use crate::tier::{Compiled, JitCtx, TierMode, UNWIND};
use crate::value::Value;

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
        // SAFETY: `ctx` is the context the compiled code just returned from: when `run_live`,
        // its `run` points to the live run a helper wrote into `slot`, which nothing reads or
        // drops after this call; `r` is that code's result (an owned value's bits or UNWIND).
        unsafe { Run::finish_compiled_leaf(ctx, r) }
    }

    /// The slow end of [`Run::enter_compiled_leaf`]: an unwind, a panic, or a context holding
    /// something. The run is moved out of the caller's (never dropped) slot, which keeps an
    /// empty detached run owning nothing, and is dropped here.
    ///
    /// # Safety
    /// `r` is the result of compiled code entered with `ctx`: an owned value's bits (ownership
    /// moves to the returned value) or [`UNWIND`]. When `ctx.run_live`, `ctx.run` points to a
    /// live run that nobody reads or drops after this call (it is moved out here).
    #[cold]
    #[inline(never)]
    unsafe fn finish_compiled_leaf(ctx: JitCtx<'_, '_, '_>, r: u64) -> crate::error::Result<Value> {
        let JitCtx {
            run,
            run_live,
            rt,
            unwind,
            panic,
            ..
        } = ctx;
        let mut run = if run_live {
            // SAFETY: a live run in the leaf entry's slot, moved out once (the caller's
            // contract: the slot is never read or dropped again).
            unsafe { run.read() }
        } else {
            Run::detached(rt, Vec::new())
        };
        if let Some(p) = panic {
            drop(run);
            resume_unwind(p);
        }
        let flow = if r != UNWIND {
            // SAFETY: a result other than UNWIND is an owned value's bits (the caller's
            // contract, from the calling convention), turned into a value once.
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
    pub(crate) fn jit_op(&mut self, f: &Frame<'_>, pc: usize, mut vals: Args) -> Flow {
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
            Ins::PushSelf => Ok(f.this.cloned().unwrap_or(Value::NIL)),
            Ins::MakeCell => Ok(new_cell(vals.pop().unwrap_or(Value::NIL))),
            Ins::CellGet => Ok(cell_get(&vals.pop().unwrap_or(Value::NIL))?),
            Ins::CellSet => {
                let v = vals.pop().unwrap_or(Value::NIL);
                let cell = vals.pop().unwrap_or(Value::NIL);
                cell_set(&cell, v)?;
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
