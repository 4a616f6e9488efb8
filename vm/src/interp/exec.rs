//! The interpreter loop and everything an activation does: sends, block invocation,
//! non-local return (docs/spec/ttbc.md §11) and the depth limit (§7.1).

use std::cell::Cell as StdCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use smallvec::SmallVec;
use tt_dispatch::{Method, SendCache, Side, selector_name};

use super::CodeUnit;
use super::builtins;
use super::fused::{Opnd, X};
use crate::block::{
    BLOCK_ID_PREFIX, Block, Cell, Home, block_not_found, cell_get, cell_set, new_cell, registry,
};
use crate::error::{Error, Result};
use crate::method::MethodImpl;
use crate::runtime::{Runtime, is_class_name};
use crate::ttbc::CaptureSource;
use crate::value::ops::{self, truthy};
use crate::value::{Value, ValueRef};

/// Default limit of nested activations (docs/spec/ttbc.md §7.1).
pub const DEFAULT_DEPTH_LIMIT: usize = 1000;

/// Arguments of one call, inline for the common small counts.
pub(crate) type Args = SmallVec<[Value; 4]>;

/// Why an activation stopped early.
#[derive(Debug)]
pub enum Unwind {
    /// A run-time error: aborts the whole run.
    Error(Error),
    /// A non-local return travelling to the activation with this frame number; the returned
    /// value waits in the run (so an activation's result stays two words).
    NonLocal {
        /// Target frame.
        frame: u64,
    },
}

impl From<Error> for Unwind {
    fn from(e: Error) -> Unwind {
        Unwind::Error(e)
    }
}

pub(crate) type Flow<T = Value> = std::result::Result<T, Unwind>;

/// Hands each thread a distinct id range (ids are `thread << 40 | counter`).
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// Runs nested deeper than this on one thread (through native code) do not recycle buffers.
const POOL_LEVELS: usize = 4;

/// Interval (in activations) at which `activate` checks the remaining native stack: the red
/// zone below covers this many nested activations of any kind.
const STACK_CHECK_EVERY: usize = 8;

/// What a thread keeps between runs. One thread-local, touched twice per run (start and
/// end) and never per activation: in a shared library every thread-local access is a call to
/// `__tls_get_addr`.
struct ThreadState {
    /// Activation depth of this thread at run boundaries and calls out to native code (a run
    /// keeps its current depth in [`Run::depth`] and publishes it before calling out).
    depth: StdCell<usize>,
    /// Last run id handed out on this thread (0 = none yet).
    ids: StdCell<u64>,
    /// Runs alive on this thread (runs nest strictly: a run ends before the one it is in).
    level: StdCell<usize>,
    /// Recycled register files, one per nesting level, so entry invocations do not allocate.
    pool: [StdCell<Vec<Value>>; POOL_LEVELS],
    /// The register file that interpreted leaf entries borrow ([`Run::exec_leaf`]); empty
    /// while one is running (a leaf entered meanwhile on this thread allocates its own).
    leaf_regs: StdCell<Vec<Value>>,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            depth: StdCell::new(0),
            ids: StdCell::new(0),
            level: StdCell::new(0),
            pool: [const { StdCell::new(Vec::new()) }; POOL_LEVELS],
            leaf_regs: StdCell::new(Vec::new()),
        }
    };
}

impl ThreadState {
    /// A process-unique run id without a shared atomic on the hot path.
    #[inline]
    fn next_run_id(&self) -> u64 {
        let mut v = self.ids.get();
        if v == 0 {
            v = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) << 40;
        }
        v += 1;
        self.ids.set(v);
        v
    }
}

/// Where an activation's arguments come from: owned values popped off the operand stack, or
/// a caller's slice (cloned straight into the register file, no intermediate vector).
pub(crate) trait ArgSource {
    /// Appends exactly `n` parameter values to `regs` (missing ones are nil, extra ones are
    /// dropped).
    fn load_params(self, regs: &mut Vec<Value>, n: usize);

    /// The arguments as a slice, if there are at least `n` of them (a trivial unit reads its
    /// parameters in place, `super::trivial`).
    fn params(&self, n: usize) -> Option<&[Value]>;
}

impl ArgSource for Args {
    #[inline]
    fn load_params(self, regs: &mut Vec<Value>, n: usize) {
        let mut it = self.into_iter();
        regs.extend((0..n).map(|_| it.next().unwrap_or(Value::NIL)));
    }

    #[inline]
    fn params(&self, n: usize) -> Option<&[Value]> {
        (self.len() >= n).then_some(&self[..])
    }
}

impl ArgSource for &[Value] {
    #[inline]
    fn load_params(self, regs: &mut Vec<Value>, n: usize) {
        regs.reserve(n);
        if let Some(args) = self.get(..n) {
            for v in args {
                regs.push(v.clone());
            }
        } else {
            for i in 0..n {
                regs.push(self.get(i).cloned().unwrap_or(Value::NIL));
            }
        }
    }

    #[inline]
    fn params(&self, n: usize) -> Option<&[Value]> {
        (self.len() >= n).then_some(*self)
    }
}

