//! Speculative integer runs (see the module docs of [`super`]): their plan ([`plan_runs`]),
//! the state of the run being translated ([`Spec`]), the integer guards and overflow bails
//! inside it, the check at its end, and its slow path through [`Helper::Resume`].

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, Block, InstBuilder, MemFlagsData};
use cranelift_frontend::Variable;
use rustc_hash::{FxHashMap, FxHashSet};
use tt_vm::interp::{CodeUnit, Ins};
use tt_vm::value::boxing::{TAG_INT, TAG_SHIFT, TRUE_BITS};

use super::analysis::{Analysis, fused_jump};
use super::{Fact, I64, Src, Tx, ZERO_BITS};
use crate::helpers::Helper;
use crate::resume::{ROp, ResumeSite};

/// A speculative run `start..end` (see the module docs).
pub(super) struct RunPlan {
    end: usize,
    /// Lowest stack depth the run touches (0 when it ends in a fused compare-and-branch, which
    /// owns every entry).
    base: usize,
    /// Locals the run loads or stores, and those it stores.
    locals: Vec<u8>,
    stores: Vec<u8>,
    /// Params the run loads.
    params: Vec<u8>,
    /// Deepest stack depth inside the run.
    top: usize,
}

/// The runs of a unit.
pub(super) struct Plan {
    /// Runs by first instruction.
    pub(super) runs: Vec<Option<RunPlan>>,
    /// Run instructions whose result the run itself uses ([`mark_consumed`]).
    pub(super) consumed: Vec<bool>,
    /// Value operations on an operand that is certainly not a small integer (a string, float,
    /// boolean or nil constant pushed right before, as in `x = 'abc'`): speculating would
    /// always fail, so they call their helper directly and are not part of a run.
    pub(super) generic: Vec<bool>,
}

/// Plans the runs: maximal sequences of run instructions ([`ROp::supports`]) inside a bytecode
/// block that contain at least one fallible instruction.
pub(super) fn plan_runs(unit: &CodeUnit, an: &Analysis) -> Plan {
    let ins = &unit.ins;
    let n = ins.len();
    let mut plans: Vec<Option<RunPlan>> = (0..n).map(|_| None).collect();
    let mut consumed = vec![false; n];
    let not_int = |i: Ins| match i {
        Ins::Const(k) => unit.consts[k as usize].as_small_int().is_none(),
        Ins::Nil | Ins::True | Ins::False | Ins::Empty => true,
        _ => false,
    };
    let generic: Vec<bool> = (0..n)
        .map(|pc| ins[pc].is_int_op() && pc > 0 && !an.block_start[pc] && not_int(ins[pc - 1]))
        .collect();
    let in_run = |pc: usize| an.depth[pc].is_some() && ROp::supports(ins[pc]) && !generic[pc];
    let mut pc = 0;
    while pc < n {
        if !in_run(pc) {
            pc += 1;
            continue;
        }
        let start = pc;
        let mut end = pc;
        let mut fallible = false;
        while end < n && in_run(end) && (end == start || !an.block_start[end]) {
            fallible |= ins[end].is_int_op();
            end += 1;
        }
        pc = end;
        if !fallible {
            continue;
        }
        let mut plan = RunPlan {
            end,
            base: an.depth[start].unwrap_or(0),
            locals: Vec::new(),
            stores: Vec::new(),
            params: Vec::new(),
            top: 0,
        };
        for (k, &i) in ins[start..end].iter().enumerate() {
            let d = an.depth[start + k].unwrap_or(0);
            let (pops, pushes) = i.effect();
            plan.base = plan.base.min(d - pops);
            plan.top = plan.top.max(d).max(d - pops + pushes);
            match i {
                Ins::LoadLocal(l) => plan.locals.push(l),
                Ins::StoreLocal(l) => {
                    plan.locals.push(l);
                    plan.stores.push(l);
                }
                Ins::LoadParam(p) => plan.params.push(p),
                _ => {}
            }
        }
        if fused_jump(unit, an, end - 1).is_some() {
            plan.base = 0;
        }
        for v in [&mut plan.locals, &mut plan.stores, &mut plan.params] {
            v.sort_unstable();
            v.dedup();
        }
        mark_consumed(&ins[start..end], start, &mut consumed);
        plans[start] = Some(plan);
    }
    Plan {
        runs: plans,
        consumed,
        generic,
    }
}

