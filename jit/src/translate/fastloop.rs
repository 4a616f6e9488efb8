//! Integer-specialised loops: a second version of a loop whose locals live unboxed.
//!
//! The generic translation keeps every local boxed in its SSA variable, so each iteration of
//! `[i < n] whileTrue: [sum := sum + i. i := i + 1]` re-checks tags, unboxes, adds and re-boxes
//! (the re-boxing sits on the loop-carried chain). For a loop made only of integer-friendly
//! instructions this module emits a *fast version* beside the generic one (loop versioning, as
//! in HotSpot's and LuaJIT's loop optimisations):
//!
//! * **Plan** ([`plan`]). A loop head `H` with its last back edge at `J` qualifies when the
//!   range `H..=J` is entered only at `H`, every bytecode block in it starts with an empty
//!   stack, and every instruction in it is one of: NOP, POP, DUP, LOAD_LOCAL, STORE_LOCAL,
//!   LOAD_PARAM, ZERO, ONE, NIL, a small-integer CONST, ADD, SUB, MUL, the comparisons (EQ,
//!   NE, LT, LE, GT, GE) feeding a conditional jump, JUMP_TRUE / JUMP_FALSE on such a
//!   comparison, JUMP. An abstract stack of *integer* / *condition* / *nil* entries checks
//!   that comparisons only feed jumps and that only integers and nil are stored.
//! * **Temporaries** ([`read_before_write`]). A local that every path from `H` writes with
//!   an integer before reading it (a block's temporaries, which the compiler nils at the start
//!   of each iteration) may be nil on entry and may be stored nil: in the fast version nil is
//!   [`NIL_SENTINEL`], which no arithmetic ever sees. A local stored nil but read before such
//!   a write keeps the loop generic.
//! * **Entry guard.** The generic head block starts with one test: every local the range
//!   touches and every param it reads is a small integer (or nil, for a temporary). If so,
//!   control enters the fast version with each of those locals as `x << 16` in its own SSA
//!   variable (a nil temporary as the sentinel); otherwise the
//!   generic loop runs (and re-tests at each of its iterations, so a loop entered with a
//!   non-integer that becomes one later still moves to the fast version).
//! * **Fast version.** Integers stay in the `x << 16` form: ADD and SUB are one overflow-checked
//!   add (`sadd_overflow` detects leaving the 48-bit small-integer range exactly), MUL an
//!   arithmetic shift and an overflow-checked multiply, comparisons one `icmp`. Params come from
//!   the entry block's `p << 16`. Nothing is reference counted (small integers own nothing).
//! * **Bail-out.** Everything a fast block does before its last instruction is pure (local
//!   stores only), so when an operation overflows, the block's *entry* values are re-boxed into
//!   the generic locals and control continues at the start of the same bytecode block in the
//!   generic version, which redoes it with the interpreter's semantics (boxing the 64-bit
//!   result, say). The generic loop then re-tests the guard at its head.
//! * **Bounded increments.** A block whose only entry is the true edge of `i < x` (or `x > i`)
//!   with `i` a local knows `i < x <= largest small integer`, so until it stores `i`, `i + 1`
//!   is a plain add without an overflow check (a counting loop's increment).
//! * **Exits.** A jump out of the range re-boxes the current fast locals into the generic ones
//!   and continues in the generic code at the target.
//!
//! A local that is read before it is written and is not a small integer when the loop starts
//! fails the guard, so such a loop runs generically; loops with sends, floats, strings,
//! divisions, captures, or a condition that is not a comparison are not versioned.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, Block, InstBuilder};
use cranelift_frontend::Variable;
use rustc_hash::FxHashMap;
use tt_vm::interp::{CodeUnit, Ins};
use tt_vm::value::boxing::{NIL_BITS, TAG_INT, TAG_SHIFT};
use tt_vm::value::ops::{Arith, Cmp};

use super::analysis::Analysis;
use super::lower::int_cc;
use super::{I64, Tx};

