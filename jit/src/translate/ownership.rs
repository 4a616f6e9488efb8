//! Compile-time ownership: retains and releases (guarded inline so that immediates never
//! call), owned and borrowed stack entries, and the exits that release what compiled code
//! owns (the shared cleanup chain, returns, unwinding after a helper).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, Block, InstBuilder, MemFlagsData};
use tt_vm::tier::UNWIND;

use super::{HEAP_MIN, I64, Src, Tx};
use crate::helpers::Helper;

impl Tx<'_, '_> {
    // ----- reference counting ------------------------------------------------------------

    /// Calls `h` (retain or release) on `v` if it is a heap value. Inside a run the call is
    /// deferred until the run's check passed.
    pub(super) fn heap_call(&mut self, v: ir::Value, h: Helper) {
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

    pub(super) fn retain(&mut self, v: ir::Value) {
        self.heap_call(v, Helper::Retain);
    }

    pub(super) fn release(&mut self, v: ir::Value) {
        self.heap_call(v, Helper::Release);
    }

    /// Releases a popped entry if compiled code owns it.
    pub(super) fn release_if_owned(&mut self, v: ir::Value, src: Src) {
        if src == Src::Owned {
            self.release(v);
        }
    }

    /// Makes stack entry `d` owned.
    pub(super) fn own(&mut self, d: usize) {
        if self.st[d] != Src::Owned {
            let v = self.b.use_var(self.stack[d]);
            self.retain(v);
            self.st[d] = Src::Owned;
        }
    }

    pub(super) fn own_all(&mut self) {
        for d in 0..self.st.len() {
            self.own(d);
        }
    }

    /// Ownership of a popped value.
    pub(super) fn own_value(&mut self, v: ir::Value, src: Src) -> ir::Value {
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
    pub(super) fn exit(&mut self, ret: ir::Value) {
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
    pub(super) fn return_top(&mut self) {
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
    pub(super) fn check_unwind(&mut self, r: ir::Value) {
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

    // ----- the interrupt poll (docs/limits.md) ---------------------------------------------

    /// Loads the interrupt word `tt_vm::limits::ATTENTION` from its fixed address (made once
    /// in the entry block). Not read-only: it changes under the loop, so the load stays inside
    /// it.
    pub(super) fn attention(&mut self) -> ir::Value {
        let addr = self.attention_addr;
        self.b
            .ins()
            .load(ir::types::I32, MemFlagsData::trusted(), addr, 0)
    }

    /// The poll at a loop head of generic code: when the interrupt word is raised, the
    /// [`Helper::Poll`] helper (out of line, in a cold block) answers whether to leave the
    /// activation with the thread's limit error. The hot path is a load and a not-taken branch
    /// that no loop value depends on.
    pub(super) fn poll(&mut self) {
        let w = self.attention();
        let slow = self.new_block();
        let cont = self.new_block();
        self.b.ins().brif(w, slow, &[], cont, &[]);
        self.b.set_cold_block(slow);
        self.switch_sealed(slow);
        let ctx = self.ctx;
        let r = self.call(Helper::Poll, &[ctx]).expect("poll returns");
        self.check_unwind(r);
        self.b.ins().jump(cont, &[]);
        self.switch_sealed(cont);
    }

    pub(super) fn finish_cleanup(&mut self) {
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
}