/// Marks the arithmetic instructions of a run (`run`, starting at `start`) whose result a later
/// arithmetic or comparison instruction of the same run uses (through the stack or locals).
fn mark_consumed(run: &[Ins], start: usize, consumed: &mut [bool]) {
    // Producer (instruction index) of each stack entry and local; `None`: from outside.
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut locals: FxHashMap<u8, Option<usize>> = FxHashMap::default();
    let pop = |s: &mut Vec<Option<usize>>| s.pop().flatten();
    for (k, &i) in run.iter().enumerate() {
        match i {
            Ins::Pop => {
                pop(&mut stack);
            }
            Ins::Dup => {
                let v = stack.last().copied().flatten();
                stack.push(v);
            }
            Ins::Swap => {
                let (b, a) = (pop(&mut stack), pop(&mut stack));
                stack.extend([b, a]);
            }
            Ins::Rot => {
                let (c, b, a) = (pop(&mut stack), pop(&mut stack), pop(&mut stack));
                stack.extend([b, c, a]);
            }
            Ins::LoadLocal(l) => stack.push(locals.get(&l).copied().flatten()),
            Ins::StoreLocal(l) => {
                let v = pop(&mut stack);
                locals.insert(l, v);
            }
            Ins::Arith(_) | Ins::Neg | Ins::Eq | Ins::Ne | Ins::Cmp(_) => {
                for _ in 0..i.effect().0 {
                    if let Some(j) = pop(&mut stack) {
                        consumed[j] = true;
                    }
                }
                let produces = matches!(i, Ins::Arith(_) | Ins::Neg);
                stack.push(produces.then_some(start + k));
            }
            Ins::Nop => {}
            _ => stack.push(None),
        }
    }
}

/// The state of the speculative run being translated.
pub(super) struct Spec {
    start: usize,
    pub(super) end: usize,
    base: usize,
    /// Where the run's exits jump directly (target instruction, JUMP consumed) when the run
    /// ends its bytecode block.
    thread: Option<(usize, usize)>,
    /// Values at the start of the run: the params and locals it uses, and the stack entries
    /// from `base` up.
    params: Vec<(u8, ir::Value)>,
    locals: Vec<(u8, ir::Value)>,
    /// Locals the run stores to.
    stores: Vec<u8>,
    stack: Vec<(ir::Value, Src)>,
    /// Deepest stack depth inside the run.
    top: usize,
    /// OR of `value ^ (TAG_INT << 48)` over the values assumed to be small integers.
    tags: Option<ir::Value>,
    /// The slow path, once an overflow check branches to it.
    slow: Option<Block>,
    /// Retains and releases, emitted once the run's check passed.
    pub(super) deferred: Vec<(ir::Value, Helper)>,
    /// Checked values before the run.
    guarded: FxHashSet<ir::Value>,
}

/// The locals and stack entries (by depth) a run changed.
struct Changed {
    locals: Vec<u8>,
    stack: Vec<usize>,
}

