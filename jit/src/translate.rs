//! Translation of a decoded code unit ([`Ins`]) into Cranelift IR.
//!
//! * Params are loaded once, in the entry block (they never change); locals and the operand
//!   stack (by depth) are SSA variables; the verifier guarantees one stack depth per
//!   instruction, so stack slot `d` is always variable `d`.
//! * Small integers, booleans and nil are handled inline; anything else calls a helper (see
//!   [`crate::helpers`]).
//! * **Speculative runs.** A straight sequence of stack, local, param, constant, arithmetic and
//!   comparison instructions inside one bytecode block (a *run*, planned by [`plan_runs`]) is
//!   translated assuming its operands are small integers, with one test at the end of the run:
//!   the tag checks are OR-ed together, and so are the range checks of the integer results the
//!   run leaves behind. Inside the run integers are plain `i64`s that wrap at 64 bits exactly
//!   like the interpreter's (which boxes the ones beyond 48 bits), so intermediate results need
//!   no check; only a result the run stores or leaves on the stack must fit a small integer to
//!   be boxed inline. (A result the run does not use itself, computed from operands with an
//!   exact `x << 16` form, is computed in that form and branches on overflow right away: a
//!   loop's `i := i + 1` then costs a shift, an add and a branch, and its re-boxing.) Before
//!   the test the run only computes (its retains and releases are emitted after it), so when
//!   the test fails the slow path spills the state the run *started* from and calls
//!   [`Helper::Resume`], which runs the same instructions with the interpreter's value
//!   operations and hands back the final state (see [`crate::resume`]). Both paths meet after
//!   the run (or jump to its successor, when the run ends its bytecode block).
//! * Reference counts stay exact with compile-time ownership tracking: a stack entry is either
//!   *owned* (compiled code must release it) or *borrowed* from a param, a constant or a local
//!   (nothing to do, as long as that local is not overwritten first). Borrowed entries are
//!   turned into owned ones (a `retain`) only when something needs ownership: a store, a
//!   consuming helper, a return, or a block boundary. Every retain/release is guarded by an
//!   inline tag check (`bits >= 0xFFFB << 48`), so immediates never call.
//! * A helper that stops the activation returns `UNWIND`; compiled code then releases what it
//!   owns (live stack entries and locals, through a shared chain of cleanup blocks) and returns
//!   `UNWIND` itself.

use std::hash::{BuildHasherDefault, Hasher};

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, ExtFuncData, ExternalName, FuncRef, InstBuilder, InstructionData,
    MemFlagsData, Opcode, SigRef, Signature, StackSlot, StackSlotData, StackSlotKind,
    UserExternalName, ValueDef, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::FuncId;
use tt_vm::Value;
use tt_vm::interp::native::UNWIND;
use tt_vm::interp::{CodeUnit, Ins};
use tt_vm::tier::layout;
use tt_vm::value::boxing::{
    FALSE_BITS, NIL_BITS, TAG_BIGINT, TAG_INSTANCE, TAG_INT, TAG_SHIFT, TRUE_BITS,
};
use tt_vm::value::ops::{Arith, Cmp};

use crate::helpers::{CMP_EQ, CMP_NE, Helper, arith_code, cmp_code};
use crate::resume::{ROp, ResumeSite};

mod fastloop;

const I64: ir::Type = types::I64;
/// Smallest bit pattern of a heap value (boxed int, string, JSON, instance, block).
const HEAP_MIN: u64 = TAG_BIGINT << TAG_SHIFT;
/// Bits of the small integer 0.
const ZERO_BITS: u64 = TAG_INT << TAG_SHIFT;

/// A multiply-rotate hasher (as in rustc) for the translator's maps, whose keys are small
/// integers (SSA value numbers, constants): much cheaper than SipHash, and the keys are not
/// attacker-chosen.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }

    fn write_u8(&mut self, x: u8) {
        self.add(u64::from(x));
    }

    fn write_u32(&mut self, x: u32) {
        self.add(u64::from(x));
    }

    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }

    fn write_usize(&mut self, x: usize) {
        self.add(x as u64);
    }
}

type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

/// A declared helper: its function id in the module and its signature.
pub(crate) type HelperDecl = (FuncId, Signature);

/// What compiled code keeps alive besides the unit: values it borrows beyond the unit's
/// constants and the descriptors of its resume sites (their addresses are in the code).
#[derive(Default)]
pub(crate) struct Keep {
    /// Borrowed values (the empty strings of `EMPTY`).
    pub(crate) pool: Vec<Value>,
    /// Resume sites, boxed so that their addresses (embedded in the code) stay put while the
    /// vector grows.
    #[allow(clippy::vec_box)]
    pub(crate) sites: Vec<Box<ResumeSite>>,
}

/// Stack depths and block structure, from an abstract interpretation like the verifier's
/// (§3.4), over reachable instructions only.
struct Analysis {
    /// Stack depth before each instruction; `None` when unreachable.
    depth: Vec<Option<usize>>,
    /// Instructions that start a block (jump targets and instructions after a jump).
    block_start: Vec<bool>,
    /// True when a backward edge reaches the instruction (a loop head).
    loop_head: Vec<bool>,
    /// Largest depth.
    max_depth: usize,
    /// Largest operand count of a delegated instruction.
    max_vals: usize,
}

/// Pops and pushes of an instruction.
fn effect(i: Ins) -> (usize, usize) {
    match i {
        Ins::Nop | Ins::Jump(_) | Ins::ReturnNil | Ins::End => (0, 0),
        Ins::Pop
        | Ins::StoreLocal(_)
        | Ins::StoreCapture(_)
        | Ins::StoreIvar(_)
        | Ins::JumpTrue(_)
        | Ins::JumpFalse(_)
        | Ins::JumpNil(_)
        | Ins::JumpNotNil(_)
        | Ins::Return
        | Ins::NonLocalRet => (1, 0),
        Ins::Dup => (1, 2),
        Ins::Swap => (2, 2),
        Ins::Rot => (3, 3),
        Ins::Const(_)
        | Ins::Nil
        | Ins::True
        | Ins::False
        | Ins::Zero
        | Ins::One
        | Ins::Empty
        | Ins::LoadLocal(_)
        | Ins::LoadParam(_)
        | Ins::LoadCapture(_)
        | Ins::LoadIvar(_)
        | Ins::ArrayNew
        | Ins::ObjectNew => (0, 1),
        Ins::Arith(_) | Ins::Eq | Ins::Ne | Ins::Cmp(_) | Ins::And | Ins::Or | Ins::Concat => {
            (2, 1)
        }
        Ins::Neg | Ins::Not | Ins::Strlen => (1, 1),
        Ins::Send { argc, .. } | Ins::SendSelf { argc, .. } => (argc as usize + 1, 1),
        Ins::SendSuper { argc, .. } | Ins::SendClass { argc, .. } => (argc as usize, 1),
        Ins::MakeBlock { n, .. } => (n as usize, 1),
        Ins::InvokeBlock(n) => (n as usize + 1, 1),
        Ins::Json(op) => (op.arity(), 1),
    }
}

fn jump_target(i: Ins) -> Option<usize> {
    match i {
        Ins::Jump(t)
        | Ins::JumpTrue(t)
        | Ins::JumpFalse(t)
        | Ins::JumpNil(t)
        | Ins::JumpNotNil(t) => Some(t as usize),
        _ => None,
    }
}

fn falls_through(i: Ins) -> bool {
    !matches!(
        i,
        Ins::Jump(_) | Ins::Return | Ins::ReturnNil | Ins::NonLocalRet | Ins::End
    )
}