/// A loop that gets a fast version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FastLoop {
    /// The loop head (a loop-head block start).
    head: usize,
    /// The last instruction of the loop (its last back edge to `head`).
    end: usize,
    /// The locals the loop touches, ascending.
    locals: Vec<u8>,
    /// The params the loop reads, ascending.
    params: Vec<u8>,
    /// Blocks entered only on the edge where `local < something` held (block start, local):
    /// until the block stores to that local, adding 1 to it cannot overflow.
    bounded: Vec<(usize, u8)>,
    /// The locals (a subset of `locals`, ascending) that every path of an iteration writes
    /// with an integer before reading them (see [`read_before_write`]): they may be nil on
    /// entry and may be stored nil (a block's temporaries, re-nilled each iteration).
    nullable: Vec<u8>,
}

/// An entry of the planning pass's abstract stack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A small integer (`x << 16` in the fast version).
    Int,
    /// A comparison result (an `i8` condition in the fast version).
    Cond,
    /// Nil (only stored to a local; [`NIL_SENTINEL`] in the fast version).
    Nil,
}

/// A nil local's fast form: never an `x << 16` (its low 16 bits are not zero).
const NIL_SENTINEL: i64 = 1;

/// The fast loops of `unit`, by loop head.
pub(super) fn plan(unit: &CodeUnit, an: &Analysis) -> Vec<Option<FastLoop>> {
    (0..unit.ins.len())
        .map(|head| {
            (an.loop_head[head] && an.depth[head] == Some(0))
                .then(|| plan_one(unit, an, head))
                .flatten()
        })
        .collect()
}

fn plan_one(unit: &CodeUnit, an: &Analysis, head: usize) -> Option<FastLoop> {
    let ins = &unit.ins;
    let reachable = |pc: usize| an.depth[pc].is_some();
    let end = (head..ins.len())
        .filter(|&pc| reachable(pc) && ins[pc].jump_target() == Some(head))
        .max()?;
    let inside = |t: usize| (head..=end).contains(&t);
    // Entered only at the head.
    for pc in (0..ins.len()).filter(|&pc| reachable(pc) && !inside(pc)) {
        if ins[pc]
            .jump_target()
            .is_some_and(|t| t != head && inside(t))
        {
            return None;
        }
    }
    let mut locals = Vec::new();
    let mut params = Vec::new();
    let mut stored_nil = Vec::new();
    // What each STORE_LOCAL in the range stores (true: nil).
    let mut stores_nil: FxHashMap<usize, bool> = FxHashMap::default();
    let mut stack: Vec<Kind> = Vec::new();
    for pc in (head..=end).filter(|&pc| reachable(pc)) {
        if an.block_start[pc] {
            if an.depth[pc] != Some(0) {
                return None;
            }
            stack.clear();
        }
        let pop = |stack: &mut Vec<Kind>, want: Kind| (stack.pop() == Some(want)).then_some(());
        match ins[pc] {
            Ins::Nop => {}
            Ins::Pop => {
                stack.pop()?;
            }
            Ins::Dup => stack.push(*stack.last()?),
            Ins::LoadLocal(l) => {
                locals.push(l);
                stack.push(Kind::Int);
            }
            Ins::StoreLocal(l) => {
                locals.push(l);
                let nil = match stack.pop()? {
                    Kind::Int => false,
                    Kind::Nil => true,
                    Kind::Cond => return None,
                };
                if nil {
                    stored_nil.push(l);
                }
                stores_nil.insert(pc, nil);
            }
            Ins::Nil => stack.push(Kind::Nil),
            Ins::LoadParam(p) => {
                params.push(p);
                stack.push(Kind::Int);
            }
            Ins::Zero | Ins::One => stack.push(Kind::Int),
            Ins::Const(k) => {
                small_const(unit, k)?;
                stack.push(Kind::Int);
            }
            Ins::Arith(Arith::Add | Arith::Sub | Arith::Mul) => {
                pop(&mut stack, Kind::Int)?;
                pop(&mut stack, Kind::Int)?;
                stack.push(Kind::Int);
            }
            Ins::Eq | Ins::Ne | Ins::Cmp(_) => {
                pop(&mut stack, Kind::Int)?;
                pop(&mut stack, Kind::Int)?;
                stack.push(Kind::Cond);
            }
            Ins::JumpTrue(_) | Ins::JumpFalse(_) => pop(&mut stack, Kind::Cond)?,
            Ins::Jump(_) => {}
            _ => return None,
        }
        // Exits leave with an empty stack (the generic code's block entry state).
        let exits = ins[pc]
            .jump_target()
            .into_iter()
            .chain((ins[pc].falls_through() && pc == end).then_some(pc + 1));
        for t in exits {
            if !inside(t) && an.depth.get(t).copied().flatten() != Some(0) {
                return None;
            }
        }
    }
    locals.sort_unstable();
    locals.dedup();
    params.sort_unstable();
    params.dedup();
    if locals.is_empty() || locals.len() > 64 {
        return None;
    }
    // Locals stored nil must be written before they are read; every other local that is
    // may be nil on entry too (a temporary declared outside the loop).
    let read_first = read_before_write(unit, an, head, end, &locals, &stores_nil);
    if stored_nil.iter().any(|l| read_first.contains(l)) {
        return None;
    }
    let nullable: Vec<u8> = locals
        .iter()
        .copied()
        .filter(|l| !read_first.contains(l))
        .collect();
    let bounded = (head + 1..=end)
        .filter(|&pc| an.block_start[pc] && reachable(pc))
        .filter_map(|pc| below_on_entry(unit, an, pc).map(|l| (pc, l)))
        .collect();
    Some(FastLoop {
        head,
        end,
        locals,
        params,
        bounded,
        nullable,
    })
}