impl Tx<'_, '_> {
    /// Starts the run planned at `pc`: records the state the slow path restarts from.
    pub(super) fn begin_run(&mut self, pc: usize) {
        let plans = self.plan;
        let plan = plans.runs[pc].as_ref().expect("planned run");
        // A run that ends where its bytecode block does (at a block start or a JUMP) leaves
        // through its exits directly; they own every stack entry first.
        let thread = match self.unit.ins[plan.end] {
            _ if self.an.block_start[plan.end] => Some((plan.end, 0)),
            Ins::Jump(t) => Some((t as usize, 1)),
            _ => None,
        };
        // The slow path must see every entry whose ownership the fast path changes: those
        // borrowed from a local the run stores to, and with `thread` all borrowed ones.
        let mut base = plan.base.min(self.st.len());
        if let Some(d) = self.st.iter().position(|s| match s {
            Src::Owned => false,
            Src::Local(l) => thread.is_some() || plan.stores.contains(l),
            Src::Fixed => thread.is_some(),
        }) {
            base = base.min(d);
        }
        let params = plan
            .params
            .iter()
            .map(|&p| (p, self.params[p as usize]))
            .collect();
        let locals = plan
            .locals
            .iter()
            .map(|&l| (l, self.b.use_var(self.locals[l as usize])))
            .collect();
        let stack = (base..self.st.len())
            .map(|d| (self.b.use_var(self.stack[d]), self.st[d]))
            .collect();
        self.spec = Some(Spec {
            start: pc,
            end: plan.end,
            base,
            thread,
            params,
            locals,
            stores: plan.stores.clone(),
            stack,
            top: plan.top,
            tags: None,
            slow: None,
            deferred: Vec::new(),
            guarded: self.guarded.clone(),
        });
    }

    fn spec(&mut self) -> &mut Spec {
        self.spec
            .as_mut()
            .expect("fallible instructions only occur in runs")
    }

    /// Assumes every value in `vs` is a small integer (checked at the end of the run).
    pub(super) fn guard_ints(&mut self, vs: &[ir::Value]) {
        for &v in vs {
            if self.is_int(v) {
                continue;
            }
            let tag = self.iconst(ZERO_BITS);
            let x = self.b.ins().bxor(v, tag);
            let prev = self.spec().tags;
            let acc = match prev {
                Some(a) => self.b.ins().bor(a, x),
                None => x,
            };
            self.spec().tags = Some(acc);
            let v = self.canon(v);
            self.guarded.insert(v);
        }
    }

    /// Leaves the run for its slow path when `overflow` is set.
    pub(super) fn bail_if(&mut self, overflow: ir::Value) {
        let slow = match self.spec().slow {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.spec().slow = Some(b);
                b
            }
        };
        let cont = self.b.create_block();
        self.b.ins().brif(overflow, slow, &[], cont, &[]);
        // `cont` is dominated by the current block: the per-block caches stay valid.
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// The run's check, non-zero when it must be redone by the slow path: a value it assumed
    /// to be a small integer is not, or an integer result it leaves behind (in a local or on
    /// the stack) does not fit a small integer. Returns the check (`None`: nothing can fail)
    /// and the results to box once it passed, as `(variable, result << 16)`.
    fn check_run(&mut self, spec: &Spec) -> (Option<ir::Value>, Vec<(Variable, ir::Value)>) {
        let vars: Vec<Variable> = spec
            .stores
            .iter()
            .map(|&l| self.locals[l as usize])
            .chain((spec.base..self.st.len()).map(|d| self.stack[d]))
            .collect();
        let mut shifted: FxHashMap<ir::Value, ir::Value> = FxHashMap::default();
        let mut boxes = Vec::new();
        let mut range: Option<ir::Value> = None;
        for var in vars {
            let v = self.b.use_var(var);
            let v = self.canon(v);
            if self.exact.contains(&v) {
                boxes.push((var, v));
                continue;
            }
            if !self.unboxed.contains(&v) {
                continue;
            }
            let s = match shifted.get(&v) {
                Some(s) => *s,
                None => {
                    // Fits 48 bits: shifting out the top 16 bits and back loses nothing.
                    let s = self.ishl_c(v, 16);
                    let back = self.sshr_c(s, 16);
                    let lost = self.b.ins().bxor(back, v);
                    range = Some(match range {
                        Some(r) => self.b.ins().bor(r, lost),
                        None => lost,
                    });
                    shifted.insert(v, s);
                    s
                }
            };
            boxes.push((var, s));
        }
        let tags = spec.tags.map(|t| self.ushr_c(t, TAG_SHIFT as i64));
        let failed = match (tags, range) {
            (Some(t), Some(r)) => Some(self.b.ins().bor(t, r)),
            (t, r) => t.or(r),
        };
        (failed, boxes)
    }