/// One run: an entry activation and everything nested in it on this thread.
pub(crate) struct Run<'rt> {
    pub(crate) rt: &'rt Runtime,
    /// Process-unique id of the run ([`Home::run`]).
    pub(crate) id: u64,
    /// The register file: every activation's window, innermost last.
    pub(crate) regs: Vec<Value>,
    /// Live activations that may be the home of a non-local return (their own home, and their
    /// unit makes blocks), innermost last.
    pub(crate) homes: SmallVec<[u64; 4]>,
    /// Last frame id handed out in this run (frame ids are unique within a run; a [`Home`]
    /// names its run too).
    frames: u64,
    /// The thread's activation depth now (runs nested through native code continue from it).
    depth: usize,
    /// The thread's activation depth when the run started, restored when it ends (also
    /// when a panic unwinds through it, so the count never drifts).
    depth0: usize,
    /// The depth last written to the thread ([`Run::publish_depth`]).
    published: usize,
    level: usize,
    /// The value of the non-local return in flight ([`Unwind::NonLocal`]); nil otherwise.
    nonlocal: Value,
}

/// Frame id of a run's entry activation (frame ids count from 1 in each run): where a
/// non-local return whose home is gone ends up (docs/spec/ttbc.md §11).
const ENTRY_FRAME: u64 = 1;

/// [`Run::level`] of a detached run (no thread-local state to restore).
const DETACHED: usize = usize::MAX;

impl Drop for Run<'_> {
    #[inline]
    fn drop(&mut self) {
        let level = self.level;
        if level == DETACHED {
            return;
        }
        let depth0 = self.depth0;
        let mut regs = std::mem::take(&mut self.regs);
        regs.clear();
        THREAD.with(|t| {
            t.level.set(level);
            t.depth.set(depth0);
            if level < POOL_LEVELS {
                // The slot is empty: this run took its buffer and runs nest strictly.
                let empty = t.pool[level].replace(regs);
                debug_assert_eq!(empty.capacity(), 0);
                std::mem::forget(empty);
            }
        });
    }
}

/// The activation's context that instructions need besides the registers.
/// Registers `regs[base..base + params]` are the arguments, then `locals` nil-initialised
/// locals; the operand stack grows above them.
pub(crate) struct Frame<'a> {
    pub(crate) unit: &'a CodeUnit,
    pub(crate) block: Option<&'a Block>,
    pub(crate) this: Option<&'a Value>,
    pub(crate) home: Home,
    pub(crate) uid: u64,
    pub(crate) base: usize,
}