/// The `locals` (at most 64, ascending) that some path from the loop head reads before an
/// integer store to them (within one iteration: back edges to the head and exits are not
/// followed). The others hold an integer wherever they are read, whatever they held when the
/// iteration began, so they may be nil on entry and may be stored nil: the fast version
/// never computes with such a nil. A forward must-analysis over the range's instructions: the
/// set of locals surely holding an integer.
fn read_before_write(
    unit: &CodeUnit,
    an: &Analysis,
    head: usize,
    end: usize,
    locals: &[u8],
    stores_nil: &FxHashMap<usize, bool>,
) -> Vec<u8> {
    let bit = |l: u8| locals.binary_search(&l).ok().map(|i| 1u64 << i);
    let mut read_first = 0u64;
    let ins = &unit.ins;
    let mut state: Vec<Option<u64>> = vec![None; end + 1 - head];
    state[0] = Some(0);
    let mut work = vec![head];
    while let Some(pc) = work.pop() {
        let mut s = state[pc - head].expect("queued with a state");
        match ins[pc] {
            Ins::LoadLocal(l) => {
                if let Some(b) = bit(l)
                    && s & b == 0
                {
                    read_first |= b;
                }
            }
            Ins::StoreLocal(l) => {
                if let Some(b) = bit(l) {
                    if stores_nil[&pc] {
                        s &= !b;
                    } else {
                        s |= b;
                    }
                }
            }
            _ => {}
        }
        let next = ins[pc]
            .jump_target()
            .into_iter()
            .chain(ins[pc].falls_through().then_some(pc + 1));
        for t in next {
            if t == head || !(head..=end).contains(&t) || an.depth[t].is_none() {
                continue;
            }
            let merged = state[t - head].map_or(s, |o| o & s);
            if state[t - head] != Some(merged) {
                state[t - head] = Some(merged);
                work.push(t);
            }
        }
    }
    locals
        .iter()
        .enumerate()
        .filter(|&(i, _)| read_first & (1 << i) != 0)
        .map(|(_, &l)| l)
        .collect()
}

/// The local known to be below some small integer whenever the block at `start` begins: the
/// block's only predecessor edge is the "less than" outcome of `LOAD_LOCAL l; <load>; LT` (or
/// `<load>; LOAD_LOCAL l; GT`) ending the previous block.
fn below_on_entry(unit: &CodeUnit, an: &Analysis, start: usize) -> Option<u8> {
    let ins = &unit.ins;
    let mut edges = Vec::new();
    for pc in (0..ins.len()).filter(|&pc| an.depth[pc].is_some()) {
        if ins[pc].jump_target() == Some(start) {
            edges.push((pc, true));
        }
        if pc + 1 == start && ins[pc].falls_through() {
            edges.push((pc, false));
        }
    }
    let [(j, taken)] = edges[..] else {
        return None;
    };
    let holds = match ins[j] {
        Ins::JumpTrue(_) => taken,
        Ins::JumpFalse(_) => !taken,
        _ => false,
    };
    if !holds || j < 3 {
        return None;
    }
    let load = |i: Ins| {
        matches!(
            i,
            Ins::LoadLocal(_) | Ins::LoadParam(_) | Ins::Const(_) | Ins::Zero | Ins::One
        )
    };
    match (ins[j - 3], ins[j - 2], ins[j - 1]) {
        (Ins::LoadLocal(l), y, Ins::Cmp(Cmp::Lt)) if load(y) => Some(l),
        (y, Ins::LoadLocal(l), Ins::Cmp(Cmp::Gt)) if load(y) => Some(l),
        _ => None,
    }
}

