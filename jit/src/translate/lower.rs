//! Value lowering: constants, small-integer arithmetic and comparisons (in a run's `i64` or
//! exact `x << 16` forms), booleans, truthiness and text emptiness with their inline fast
//! cases, and value operations outside runs through their helpers.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, InstructionData, Opcode, ValueDef, types};
use tt_vm::interp::Ins;
use tt_vm::value::boxing::{FALSE_BITS, NIL_BITS, TAG_INT, TAG_SHIFT, TRUE_BITS};
use tt_vm::value::ops::{Arith, Cmp};

use super::analysis::fused_jump;
use super::{Fact, HEAP_MIN, Src, Tx, ZERO_BITS};
use crate::helpers::{CMP_EQ, CMP_NE, Helper, arith_code, cmp_code};

/// The integer condition of a comparison instruction (EQ, NE, LT, LE, GT, GE) on small
/// integers (or their `x << 16` forms, which compare alike).
pub(super) fn int_cc(i: Ins) -> IntCC {
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

impl Tx<'_, '_> {
    pub(super) fn push_const(&mut self, bits: u64) {
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

    /// A value operation outside runs ([`Plan::generic`](super::runs::Plan::generic)): its
    /// helper, called directly. Returns the number of instructions consumed (a comparison
    /// takes a following JUMP_TRUE / JUMP_FALSE with it, as in [`Tx::compare`]).
    pub(super) fn generic_op(&mut self, pc: usize, i: Ins) -> usize {
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

    pub(super) fn arith(&mut self, pc: usize, op: Arith) {
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

    pub(super) fn neg(&mut self, pc: usize) {
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
    pub(super) fn bool_value(&mut self, c: ir::Value, negate: bool) -> ir::Value {
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
    pub(super) fn compare(&mut self, pc: usize, i: Ins) -> usize {
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
    pub(super) fn cond_jump(&mut self, c: ir::Value, when: bool, t: usize, pc: usize) {
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
    pub(super) fn truthy(&mut self, v: ir::Value, s: Src) -> ir::Value {
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
    pub(super) fn text_empty(&mut self, v: ir::Value, s: Src) -> ir::Value {
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
