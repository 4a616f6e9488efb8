//! Translation of a decoded code unit ([`Ins`]) into Cranelift IR.
//!
//! * Params, locals and the operand stack (by depth) are SSA variables; the verifier guarantees
//!   one stack depth per instruction, so stack slot `d` is always variable `d`.
//! * Small integers, booleans and nil are handled inline behind tag checks; anything else calls
//!   a helper (see [`crate::helpers`]).
//! * Reference counts stay exact with compile-time ownership tracking: a stack entry is either
//!   *owned* (compiled code must release it) or *borrowed* from a param, a constant or a local
//!   (nothing to do, as long as that local is not overwritten first). Borrowed entries are
//!   turned into owned ones (a `retain`) only when something needs ownership: a store, a
//!   consuming helper, a return, or a block boundary. Every retain/release is guarded by an
//!   inline tag check (`bits >= 0xFFFB << 48`), so immediates never call.
//! * A helper that stops the activation returns `UNWIND`; compiled code then releases what it
//!   owns (live stack entries and locals, through a shared chain of cleanup blocks) and returns
//!   `UNWIND` itself.

use std::collections::{HashMap, HashSet};

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData,
    Signature, StackSlot, StackSlotData, StackSlotKind, UserExternalName, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::FuncId;
use tt_vm::Value;
use tt_vm::interp::native::UNWIND;
use tt_vm::interp::{CodeUnit, Ins};
use tt_vm::value::boxing::{FALSE_BITS, NIL_BITS, TAG_BIGINT, TAG_INT, TAG_SHIFT, TRUE_BITS};
use tt_vm::value::ops::{Arith, Cmp};

use crate::helpers::{CMP_EQ, CMP_NE, Helper, arith_code, cmp_code};

const I64: ir::Type = types::I64;
/// Smallest bit pattern of a heap value (boxed int, string, JSON, instance, block).
const HEAP_MIN: u64 = TAG_BIGINT << TAG_SHIFT;
/// Bits of the small integer 0.
const ZERO_BITS: u64 = TAG_INT << TAG_SHIFT;

/// A declared helper: its function id in the module and its signature.
pub(crate) type HelperDecl = (FuncId, Signature);

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

/// Builds the IR of `unit` into `func` (whose signature must already be the entry signature).
/// Values the code borrows beyond the unit's own constants are pushed to `pool`, which must be
/// kept alive as long as the code can run.
pub(crate) fn build(
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
    unit: &CodeUnit,
    helpers: &[HelperDecl],
    pool: &mut Vec<Value>,
    target: TargetFrontendConfig,
) -> Result<(), String> {
    let an = analyse(unit)?;
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
    let mut facts = HashMap::new();
    let nil = b.ins().iconst(I64, NIL_BITS as i64);
    facts.insert(nil, Fact::Imm);
    let mut params = Vec::with_capacity(unit.param_count);
    for (p, used) in used_params.iter().enumerate() {
        let v = if *used {
            b.ins().load(
                I64,
                MemFlagsData::trusted().with_readonly(),
                pptr,
                (p * 8) as i32,
            )
        } else {
            nil
        };
        let var = b.declare_var(I64);
        b.def_var(var, v);
        params.push(var);
    }
    let mut locals = Vec::with_capacity(unit.local_count);
    for _ in 0..unit.local_count {
        let var = b.declare_var(I64);
        b.def_var(var, nil);
        locals.push(var);
    }
    let stack: Vec<Variable> = (0..an.max_depth).map(|_| b.declare_var(I64)).collect();
    let slot = (an.max_vals > 0).then(|| {
        b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (an.max_vals * 8) as u32,
            3,
        ))
    });

    let mut t = Tx {
        b,
        unit,
        helpers,
        imported: HashMap::new(),
        ctx,
        params,
        locals,
        stack,
        st: Vec::new(),
        facts,
        guarded: HashSet::new(),
        blocks: vec![None; unit.ins.len()],
        cleanup: Vec::new(),
        slot,
        terminated: false,
        pool,
        an: &an,
        generic: false,
        pending: Vec::new(),
        generic_start: None,
        resume_blocks: HashMap::new(),
    };
    t.translate()?;
    t.finish_cleanup();
    t.b.seal_all_blocks();
    t.b.finalize(target);
    Ok(())
}

