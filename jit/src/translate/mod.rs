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
//!
//! The translator is one builder ([`Tx`]) whose methods are spread over modules by concern:
//!
//! * `mod.rs` (here): [`build`], the entry and helper signatures, [`Tx`] and its builder core
//!   (constants, blocks, helper calls, the operand stack, the scratch buffer).
//! * [`analysis`]: the bytecode analysis pass (stack depths, block starts, loop heads) and the
//!   per-instruction facts it uses (stack effect, jump target, fall-through).
//! * [`instructions`]: the translation driver, bytecode blocks in order, one instruction at a
//!   time.
//! * [`ownership`]: retains and releases, owned and borrowed stack entries, and the exits that
//!   release what compiled code owns.
//! * [`runs`]: speculative integer runs (plan, guards, the check at the end, the slow path).
//! * [`lower`]: value lowering (constants, arithmetic, comparisons, truthiness, booleans, value
//!   operations outside runs).
//! * [`sends`]: SEND with its inline cache check and direct native call, and the instructions
//!   delegated to [`Helper::Op`].
//! * [`fastloop`]: integer-specialised versions of loops.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, SigRef,
    Signature, StackSlot, StackSlotData, StackSlotKind, UserExternalName, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::FuncId;
use rustc_hash::{FxHashMap, FxHashSet};
use tt_vm::Value;
use tt_vm::interp::{CodeUnit, Ins};
use tt_vm::value::boxing::{NIL_BITS, TAG_BIGINT, TAG_INT, TAG_SHIFT};

use crate::helpers::Helper;
use crate::resume::ResumeSite;

use analysis::{Analysis, analyse};
use runs::{Plan, Spec, plan_runs};

mod analysis;
mod fastloop;
mod instructions;
mod lower;
mod ownership;
mod runs;
mod sends;

const I64: ir::Type = types::I64;
/// Smallest bit pattern of a heap value (boxed int, string, JSON, instance, block).
const HEAP_MIN: u64 = TAG_BIGINT << TAG_SHIFT;
/// Bits of the small integer 0.
const ZERO_BITS: u64 = TAG_INT << TAG_SHIFT;

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
    let mut facts = FxHashMap::default();
    // The interrupt word's address (docs/limits.md), made once here so that loops keep it in a
    // register: their polls are a load and a branch. 0 in display IR (stable text).
    let attention_addr = if display {
        0
    } else {
        tt_vm::limits::attention_addr() as i64
    };
    let attention_addr = b.ins().iconst(I64, attention_addr);
    let nil = b.ins().iconst(I64, NIL_BITS as i64);
    facts.insert(nil, Fact::Imm);
    let mut params = Vec::with_capacity(unit.param_count);
    // Params never change: their `<< 16` (what integer code uses) is computed once, here.
    let mut entry_shifted = FxHashMap::default();
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
        imported: FxHashMap::default(),
        ctx,
        attention_addr,
        params,
        locals,
        stack,
        st: Vec::new(),
        facts,
        guarded: FxHashSet::default(),
        blocks: vec![None; unit.ins.len()],
        cleanup: Vec::new(),
        return_local: FxHashMap::default(),
        slot: None,
        slot_words: an.max_vals,
        terminated: false,
        keep,
        display,
        an: &an,
        plan: &plan,
        fast: &fast,
        spec: None,
        unboxed: FxHashSet::default(),
        exact: FxHashSet::default(),
        consts: FxHashMap::default(),
        shifted: FxHashMap::default(),
        payloads: FxHashMap::default(),
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

/// The translator.
struct Tx<'a, 'f> {
    b: FunctionBuilder<'f>,
    unit: &'a CodeUnit,
    helpers: &'a [HelperDecl],
    imported: FxHashMap<usize, FuncRef>,
    ctx: ir::Value,
    /// The address of `tt_vm::limits::ATTENTION` (made in the entry block).
    attention_addr: ir::Value,
    /// The params' values (loaded in the entry block; params never change).
    params: Vec<ir::Value>,
    locals: Vec<Variable>,
    /// Operand stack variables by depth.
    stack: Vec<Variable>,
    /// Compile-time state of the live stack entries (bottom first).
    st: Vec<Src>,
    /// What is known about values by construction (constants, boxed fast results, booleans):
    /// true wherever the value is used.
    facts: FxHashMap<ir::Value, Fact>,
    /// Values known to be small integers because a dominating check passed (or, inside a run,
    /// is assumed to pass).
    guarded: FxHashSet<ir::Value>,
    blocks: Vec<Option<Block>>,
    /// Cleanup chain: `cleanup[k]` releases stack entries `k-1 … 0`, then the locals, then
    /// returns its block parameter.
    cleanup: Vec<Block>,
    /// Exits returning local `l`'s value: release the other locals, return the parameter.
    return_local: FxHashMap<u8, Block>,
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
    unboxed: FxHashSet<ir::Value>,
    exact: FxHashSet<ir::Value>,
    /// Per-block caches: constants, `v << 16` and the integer of small integers.
    consts: FxHashMap<u64, ir::Value>,
    shifted: FxHashMap<ir::Value, ir::Value>,
    payloads: FxHashMap<ir::Value, ir::Value>,
    /// `p << 16` of the params, computed in the entry block (valid everywhere).
    entry_shifted: FxHashMap<ir::Value, ir::Value>,
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

    // ----- blocks --------------------------------------------------------------------------

    /// The Cranelift block of the bytecode block starting at `pc` (created on first use).
    fn block_at(&mut self, pc: usize) -> Block {
        if let Some(b) = self.blocks[pc] {
            return b;
        }
        let b = self.new_block();
        self.blocks[pc] = Some(b);
        b
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