/// Constant `k` as `x << 16` when it is a small integer.
fn small_const(unit: &CodeUnit, k: u16) -> Option<i64> {
    let bits = unit.consts.get(k as usize)?.bits();
    (bits >> TAG_SHIFT == TAG_INT).then_some((bits << 16) as i64)
}

/// Per-emission state of one fast version.
struct Fast<'l> {
    fl: &'l FastLoop,
    /// The fast (`x << 16`) variable of each local in `fl.locals`.
    vars: Vec<Variable>,
    /// Fast block of each bytecode block start in the range.
    blocks: FxHashMap<usize, Block>,
    /// Exit blocks by target instruction.
    exits: FxHashMap<usize, Block>,
    /// Where the generic version of the head's block continues after the guard.
    generic_head: Block,
    /// Blocks to seal once every fast block is emitted.
    unsealed: Vec<Block>,
}

impl Tx<'_, '_> {
    /// Emits the guard and the fast version of `fl` in the current block (the generic head
    /// block, just switched to), then continues in the generic head's own code.
    pub(super) fn fast_loop(&mut self, fl: &FastLoop) {
        let int_bits = self.iconst(TAG_INT << TAG_SHIFT);
        let mut tags = None;
        // Each local's value, and for a nullable one whether it is nil.
        let mut entry = Vec::with_capacity(fl.locals.len());
        for &l in &fl.locals {
            let v = self.b.use_var(self.locals[l as usize]);
            let mut checked = v;
            let mut is_nil = None;
            if fl.nullable.binary_search(&l).is_ok() {
                // Nil passes the guard as if it were an integer.
                let nil = self.iconst(NIL_BITS);
                let n = self.b.ins().icmp(IntCC::Equal, v, nil);
                checked = self.b.ins().select(n, int_bits, v);
                is_nil = Some(n);
            }
            entry.push((v, is_nil));
            tags = Some(self.or_tag(tags, checked, int_bits));
        }
        for &p in &fl.params {
            let v = self.params[p as usize];
            tags = Some(self.or_tag(tags, v, int_bits));
        }
        let tags = tags.expect("a fast loop touches a local");
        let not_int = self.ushr_c(tags, TAG_SHIFT as i64);
        let fast_entry = self.new_block();
        let generic_head = self.new_block();
        self.b
            .ins()
            .brif(not_int, generic_head, &[], fast_entry, &[]);

        self.switch_sealed(fast_entry);
        let mut f = Fast {
            fl,
            vars: Vec::with_capacity(fl.locals.len()),
            blocks: FxHashMap::default(),
            exits: FxHashMap::default(),
            generic_head,
            unsealed: Vec::new(),
        };
        for (v, is_nil) in entry {
            let var = self.b.declare_var(I64);
            let mut s = self.ishl_c(v, 16);
            if let Some(is_nil) = is_nil {
                let sentinel = self.iconst(NIL_SENTINEL as u64);
                s = self.b.ins().select(is_nil, sentinel, s);
            }
            self.b.def_var(var, s);
            f.vars.push(var);
        }
        for pc in fl.head..=fl.end {
            if self.an.block_start[pc] && self.an.depth[pc].is_some() {
                let blk = self.new_block();
                f.blocks.insert(pc, blk);
                f.unsealed.push(blk);
            }
        }
        let head = f.blocks[&fl.head];
        self.b.ins().jump(head, &[]);
        let starts: Vec<usize> = {
            let mut s: Vec<usize> = f.blocks.keys().copied().collect();
            s.sort_unstable();
            s
        };
        for pc in starts {
            self.fast_block(&mut f, pc);
        }
        self.fill_exits(&f);
        for blk in f.unsealed {
            self.b.seal_block(blk);
        }
        // The generic head keeps its predecessors open (bail-outs of the head's block join
        // it); `seal_all_blocks` seals it at the end.
        self.switch(generic_head);
    }