    /// The locals and stack entries whose value the run changed (the slow path reloads them).
    fn changed(&mut self, spec: &Spec) -> Changed {
        let stack = (spec.base..self.st.len())
            .filter(|&d| {
                let now = self.b.use_var(self.stack[d]);
                spec.stack
                    .get(d - spec.base)
                    .is_none_or(|(v, _)| self.canon(*v) != self.canon(now))
            })
            .collect();
        Changed {
            locals: spec.stores.clone(),
            stack,
        }
    }

    /// Once the run's check passed: boxes the small-integer results it left in locals and
    /// stack entries, and emits its deferred retains and releases.
    fn finish_fast(&mut self, spec: &Spec, boxes: Vec<(Variable, ir::Value)>) {
        let mut boxed: FxHashMap<ir::Value, ir::Value> = FxHashMap::default();
        for (var, s) in boxes {
            let r = match boxed.get(&s) {
                Some(r) => *r,
                None => {
                    let t = self.bor_c(s, TAG_INT as i64);
                    let r = self.rotr_c(t, 16);
                    self.shifted.insert(r, s);
                    self.facts.insert(r, Fact::Int);
                    boxed.insert(s, r);
                    r
                }
            };
            self.b.def_var(var, r);
        }
        self.unboxed.clear();
        self.exact.clear();
        for &(v, h) in &spec.deferred {
            self.heap_call(v, h);
        }
    }

    /// Tests the run's check and continues on its fast path, with the results boxed and the
    /// deferred retains and releases emitted. Returns the slow path's block (entered when the
    /// check fails) and what the run changed, or `None` when nothing can fail.
    fn test_run(&mut self, spec: &Spec) -> Option<(Block, Changed)> {
        let (failed, boxes) = self.check_run(spec);
        if failed.is_none() && spec.slow.is_none() {
            self.finish_fast(spec, boxes);
            return None;
        }
        let changed = self.changed(spec);
        let slow = spec.slow.unwrap_or_else(|| self.b.create_block());
        let ok = self.new_block();
        match failed {
            Some(f) => self.b.ins().brif(f, slow, &[], ok, &[]),
            None => self.b.ins().jump(ok, &[]),
        };
        self.switch_sealed(ok);
        self.finish_fast(spec, boxes);
        Some((slow, changed))
    }

    /// Ends the run at its planned end: on failure, re-executes it through [`Helper::Resume`].
    /// Both paths continue in one block, or (`Spec::thread`) jump to the run's successor
    /// directly. Returns the instructions consumed beyond the run (a JUMP taken directly).
    pub(super) fn end_run(&mut self) -> usize {
        let spec = self.spec.take().expect("active run");
        let Some((slow, changed)) = self.test_run(&spec) else {
            return 0;
        };
        let (next, keep) = match spec.thread {
            Some((t, _)) => {
                self.own_all();
                (self.block_at(t), Vec::new())
            }
            None => {
                // Booleans and immediates stay so on the slow path; small integers may not.
                let keep: Vec<(usize, Fact)> = (spec.base..self.st.len())
                    .filter_map(|d| {
                        let v = self.b.use_var(self.stack[d]);
                        self.fact(v).filter(|f| *f != Fact::Int).map(|f| (d, f))
                    })
                    .collect();
                (self.new_block(), keep)
            }
        };
        self.b.ins().jump(next, &[]);
        self.b.set_cold_block(slow);
        self.switch_sealed(slow);
        self.guarded = spec.guarded.clone();
        self.resume(&spec, spec.end, &changed, false);
        self.b.ins().jump(next, &[]);
        if let Some((_, consumed)) = spec.thread {
            self.terminated = true;
            return consumed;
        }
        self.switch_sealed(next);
        self.guarded = spec.guarded;
        for (d, f) in keep {
            let v = self.b.use_var(self.stack[d]);
            let v = self.canon(v);
            self.facts.insert(v, f);
        }
        0
    }