/// The slow path of an instruction translated in fast mode, emitted once the fast copy of its
/// bytecode block is finished: calls `helper` and continues in the generic copy at `resume`.
struct Pending {
    slow: Block,
    helper: Helper,
    code: Option<i64>,
    operands: Vec<(ir::Value, Src)>,
    /// Stack index of the result.
    depth: usize,
    /// Instruction where the generic copy resumes.
    resume: usize,
    /// Checked values before the operation (what the slow path may assume).
    before: HashSet<ir::Value>,
}

/// The translator. Each bytecode basic block is translated twice when needed:
///
/// * a **fast** copy, in which an operation whose operands passed the small-integer check (or
///   whose result did not overflow) simply continues, *knowing* those values are small
///   integers (so later checks, retains and releases of them disappear);
/// * a **generic** copy, entered from the slow paths of the fast copy at the instruction after
///   the operation that left the fast path, in which every operation merges its fast and slow
///   paths and nothing is assumed.
///
/// Both copies end by jumping to the same successor blocks, so the code grows at most twofold.
struct Tx<'a, 'f> {
    b: FunctionBuilder<'f>,
    unit: &'a CodeUnit,
    helpers: &'a [HelperDecl],
    imported: HashMap<usize, FuncRef>,
    ctx: ir::Value,
    params: Vec<Variable>,
    locals: Vec<Variable>,
    /// Operand stack variables by depth.
    stack: Vec<Variable>,
    /// Compile-time state of the live stack entries (bottom first).
    st: Vec<Src>,
    /// What is known about values by construction (constants, boxed fast results, booleans):
    /// true wherever the value is used.
    facts: HashMap<ir::Value, Fact>,
    /// Values known to be small integers because a dominating check passed (scoped: restored
    /// after merges, cleared at block starts).
    guarded: HashSet<ir::Value>,
    blocks: Vec<Option<Block>>,
    /// Cleanup chain: `cleanup[k]` releases stack entries `k-1 … 0`, then the locals, then
    /// returns its block parameter.
    cleanup: Vec<Block>,
    slot: Option<StackSlot>,
    terminated: bool,
    pool: &'a mut Vec<Value>,
    an: &'a Analysis,
    /// Translating the generic copy of the current bytecode block.
    generic: bool,
    /// Slow paths of the fast copy of the current bytecode block.
    pending: Vec<Pending>,
    /// Where the generic copy starts: instruction, stack state and checked values there.
    generic_start: Option<(usize, Vec<Src>, HashSet<ir::Value>)>,
    /// Entry blocks of the generic copy, by instruction.
    resume_blocks: HashMap<usize, Block>,
}

impl Tx<'_, '_> {
    // ----- small utilities ---------------------------------------------------------------