impl<'rt> Run<'rt> {
    /// Starts a new run on this thread.
    #[inline]
    pub(crate) fn new(rt: &'rt Runtime) -> Run<'rt> {
        THREAD.with(|t| {
            let level = t.level.get();
            t.level.set(level + 1);
            let depth = t.depth.get();
            Run {
                rt,
                id: t.next_run_id(),
                regs: if level < POOL_LEVELS {
                    t.pool[level].take()
                } else {
                    Vec::new()
                },
                homes: SmallVec::new(),
                frames: 0,
                depth,
                depth0: depth,
                published: depth,
                level,
                nonlocal: Value::NIL,
            }
        })
    }

    /// A run that touches no thread-local state, for a direct entry into a leaf
    /// ([`Run::invoke_leaf`]) with the register file `regs` (empty; compiled leaves need none).
    /// It never activates anything.
    #[inline]
    pub(crate) fn detached(rt: &'rt Runtime, regs: Vec<Value>) -> Run<'rt> {
        Run {
            rt,
            id: 0,
            regs,
            homes: SmallVec::new(),
            frames: 1,
            depth: 0,
            depth0: 0,
            published: 0,
            level: DETACHED,
            nonlocal: Value::NIL,
        }
    }

    /// Publishes the run's activation depth to the thread before calling out to code that may
    /// start a nested run (native methods, class loaders, the Bash bridge), so the depth limit
    /// counts activations across runs.
    /// Only writes when the depth changed since the last publication (a thread-local write is
    /// a `__tls_get_addr` call in a shared library): nested runs restore the thread's depth to
    /// what they found, so the published value stays right between calls.
    #[inline]
    pub(crate) fn publish_depth(&mut self) {
        if self.depth != self.published {
            self.publish_depth_now();
        }
    }

    /// The thread-local write of [`Run::publish_depth`], out of line (rare: once per change
    /// of depth between native calls).
    #[cold]
    #[inline(never)]
    fn publish_depth_now(&mut self) {
        let depth = self.depth;
        self.published = depth;
        THREAD.with(|t| t.depth.set(depth));
    }

    /// Finishes an entry activation: a non-local return that reached the entry returns there.
    #[inline]
    pub(crate) fn finish(&mut self, flow: Flow) -> Result<Value> {
        match flow {
            Ok(v) => Ok(v),
            Err(Unwind::NonLocal { .. }) => Ok(self.take_nonlocal()),
            Err(Unwind::Error(e)) => Err(e),
        }
    }

    /// Starts a non-local return of `value` to frame `frame`.
    #[cold]
    pub(crate) fn unwind_to(&mut self, frame: u64, value: Value) -> Unwind {
        self.nonlocal = value;
        Unwind::NonLocal { frame }
    }

    /// The value of the non-local return that just reached its target.
    #[cold]
    fn take_nonlocal(&mut self) -> Value {
        std::mem::replace(&mut self.nonlocal, Value::NIL)
    }

    /// Invokes a block (entry or nested) with `args`.
    #[inline]
    pub(crate) fn invoke_block(
        &mut self,
        b: &Arc<Block>,
        args: impl ArgSource,
        caller_self: Option<&Value>,
    ) -> Flow {
        let unit = &*b.code;
        if let Some(t) = unit.trivial
            && unit.compiled().is_none()
        {
            self.rt.maybe_tier_up(unit);
            // A trivial unit (not compiled) is evaluated in place: it cannot nest anything,
            // so it needs no activation, depth or frame id.
            if unit.compiled().is_none()
                && let Some(params) = args.params(unit.param_count)
            {
                return Ok(t.eval(params, &unit.consts));
            }
        }
        match b.bound_self.as_ref().or(caller_self) {
            Some(this) => {
                let this = this.clone();
                self.activate(&b.code, args, Some(b), Some(&this), b.home)
            }
            None => self.activate(&b.code, args, Some(b), None, b.home),
        }
    }

    /// Runs a bytecode method with `receiver` as self (the activation is its own home).
    pub(crate) fn invoke_method(
        &mut self,
        unit: &CodeUnit,
        receiver: &Value,
        args: impl ArgSource,
    ) -> Flow {
        self.activate(unit, args, None, Some(receiver), None)
    }

    /// One activation: depth check, register window, tier-up counting, then the unit's
    /// compiled code or the interpreter loop. `this` is borrowed: callers keep it alive.
    #[inline]
    fn activate(
        &mut self,
        unit: &CodeUnit,
        args: impl ArgSource,
        block: Option<&Block>,
        this: Option<&Value>,
        home: Option<Home>,
    ) -> Flow {
        crate::limits::poll()?;
        let depth = self.depth + 1;
        if depth > self.rt.depth_limit() {
            return Err(self.depth_error());
        }
        self.depth = depth;
        self.frames += 1;
        let uid = self.frames;
        let is_home = home.is_none() && unit.makes_blocks;
        let home = home.unwrap_or(Home {
            run: self.id,
            frame: uid,
        });
        if is_home {
            self.homes.push(uid);
        }
        let base = self.regs.len();
        let np = unit.param_count;
        args.load_params(&mut self.regs, np);
        if unit.local_count > 0 {
            self.regs.resize(base + np + unit.local_count, Value::NIL);
        }
        let frame = Frame {
            unit,
            block,
            this,
            home,
            uid,
            base,
        };
        if unit.compiled().is_none() {
            self.rt.maybe_tier_up(unit);
        }
        let result = if depth.is_multiple_of(STACK_CHECK_EVERY) {
            stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || self.run_frame(&frame))
        } else {
            self.run_frame(&frame)
        };
        self.depth = depth - 1;
        self.regs.truncate(base);
        if is_home {
            self.homes.pop();
        }
        match result {
            Err(Unwind::NonLocal { frame }) if frame == uid => Ok(self.take_nonlocal()),
            other => other,
        }
    }

    /// Interprets a leaf entry activation (`frame.base` is 0, `frame.unit` is a leaf) with
    /// the caller's `args` (at least `param_count`) in a detached run that borrows the thread's
    /// leaf register file and hands it back afterwards: the thread-local is touched twice and
    /// nothing else of the run machinery runs (a leaf never activates anything).
    #[inline]
    pub(crate) fn exec_leaf(rt: &'rt Runtime, frame: &Frame<'_>, args: &[Value]) -> Result<Value> {
        let unit = frame.unit;
        debug_assert!(unit.leaf && frame.base == 0);
        // What is left of a detached leaf run at the end owns nothing (see below): it is not
        // dropped.
        let mut run =
            std::mem::ManuallyDrop::new(Run::detached(rt, THREAD.with(|t| t.leaf_regs.take())));
        for v in &args[..unit.param_count] {
            run.regs.push(v.clone());
        }
        if unit.local_count > 0 {
            run.regs
                .resize(unit.param_count + unit.local_count, Value::NIL);
        }
        let flow = run.exec::<true>(frame);
        let result = run.finish(flow);
        let mut regs = std::mem::take(&mut run.regs);
        regs.clear();
        // The run owns nothing now: no homes (only `activate` pushes them) and no non-local
        // value (a leaf has no `^`; `finish` took any anyway).
        debug_assert!(run.homes.is_empty() && run.nonlocal.is_nil());
        let spare = THREAD.with(|t| t.leaf_regs.replace(regs));
        if spare.capacity() != 0 {
            // A leaf entered while this one ran (through a class loader, say) left its file.
            drop(spare);
        } else {
            // Nothing allocated, nothing to drop.
            std::mem::forget(spare);
        }
        result
    }

    #[inline]
    fn run_frame(&mut self, frame: &Frame<'_>) -> Flow {
        match frame.unit.compiled() {
            Some(c) => self.exec_compiled(frame, c),
            None => self.exec::<false>(frame),
        }
    }

    /// Where a non-local return from frame `uid` with home `h` goes: the home if it is live
    /// in this run, else the entry activation (docs/spec/ttbc.md §11).
    pub(crate) fn return_target(&self, h: Home, uid: u64) -> u64 {
        if h.run == self.id && (h.frame == uid || self.homes.contains(&h.frame)) {
            h.frame
        } else {
            ENTRY_FRAME
        }
    }

    #[cold]
    fn depth_error(&self) -> Unwind {
        let limit = self.rt.depth_limit();
        Error::runtime(format!("block invocation depth limit ({limit}) exceeded")).into()
    }

    #[inline(always)]
    fn pop(&mut self) -> Value {
        self.regs.pop().unwrap_or(Value::NIL)
    }

    fn pop_args(&mut self, n: usize) -> Args {
        let at = self.regs.len() - n;
        self.regs.drain(at..).collect()
    }

    /// The interpreter loop. `LEAF` instantiates it for leaf units (`CodeUnit::leaf`) without
    /// the arms a leaf cannot reach (sends, blocks, `^`): a smaller function with a cheaper
    /// entry for [`Run::exec_leaf`].
    fn exec<const LEAF: bool>(&mut self, f: &Frame<'_>) -> Flow {
        let unit = f.unit;
        let code = &unit.code[..];
        let locals = f.base + unit.param_count;
        let mut backedges: u32 = 0;
        let mut pc = 0usize;
        // A jump; a backward one polls for interrupts, deadlines and memory limits
        // (`crate::limits`): one load and a not-taken branch unless something is raised.
        macro_rules! jump {
            ($t:expr) => {
                if take_jump(&mut pc, &mut backedges, $t)
                    && let Err(e) = crate::limits::poll_slow()
                {
                    break Err(e.into());
                }
            };
        }
        let result = loop {
            let i = &code[pc];
            pc += 1;
            match *i {
                X::ArithStore { op, a, b, dst } => {
                    let v = self.arith_opnds(f, op, a, b);
                    self.regs[f.base + dst as usize] = v;
                }
                X::ArithPush { op, a, b } => {
                    let v = self.arith_opnds(f, op, a, b);
                    self.regs.push(v);
                }
                X::CmpJump {
                    op,
                    a,
                    b,
                    jump_if,
                    target,
                } => {
                    if self.cmp_opnds(f, op, a, b) == jump_if {
                        jump!(target);
                    }
                }
                X::Move { src, dst } => {
                    let v = self.opnd_value(f, src);
                    self.regs[f.base + dst as usize] = v;
                }
                X::Push(o) => {
                    let v = self.opnd_value(f, o);
                    self.regs.push(v);
                }
                X::Ret(o) => break Ok(self.opnd_value(f, o)),
                X::AddRR { a, b, dst } => {
                    let v = self.arith_regs(f.base, ops::Arith::Add, a, b);
                    self.regs[f.base + dst as usize] = v;
                }
                X::AddRI { a, imm, dst } => {
                    let v = self.arith_reg_imm(f.base, ops::Arith::Add, a, imm);
                    self.regs[f.base + dst as usize] = v;
                }
                X::SubRI { a, imm, dst } => {
                    let v = self.arith_reg_imm(f.base, ops::Arith::Sub, a, imm);
                    self.regs[f.base + dst as usize] = v;
                }
                X::LtRRJump {
                    a,
                    b,
                    jump_if,
                    target,
                } => {
                    if self.cmp_regs(f.base, ops::Cmp::Lt, a, b) == jump_if {
                        jump!(target);
                    }
                }
                X::LeRRJump {
                    a,
                    b,
                    jump_if,
                    target,
                } => {
                    if self.cmp_regs(f.base, ops::Cmp::Le, a, b) == jump_if {
                        jump!(target);
                    }
                }
                X::IncJump {
                    r,
                    imm,
                    limit,
                    inclusive,
                    target,
                } => {
                    let i = f.base + r as usize;
                    let x = &self.regs[i];
                    let y = &self.regs[f.base + limit as usize];
                    let again = match Value::small_int_pair(x, y) {
                        Some((x, y)) => {
                            let x = x + imm as i64;
                            self.regs[i] = Value::int(x);
                            if inclusive { x <= y } else { x < y }
                        }
                        None => {
                            let v = ops::arith(ops::Arith::Add, x, &Value::int(imm as i64));
                            self.regs[i] = v;
                            let op = if inclusive {
                                ops::Cmp::Le
                            } else {
                                ops::Cmp::Lt
                            };
                            self.cmp_regs(f.base, op, r, limit)
                        }
                    };
                    if again {
                        jump!(target);
                    }
                }
                X::ArithRet { op, a, b } => break Ok(self.arith_opnds(f, op, a, b)),
                X::ArithRetRR { op, a, b } => break Ok(self.arith_regs(f.base, op, a, b)),
                X::Nop => {}
                X::Pop => drop(self.pop()),
                X::Dup => {
                    let v = self.regs.last().cloned().unwrap_or(Value::NIL);
                    self.regs.push(v);
                }
                X::Swap => {
                    let n = self.regs.len();
                    self.regs.swap(n - 1, n - 2);
                }
                X::Rot => {
                    let n = self.regs.len();
                    self.regs[n - 3..].rotate_left(1);
                }
                X::Const(k) => self.regs.push(unit.consts[k as usize].clone()),
                X::Nil => self.regs.push(Value::NIL),
                X::True => self.regs.push(Value::TRUE),
                X::False => self.regs.push(Value::FALSE),
                X::Zero => self.regs.push(Value::int(0)),
                X::One => self.regs.push(Value::int(1)),
                X::Empty => self.regs.push(Value::empty_string()),
                X::LoadLocal(s) => {
                    let v = self.regs[locals + s as usize].clone();
                    self.regs.push(v);
                }
                X::StoreLocal(s) => {
                    let v = self.pop();
                    self.regs[locals + s as usize] = v;
                }
                X::LoadParam(p) => {
                    let v = self.regs[f.base + p as usize].clone();
                    self.regs.push(v);
                }
                X::LoadCapture(c) => {
                    let v = f.block.map(|b| b.cell(c as usize)).unwrap_or(Value::NIL);
                    self.regs.push(v);
                }
                X::PushSelf => self.regs.push(f.this.cloned().unwrap_or(Value::NIL)),
                X::MakeCell => {
                    let v = self.pop();
                    self.regs.push(new_cell(v));
                }
                X::CellGet => {
                    let cell = self.pop();
                    let v = cell_get(&cell)?;
                    self.regs.push(v);
                }
                X::CellSet => {
                    let v = self.pop();
                    let cell = self.pop();
                    cell_set(&cell, v)?;
                }
                X::StoreCapture(c) => {
                    let v = self.pop();
                    if let Some(b) = f.block {
                        b.set_cell(c as usize, v)?;
                    }
                }
                X::LoadIvar(k) => {
                    let v = self.rt.load_ivar(f.this, &unit.names[k as usize])?;
                    self.regs.push(v);
                }
                X::StoreIvar(k) => {
                    let v = self.pop();
                    self.rt.store_ivar(f.this, &unit.names[k as usize], v)?;
                }
                X::Arith(op) => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(ops::arith(op, &a, &b));
                }
                X::Neg => {
                    let a = self.pop();
                    self.regs.push(ops::neg(&a));
                }
                X::Eq => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(Value::bool(ops::text_eq(&a, &b)));
                }
                X::Ne => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(Value::bool(!ops::text_eq(&a, &b)));
                }
                X::Cmp(op) => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(Value::bool(ops::compare(op, &a, &b)));
                }
                X::Not => {
                    let a = self.pop();
                    self.regs.push(Value::bool(!truthy(&a)));
                }
                X::And => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(Value::bool(truthy(&a) && truthy(&b)));
                }
                X::Or => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(Value::bool(truthy(&a) || truthy(&b)));
                }
                X::Concat => {
                    let b = self.pop();
                    let a = self.pop();
                    self.regs.push(ops::concat(&a, &b));
                }
                X::Strlen => {
                    let a = self.pop();
                    self.regs.push(ops::strlen(&a));
                }
                X::Jump(t) => jump!(t),
                X::JumpTrue(t) => {
                    if truthy(&self.pop()) {
                        jump!(t);
                    }
                }
                X::JumpFalse(t) => {
                    if !truthy(&self.pop()) {
                        jump!(t);
                    }
                }
                X::JumpNil(t) => {
                    if ops::text_is_empty(&self.pop()) {
                        jump!(t);
                    }
                }
                X::JumpNotNil(t) => {
                    if !ops::text_is_empty(&self.pop()) {
                        jump!(t);
                    }
                }
                X::Send { .. }
                | X::SendSelf { .. }
                | X::SendSuper { .. }
                | X::SendClass { .. }
                | X::MakeBlock { .. }
                | X::InvokeBlock(_)
                | X::NonLocalRet
                    if LEAF =>
                {
                    break Err(not_a_leaf());
                }
                X::Send { site, argc } => {
                    let args = self.pop_args(argc as usize);
                    let recv = self.pop();
                    let v = self.send(&recv, &unit.sites[site as usize], args, f.this)?;
                    self.regs.push(v);
                }
                X::SendSelf { site, argc } => {
                    let args = self.pop_args(argc as usize);
                    drop(self.pop());
                    let recv = f.this.cloned().ok_or_else(no_self)?;
                    let v = self.send(&recv, &unit.sites[site as usize], args, f.this)?;
                    self.regs.push(v);
                }
                X::SendSuper { site, argc } => {
                    let args = self.pop_args(argc as usize);
                    let recv = f.this.cloned().ok_or_else(no_self)?;
                    let v = self.send_super(&recv, &unit.sites[site as usize], args)?;
                    self.regs.push(v);
                }
                X::SendClass { class, site, argc } => {
                    let args = self.pop_args(argc as usize);
                    let recv = unit.consts[class as usize].clone();
                    let v = self.send_class(
                        &unit.names[class as usize],
                        &recv,
                        &unit.sites[site as usize],
                        args,
                    )?;
                    self.regs.push(v);
                }
                X::MakeBlock { k, n } => {
                    let vals = self.pop_args(n as usize);
                    let b = self.make_block(f, k, vals);
                    self.regs.push(Value::block(b));
                }
                X::InvokeBlock(n) => {
                    let args = self.pop_args(n as usize);
                    let b = self.pop();
                    let v = self.invoke_value(&b, args, f.this)?;
                    self.regs.push(v);
                }
                X::ArrayNew => self
                    .regs
                    .push(Value::json(serde_json::Value::Array(Vec::new()))),
                X::ObjectNew => self
                    .regs
                    .push(Value::json(serde_json::Value::Object(Default::default()))),
                X::Json(op) => {
                    let operands = self.pop_args(op.arity());
                    let v = super::json_ops::apply(op, &operands)?;
                    self.regs.push(v);
                }
                X::Return => break Ok(self.pop()),
                X::ReturnNil => break Ok(Value::NIL),
                X::End => {
                    break Ok(if self.regs.len() > locals + unit.local_count {
                        self.pop()
                    } else {
                        Value::NIL
                    });
                }
                X::NonLocalRet => {
                    let value = self.pop();
                    let h = f.home;
                    let frame = self.return_target(h, f.uid);
                    if frame == f.uid {
                        break Ok(value);
                    }
                    break Err(self.unwind_to(frame, value));
                }
            }
        };
        if backedges > 0 {
            unit.warm(backedges);
        }
        result
    }

    #[inline(always)]
    fn small(&self, f: &Frame<'_>, o: Opnd) -> Option<i64> {
        match o {
            Opnd::Reg(r) => self.regs[f.base + r as usize].as_small_int(),
            Opnd::Imm(i) => Some(i as i64),
            Opnd::K(k) => f.unit.consts[k as usize].as_small_int(),
        }
    }

    #[inline(always)]
    fn opnd_value(&self, f: &Frame<'_>, o: Opnd) -> Value {
        match o {
            Opnd::Reg(r) => self.regs[f.base + r as usize].clone(),
            Opnd::Imm(i) => Value::int(i as i64),
            Opnd::K(k) => f.unit.consts[k as usize].clone(),
        }
    }

    /// `regs[a] op regs[b]` with the integer fast path on one combined tag test.
    #[inline(always)]
    fn arith_regs(&self, base: usize, op: ops::Arith, a: u16, b: u16) -> Value {
        let x = &self.regs[base + a as usize];
        let y = &self.regs[base + b as usize];
        match Value::small_int_pair(x, y) {
            Some((x, y)) => ops::int_arith(op, x, y),
            None => ops::arith(op, x, y),
        }
    }

    /// `regs[a] op imm` with the integer fast path.
    #[inline(always)]
    fn arith_reg_imm(&self, base: usize, op: ops::Arith, a: u16, imm: i32) -> Value {
        let x = &self.regs[base + a as usize];
        match x.as_small_int() {
            Some(i) => ops::int_arith(op, i, imm as i64),
            None => ops::arith(op, x, &Value::int(imm as i64)),
        }
    }

    /// `regs[a] op regs[b]` with the integer fast path on one combined tag test.
    #[inline(always)]
    fn cmp_regs(&self, base: usize, op: ops::Cmp, a: u16, b: u16) -> bool {
        let x = &self.regs[base + a as usize];
        let y = &self.regs[base + b as usize];
        match Value::small_int_pair(x, y) {
            Some((x, y)) => match op {
                ops::Cmp::Lt => x < y,
                ops::Cmp::Le => x <= y,
                ops::Cmp::Gt => x > y,
                ops::Cmp::Ge => x >= y,
            },
            None => ops::compare(op, x, y),
        }
    }

    #[inline(always)]
    fn arith_opnds(&self, f: &Frame<'_>, op: ops::Arith, a: Opnd, b: Opnd) -> Value {
        if let (Some(x), Some(y)) = (self.small(f, a), self.small(f, b)) {
            return ops::int_arith(op, x, y);
        }
        ops::arith(op, &self.opnd_value(f, a), &self.opnd_value(f, b))
    }

    #[inline(always)]
    fn cmp_opnds(&self, f: &Frame<'_>, op: ops::Cmp, a: Opnd, b: Opnd) -> bool {
        if let (Some(x), Some(y)) = (self.small(f, a), self.small(f, b)) {
            return match op {
                ops::Cmp::Lt => x < y,
                ops::Cmp::Le => x <= y,
                ops::Cmp::Gt => x > y,
                ops::Cmp::Ge => x >= y,
            };
        }
        ops::compare(op, &self.opnd_value(f, a), &self.opnd_value(f, b))
    }

    pub(crate) fn make_block(&mut self, f: &Frame<'_>, k: u16, vals: Args) -> Arc<Block> {
        let code = f.unit.nested[k as usize]
            .clone()
            .expect("verified nested chunk");
        let descs = &code.verified.chunk().captures;
        let self_inst = f.this.filter(|t| t.as_instance().is_some());
        let cells: Box<[Cell]> = vals
            .into_iter()
            .zip(descs.iter())
            .map(|(v, d)| match (d.source, self_inst) {
                (CaptureSource::Ivar, Some(inst)) => Cell::Ivar {
                    target: inst.clone(),
                    name: d.name.as_str().into(),
                },
                _ => Cell::Value(Mutex::new(v)),
            })
            .collect();
        Arc::new(Block::new(code, cells, f.this.cloned(), Some(f.home)))
    }

    /// INVOKE_BLOCK / BLOCK_VALUE on any value (docs/spec/ttbc.md §9.3).
    pub(crate) fn invoke_value(
        &mut self,
        b: &Value,
        args: Args,
        caller_self: Option<&Value>,
    ) -> Flow {
        if let Some(block) = b.block_arc() {
            return self.invoke_block(&block, args, caller_self);
        }
        let text = b.text();
        if text.is_empty() {
            return Err(Error::runtime("nil block").into());
        }
        if text.starts_with(BLOCK_ID_PREFIX) {
            let block = registry()
                .lookup(&text)
                .ok_or_else(|| block_not_found(&text))?;
            return self.invoke_block(&block, args, caller_self);
        }
        let sel = match args.len() {
            0 => "value",
            1 => "valueWith_",
            2 => "valueWith_and_",
            n => {
                return Err(
                    Error::runtime(format!("cannot invoke {text} with {n} arguments")).into(),
                );
            }
        };
        let recv = b.clone();
        self.send_named(&recv, sel, args, caller_self)
    }

    /// A send by selector name (no site cache), e.g. from INVOKE_BLOCK fallbacks.
    pub(crate) fn send_named(
        &mut self,
        recv: &Value,
        sel: &str,
        args: Args,
        caller_self: Option<&Value>,
    ) -> Flow {
        let site = SendCache::new(tt_dispatch::intern(sel));
        self.send(recv, &site, args, caller_self)
    }

    /// SEND: classify the receiver (docs/spec/ttbc.md §10.3) and dispatch through the site's cache.
    pub(crate) fn send(
        &mut self,
        recv: &Value,
        site: &SendCache<MethodImpl>,
        args: Args,
        caller_self: Option<&Value>,
    ) -> Flow {
        match recv.view() {
            ValueRef::Instance(inst) => {
                inst.check_live()?;
                match inst.class_id() {
                    Some(cid) => {
                        let m = site.lookup(self.rt.dispatch(), cid, Side::Instance);
                        self.call_found(m, recv, inst.class_name(), site, args, Side::Instance)
                    }
                    None => {
                        let class = inst.class_name().clone();
                        self.not_understood(recv, &class, site, args, Side::Instance, false)
                    }
                }
            }
            ValueRef::Block(_) => self.block_message(recv, site, args, caller_self),
            _ => {
                // Typed primitives answer their built-in protocol first (§10.4).
                let typed = !matches!(recv.view(), ValueRef::Str(_) | ValueRef::Json(_));
                if typed && let Some(r) = self.send_primitive(recv, site, &args) {
                    return r;
                }
                // Ids may load from the store, names may run a class loader, both may reach
                // the Bash bridge.
                self.publish_depth();
                let text = recv.text();
                if let Some(b) = text
                    .starts_with(BLOCK_ID_PREFIX)
                    .then(|| registry().lookup(&text))
                    .flatten()
                {
                    return self.block_message(&Value::block(b), site, args, caller_self);
                }
                if is_class_name(&text) {
                    let name = text.into_owned();
                    return self.send_class(&name, recv, site, args);
                }
                match self.rt.lookup_instance(&text) {
                    Ok(inst) => self.send(&Value::instance(inst), site, args, caller_self),
                    Err(e) => {
                        if !typed && let Some(r) = self.send_primitive(recv, site, &args) {
                            return r;
                        }
                        match self.rt.bash_fallback(&text, site.selector(), &args) {
                            Some(r) => r.map_err(Unwind::from),
                            None => Err(builtins::not_understood(recv, site.selector(), e).into()),
                        }
                    }
                }
            }
        }
    }

    fn block_message(
        &mut self,
        recv: &Value,
        site: &SendCache<MethodImpl>,
        args: Args,
        caller_self: Option<&Value>,
    ) -> Flow {
        let b = recv.block_arc().expect("block value");
        let name = selector_name(site.selector()).unwrap_or_default();
        match &*name {
            "value" | "valueWith_" | "valueWith_and_" => self.invoke_block(&b, args, caller_self),
            "numArgs" => Ok(Value::int(b.param_count() as i64)),
            _ => {
                if let Some(r) = self.send_primitive(recv, site, &args) {
                    return r;
                }
                self.publish_depth();
                let id = b.id_text();
                match self.rt.bash_fallback(&id, site.selector(), &args) {
                    Some(r) => r.map_err(Unwind::from),
                    None => Err(Error::not_found(format!("unknown method: Block {name}")).into()),
                }
            }
        }
    }

    /// A class-side send to the class named `name` (`recv` is its name as a value).
    pub(crate) fn send_class(
        &mut self,
        name: &str,
        recv: &Value,
        site: &SendCache<MethodImpl>,
        args: Args,
    ) -> Flow {
        self.publish_depth();
        let Some(cid) = self.rt.resolve_class(name) else {
            return match self.rt.bash_fallback(name, site.selector(), &args) {
                Some(r) => r.map_err(Unwind::from),
                None => Err(Error::not_found(format!("unknown class: {name}")).into()),
            };
        };
        let m = site.lookup(self.rt.dispatch(), cid, Side::Class);
        let class_name: Arc<str> = name.into();
        if (m.is_none() || self.is_object_raw(m))
            && selector_name(site.selector()).as_deref() == Some("new")
        {
            let inst = self.rt.new_instance_of(cid)?;
            let v = Value::instance(inst);
            self.initialize(&v)?;
            return Ok(v);
        }
        self.call_found(m, recv, &class_name, site, args, Side::Class)
    }

    /// Sends `initialize` to a new instance if its class defines it.
    pub(crate) fn initialize(&mut self, inst: &Value) -> Flow<()> {
        let Some(cid) = inst.as_instance().and_then(|i| i.class_id()) else {
            return Ok(());
        };
        let sel = tt_dispatch::intern("initialize");
        if let Some(m) = self.rt.dispatch().lookup(cid, Side::Instance, sel)
            && !matches!(m.imp, MethodImpl::BashFallback { .. })
        {
            self.call_method(m, inst, Args::new())?;
        }
        Ok(())
    }

    pub(crate) fn send_super(
        &mut self,
        recv: &Value,
        site: &SendCache<MethodImpl>,
        args: Args,
    ) -> Flow {
        let (cid, side, class) = match recv.as_instance() {
            Some(inst) => (inst.class_id(), Side::Instance, inst.class_name().clone()),
            None => {
                self.publish_depth();
                let name = recv.text();
                (self.rt.resolve_class(&name), Side::Class, Arc::from(&*name))
            }
        };
        let sup = cid.and_then(|c| self.rt.dispatch().superclass(c));
        let m = sup.and_then(|s| site.lookup(self.rt.dispatch(), s, side));
        self.call_found(m, recv, &class, site, args, side)
    }

    pub(crate) fn call_found(
        &mut self,
        m: Option<&'static Method<MethodImpl>>,
        recv: &Value,
        class: &Arc<str>,
        site: &SendCache<MethodImpl>,
        args: Args,
        side: Side,
    ) -> Flow {
        match m {
            Some(m) if !matches!(m.imp, MethodImpl::BashFallback { .. }) => {
                self.call_method(m, recv, args)
            }
            _ => {
                if side == Side::Instance
                    && (m.is_none() || self.is_object_raw(m))
                    && recv.as_instance().is_some()
                    && let Some(f) = builtins::object_method(site.selector())
                {
                    self.publish_depth();
                    return Ok(f(self.rt, recv, &args)?);
                }
                self.not_understood(recv, class, site, args, side, m.is_some())
            }
        }
    }

    fn not_understood(
        &mut self,
        recv: &Value,
        class: &str,
        site: &SendCache<MethodImpl>,
        args: Args,
        side: Side,
        bash_method: bool,
    ) -> Flow {
        self.publish_depth();
        let text = recv.text();
        match self.rt.bash_fallback(&text, site.selector(), &args) {
            Some(r) => r.map_err(Unwind::from),
            None => {
                let sel = selector_name(site.selector()).unwrap_or_default();
                Err(Error::not_found(match (side, bash_method) {
                    (Side::Instance, true) => {
                        format!("{class}>>{sel} is a Bash method (no native body)")
                    }
                    (Side::Class, true) => {
                        format!("{class} class>>{sel} is a Bash method (no native body)")
                    }
                    (Side::Instance, false) => format!("unknown method: {class} {sel}"),
                    (Side::Class, false) => format!("unknown class method: {class} {sel}"),
                })
                .into())
            }
        }
    }

    /// Calls a found method with `recv` as self.
    pub(crate) fn call_method(&mut self, m: &Method<MethodImpl>, recv: &Value, args: Args) -> Flow {
        match &m.imp {
            MethodImpl::Native(f) => {
                self.publish_depth();
                Ok(f(self.rt, recv, &args)?)
            }
            MethodImpl::Bytecode(unit) => {
                let unit = Arc::clone(unit);
                self.invoke_method(&unit, recv, args)
            }
            MethodImpl::BashFallback { .. } => Err(Error::not_found("bash fallback").into()),
        }
    }
}