    fn or_tag(&mut self, acc: Option<ir::Value>, v: ir::Value, int_bits: ir::Value) -> ir::Value {
        let x = self.b.ins().bxor(v, int_bits);
        match acc {
            Some(a) => self.b.ins().bor(a, x),
            None => x,
        }
    }

    /// Boxes an `x << 16` small integer.
    fn box_shifted(&mut self, s: ir::Value) -> ir::Value {
        let t = self.bor_c(s, TAG_INT as i64);
        self.rotr_c(t, 16)
    }

    /// Where the generic code for the bytecode block at `pc` starts.
    fn generic_at(&mut self, f: &Fast<'_>, pc: usize) -> Block {
        if pc == f.fl.head {
            f.generic_head
        } else {
            self.block_at(pc)
        }
    }

    /// Re-boxes `vals` (one per fast local) into the generic locals and jumps to `target`.
    fn leave_fast(&mut self, f: &Fast<'_>, vals: &[ir::Value], target: Block) {
        for (i, &l) in f.fl.locals.iter().enumerate() {
            let mut v = self.box_shifted(vals[i]);
            if f.fl.nullable.binary_search(&l).is_ok() {
                let sentinel = self.iconst(NIL_SENTINEL as u64);
                let is_nil = self.b.ins().icmp(IntCC::Equal, vals[i], sentinel);
                let nil = self.iconst(NIL_BITS);
                v = self.b.ins().select(is_nil, nil, v);
            }
            self.b.def_var(self.locals[l as usize], v);
        }
        self.b.ins().jump(target, &[]);
    }

    /// The fast block for a jump to `t` (an exit block when `t` is outside the loop).
    fn fast_target(&mut self, f: &mut Fast<'_>, t: usize) -> Block {
        if let Some(b) = f.blocks.get(&t) {
            return *b;
        }
        if let Some(b) = f.exits.get(&t) {
            return *b;
        }
        let exit = self.new_block();
        f.exits.insert(t, exit);
        f.unsealed.push(exit);
        exit
    }

    /// Fills the exit blocks (once every fast block jumping to them is emitted): each re-boxes
    /// the fast locals as they are there.
    fn fill_exits(&mut self, f: &Fast<'_>) {
        let mut todo: Vec<(usize, Block)> = f.exits.iter().map(|(t, b)| (*t, *b)).collect();
        todo.sort_unstable_by_key(|(t, _)| *t);
        for (t, exit) in todo {
            self.switch(exit);
            let vals: Vec<ir::Value> = f.vars.iter().map(|v| self.b.use_var(*v)).collect();
            let target = self.block_at(t);
            self.leave_fast(f, &vals, target);
        }
    }