    fn iconst(&mut self, bits: u64) -> ir::Value {
        self.b.ins().iconst(I64, bits as i64)
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

    /// Calls a value helper: `[code,] operands…, owned mask`. The helper consumes the operands
    /// compiled code owns and borrows the others.
    fn value_call(
        &mut self,
        h: Helper,
        code: Option<i64>,
        operands: &[(ir::Value, Src)],
    ) -> ir::Value {
        let mut args: Vec<ir::Value> = code
            .map(|c| self.b.ins().iconst(I64, c))
            .into_iter()
            .collect();
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

    fn switch_sealed(&mut self, blk: Block) {
        self.b.switch_to_block(blk);
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
        self.facts.get(&v) == Some(&Fact::Int) || self.guarded.contains(&v)
    }

    fn is_imm(&self, v: ir::Value) -> bool {
        let v = self.canon(v);
        self.facts.contains_key(&v) || self.guarded.contains(&v)
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

    // ----- reference counting ------------------------------------------------------------

    /// Calls `h` (retain or release) on `v` if it is a heap value.
    fn heap_call(&mut self, v: ir::Value, h: Helper) {
        if self.is_imm(v) {
            return;
        }
        let call = self.new_block();
        let cont = self.new_block();
        let heap = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, v, HEAP_MIN as i64);
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

    /// After a helper that may unwind: if `r` is UNWIND, leave the activation.
    fn check_unwind(&mut self, r: ir::Value) {
        let fail = self.new_block();
        let cont = self.new_block();
        let is_unwind = self.b.ins().icmp_imm_u(IntCC::Equal, r, UNWIND as i64);
        self.b.ins().brif(is_unwind, fail, &[], cont, &[]);
        self.b.set_cold_block(fail);
        self.switch_sealed(fail);
        self.exit(r);
        self.terminated = false;
        self.switch_sealed(cont);
    }

    fn finish_cleanup(&mut self) {
        self.guarded.clear();
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
                self.b.switch_to_block(blk);
                if !self.an.loop_head[pc] {
                    self.b.seal_block(blk);
                }
                self.guarded.clear();
            } else if pc != 0 {
                return Err(format!("instruction {pc} is reachable but starts no block"));
            }
            self.st = vec![Src::Owned; depth];
            self.generic = false;
            self.terminated = false;
            let end = self.run(pc);
            self.flush_slow_paths();
            pc = end;
        }
        Ok(())
    }

    /// Translates from `pc` to the end of its bytecode block (a terminator, or a jump into the
    /// next block start); returns the instruction after the block.
    fn run(&mut self, mut pc: usize) -> usize {
        let n = self.unit.ins.len();
        let first = pc;
        loop {
            if pc != first || self.generic {
                if pc >= n || self.an.block_start[pc] {
                    debug_assert!(pc < n, "the last instruction (End) is a terminator");
                    self.own_all();
                    let blk = self.block_at(pc);
                    self.b.ins().jump(blk, &[]);
                    self.terminated = true;
                    return pc;
                }
                if self.generic
                    && pc != first
                    && let Some(&blk) = self.resume_blocks.get(&pc)
                {
                    self.b.ins().jump(blk, &[]);
                    self.switch_sealed(blk);
                }
            }
            pc += self.ins(pc);
            if self.terminated {
                return pc;
            }
        }
    }

    /// After the fast copy of a bytecode block: emits its slow paths, then the generic copy they
    /// continue in.
    fn flush_slow_paths(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for p in std::mem::take(&mut self.pending) {
            self.switch_sealed(p.slow);
            self.guarded = p.before;
            let r = self.value_call(p.helper, p.code, &p.operands);
            self.b.def_var(self.stack[p.depth], r);
            let resume = self.resume_blocks[&p.resume];
            self.b.ins().jump(resume, &[]);
        }
        let (pc, st, guarded) = self
            .generic_start
            .take()
            .expect("slow paths imply a generic copy");
        self.generic = true;
        self.st = st;
        self.guarded = guarded;
        self.terminated = false;
        let blk = self.resume_blocks[&pc];
        self.switch_sealed(blk);
        self.run(pc);
        self.resume_blocks.clear();
        self.generic = false;
    }

    /// In the fast copy, after pushing an operation's fast result: registers its slow path
    /// (entered from `slow`), which continues in the generic copy at `pc + 1`. `before` are the
    /// facts that held before the operation.
    fn defer(
        &mut self,
        pc: usize,
        slow: Block,
        helper: Helper,
        code: Option<i64>,
        operands: Vec<(ir::Value, Src)>,
        before: HashSet<ir::Value>,
    ) {
        let resume = pc + 1;
        let blk = self.new_block();
        self.resume_blocks.insert(resume, blk);
        if self.generic_start.is_none() {
            self.generic_start = Some((resume, self.st.clone(), before.clone()));
        }
        let depth = self.st.len() - 1;
        self.pending.push(Pending {
            slow,
            helper,
            code,
            operands,
            depth,
            resume,
            before,
        });
    }

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
                self.pool.push(v);
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
                let v = self.b.use_var(self.params[p as usize]);
                self.push(v, Src::Fixed);
            }
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
                let r = self.value_call(Helper::Concat, None, &[(x, sx), (y, sy)]);
                self.push(r, Src::Owned);
            }
            Ins::Strlen => {
                let (x, sx) = self.pop();
                let r = self.value_call(Helper::Strlen, None, &[(x, sx)]);
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
            Ins::Return => {
                let (v, s) = self.pop();
                let v = self.own_value(v, s);
                self.exit(v);
            }
            Ins::ReturnNil => {
                let nil = self.iconst(NIL_BITS);
                self.exit(nil);
            }
            Ins::End => {
                if self.st.is_empty() {
                    let nil = self.iconst(NIL_BITS);
                    self.exit(nil);
                } else {
                    let (v, s) = self.pop();
                    let v = self.own_value(v, s);
                    self.exit(v);
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
            _ => {
                let (pops, _) = effect(i);
                let r = self.delegate(pc, pops);
                self.check_unwind(r);
                self.push(r, Src::Owned);
            }
        }
        1
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

    /// Hands instruction `pc` to [`Helper::Op`] (or SEND to [`Helper::Send`]) with its `pops`
    /// operands (made owned, consumed by the helper). Returns the helper's result.
    fn delegate(&mut self, pc: usize, pops: usize) -> ir::Value {
        let base = self.st.len() - pops;
        let is_send = matches!(self.unit.ins[pc], Ins::Send { .. });
        // SEND only borrows its receiver: leave a borrowed one borrowed.
        let recv_owned = pops > 0 && self.st[base] == Src::Owned;
        for d in base..self.st.len() {
            if !(is_send && d == base) {
                self.own(d);
            }
        }
        let vals: Vec<ir::Value> = (base..self.st.len())
            .map(|d| self.b.use_var(self.stack[d]))
            .collect();
        self.st.truncate(base);
        let addr = match self.slot {
            Some(slot) => {
                for (j, v) in vals.iter().enumerate() {
                    self.b.ins().stack_store(I64, *v, slot, (j * 8) as i32);
                }
                self.b.ins().stack_addr(I64, slot, 0)
            }
            None => self.iconst(0),
        };
        let n_v = self.iconst(pops as u64);
        let ctx = self.ctx;
        if let Ins::Send { site, .. } = self.unit.ins[pc] {
            // The site's inline cache, by address (the unit owns it and outlives its code).
            let site = &self.unit.sites[site as usize] as *const _ as u64;
            let site_v = self.iconst(site);
            let owned_v = self.iconst(recv_owned as u64);
            let args = [ctx, site_v, addr, n_v, owned_v];
            return self.call(Helper::Send, &args).expect("result");
        }
        let pc_v = self.iconst(pc as u64);
        self.call(Helper::Op, &[ctx, pc_v, addr, n_v])
            .expect("result")
    }

    // ----- values ----------------------------------------------------------------------------

    /// Branches to `fail` unless every value in `vs` is a small integer; afterwards (in the
    /// fast block) they are known to be. Returns false when nothing needed checking (no branch
    /// to `fail` was emitted).
    fn guard_ints(&mut self, vs: &[ir::Value], fail: Block) -> bool {
        let unknown: Vec<ir::Value> = vs.iter().copied().filter(|v| !self.is_int(*v)).collect();
        if unknown.is_empty() {
            return false;
        }
        let tag = self.iconst(ZERO_BITS);
        let mut acc: Option<ir::Value> = None;
        for v in &unknown {
            let x = self.b.ins().bxor(*v, tag);
            acc = Some(match acc {
                Some(a) => self.b.ins().bor(a, x),
                None => x,
            });
        }
        let hi = self
            .b
            .ins()
            .ushr_imm_u(acc.expect("non-empty"), TAG_SHIFT as i64);
        let ok = self.new_block();
        self.b.ins().brif(hi, fail, &[], ok, &[]);
        self.switch_sealed(ok);
        for v in unknown {
            let v = self.canon(v);
            self.guarded.insert(v);
        }
        true
    }

    /// Branches to `slow` when `overflow` is set; continues in a new block.
    fn bail_if(&mut self, overflow: ir::Value, slow: Block) {
        let ok = self.new_block();
        self.b.ins().brif(overflow, slow, &[], ok, &[]);
        self.switch_sealed(ok);
    }

    /// Boxes a 64-bit integer that fits 48 bits, given as `x << 16` (low 16 bits zero).
    fn box_shifted(&mut self, s: ir::Value) -> ir::Value {
        let t = self.b.ins().bor_imm_u(s, TAG_INT as i64);
        self.b.ins().rotr_imm_u(t, 16)
    }

    /// Payload of a small integer.
    fn payload(&mut self, v: ir::Value) -> ir::Value {
        let s = self.b.ins().ishl_imm_u(v, 16);
        self.b.ins().sshr_imm_u(s, 16)
    }

    /// Finishes an operation of the fast copy: continues with its fast result `r` (a small
    /// integer, or a boolean when `boolean`) and defers its slow path, entered from `slow` when
    /// `slow_used`, which calls `helper`.
    #[allow(clippy::too_many_arguments)]
    fn finish_op(
        &mut self,
        pc: usize,
        r: ir::Value,
        boolean: bool,
        slow: Block,
        slow_used: bool,
        helper: Helper,
        code: Option<i64>,
        operands: Vec<(ir::Value, Src)>,
        before: HashSet<ir::Value>,
    ) {
        debug_assert!(!self.generic, "the generic copy calls helpers directly");
        self.facts
            .insert(r, if boolean { Fact::Bool } else { Fact::Int });
        self.push(r, Src::Owned);
        if slow_used {
            self.defer(pc, slow, helper, code, operands, before);
        }
    }

    fn arith(&mut self, pc: usize, op: Arith) {
        let (y, sy) = self.pop();
        let (x, sx) = self.pop();
        if self.generic {
            // The generic copy runs only after a slow path in this block: keep it small.
            let r = self.value_call(Helper::Arith, Some(arith_code(op)), &[(x, sx), (y, sy)]);
            self.push(r, Src::Owned);
            return;
        }
        let before = self.guarded.clone();
        let slow = self.new_block();
        let mut slow_used = self.guard_ints(&[x, y], slow);
        let r = match op {
            Arith::Add | Arith::Sub | Arith::Mul => {
                let a = self.b.ins().ishl_imm_u(x, 16);
                let (r, of) = match op {
                    Arith::Add => {
                        let b = self.b.ins().ishl_imm_u(y, 16);
                        self.b.ins().sadd_overflow(a, b)
                    }
                    Arith::Sub => {
                        let b = self.b.ins().ishl_imm_u(y, 16);
                        self.b.ins().ssub_overflow(a, b)
                    }
                    _ => {
                        let b = self.payload(y);
                        self.b.ins().smul_overflow(a, b)
                    }
                };
                self.bail_if(of, slow);
                slow_used = true;
                self.box_shifted(r)
            }
            Arith::Div | Arith::Mod => {
                let a = self.payload(x);
                let b = self.payload(y);
                let nz = self.new_block();
                let done = self.new_block();
                self.b.append_block_param(done, I64);
                let zero = self.iconst(ZERO_BITS);
                self.b.ins().brif(b, nz, &[], done, &[zero.into()]);
                self.switch_sealed(nz);
                let r = if op == Arith::Div {
                    let q = self.b.ins().sdiv(a, b);
                    // Only -2^47 / -1 leaves the 48-bit range.
                    let s = self.b.ins().ishl_imm_u(q, 16);
                    let back = self.b.ins().sshr_imm_u(s, 16);
                    let out = self.b.ins().icmp(IntCC::NotEqual, back, q);
                    self.bail_if(out, slow);
                    slow_used = true;
                    self.box_shifted(s)
                } else {
                    let r = self.b.ins().srem(a, b);
                    let s = self.b.ins().ishl_imm_u(r, 16);
                    self.box_shifted(s)
                };
                self.b.ins().jump(done, &[r.into()]);
                self.switch_sealed(done);
                self.b.block_params(done)[0]
            }
        };
        self.finish_op(
            pc,
            r,
            false,
            slow,
            slow_used,
            Helper::Arith,
            Some(arith_code(op)),
            vec![(x, sx), (y, sy)],
            before,
        );
    }

    fn neg(&mut self, pc: usize) {
        let (x, sx) = self.pop();
        if self.generic {
            let r = self.value_call(Helper::Neg, None, &[(x, sx)]);
            self.push(r, Src::Owned);
            return;
        }
        let before = self.guarded.clone();
        let slow = self.new_block();
        self.guard_ints(&[x], slow);
        let a = self.b.ins().ishl_imm_u(x, 16);
        let zero = self.iconst(0);
        let (r, of) = self.b.ins().ssub_overflow(zero, a);
        self.bail_if(of, slow);
        let r = self.box_shifted(r);
        self.finish_op(
            pc,
            r,
            false,
            slow,
            true,
            Helper::Neg,
            None,
            vec![(x, sx)],
            before,
        );
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
    /// jump is not itself a jump target. Returns the number of instructions consumed.
    fn compare(&mut self, pc: usize, i: Ins) -> usize {
        let (y, sy) = self.pop();
        let (x, sx) = self.pop();
        let fused = match self.unit.ins.get(pc + 1).copied() {
            Some(Ins::JumpTrue(t)) if !self.an.block_start[pc + 1] => Some((t as usize, true)),
            Some(Ins::JumpFalse(t)) if !self.an.block_start[pc + 1] => Some((t as usize, false)),
            _ => None,
        };
        if fused.is_some() {
            // Block boundary ahead: the remaining entries must be owned on both paths.
            self.own_all();
        }
        let code = match i {
            Ins::Eq => CMP_EQ,
            Ins::Ne => CMP_NE,
            Ins::Cmp(op) => cmp_code(op),
            _ => unreachable!("compare of a non-comparison"),
        };
        if self.generic && fused.is_none() {
            let r = self.value_call(Helper::Compare, Some(code), &[(x, sx), (y, sy)]);
            self.facts.insert(r, Fact::Bool);
            self.push(r, Src::Owned);
            return 1;
        }
        let before = self.guarded.clone();
        let slow = self.new_block();
        let slow_used = self.guard_ints(&[x, y], slow);
        let fast = match i {
            Ins::Eq => self.b.ins().icmp(IntCC::Equal, x, y),
            Ins::Ne => self.b.ins().icmp(IntCC::NotEqual, x, y),
            Ins::Cmp(op) => {
                let cc = match op {
                    Cmp::Lt => IntCC::SignedLessThan,
                    Cmp::Le => IntCC::SignedLessThanOrEqual,
                    Cmp::Gt => IntCC::SignedGreaterThan,
                    Cmp::Ge => IntCC::SignedGreaterThanOrEqual,
                };
                let a = self.b.ins().ishl_imm_u(x, 16);
                let b = self.b.ins().ishl_imm_u(y, 16);
                self.b.ins().icmp(cc, a, b)
            }
            _ => unreachable!("compare of a non-comparison"),
        };
        let operands = vec![(x, sx), (y, sy)];
        let Some((t, on_true)) = fused else {
            let r = self.bool_value(fast, false);
            self.finish_op(
                pc,
                r,
                true,
                slow,
                slow_used,
                Helper::Compare,
                Some(code),
                operands,
                before,
            );
            return 1;
        };
        self.cond_jump(fast, on_true, t, pc + 1);
        self.guarded = before;
        if slow_used {
            // Slow path: the helper computes the boolean (and releases owned operands).
            self.switch_sealed(slow);
            let r = self.value_call(Helper::Compare, Some(code), &operands);
            let c = self.b.ins().icmp_imm_u(IntCC::Equal, r, TRUE_BITS as i64);
            self.cond_jump(c, on_true, t, pc + 1);
        }
        2
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
            return self
                .b
                .ins()
                .icmp_imm_u(IntCC::NotEqual, v, ZERO_BITS as i64);
        }
        if self.fact(v) == Some(Fact::Bool) {
            return self.b.ins().icmp_imm_u(IntCC::Equal, v, TRUE_BITS as i64);
        }
        let merge = self.new_block();
        self.b.append_block_param(merge, types::I8);
        // true → 1
        let not_true = self.new_block();
        let is_true = self.b.ins().icmp_imm_u(IntCC::Equal, v, TRUE_BITS as i64);
        let one = self.b.ins().iconst(types::I8, 1);
        let zero = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(is_true, merge, &[one.into()], not_true, &[]);
        self.switch_sealed(not_true);
        // nil / false → 0 ; small int → bits != 0 ; anything else → helper
        let tag = self.b.ins().ushr_imm_u(v, TAG_SHIFT as i64);
        let special = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, (NIL_BITS >> TAG_SHIFT) as i64);
        let not_special = self.new_block();
        self.b
            .ins()
            .brif(special, merge, &[zero.into()], not_special, &[]);
        self.switch_sealed(not_special);
        let int = self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_INT as i64);
        let int_b = self.new_block();
        let slow = self.new_block();
        self.b.ins().brif(int, int_b, &[], slow, &[]);
        self.switch_sealed(int_b);
        let nz = self
            .b
            .ins()
            .icmp_imm_u(IntCC::NotEqual, v, ZERO_BITS as i64);
        self.b.ins().jump(merge, &[nz.into()]);
        self.switch_sealed(slow);
        let r = self.value_call(Helper::Truthy, None, &[(v, s)]);
        let c = self.b.ins().icmp_imm_u(IntCC::NotEqual, r, 0);
        self.b.ins().jump(merge, &[c.into()]);
        self.switch_sealed(merge);
        self.b.block_params(merge)[0]
    }

    /// `text(v) == ""` as an `i8` condition; consumes `v` if owned.
    fn text_empty(&mut self, v: ir::Value, s: Src) -> ir::Value {
        if self.is_imm(v) {
            return self.b.ins().icmp_imm_u(IntCC::Equal, v, NIL_BITS as i64);
        }
        let merge = self.new_block();
        self.b.append_block_param(merge, types::I8);
        let one = self.b.ins().iconst(types::I8, 1);
        let zero = self.b.ins().iconst(types::I8, 0);
        let not_nil = self.new_block();
        let is_nil = self.b.ins().icmp_imm_u(IntCC::Equal, v, NIL_BITS as i64);
        self.b
            .ins()
            .brif(is_nil, merge, &[one.into()], not_nil, &[]);
        self.switch_sealed(not_nil);
        let heap = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, v, HEAP_MIN as i64);
        let slow = self.new_block();
        self.b.ins().brif(heap, slow, &[], merge, &[zero.into()]);
        self.switch_sealed(slow);
        let r = self.value_call(Helper::TextEmpty, None, &[(v, s)]);
        let c = self.b.ins().icmp_imm_u(IntCC::NotEqual, r, 0);
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
