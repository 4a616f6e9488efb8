//! The translation driver: walks the reachable bytecode blocks in order and translates one
//! instruction at a time, starting and ending speculative runs where they are planned.

use cranelift_codegen::ir::InstBuilder;
use tt_vm::Value;
use tt_vm::interp::Ins;
use tt_vm::value::boxing::{FALSE_BITS, NIL_BITS, TRUE_BITS};

use super::{Src, Tx, ZERO_BITS};
use crate::helpers::Helper;

impl Tx<'_, '_> {
    pub(super) fn translate(&mut self) -> Result<(), String> {
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
            if self.an.loop_head[pc] {
                // Every back-edge reaches a loop head: the interrupt poll (docs/limits.md).
                self.poll();
            }
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
            Ins::StoreCapture(_) | Ins::StoreIvar(_) | Ins::CellSet => {
                let (pops, _) = i.effect();
                let r = self.delegate(pc, pops);
                self.check_unwind(r);
            }
            Ins::Send { site, argc } => {
                let r = self.send(site as usize, argc as usize);
                self.check_unwind(r);
                self.push(r, Src::Owned);
            }
            _ => {
                let (pops, _) = i.effect();
                let r = self.delegate(pc, pops);
                self.check_unwind(r);
                self.push(r, Src::Owned);
            }
        }
        1
    }
}