    /// Ends a run with its fused compare-and-branch: the fast path branches on `c`, the slow
    /// path on the boolean the resumed run leaves on top of the stack.
    pub(super) fn end_run_branch(&mut self, c: ir::Value, on_true: bool, t: usize, jump_pc: usize) {
        let spec = self.spec.take().expect("active run");
        let Some((slow, changed)) = self.test_run(&spec) else {
            self.cond_jump(c, on_true, t, jump_pc);
            return;
        };
        self.cond_jump(c, on_true, t, jump_pc);
        self.b.set_cold_block(slow);
        self.switch_sealed(slow);
        self.guarded = spec.guarded.clone();
        let r = self
            .resume(&spec, jump_pc, &changed, true)
            .expect("the comparison's result");
        let c = self.icmp_c(IntCC::Equal, r, TRUE_BITS as i64);
        self.cond_jump(c, on_true, t, jump_pc);
    }

    /// The slow path of a run: spills its starting state, calls [`Helper::Resume`] to execute
    /// `spec.start..stop`, and reloads the `changed` locals and stack entries. With `extra`,
    /// the helper leaves one more entry on top of the stack (the boolean of a fused
    /// comparison), which is returned instead of being pushed.
    fn resume(
        &mut self,
        spec: &Spec,
        stop: usize,
        changed: &Changed,
        extra: bool,
    ) -> Option<ir::Value> {
        let np = spec.params.len();
        let nl = spec.locals.len();
        let local_slot = |l: u8| {
            spec.locals
                .iter()
                .position(|(x, _)| *x == l)
                .expect("run local")
        };
        let param_slot = |p: u8| {
            spec.params
                .iter()
                .position(|(x, _)| *x == p)
                .expect("run param")
        };
        let ops: Box<[ROp]> = (spec.start..stop)
            .filter_map(|pc| {
                ROp::from_ins(
                    self.unit.ins[pc],
                    &self.unit.consts[..],
                    local_slot,
                    param_slot,
                )
            })
            .collect();
        let depth = self.st.len();
        let site = Box::new(ResumeSite {
            ops,
            params: np,
            locals: nl,
            in_owned: spec.stack.iter().map(|(_, s)| *s == Src::Owned).collect(),
            out_owned: (spec.base..depth)
                .map(|d| self.st[d] == Src::Owned)
                .chain(extra.then_some(true))
                .collect(),
            stack: spec.top - spec.base,
        });
        let slot = self.buffer(site.words());
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        let stored = spec.params.iter().chain(&spec.locals).map(|(_, v)| *v);
        for (w, v) in stored.chain(spec.stack.iter().map(|(v, _)| *v)).enumerate() {
            self.b
                .ins()
                .store(MemFlagsData::trusted(), v, addr, (w * 8) as i32);
        }
        let site_ref = if self.display {
            self.keep.sites.len() as u64
        } else {
            &*site as *const ResumeSite as u64
        };
        self.keep.sites.push(site);
        let site_v = self.iconst(site_ref);
        self.call(Helper::Resume, &[site_v, addr]);
        let flags = MemFlagsData::trusted();
        for &l in &changed.locals {
            let off = (np + local_slot(l)) * 8;
            let v = self.b.ins().load(I64, flags, addr, off as i32);
            self.b.def_var(self.locals[l as usize], v);
        }
        for &d in &changed.stack {
            let off = (np + nl + d - spec.base) * 8;
            let v = self.b.ins().load(I64, flags, addr, off as i32);
            self.b.def_var(self.stack[d], v);
        }
        extra.then(|| {
            let off = (np + nl + depth - spec.base) * 8;
            self.b.ins().load(I64, flags, addr, off as i32)
        })
    }
}