fn analyse(unit: &CodeUnit) -> Result<Analysis, String> {
    let ins = &unit.ins;
    let n = ins.len();
    let mut a = Analysis {
        depth: vec![None; n],
        block_start: vec![false; n],
        loop_head: vec![false; n],
        max_depth: 0,
        max_vals: 0,
    };
    if n == 0 || ins[n - 1] != Ins::End {
        return Err("code unit does not end with End".into());
    }
    let mut work = vec![(0usize, 0usize)];
    while let Some((pc, d)) = work.pop() {
        match a.depth[pc] {
            Some(old) if old == d => continue,
            Some(old) => {
                return Err(format!(
                    "inconsistent stack depth at instruction {pc}: {old} vs {d}"
                ));
            }
            None => a.depth[pc] = Some(d),
        }
        let i = ins[pc];
        let (pops, pushes) = effect(i);
        if d < pops {
            return Err(format!("stack underflow at instruction {pc}"));
        }
        let after = d - pops + pushes;
        a.max_depth = a.max_depth.max(after).max(d);
        if is_delegated(i) {
            a.max_vals = a.max_vals.max(pops);
        }
        if falls_through(i) && pc + 1 < n {
            work.push((pc + 1, after));
        }
        if let Some(t) = jump_target(i) {
            work.push((t, after));
        }
    }
    // Block starts and loop heads over reachable instructions.
    for pc in 0..n {
        if a.depth[pc].is_none() {
            continue;
        }
        let i = ins[pc];
        if let Some(t) = jump_target(i) {
            a.block_start[t] = true;
            if t <= pc {
                a.loop_head[t] = true;
            }
            if pc + 1 < n {
                a.block_start[pc + 1] = true;
            }
        }
        if !falls_through(i) && pc + 1 < n {
            a.block_start[pc + 1] = true;
        }
    }
    if a.loop_head[0] {
        a.block_start[0] = true;
    }
    Ok(a)
}

/// True for the instructions compiled code hands to [`Helper::Op`].
fn is_delegated(i: Ins) -> bool {
    matches!(
        i,
        Ins::LoadCapture(_)
            | Ins::StoreCapture(_)
            | Ins::LoadIvar(_)
            | Ins::StoreIvar(_)
            | Ins::Send { .. }
            | Ins::SendSelf { .. }
            | Ins::SendSuper { .. }
            | Ins::SendClass { .. }
            | Ins::MakeBlock { .. }
            | Ins::InvokeBlock(_)
            | Ins::ArrayNew
            | Ins::ObjectNew
            | Ins::Json(_)
            | Ins::NonLocalRet
    )
}

/// Instructions that assume small integers and need a check (they only occur inside runs).
fn is_fallible(i: Ins) -> bool {
    matches!(
        i,
        Ins::Arith(_) | Ins::Neg | Ins::Eq | Ins::Ne | Ins::Cmp(_)
    )
}

/// A comparison at `pc` followed by a conditional jump that is not a jump target: translated
/// as one compare-and-branch. Returns the jump's target and whether it jumps on true.
fn fused_jump(unit: &CodeUnit, an: &Analysis, pc: usize) -> Option<(usize, bool)> {
    if !matches!(unit.ins[pc], Ins::Eq | Ins::Ne | Ins::Cmp(_)) {
        return None;
    }
    match unit.ins.get(pc + 1).copied() {
        Some(Ins::JumpTrue(t)) if !an.block_start[pc + 1] => Some((t as usize, true)),
        Some(Ins::JumpFalse(t)) if !an.block_start[pc + 1] => Some((t as usize, false)),
        _ => None,
    }
}

/// A speculative run `start..end` (see the module docs).
struct RunPlan {
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
struct Plan {
    /// Runs by first instruction.
    runs: Vec<Option<RunPlan>>,
    /// Run instructions whose result the run itself uses ([`mark_consumed`]).
    consumed: Vec<bool>,
    /// Value operations on an operand that is certainly not a small integer (a string, float,
    /// boolean or nil constant pushed right before, as in `x = 'abc'`): speculating would
    /// always fail, so they call their helper directly and are not part of a run.
    generic: Vec<bool>,
}

/// Plans the runs: maximal sequences of run instructions ([`ROp::supports`]) inside a bytecode
/// block that contain at least one fallible instruction.
fn plan_runs(unit: &CodeUnit, an: &Analysis) -> Plan {
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
        .map(|pc| is_fallible(ins[pc]) && pc > 0 && !an.block_start[pc] && not_int(ins[pc - 1]))
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
            fallible |= is_fallible(ins[end]);
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
            let (pops, pushes) = effect(i);
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
    let mut locals: HashMap<u8, Option<usize>> = HashMap::default();
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
                for _ in 0..effect(i).0 {
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

/// What the translator knows about an SSA value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fact {
    /// A small integer.
    Int,
    /// A boolean.
    Bool,
    /// Not a heap value (nil, boolean, small integer or float).
    Imm,
}

/// Where a borrowed stack entry's value lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Src {
    /// Compiled code owns the value.
    Owned,
    /// Borrowed from local `l` (valid until that local is stored to).
    Local(u8),
    /// Borrowed from a param or a constant (valid for the whole activation).
    Fixed,
}

/// The integer condition of a comparison instruction (EQ, NE, LT, LE, GT, GE) on small
/// integers (or their `x << 16` forms, which compare alike).
fn int_cc(i: Ins) -> IntCC {
    match i {
        Ins::Eq => IntCC::Equal,
        Ins::Ne => IntCC::NotEqual,
        Ins::Cmp(Cmp::Lt) => IntCC::SignedLessThan,
        Ins::Cmp(Cmp::Le) => IntCC::SignedLessThanOrEqual,
        Ins::Cmp(Cmp::Gt) => IntCC::SignedGreaterThan,
        Ins::Cmp(Cmp::Ge) => IntCC::SignedGreaterThanOrEqual,
        _ => unreachable!("compare of a non-comparison"),
    }
}

/// The loop heads (instruction indexes) of `unit` that get an integer-specialised version
/// (`fastloop`), ascending.
pub(crate) fn fast_loop_heads(unit: &CodeUnit) -> Result<Vec<usize>, String> {
    let an = analyse(unit)?;
    Ok(fastloop::plan(unit, &an)
        .iter()
        .enumerate()
        .filter_map(|(pc, f)| f.as_ref().map(|_| pc))
        .collect())
}

/// Builds the IR of `unit` into `func` (whose signature must already be the entry signature).
/// Values and resume sites the code refers to are added to `keep`, which must be kept alive as
/// long as the code can run. With `display`, resume sites are numbered instead of addressed
/// (for stable IR text; such IR must not be compiled).
pub(crate) fn build(
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
    unit: &CodeUnit,
    helpers: &[HelperDecl],
    keep: &mut Keep,
    target: TargetFrontendConfig,
    display: bool,
) -> Result<(), String> {
    let an = analyse(unit)?;
    let plan = plan_runs(unit, &an);
    let fast = fastloop::plan(unit, &an);
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let ctx = b.block_params(entry)[0];
    let pptr = b.block_params(entry)[1];

    let mut used_params = vec![false; unit.param_count];
    for (pc, i) in unit.ins.iter().enumerate() {
        if let Ins::LoadParam(p) = *i
            && an.depth[pc].is_some()
        {
            used_params[p as usize] = true;
        }
    }
    let mut facts = HashMap::default();
    let nil = b.ins().iconst(I64, NIL_BITS as i64);
    facts.insert(nil, Fact::Imm);
    let mut params = Vec::with_capacity(unit.param_count);
    // Params never change: their `<< 16` (what integer code uses) is computed once, here.
    let mut entry_shifted = HashMap::default();
    let sixteen = b.ins().iconst(I64, 16);
    for (p, used) in used_params.iter().enumerate() {
        let v = if *used {
            let v = b.ins().load(
                I64,
                MemFlagsData::trusted().with_readonly(),
                pptr,
                (p * 8) as i32,
            );
            entry_shifted.insert(v, b.ins().ishl(v, sixteen));
            v
        } else {
            nil
        };
        params.push(v);
    }
    let mut locals = Vec::with_capacity(unit.local_count);
    for _ in 0..unit.local_count {
        let var = b.declare_var(I64);
        b.def_var(var, nil);
        locals.push(var);
    }
    let stack: Vec<Variable> = (0..an.max_depth).map(|_| b.declare_var(I64)).collect();

    let mut t = Tx {
        b,
        unit,
        helpers,
        imported: HashMap::default(),
        ctx,
        params,
        locals,
        stack,
        st: Vec::new(),
        facts,
        guarded: HashSet::default(),
        blocks: vec![None; unit.ins.len()],
        cleanup: Vec::new(),
        return_local: HashMap::default(),
        slot: None,
        slot_words: an.max_vals,
        terminated: false,
        keep,
        display,
        an: &an,
        plan: &plan,
        fast: &fast,
        spec: None,
        unboxed: HashSet::default(),
        exact: HashSet::default(),
        consts: HashMap::default(),
        shifted: HashMap::default(),
        payloads: HashMap::default(),
        entry_shifted,
        native_sig: None,
    };
    t.translate()?;
    t.finish_cleanup();
    if let Some(slot) = t.slot {
        t.b.func.sized_stack_slots[slot].size = (t.slot_words * 8) as u32;
    }
    t.b.seal_all_blocks();
    t.b.finalize(target);
    Ok(())
}

/// The state of the speculative run being translated.
struct Spec {
    start: usize,
    end: usize,
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
    deferred: Vec<(ir::Value, Helper)>,
    /// Checked values before the run.
    guarded: HashSet<ir::Value>,
}

/// The locals and stack entries (by depth) a run changed.
struct Changed {
    locals: Vec<u8>,
    stack: Vec<usize>,
}

/// The translator.
struct Tx<'a, 'f> {
    b: FunctionBuilder<'f>,
    unit: &'a CodeUnit,
    helpers: &'a [HelperDecl],
    imported: HashMap<usize, FuncRef>,
    ctx: ir::Value,
    /// The params' values (loaded in the entry block; params never change).
    params: Vec<ir::Value>,
    locals: Vec<Variable>,
    /// Operand stack variables by depth.
    stack: Vec<Variable>,
    /// Compile-time state of the live stack entries (bottom first).
    st: Vec<Src>,
    /// What is known about values by construction (constants, boxed fast results, booleans):
    /// true wherever the value is used.
    facts: HashMap<ir::Value, Fact>,
    /// Values known to be small integers because a dominating check passed (or, inside a run,
    /// is assumed to pass).
    guarded: HashSet<ir::Value>,
    blocks: Vec<Option<Block>>,
    /// Cleanup chain: `cleanup[k]` releases stack entries `k-1 … 0`, then the locals, then
    /// returns its block parameter.
    cleanup: Vec<Block>,
    /// Exits returning local `l`'s value: release the other locals, return the parameter.
    return_local: HashMap<u8, Block>,
    /// Scratch buffer for delegated operands and resume state, `slot_words` words.
    slot: Option<StackSlot>,
    slot_words: usize,
    terminated: bool,
    keep: &'a mut Keep,
    display: bool,
    an: &'a Analysis,
    plan: &'a Plan,
    /// Loops with an integer-specialised version, by loop head ([`fastloop`]).
    fast: &'a [Option<fastloop::FastLoop>],
    spec: Option<Spec>,
    /// Integer results of the current run (not values: boxed when the run's check passed):
    /// `unboxed` holds `i64`s (the interpreter's integers wrap at 64 bits), `exact` holds
    /// `x << 16` for results already checked to fit a small integer.
    unboxed: HashSet<ir::Value>,
    exact: HashSet<ir::Value>,
    /// Per-block caches: constants, `v << 16` and the integer of small integers.
    consts: HashMap<u64, ir::Value>,
    shifted: HashMap<ir::Value, ir::Value>,
    payloads: HashMap<ir::Value, ir::Value>,
    /// `p << 16` of the params, computed in the entry block (valid everywhere).
    entry_shifted: HashMap<ir::Value, ir::Value>,
    /// The signature of a native method's thin entry, once imported.
    native_sig: Option<SigRef>,
}

impl Tx<'_, '_> {
    // ----- small utilities ---------------------------------------------------------------