    /// Emits the fast version of the bytecode block starting at `start`.
    fn fast_block(&mut self, f: &mut Fast<'_>, start: usize) {
        let blk = f.blocks[&start];
        self.switch(blk);
        let entry: Vec<ir::Value> = f.vars.iter().map(|v| self.b.use_var(*v)).collect();
        if self.an.loop_head[start] {
            // The interrupt poll (docs/limits.md): when the word is raised, leave to the generic
            // code of this block, whose own poll at the loop head answers the error.
            let w = self.attention();
            let go = self.new_block();
            let stop = self.new_block();
            self.b.ins().brif(w, stop, &[], go, &[]);
            self.b.set_cold_block(stop);
            self.switch_sealed(stop);
            let target = self.generic_at(f, start);
            self.leave_fast(f, &entry, target);
            self.switch_sealed(go);
        }
        let mut bail: Option<Block> = None;
        let mut stack: Vec<ir::Value> = Vec::new();
        let slot = |f: &Fast<'_>, l: u8| {
            f.fl.locals
                .binary_search(&l)
                .expect("planned loops only touch planned locals")
        };
        // The value of a local below some small integer (see `below_on_entry`), while the
        // block has not stored to it: `+ 1` on it needs no overflow check.
        let mut below: Option<(u8, ir::Value)> =
            f.fl.bounded
                .iter()
                .find(|(pc, _)| *pc == start)
                .map(|&(_, l)| (l, entry[slot(f, l)]));
        let mut pc = start;
        loop {
            if pc != start && self.an.block_start[pc] {
                // Falls into the next block.
                let t = self.fast_target(f, pc);
                self.b.ins().jump(t, &[]);
                break;
            }
            let i = self.unit.ins[pc];
            match i {
                Ins::Nop => {}
                Ins::Pop => {
                    stack.pop();
                }
                Ins::Dup => {
                    let v = *stack.last().expect("planned");
                    stack.push(v);
                }
                Ins::LoadLocal(l) => {
                    let v = self.b.use_var(f.vars[slot(f, l)]);
                    stack.push(v);
                }
                Ins::StoreLocal(l) => {
                    let v = stack.pop().expect("planned");
                    self.b.def_var(f.vars[slot(f, l)], v);
                    if below.is_some_and(|(b, _)| b == l) {
                        below = None;
                    }
                }
                Ins::LoadParam(p) => {
                    let v = self.params[p as usize];
                    stack.push(self.entry_shifted[&v]);
                }
                Ins::Zero => stack.push(self.iconst(0)),
                Ins::One => stack.push(self.iconst(1 << 16)),
                Ins::Nil => stack.push(self.iconst(NIL_SENTINEL as u64)),
                Ins::Const(k) => {
                    let s = small_const(self.unit, k).expect("planned");
                    stack.push(self.iconst(s as u64));
                }
                Ins::Arith(op) => {
                    let y = stack.pop().expect("planned");
                    let x = stack.pop().expect("planned");
                    if op == Arith::Add
                        && let Some((_, v)) = below
                    {
                        let one = self.iconst(1 << 16);
                        if (x == v && y == one) || (x == one && y == v) {
                            // v < some small integer ≤ the largest: v + 1 still fits.
                            stack.push(self.b.ins().iadd(x, y));
                            pc += 1;
                            continue;
                        }
                    }
                    let (r, overflow) = match op {
                        Arith::Add => self.b.ins().sadd_overflow(x, y),
                        Arith::Sub => self.b.ins().ssub_overflow(x, y),
                        Arith::Mul => {
                            let a = self.sshr_c(x, 16);
                            self.b.ins().smul_overflow(a, y)
                        }
                        Arith::Div | Arith::Mod => unreachable!("not planned"),
                    };
                    let to = *bail.get_or_insert_with(|| self.b.create_block());
                    let cont = self.b.create_block();
                    self.b.ins().brif(overflow, to, &[], cont, &[]);
                    // `cont` is dominated by the current block: the caches stay valid.
                    self.b.switch_to_block(cont);
                    self.b.seal_block(cont);
                    stack.push(r);
                }
                Ins::Eq | Ins::Ne | Ins::Cmp(_) => {
                    let y = stack.pop().expect("planned");
                    let x = stack.pop().expect("planned");
                    stack.push(self.b.ins().icmp(int_cc(i), x, y));
                }
                Ins::JumpTrue(t) | Ins::JumpFalse(t) => {
                    let c = stack.pop().expect("planned");
                    let taken = self.fast_target(f, t as usize);
                    let fall = self.fast_target(f, pc + 1);
                    if matches!(i, Ins::JumpTrue(_)) {
                        self.b.ins().brif(c, taken, &[], fall, &[]);
                    } else {
                        self.b.ins().brif(c, fall, &[], taken, &[]);
                    }
                    break;
                }
                Ins::Jump(t) => {
                    let t = self.fast_target(f, t as usize);
                    self.b.ins().jump(t, &[]);
                    break;
                }
                _ => unreachable!("not planned: {i:?}"),
            }
            pc += 1;
        }
        if let Some(to) = bail {
            self.b.set_cold_block(to);
            self.switch_sealed(to);
            let target = self.generic_at(f, start);
            self.leave_fast(f, &entry, target);
        }
    }
}