/// Moves `pc` to a jump target, counting backward jumps (loop heat for tier-up). True when
/// the jump is backward and the interrupt word is raised (`crate::limits::ATTENTION`): the
/// caller then polls.
#[inline(always)]
fn take_jump(pc: &mut usize, backedges: &mut u32, target: u32) -> bool {
    let back = (target as usize) < *pc;
    *backedges = backedges.saturating_add(back as u32);
    *pc = target as usize;
    back && crate::limits::ATTENTION.load(std::sync::atomic::Ordering::Relaxed) != 0
}

/// A unit run as a leaf reached an instruction a leaf cannot have (a bug in `CodeUnit::leaf`).
#[cold]
fn not_a_leaf() -> Unwind {
    debug_assert!(
        false,
        "a leaf unit reached a send, block or non-local return"
    );
    Error::new(
        crate::error::ErrorKind::Internal,
        "a leaf unit reached a send, block or non-local return",
    )
    .into()
}

pub(crate) fn no_self() -> Unwind {
    Error::runtime("self send without a receiver").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every activation returns a `Flow`; the non-local-return value waits in the run so that
    /// it stays two words.
    #[test]
    fn flow_is_two_words() {
        assert_eq!(std::mem::size_of::<Flow>(), 16);
        assert_eq!(std::mem::size_of::<Unwind>(), 16);
    }
}