    fn iconst(&mut self, bits: u64) -> ir::Value {
        if let Some(v) = self.consts.get(&bits) {
            return *v;
        }
        let v = self.b.ins().iconst(I64, bits as i64);
        self.consts.insert(bits, v);
        v
    }

    fn icmp_c(&mut self, cc: IntCC, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().icmp(cc, v, k)
    }

    fn ushr_c(&mut self, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().ushr(v, k)
    }

    fn sshr_c(&mut self, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().sshr(v, k)
    }

    fn ishl_c(&mut self, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().ishl(v, k)
    }

    fn bor_c(&mut self, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().bor(v, k)
    }

    fn rotr_c(&mut self, v: ir::Value, imm: i64) -> ir::Value {
        let k = self.iconst(imm as u64);
        self.b.ins().rotr(v, k)
    }

    fn import(&mut self, h: Helper) -> FuncRef {
        let idx = h as usize;
        if let Some(f) = self.imported.get(&idx) {
            return *f;
        }
        let (id, sig) = &self.helpers[idx];
        let sig = self.b.import_signature(sig.clone());
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName {
                namespace: 0,
                index: id.as_u32(),
            });
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        self.imported.insert(idx, f);
        f
    }

    fn call(&mut self, h: Helper, args: &[ir::Value]) -> Option<ir::Value> {
        let f = self.import(h);
        let inst = self.b.ins().call(f, args);
        self.b.inst_results(inst).first().copied()
    }

    /// Calls a value helper: `operands…, owned mask`. The helper consumes the operands compiled
    /// code owns and borrows the others.
    fn value_call(&mut self, h: Helper, operands: &[(ir::Value, Src)]) -> ir::Value {
        self.coded_call(h, None, operands)
    }

    /// [`Tx::value_call`] with an operation code first (`arith`, `compare`).
    fn coded_call(
        &mut self,
        h: Helper,
        code: Option<i64>,
        operands: &[(ir::Value, Src)],
    ) -> ir::Value {
        let mut args = Vec::with_capacity(operands.len() + 2);
        if let Some(c) = code {
            args.push(self.iconst(c as u64));
        }
        let mut mask = 0u64;
        for (i, (v, s)) in operands.iter().enumerate() {
            args.push(*v);
            // Immediates need no release: leave their bit clear.
            if *s == Src::Owned && !self.is_imm(*v) {
                mask |= 1 << i;
            }
        }
        let m = self.iconst(mask);
        args.push(m);
        self.call(h, &args).expect("value helpers return a value")
    }

    fn new_block(&mut self) -> Block {
        self.b.create_block()
    }

    /// Continues in `blk` (the per-block caches start empty).
    fn switch(&mut self, blk: Block) {
        self.b.switch_to_block(blk);
        self.consts.clear();
        self.shifted.clear();
        self.payloads.clear();
    }

    fn switch_sealed(&mut self, blk: Block) {
        self.switch(blk);
        self.b.seal_block(blk);
    }

    /// The value `v` stands for (the SSA builder aliases values it found redundant).
    fn canon(&self, v: ir::Value) -> ir::Value {
        self.b.func.dfg.resolve_aliases(v)
    }

    fn fact(&self, v: ir::Value) -> Option<Fact> {
        self.facts.get(&self.canon(v)).copied()
    }

    fn is_int(&self, v: ir::Value) -> bool {
        let v = self.canon(v);
        self.facts.get(&v) == Some(&Fact::Int)
            || self.guarded.contains(&v)
            || self.unboxed.contains(&v)
            || self.exact.contains(&v)
    }

