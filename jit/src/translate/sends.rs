//! Sends and delegated instructions: SEND with an inline monomorphic cache check and a direct
//! call of a cached native method, and the instructions compiled code hands to
//! [`Helper::Op`].

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, InstBuilder, MemFlagsData, SigRef, Signature, StackSlot,
};
use tt_vm::tier::layout;
use tt_vm::value::boxing::{TAG_INSTANCE, TAG_SHIFT};

use super::{I64, Src, Tx};
use crate::helpers::Helper;

impl Tx<'_, '_> {
    /// Hands instruction `pc` to [`Helper::Op`] with its `pops` operands (made owned, consumed
    /// by the helper). Returns the helper's result.
    pub(super) fn delegate(&mut self, pc: usize, pops: usize) -> ir::Value {
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
    pub(super) fn send(&mut self, site: usize, argc: usize) -> ir::Value {
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

    /// The signature of [`tt_vm::method::NativeEntry`]: five 64-bit arguments, one result.
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
}