    fn is_unboxed(&self, v: ir::Value) -> bool {
        self.unboxed.contains(&self.canon(v))
    }

    fn is_imm(&self, v: ir::Value) -> bool {
        let v = self.canon(v);
        self.facts.contains_key(&v)
            || self.guarded.contains(&v)
            || self.unboxed.contains(&v)
            || self.exact.contains(&v)
    }

    fn top(&mut self) -> ir::Value {
        let d = self.st.len() - 1;
        self.b.use_var(self.stack[d])
    }

    fn push(&mut self, v: ir::Value, src: Src) {
        let d = self.st.len();
        self.b.def_var(self.stack[d], v);
        self.st.push(src);
    }

    fn pop(&mut self) -> (ir::Value, Src) {
        let src = self.st.pop().expect("verified stack depth");
        let v = self.b.use_var(self.stack[self.st.len()]);
        (v, src)
    }

    /// The scratch buffer, at least `words` words long.
    fn buffer(&mut self, words: usize) -> StackSlot {
        self.slot_words = self.slot_words.max(words);
        match self.slot {
            Some(s) => s,
            None => {
                // The size is set once translation is done (`slot_words`).
                let s = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    0,
                    3,
                ));
                self.slot = Some(s);
                s
            }
        }
    }

    // ----- reference counting ------------------------------------------------------------

    /// Calls `h` (retain or release) on `v` if it is a heap value. Inside a run the call is
    /// deferred until the run's check passed.
    fn heap_call(&mut self, v: ir::Value, h: Helper) {
        if self.is_imm(v) {
            return;
        }
        if let Some(spec) = &mut self.spec {
            spec.deferred.push((v, h));
            return;
        }
        let call = self.new_block();
        let cont = self.new_block();
        let heap = self.icmp_c(IntCC::UnsignedGreaterThanOrEqual, v, HEAP_MIN as i64);
        self.b.ins().brif(heap, call, &[], cont, &[]);
        self.b.set_cold_block(call);
        self.switch_sealed(call);
        self.call(h, &[v]);
        self.b.ins().jump(cont, &[]);
        self.switch_sealed(cont);
    }

    fn retain(&mut self, v: ir::Value) {
        self.heap_call(v, Helper::Retain);
    }

    fn release(&mut self, v: ir::Value) {
        self.heap_call(v, Helper::Release);
    }

    /// Releases a popped entry if compiled code owns it.
    fn release_if_owned(&mut self, v: ir::Value, src: Src) {
        if src == Src::Owned {
            self.release(v);
        }
    }

    /// Makes stack entry `d` owned.
    fn own(&mut self, d: usize) {
        if self.st[d] != Src::Owned {
            let v = self.b.use_var(self.stack[d]);
            self.retain(v);
            self.st[d] = Src::Owned;
        }
    }

    fn own_all(&mut self) {
        for d in 0..self.st.len() {
            self.own(d);
        }
    }

    /// Ownership of a popped value.
    fn own_value(&mut self, v: ir::Value, src: Src) -> ir::Value {
        if src != Src::Owned {
            self.retain(v);
        }
        v
    }

    // ----- exits ---------------------------------------------------------------------------

    fn cleanup_block(&mut self, k: usize) -> Block {
        while self.cleanup.len() <= k {
            let blk = self.new_block();
            self.b.append_block_param(blk, I64);
            self.cleanup.push(blk);
        }
        self.cleanup[k]
    }

    /// Leaves the activation returning `ret` (an owned value's bits, or UNWIND): releases the
    /// live stack entries compiled code owns, then the locals.
    fn exit(&mut self, ret: ir::Value) {
        let k = self.st.iter().take_while(|s| **s == Src::Owned).count();
        for d in (k..self.st.len()).rev() {
            if self.st[d] == Src::Owned {
                let v = self.b.use_var(self.stack[d]);
                self.release(v);
            }
        }
        let blk = self.cleanup_block(k);
        self.b.ins().jump(blk, &[ret.into()]);
        self.terminated = true;
    }

    /// Returns the top of the stack. A value borrowed from a local, with nothing else left on
    /// the stack, takes over the local's count (instead of a retain now and a release in the
    /// cleanup).
    fn return_top(&mut self) {
        let (v, s) = self.pop();
        if let Src::Local(l) = s
            && self.st.is_empty()
        {
            let blk = match self.return_local.get(&l) {
                Some(b) => *b,
                None => {
                    let b = self.new_block();
                    self.b.append_block_param(b, I64);
                    self.return_local.insert(l, b);
                    b
                }
            };
            self.b.ins().jump(blk, &[v.into()]);
            self.terminated = true;
            return;
        }
        let v = self.own_value(v, s);
        self.exit(v);
    }

    /// After a helper that may unwind: if `r` is UNWIND, leave the activation.
    fn check_unwind(&mut self, r: ir::Value) {
        let fail = self.new_block();
        let cont = self.new_block();
        let is_unwind = self.icmp_c(IntCC::Equal, r, UNWIND as i64);
        self.b.ins().brif(is_unwind, fail, &[], cont, &[]);
        self.b.set_cold_block(fail);
        self.switch_sealed(fail);
        self.exit(r);
        self.terminated = false;
        self.switch_sealed(cont);
    }

    fn finish_cleanup(&mut self) {
        self.guarded.clear();
        let mut keeping: Vec<(u8, Block)> =
            self.return_local.iter().map(|(l, b)| (*l, *b)).collect();
        keeping.sort_unstable_by_key(|(l, _)| *l);
        for (kept, blk) in keeping {
            self.switch_sealed(blk);
            let ret = self.b.block_params(blk)[0];
            for l in 0..self.locals.len() {
                if l != kept as usize {
                    let v = self.b.use_var(self.locals[l]);
                    self.release(v);
                }
            }
            self.b.ins().return_(&[ret]);
        }
        for k in (0..self.cleanup.len()).rev() {
            let blk = self.cleanup[k];
            self.switch_sealed(blk);
            let ret = self.b.block_params(blk)[0];
            if k > 0 {
                let v = self.b.use_var(self.stack[k - 1]);
                self.release(v);
                let next = self.cleanup[k - 1];
                self.b.ins().jump(next, &[ret.into()]);
            } else {
                for l in 0..self.locals.len() {
                    let v = self.b.use_var(self.locals[l]);
                    self.release(v);
                }
                self.b.ins().return_(&[ret]);
            }
        }
    }

    // ----- control flow ------------------------------------------------------------------

    fn block_at(&mut self, pc: usize) -> Block {
        if let Some(b) = self.blocks[pc] {
            return b;
        }
        let b = self.new_block();
        self.blocks[pc] = Some(b);
        b
    }

    fn translate(&mut self) -> Result<(), String> {
        let n = self.unit.ins.len();
        if self.an.block_start[0] {
            let blk = self.block_at(0);
            self.b.ins().jump(blk, &[]);
        }
        let mut pc = 0;
        while pc < n {
            let Some(depth) = self.an.depth[pc] else {
                pc += 1;
                continue;
            };
            if self.an.block_start[pc] {
                let blk = self.block_at(pc);
                self.switch(blk);
                if !self.an.loop_head[pc] {
                    self.b.seal_block(blk);
                }
                self.guarded.clear();
                if let Some(fl) = &self.fast[pc] {
                    self.fast_loop(fl);
                }
            } else if pc != 0 {
                return Err(format!("instruction {pc} is reachable but starts no block"));
            }
            self.st = vec![Src::Owned; depth];
            self.terminated = false;
            pc = self.run(pc);
        }
        Ok(())
    }

    /// Translates from `pc` to the end of its bytecode block (a terminator, or a jump into the
    /// next block start); returns the instruction after the block.
    fn run(&mut self, mut pc: usize) -> usize {
        let n = self.unit.ins.len();
        let first = pc;
        loop {
            if pc != first && (pc >= n || self.an.block_start[pc]) {
                debug_assert!(pc < n, "the last instruction (End) is a terminator");
                debug_assert!(self.spec.is_none(), "runs end at block starts");
                self.own_all();
                let blk = self.block_at(pc);
                self.b.ins().jump(blk, &[]);
                self.terminated = true;
                return pc;
            }
            if self.spec.is_none() && self.plan.runs[pc].is_some() {
                self.begin_run(pc);
            }
            pc += self.ins(pc);
            if self.terminated {
                debug_assert!(self.spec.is_none(), "only a fused branch ends a run");
                return pc;
            }
            if self.spec.as_ref().is_some_and(|s| s.end == pc) {
                pc += self.end_run();
                if self.terminated {
                    return pc;
                }
            }
        }
    }

    // ----- speculative runs ------------------------------------------------------------------

    /// Starts the run planned at `pc`: records the state the slow path restarts from.
    fn begin_run(&mut self, pc: usize) {
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
    fn guard_ints(&mut self, vs: &[ir::Value]) {
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
    fn bail_if(&mut self, overflow: ir::Value) {
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
        let mut shifted: HashMap<ir::Value, ir::Value> = HashMap::default();
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
        let mut boxed: HashMap<ir::Value, ir::Value> = HashMap::default();
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
    fn end_run(&mut self) -> usize {
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
    fn end_run_branch(&mut self, c: ir::Value, on_true: bool, t: usize, jump_pc: usize) {
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

    // ----- instructions ----------------------------------------------------------------------

    /// Translates the instruction at `pc`; returns how many instructions it consumed.
    fn ins(&mut self, pc: usize) -> usize {
        let i = self.unit.ins[pc];
        match i {
            Ins::Nop => {}
            Ins::Pop => {
                let (v, s) = self.pop();
                self.release_if_owned(v, s);
            }
            Ins::Dup => {
                let v = self.top();
                let s = *self.st.last().expect("verified");
                if s == Src::Owned {
                    self.retain(v);
                }
                self.push(v, s);
            }
            Ins::Swap => {
                let (b, sb) = self.pop();
                let (a, sa) = self.pop();
                self.push(b, sb);
                self.push(a, sa);
            }
            Ins::Rot => {
                let (c, sc) = self.pop();
                let (b, sb) = self.pop();
                let (a, sa) = self.pop();
                self.push(b, sb);
                self.push(c, sc);
                self.push(a, sa);
            }
            Ins::Const(k) => {
                let bits = self.unit.consts[k as usize].bits();
                self.push_const(bits);
            }
            Ins::Nil => self.push_const(NIL_BITS),
            Ins::True => self.push_const(TRUE_BITS),
            Ins::False => self.push_const(FALSE_BITS),
            Ins::Zero => self.push_const(ZERO_BITS),
            Ins::One => self.push_const(ZERO_BITS | 1),
            Ins::Empty => {
                let v = Value::empty_string();
                let bits = v.bits();
                self.keep.pool.push(v);
                self.push_const(bits);
            }
            Ins::LoadLocal(l) => {
                let v = self.b.use_var(self.locals[l as usize]);
                self.push(v, Src::Local(l));
            }
            Ins::StoreLocal(l) => {
                let (v, s) = self.pop();
                for d in 0..self.st.len() {
                    if self.st[d] == Src::Local(l) {
                        self.own(d);
                    }
                }
                let v = self.own_value(v, s);
                let old = self.b.use_var(self.locals[l as usize]);
                self.release(old);
                self.b.def_var(self.locals[l as usize], v);
            }
            Ins::LoadParam(p) => {
                let v = self.params[p as usize];
                self.push(v, Src::Fixed);
            }
            _ if self.plan.generic[pc] => return self.generic_op(pc, i),
            Ins::Arith(op) => self.arith(pc, op),
            Ins::Neg => self.neg(pc),
            Ins::Eq | Ins::Ne | Ins::Cmp(_) => return self.compare(pc, i),
            Ins::Not => {
                let (v, s) = self.pop();
                let c = self.truthy(v, s);
                let r = self.bool_value(c, true);
                self.push(r, Src::Owned);
            }
            Ins::And | Ins::Or => {
                let (y, sy) = self.pop();
                let (x, sx) = self.pop();
                let cx = self.truthy(x, sx);
                let cy = self.truthy(y, sy);
                let c = if i == Ins::And {
                    self.b.ins().band(cx, cy)
                } else {
                    self.b.ins().bor(cx, cy)
                };
                let r = self.bool_value(c, false);
                self.push(r, Src::Owned);
            }
            Ins::Concat => {
                let (y, sy) = self.pop();
                let (x, sx) = self.pop();
                let r = self.value_call(Helper::Concat, &[(x, sx), (y, sy)]);
                self.push(r, Src::Owned);
            }
            Ins::Strlen => {
                let (x, sx) = self.pop();
                let r = self.value_call(Helper::Strlen, &[(x, sx)]);
                self.push(r, Src::Owned);
            }
            Ins::Jump(t) => {
                self.own_all();
                let blk = self.block_at(t as usize);
                self.b.ins().jump(blk, &[]);
                self.terminated = true;
            }
            Ins::JumpTrue(t) | Ins::JumpFalse(t) => {
                let (v, s) = self.pop();
                self.own_all();
                let c = self.truthy(v, s);
                self.cond_jump(c, i == Ins::JumpTrue(t), t as usize, pc);
            }
            Ins::JumpNil(t) | Ins::JumpNotNil(t) => {
                let (v, s) = self.pop();
                self.own_all();
                let c = self.text_empty(v, s);
                self.cond_jump(c, i == Ins::JumpNil(t), t as usize, pc);
            }
            Ins::Return => self.return_top(),
            Ins::ReturnNil => {
                let nil = self.iconst(NIL_BITS);
                self.exit(nil);
            }
            Ins::End => {
                if self.st.is_empty() {
                    let nil = self.iconst(NIL_BITS);
                    self.exit(nil);
                } else {
                    self.return_top();
                }
            }
            Ins::NonLocalRet => {
                let r = self.delegate(pc, 1);
                // `r` is the value (home is this activation) or UNWIND (parked): either way the
                // activation ends returning it.
                self.exit(r);
            }
            Ins::StoreCapture(_) | Ins::StoreIvar(_) => {
                let r = self.delegate(pc, 1);
                self.check_unwind(r);
            }
            Ins::Send { site, argc } => {
                let r = self.send(site as usize, argc as usize);
                self.check_unwind(r);
                self.push(r, Src::Owned);
            }
            _ => {
                let (pops, _) = effect(i);
                let r = self.delegate(pc, pops);
                self.check_unwind(r);
                self.push(r, Src::Owned);
            }
        }
        1
    }

    /// A value operation outside runs ([`Plan::generic`]): its helper, called directly.
    /// Returns the number of instructions consumed (a comparison takes a following
    /// JUMP_TRUE / JUMP_FALSE with it, as in [`Tx::compare`]).
    fn generic_op(&mut self, pc: usize, i: Ins) -> usize {
        if i == Ins::Neg {
            let x = self.pop();
            let r = self.value_call(Helper::Neg, &[x]);
            self.push(r, Src::Owned);
            return 1;
        }
        let y = self.pop();
        let x = self.pop();
        let fused = fused_jump(self.unit, self.an, pc);
        let (h, code) = match i {
            Ins::Arith(op) => (Helper::Arith, arith_code(op)),
            Ins::Eq => (Helper::Compare, CMP_EQ),
            Ins::Ne => (Helper::Compare, CMP_NE),
            Ins::Cmp(op) => (Helper::Compare, cmp_code(op)),
            _ => unreachable!("value operation"),
        };
        if fused.is_some() {
            // Block boundary ahead: the remaining entries must be owned.
            self.own_all();
        }
        let r = self.coded_call(h, Some(code), &[x, y]);
        match fused {
            Some((t, on_true)) => {
                let c = self.icmp_c(IntCC::Equal, r, TRUE_BITS as i64);
                self.cond_jump(c, on_true, t, pc + 1);
                2
            }
            None => {
                if h == Helper::Compare {
                    self.facts.insert(r, Fact::Bool);
                }
                self.push(r, Src::Owned);
                1
            }
        }
    }

    fn push_const(&mut self, bits: u64) {
        let v = self.iconst(bits);
        if bits >= HEAP_MIN {
            self.push(v, Src::Fixed);
        } else {
            let fact = match bits {
                _ if bits >> TAG_SHIFT == TAG_INT => Fact::Int,
                TRUE_BITS | FALSE_BITS => Fact::Bool,
                _ => Fact::Imm,
            };
            self.facts.insert(v, fact);
            self.push(v, Src::Owned);
        }
    }

    /// Hands instruction `pc` to [`Helper::Op`] with its `pops` operands (made owned, consumed
    /// by the helper). Returns the helper's result.
    fn delegate(&mut self, pc: usize, pops: usize) -> ir::Value {
        let base = self.st.len() - pops;
        for d in base..self.st.len() {
            self.own(d);
        }
        let vals: Vec<ir::Value> = (base..self.st.len())
            .map(|d| self.b.use_var(self.stack[d]))
            .collect();
        self.st.truncate(base);
        let addr = if pops > 0 {
            let slot = self.buffer(pops);
            let addr = self.b.ins().stack_addr(I64, slot, 0);
            for (j, v) in vals.iter().enumerate() {
                self.b
                    .ins()
                    .store(MemFlagsData::trusted(), *v, addr, (j * 8) as i32);
            }
            addr
        } else {
            self.iconst(0)
        };
        let n_v = self.iconst(pops as u64);
        let ctx = self.ctx;
        let pc_v = self.iconst(pc as u64);
        self.call(Helper::Op, &[ctx, pc_v, addr, n_v])
            .expect("result")
    }

    /// SEND with an inline monomorphic cache check and a direct call of a cached native
    /// method; everything else goes to [`Helper::Send`] (see `docs/jit.md`, "Sends").
    ///
    /// Fast path (all loads from cells that stay valid: the receiver is alive, method records
    /// are never freed, the site belongs to the unit): the receiver's tag is an instance; its
    /// cache class key (`Instance::cache_class`, no dispatch class or released = a key no
    /// instance-side entry holds) joined with the running registry's epoch (read through the
    /// context) equals entry 0's key, read by the cache's reader protocol (key, method, key
    /// again). Then the site's hit counter moves as in `SendCache::lookup`, and a native
    /// method's thin entry is called through its address in the record with the receiver and
    /// the arguments borrowed (no vector, no retains); compiled code releases the operands it
    /// owned afterwards. Any other method (bytecode, Bash fallback) goes to
    /// [`Helper::SendFound`]: `Run::send` without the receiver classification and the cache
    /// probe. A failed check jumps to the (cold)
    /// general
    /// path, which makes the arguments owned and calls [`Helper::Send`] (the interpreter's
    /// `Run::send`, which also refills the site). Both return a value or `UNWIND` (the error or
    /// panic parked), checked by the caller.
    fn send(&mut self, site: usize, argc: usize) -> ir::Value {
        let n = argc + 1;
        let base = self.st.len() - n;
        let ops: Vec<(ir::Value, Src)> = (base..self.st.len())
            .map(|d| (self.b.use_var(self.stack[d]), self.st[d]))
            .collect();
        self.st.truncate(base);
        // The buffer holds the receiver then the arguments; the arguments are written for
        // both paths, the receiver only by the general one.
        let slot = self.buffer(n);
        for (j, (v, _)) in ops.iter().enumerate().skip(1) {
            self.b.ins().stack_store(I64, *v, slot, (j * 8) as i32);
        }
        // The site's inline cache, by address (the unit owns it and outlives its code).
        let site_addr = &self.unit.sites[site] as *const _ as u64;
        let (recv, recv_src) = ops[0];
        let slow = self.new_block();
        let join = self.new_block();
        self.b.append_block_param(join, I64);
        if !self.is_imm(recv) {
            self.native_hit(recv, site_addr, slot, argc, &ops, slow, join);
        } else {
            self.b.ins().jump(slow, &[]);
        }
        // General path: `tt_jit_send` consumes the arguments; the receiver only when owned.
        self.b.set_cold_block(slow);
        self.switch_sealed(slow);
        for (v, s) in &ops[1..] {
            if *s != Src::Owned {
                self.retain(*v);
            }
        }
        self.b.ins().stack_store(I64, recv, slot, 0);
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        let n_v = self.iconst(n as u64);
        let owned_v = self.iconst((recv_src == Src::Owned) as u64);
        let site_v = self.iconst(site_addr);
        let ctx = self.ctx;
        let r = self
            .call(Helper::Send, &[ctx, site_v, addr, n_v, owned_v])
            .expect("result");
        self.b.ins().jump(join, &[r.into()]);
        self.switch_sealed(join);
        self.b.block_params(join)[0]
    }

    /// The fast path of [`Tx::send`], from the current block: jumps to `slow` on any failed
    /// check; hands a method that is not native to [`Helper::SendFound`] (arguments made owned,
    /// as for [`Helper::Send`]); for a native one counts the hit, calls its thin entry with the
    /// arguments in `slot` (from word 1) and releases the owned operands; jumps to `join` with
    /// the result.
    #[allow(clippy::too_many_arguments)]
    fn native_hit(
        &mut self,
        recv: ir::Value,
        site_addr: u64,
        slot: StackSlot,
        argc: usize,
        ops: &[(ir::Value, Src)],
        slow: Block,
        join: Block,
    ) {
        let flags = MemFlagsData::trusted();
        // An instance? `recv ^ tag` is its `Instance` pointer when the top 16 bits are 0.
        let tag = self.iconst(TAG_INSTANCE << TAG_SHIFT);
        let inst = self.b.ins().bxor(recv, tag);
        let hi = self.ushr_c(inst, TAG_SHIFT as i64);
        let inst_blk = self.new_block();
        self.b.ins().brif(hi, slow, &[], inst_blk, &[]);
        self.switch_sealed(inst_blk);
        // Its key under the running registry's epoch against entry 0 (reader protocol).
        let class = self
            .b
            .ins()
            .uload32(flags, inst, layout::INSTANCE_CACHE_CLASS as i32);
        let epoch_ptr = self.b.ins().load(
            I64,
            flags.with_readonly(),
            self.ctx,
            layout::CTX_EPOCH as i32,
        );
        // Relaxed, as `SendCache::lookup` reads it.
        let epoch = self.b.ins().uload32(flags, epoch_ptr, 0);
        let hi = self.ishl_c(epoch, 32);
        let want = self.b.ins().bor(hi, class);
        let site = self.iconst(site_addr);
        let m_addr = self.iconst(site_addr + tt_dispatch::layout::ENTRY_METHOD as u64);
        const { assert!(tt_dispatch::layout::ENTRY_KEY == 0) };
        let k1 = self.b.ins().atomic_load(I64, flags, site);
        let same = self.b.ins().icmp(IntCC::Equal, k1, want);
        let key_blk = self.new_block();
        self.b.ins().brif(same, key_blk, &[], slow, &[]);
        self.switch_sealed(key_blk);
        let m = self.b.ins().atomic_load(I64, flags, m_addr);
        let k2 = self.b.ins().atomic_load(I64, flags, site);
        let same = self.b.ins().icmp(IntCC::Equal, k2, k1);
        let m_blk = self.new_block();
        self.b.ins().brif(same, m_blk, &[], slow, &[]);
        self.switch_sealed(m_blk);
        // A native method? Otherwise `tt_jit_send_found` counts the hit and calls the method.
        let kind = self
            .b
            .ins()
            .uload8(I64, flags, m, layout::METHOD_IMPL as i32);
        let native = self.icmp_c(IntCC::Equal, kind, layout::IMPL_TAG_NATIVE as i64);
        let hit = self.new_block();
        let found = self.new_block();
        self.b.ins().brif(native, hit, &[], found, &[]);
        // Out of line: the native call is the path this check is for (a bytecode method's
        // activation costs far more than the jump).
        self.b.set_cold_block(found);
        self.switch_sealed(found);
        for (v, s) in &ops[1..] {
            if *s != Src::Owned {
                self.retain(*v);
            }
        }
        self.b.ins().stack_store(I64, recv, slot, 0);
        let addr = self.b.ins().stack_addr(I64, slot, 0);
        let n_v = self.iconst(ops.len() as u64);
        let owned_v = self.iconst((ops[0].1 == Src::Owned) as u64);
        let site_v = self.iconst(site_addr);
        let ctx = self.ctx;
        let r = self
            .call(Helper::SendFound, &[ctx, site_v, m, addr, n_v, owned_v])
            .expect("result");
        self.b.ins().jump(join, &[r.into()]);
        self.switch_sealed(hit);
        // A hit: count it like `SendCache::lookup` (relaxed load + store, reported every
        // HIT_FLUSH hits).
        let hits = self
            .b
            .ins()
            .load(I64, flags, site, tt_dispatch::layout::HITS as i32);
        let one = self.iconst(1);
        let hits = self.b.ins().iadd(hits, one);
        self.b
            .ins()
            .store(flags, hits, site, tt_dispatch::layout::HITS as i32);
        const { assert!(tt_dispatch::stats::HIT_FLUSH.is_power_of_two()) };
        let low = self.iconst(tt_dispatch::stats::HIT_FLUSH - 1);
        let low = self.b.ins().band(hits, low);
        let flush = self.new_block();
        let call = self.new_block();
        self.b.ins().brif(low, call, &[], flush, &[]);
        self.b.set_cold_block(flush);
        self.switch_sealed(flush);
        self.call(Helper::FlushHits, &[site]);
        self.b.ins().jump(call, &[]);
        self.switch_sealed(call);
        // The thin entry: `(native, ctx, self, args, argc)`, operands borrowed.
        let native_off = (layout::METHOD_IMPL + layout::IMPL_NATIVE) as i64;
        let off = self.iconst(native_off as u64);
        let native = self.b.ins().iadd(m, off);
        let entry = self.b.ins().load(
            I64,
            flags.with_readonly(),
            native,
            layout::NATIVE_ENTRY as i32,
        );
        let args = if argc > 0 {
            self.b.ins().stack_addr(I64, slot, 8)
        } else {
            self.iconst(0)
        };
        let argc_v = self.iconst(argc as u64);
        let sig = self.native_sig();
        let ctx = self.ctx;
        let inst = self
            .b
            .ins()
            .call_indirect(sig, entry, &[native, ctx, recv, args, argc_v]);
        let r = self.b.inst_results(inst)[0];
        for (v, s) in ops {
            if *s == Src::Owned {
                self.release(*v);
            }
        }
        self.b.ins().jump(join, &[r.into()]);
    }

    /// The signature of [`tt_vm::runtime::NativeEntry`]: five 64-bit arguments, one result.
    fn native_sig(&mut self) -> SigRef {
        if let Some(s) = self.native_sig {
            return s;
        }
        let mut sig = Signature::new(self.b.func.signature.call_conv);
        for _ in 0..5 {
            sig.params.push(AbiParam::new(I64));
        }
        sig.returns.push(AbiParam::new(I64));
        let s = self.b.import_signature(sig);
        self.native_sig = Some(s);
        s
    }

    // ----- values ----------------------------------------------------------------------------

    /// `v << 16` for a (presumed) small integer: its payload in the high 48 bits, low bits 0.
    fn shifted(&mut self, v: ir::Value) -> ir::Value {
        let v = self.canon(v);
        debug_assert!(
            !self.unboxed.contains(&v),
            "an i64 has no exact shifted form"
        );
        if self.exact.contains(&v) {
            return v;
        }
        if let Some(s) = self.shifted.get(&v).or_else(|| self.entry_shifted.get(&v)) {
            return *s;
        }
        let s = match self.const_bits(v) {
            Some(bits) => self.iconst(bits << 16),
            None => self.ishl_c(v, 16),
        };
        self.shifted.insert(v, s);
        s
    }

    /// The integer of a (presumed) small integer, or of a run's result (already a payload).
    fn payload(&mut self, v: ir::Value) -> ir::Value {
        let v = self.canon(v);
        if self.unboxed.contains(&v) {
            return v;
        }
        if let Some(p) = self.payloads.get(&v) {
            return *p;
        }
        if self.exact.contains(&v) {
            let p = self.sshr_c(v, 16);
            self.payloads.insert(v, p);
            return p;
        }
        let p = match self.const_bits(v) {
            Some(bits) => self.iconst((((bits << 16) as i64) >> 16) as u64),
            None => {
                let s = self.shifted(v);
                self.sshr_c(s, 16)
            }
        };
        self.payloads.insert(v, p);
        p
    }

    /// The bits of `v` when it is an `iconst`.
    fn const_bits(&self, v: ir::Value) -> Option<u64> {
        let dfg = &self.b.func.dfg;
        if let ValueDef::Result(inst, _) = dfg.value_def(v)
            && let InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } = dfg.insts[inst]
        {
            return Some(imm.bits() as u64);
        }
        None
    }

    /// Pushes a run's integer result, an `i64` (see [`Tx::unboxed`]).
    fn push_int(&mut self, p: ir::Value) {
        self.unboxed.insert(p);
        self.push(p, Src::Owned);
    }

    /// Pushes a run's integer result given as `x << 16`, after branching to the slow path
    /// when `overflow` (the result does not fit a small integer).
    fn push_exact(&mut self, s: ir::Value, overflow: ir::Value) {
        self.bail_if(overflow);
        self.exact.insert(s);
        self.push(s, Src::Owned);
    }

    /// True when the result of instruction `pc` is better kept as `x << 16` with an overflow
    /// branch right away: the run does not use it (it is stored or left on the stack), and
    /// its operands have an exact shifted form. A loop's `i := i + 1` then costs a shift, an
    /// add and a branch, and re-boxing. Other results are `i64`s, checked once at the end of
    /// the run (no branch per instruction).
    fn prefer_exact(&self, pc: usize, vs: &[ir::Value]) -> bool {
        !self.plan.consumed[pc] && vs.iter().all(|v| !self.is_unboxed(*v))
    }

    fn arith(&mut self, pc: usize, op: Arith) {
        let (y, _) = self.pop();
        let (x, _) = self.pop();
        // Both are small integers once the run's check passed: nothing to release.
        self.guard_ints(&[x, y]);
        if matches!(op, Arith::Add | Arith::Sub | Arith::Mul) && self.prefer_exact(pc, &[x, y]) {
            let a = self.shifted(x);
            let (s, of) = match op {
                Arith::Add => {
                    let b = self.shifted(y);
                    self.b.ins().sadd_overflow(a, b)
                }
                Arith::Sub => {
                    let b = self.shifted(y);
                    self.b.ins().ssub_overflow(a, b)
                }
                _ => {
                    let b = self.payload(y);
                    self.b.ins().smul_overflow(a, b)
                }
            };
            return self.push_exact(s, of);
        }
        let a = self.payload(x);
        let b = self.payload(y);
        // Integers wrap at 64 bits exactly as in the interpreter (which boxes the ones beyond
        // 48 bits), so only the results leaving the run need to fit.
        let r = match op {
            Arith::Add => self.b.ins().iadd(a, b),
            Arith::Sub => self.b.ins().isub(a, b),
            Arith::Mul => self.b.ins().imul(a, b),
            Arith::Div => {
                // x / 0 == 0 and x / -1 == -x (wrapping): divide by 1 and multiply by the
                // divisor instead, so that the division cannot trap.
                let one = self.iconst(1);
                let b1 = self.b.ins().iadd(b, one);
                let special = self.icmp_c(IntCC::UnsignedLessThanOrEqual, b1, 1);
                let d = self.b.ins().select(special, one, b);
                let m = self.b.ins().select(special, b, one);
                let q = self.b.ins().sdiv(a, d);
                self.b.ins().imul(q, m)
            }
            Arith::Mod => {
                // x % 0 == 0 == x % 1 (srem does not trap on i64::MIN % -1).
                let is_zero = self.icmp_c(IntCC::Equal, b, 0);
                let one = self.iconst(1);
                let d = self.b.ins().select(is_zero, one, b);
                self.b.ins().srem(a, d)
            }
        };
        self.push_int(r);
    }

    fn neg(&mut self, pc: usize) {
        let (x, _) = self.pop();
        self.guard_ints(&[x]);
        if self.prefer_exact(pc, &[x]) {
            let a = self.shifted(x);
            let zero = self.iconst(0);
            let (s, of) = self.b.ins().ssub_overflow(zero, a);
            return self.push_exact(s, of);
        }
        let a = self.payload(x);
        let r = self.b.ins().ineg(a);
        self.push_int(r);
    }

    /// `c ? true : false` as value bits (`negate` flips the condition).
    fn bool_value(&mut self, c: ir::Value, negate: bool) -> ir::Value {
        let (t, f) = if negate {
            (FALSE_BITS, TRUE_BITS)
        } else {
            (TRUE_BITS, FALSE_BITS)
        };
        let t = self.iconst(t);
        let f = self.iconst(f);
        let r = self.b.ins().select(c, t, f);
        self.facts.insert(r, Fact::Bool);
        r
    }

    /// EQ / NE / LT / LE / GT / GE, fused with a following JUMP_TRUE / JUMP_FALSE when that
    /// jump is not itself a jump target (the jump then ends the run). Returns the number of
    /// instructions consumed.
    fn compare(&mut self, pc: usize, i: Ins) -> usize {
        let (y, _) = self.pop();
        let (x, _) = self.pop();
        let fused = fused_jump(self.unit, self.an, pc);
        if fused.is_some() {
            // Block boundary ahead: the remaining entries must be owned on both paths.
            self.own_all();
        }
        self.guard_ints(&[x, y]);
        let cc = int_cc(i);
        // Small integers compare by their payloads shifted to the top (one shift each); run
        // results are already integers.
        let (a, b) = if self.is_unboxed(x) || self.is_unboxed(y) {
            (self.payload(x), self.payload(y))
        } else {
            (self.shifted(x), self.shifted(y))
        };
        let c = self.b.ins().icmp(cc, a, b);
        match fused {
            Some((t, on_true)) => {
                self.end_run_branch(c, on_true, t, pc + 1);
                2
            }
            None => {
                let r = self.bool_value(c, false);
                self.push(r, Src::Owned);
                1
            }
        }
    }

    /// The conditional jump at `pc` to `t`, on `c` (jumps when `c` is `when`).
    fn cond_jump(&mut self, c: ir::Value, when: bool, t: usize, pc: usize) {
        let taken = self.block_at(t);
        let fall = self.block_at(pc + 1);
        if taken == fall {
            self.b.ins().jump(taken, &[]);
        } else if when {
            self.b.ins().brif(c, taken, &[], fall, &[]);
        } else {
            self.b.ins().brif(c, fall, &[], taken, &[]);
        }
        self.terminated = true;
    }

    /// `truthy(v)` as an `i8` condition; consumes `v` if owned.
    fn truthy(&mut self, v: ir::Value, s: Src) -> ir::Value {
        if self.is_int(v) {
            return self.icmp_c(IntCC::NotEqual, v, ZERO_BITS as i64);
        }
        if self.fact(v) == Some(Fact::Bool) {
            return self.icmp_c(IntCC::Equal, v, TRUE_BITS as i64);
        }
        let merge = self.new_block();
        self.b.append_block_param(merge, types::I8);
        // true → 1
        let not_true = self.new_block();
        let is_true = self.icmp_c(IntCC::Equal, v, TRUE_BITS as i64);
        let one = self.b.ins().iconst(types::I8, 1);
        let zero = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(is_true, merge, &[one.into()], not_true, &[]);
        self.switch_sealed(not_true);
        // nil / false → 0 ; small int → bits != 0 ; anything else → helper
        let tag = self.ushr_c(v, TAG_SHIFT as i64);
        let special = self.icmp_c(IntCC::Equal, tag, (NIL_BITS >> TAG_SHIFT) as i64);
        let not_special = self.new_block();
        self.b
            .ins()
            .brif(special, merge, &[zero.into()], not_special, &[]);
        self.switch_sealed(not_special);
        let int = self.icmp_c(IntCC::Equal, tag, TAG_INT as i64);
        let int_b = self.new_block();
        let slow = self.new_block();
        self.b.ins().brif(int, int_b, &[], slow, &[]);
        self.switch_sealed(int_b);
        let nz = self.icmp_c(IntCC::NotEqual, v, ZERO_BITS as i64);
        self.b.ins().jump(merge, &[nz.into()]);
        self.switch_sealed(slow);
        let r = self.value_call(Helper::Truthy, &[(v, s)]);
        let c = self.icmp_c(IntCC::NotEqual, r, 0);
        self.b.ins().jump(merge, &[c.into()]);
        self.switch_sealed(merge);
        self.b.block_params(merge)[0]
    }

    /// `text(v) == ""` as an `i8` condition; consumes `v` if owned.
    fn text_empty(&mut self, v: ir::Value, s: Src) -> ir::Value {
        if self.is_imm(v) {
            return self.icmp_c(IntCC::Equal, v, NIL_BITS as i64);
        }
        let merge = self.new_block();
        self.b.append_block_param(merge, types::I8);
        let one = self.b.ins().iconst(types::I8, 1);
        let zero = self.b.ins().iconst(types::I8, 0);
        let not_nil = self.new_block();
        let is_nil = self.icmp_c(IntCC::Equal, v, NIL_BITS as i64);
        self.b
            .ins()
            .brif(is_nil, merge, &[one.into()], not_nil, &[]);
        self.switch_sealed(not_nil);
        let heap = self.icmp_c(IntCC::UnsignedGreaterThanOrEqual, v, HEAP_MIN as i64);
        let slow = self.new_block();
        self.b.ins().brif(heap, slow, &[], merge, &[zero.into()]);
        self.switch_sealed(slow);
        let r = self.value_call(Helper::TextEmpty, &[(v, s)]);
        let c = self.icmp_c(IntCC::NotEqual, r, 0);
        self.b.ins().jump(merge, &[c.into()]);
        self.switch_sealed(merge);
        self.b.block_params(merge)[0]
    }
}

/// The entry signature `(ctx: ptr, params: ptr) -> i64`.
pub(crate) fn entry_signature(call_conv: cranelift_codegen::isa::CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(I64));
    sig.params.push(AbiParam::new(I64));
    sig.returns.push(AbiParam::new(I64));
    sig
}

/// The signature of helper `h`.
pub(crate) fn helper_signature(
    h: Helper,
    call_conv: cranelift_codegen::isa::CallConv,
) -> Signature {
    let mut sig = Signature::new(call_conv);
    for _ in 0..h.arity() {
        sig.params.push(AbiParam::new(I64));
    }
    if h.returns() {
        sig.returns.push(AbiParam::new(I64));
    }
    sig
}
