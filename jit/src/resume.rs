//! Slow paths of speculative runs: [`tt_jit_resume`] re-executes a run of simple instructions
//! with the interpreter's semantics.
//!
//! Compiled code translates a *run* (a straight sequence of stack, local, param, constant,
//! arithmetic and comparison instructions inside one bytecode block) assuming every operand is
//! a small integer and every result it leaves behind fits one: the tag checks and range checks
//! are OR-ed together and tested once at the end of the run (a few results branch here on
//! overflow right away, see `translate`). Everything a run does before that test is pure
//! (reference-count changes are emitted after it), so when the test fails compiled code simply
//! discards the run's results, spills the state the run started from into a buffer and calls
//! [`tt_jit_resume`], which runs the same instructions on real [`Value`]s (the value operations
//! the interpreter calls) and writes back the state at the end of the run.
//!
//! Buffer layout (64-bit words, described by the [`ResumeSite`]): the params the run reads
//! (borrowed), then the locals it touches (owned by compiled code: the helper consumes them and
//! writes back owned values), then the stack entries from `base` up (entry `j` owned when
//! `in_owned[j]`, otherwise borrowed), with room for the run's deepest stack. On return the same
//! local slots hold the new locals and the stack slots the entries at the end of the run, owned
//! where `out_owned[j]` and otherwise borrowed (the bits of a value compiled code borrows from a
//! local, a param or a constant, exactly as on the fast path).

use std::mem::ManuallyDrop;

use tt_vm::Value;
use tt_vm::interp::Ins;
use tt_vm::value::ops::{self, Arith, Cmp};

/// One instruction of a run, with locals and params renumbered to buffer slots.
#[derive(Clone, Debug)]
pub(crate) enum ROp {
    /// POP, DUP, SWAP, ROT.
    Pop,
    Dup,
    Swap,
    Rot,
    /// Push a clone of the value (constants, nil, booleans, small integers).
    Push(Value),
    /// Push a clone of the local in slot `n`.
    Load(usize),
    /// Pop into the local in slot `n` (dropping its old value).
    Store(usize),
    /// Push a clone of the (borrowed) param in slot `n`.
    Param(usize),
    /// The value operations.
    Arith(Arith),
    Neg,
    Eq,
    Ne,
    Cmp(Cmp),
}

impl ROp {
    /// True for the instructions a run may contain ([`ROp::from_ins`] translates them).
    pub(crate) fn supports(i: Ins) -> bool {
        matches!(
            i,
            Ins::Nop
                | Ins::Pop
                | Ins::Dup
                | Ins::Swap
                | Ins::Rot
                | Ins::Const(_)
                | Ins::Nil
                | Ins::True
                | Ins::False
                | Ins::Zero
                | Ins::One
                | Ins::LoadLocal(_)
                | Ins::StoreLocal(_)
                | Ins::LoadParam(_)
                | Ins::Arith(_)
                | Ins::Neg
                | Ins::Eq
                | Ins::Ne
                | Ins::Cmp(_)
        )
    }

    /// The run instruction for `i` (`None` for NOP), given the unit's constants and the buffer
    /// slots of locals and params.
    pub(crate) fn from_ins(
        i: Ins,
        consts: &[Value],
        local_slot: impl Fn(u8) -> usize,
        param_slot: impl Fn(u8) -> usize,
    ) -> Option<ROp> {
        Some(match i {
            Ins::Nop => return None,
            Ins::Pop => ROp::Pop,
            Ins::Dup => ROp::Dup,
            Ins::Swap => ROp::Swap,
            Ins::Rot => ROp::Rot,
            Ins::Const(k) => ROp::Push(consts[k as usize].clone()),
            Ins::Nil => ROp::Push(Value::NIL),
            Ins::True => ROp::Push(Value::TRUE),
            Ins::False => ROp::Push(Value::FALSE),
            Ins::Zero => ROp::Push(Value::int(0)),
            Ins::One => ROp::Push(Value::int(1)),
            Ins::LoadLocal(l) => ROp::Load(local_slot(l)),
            Ins::StoreLocal(l) => ROp::Store(local_slot(l)),
            Ins::LoadParam(p) => ROp::Param(param_slot(p)),
            Ins::Arith(op) => ROp::Arith(op),
            Ins::Neg => ROp::Neg,
            Ins::Eq => ROp::Eq,
            Ins::Ne => ROp::Ne,
            Ins::Cmp(op) => ROp::Cmp(op),
            other => unreachable!("{other:?} is not part of a run"),
        })
    }
}

/// Everything [`tt_jit_resume`] needs to re-execute one run; owned by the unit's compiled code
/// (its address is embedded in the code).
#[derive(Debug)]
pub(crate) struct ResumeSite {
    /// The run's instructions.
    pub(crate) ops: Box<[ROp]>,
    /// Number of param slots (buffer words `0..params`).
    pub(crate) params: usize,
    /// Number of local slots (buffer words `params..params + locals`).
    pub(crate) locals: usize,
    /// Ownership of the stack entries passed in (buffer words from `params + locals`).
    pub(crate) in_owned: Box<[bool]>,
    /// Ownership compiled code expects of the stack entries written back.
    pub(crate) out_owned: Box<[bool]>,
    /// Stack words the run needs (its deepest point, counted from the first entry passed).
    pub(crate) stack: usize,
}

impl ResumeSite {
    /// Buffer words the site reads or writes.
    pub(crate) fn words(&self) -> usize {
        self.params + self.locals + self.stack
    }
}

/// The run's operand stack inside the buffer. Every slot below `sp` holds the bits of a live
/// value; the slot is *borrowed* (no count of its own: a constant of the site or a param, both
/// alive for the whole call) when its bit in `borrowed` is set, otherwise owned by the stack.
/// Slots from 64 up are always owned.
struct Stack<'b> {
    slots: &'b mut [u64],
    sp: usize,
    borrowed: u64,
}

impl Stack<'_> {
    fn is_borrowed(&self, j: usize) -> bool {
        j < 64 && self.borrowed & (1 << j) != 0
    }

    fn set_borrowed(&mut self, j: usize, b: bool) {
        if j < 64 {
            self.borrowed = (self.borrowed & !(1 << j)) | (u64::from(b) << j);
        }
    }

    /// Pushes an owned value.
    fn push(&mut self, v: Value) {
        self.slots[self.sp] = v.into_raw_bits();
        self.set_borrowed(self.sp, false);
        self.sp += 1;
    }

    /// Pushes the bits of a value that outlives the call (no count taken when there is room
    /// to record that).
    ///
    /// # Safety
    /// `bits` is the bits of a live value that stays alive for the rest of the resume call (a
    /// param, a constant, or a slot entry that is itself borrowed).
    unsafe fn push_borrowed(&mut self, bits: u64) {
        if self.sp < 64 {
            self.slots[self.sp] = bits;
            self.set_borrowed(self.sp, true);
            self.sp += 1;
        } else {
            // SAFETY: `bits` is a live value (the caller's contract); the clone is owned by the
            // slot.
            self.push(unsafe { Value::clone_from_bits(bits) });
        }
    }

    /// Pops the top entry: the value, owned or borrowed.
    fn pop(&mut self) -> Entry {
        self.sp -= 1;
        // SAFETY: the slot holds a live value; when owned, its count moves to the `Entry`
        // (the slot is dead from here on), when borrowed the `Entry` only views it.
        let v = ManuallyDrop::new(unsafe { Value::from_raw_bits(self.slots[self.sp]) });
        Entry {
            v,
            owned: !self.is_borrowed(self.sp),
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.slots.swap(i, j);
        let (bi, bj) = (self.is_borrowed(i), self.is_borrowed(j));
        self.set_borrowed(i, bj);
        self.set_borrowed(j, bi);
    }
}

/// A popped stack entry: dropping it releases the value when it was owned.
struct Entry {
    v: ManuallyDrop<Value>,
    owned: bool,
}

impl Entry {
    /// The value, owned (a new count when the entry was borrowed).
    fn into_owned(self) -> Value {
        let mut e = ManuallyDrop::new(self);
        if e.owned {
            // SAFETY: the entry owns this count and is not dropped (`ManuallyDrop` above).
            unsafe { ManuallyDrop::take(&mut e.v) }
        } else {
            (*e.v).clone()
        }
    }
}

impl std::ops::Deref for Entry {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.v
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: the entry owns this count; dropped exactly once, here.
            unsafe { ManuallyDrop::drop(&mut self.v) }
        }
    }
}

/// Re-executes a run (see the module docs). `buf` holds the run's starting state and receives
/// its final state; the run's operand stack lives in the buffer too (no allocation).
///
/// # Safety
/// `site` points to a live [`ResumeSite`] and `buf` to `site.words()` words laid out as the
/// module docs say: live params (borrowed), owned locals, and stack entries from `base` up,
/// owned where `in_owned` says so and otherwise borrowed from values that outlive the call.
pub(crate) unsafe extern "C" fn tt_jit_resume(site: *const ResumeSite, buf: *mut u64) {
    // SAFETY: the caller's contract: compiled code passes the address of one of its own
    // `ResumeSite`s (kept alive with the code) and a buffer of `site.words()` words laid out as
    // the module docs say.
    let (site, buf) = unsafe {
        let site = &*site;
        (site, std::slice::from_raw_parts_mut(buf, site.words()))
    };
    let (params, rest) = buf.split_at_mut(site.params);
    let (locals, slots) = rest.split_at_mut(site.locals);
    for (slot, &owned) in slots.iter().zip(site.in_owned.iter()) {
        if !owned {
            // SAFETY: a borrowed entry passed in is alive for the whole call (compiled code
            // borrows it from a local passed above, a param or a constant); the clone's count
            // makes it owned (the run may store to the local it was borrowed from).
            std::mem::forget(unsafe { Value::clone_from_bits(*slot) });
        }
    }
    let mut st = Stack {
        slots,
        sp: site.in_owned.len(),
        borrowed: 0,
    };
    // The locals hold values this function owns (compiled code hands them over and reloads
    // them afterwards), as do the owned stack slots.
    for op in site.ops.iter() {
        match op {
            ROp::Pop => drop(st.pop()),
            ROp::Dup => {
                let top = st.sp - 1;
                if st.is_borrowed(top) {
                    // SAFETY: a borrowed entry's value outlives the call (it is a param, a
                    // constant or a local's value borrowed on entry).
                    unsafe { st.push_borrowed(st.slots[top]) };
                } else {
                    // SAFETY: an owned slot below `sp` holds a live value; the clone is a new
                    // count owned by the pushed slot.
                    st.push(unsafe { Value::clone_from_bits(st.slots[top]) });
                }
            }
            ROp::Swap => st.swap(st.sp - 1, st.sp - 2),
            ROp::Rot => {
                // a b c -> b c a
                let n = st.sp;
                st.swap(n - 3, n - 2);
                st.swap(n - 2, n - 1);
            }
            // SAFETY: `v` belongs to the site, which outlives the call.
            ROp::Push(v) => unsafe { st.push_borrowed(v.bits()) },
            // SAFETY: a local slot holds a live value this function owns; the clone is a new
            // count owned by the pushed slot.
            ROp::Load(s) => st.push(unsafe { Value::clone_from_bits(locals[*s]) }),
            ROp::Store(s) => {
                let v = st.pop().into_owned();
                let old = std::mem::replace(&mut locals[*s], v.into_raw_bits());
                // SAFETY: `old` is the owned value the local slot held; the slot now holds
                // the new one, so this count is released exactly once.
                drop(unsafe { Value::from_raw_bits(old) });
            }
            // SAFETY: params are borrowed from the caller for the whole activation.
            ROp::Param(s) => unsafe { st.push_borrowed(params[*s]) },
            ROp::Neg => {
                let a = st.pop();
                st.push(ops::neg(&a));
            }
            ROp::Arith(_) | ROp::Eq | ROp::Ne | ROp::Cmp(_) => {
                let b = st.pop();
                let a = st.pop();
                let r = match op {
                    ROp::Arith(op) => ops::arith(*op, &a, &b),
                    ROp::Eq => Value::bool(ops::text_eq(&a, &b)),
                    ROp::Ne => Value::bool(!ops::text_eq(&a, &b)),
                    ROp::Cmp(op) => Value::bool(ops::compare(*op, &a, &b)),
                    _ => unreachable!("binary operation"),
                };
                drop((a, b));
                st.push(r);
            }
        }
    }
    debug_assert_eq!(st.sp, site.out_owned.len(), "run stack depth");
    for (j, &owned) in site.out_owned.iter().enumerate() {
        let borrowed = st.is_borrowed(j);
        if owned && borrowed {
            // Compiled code owns this entry: take a count of it.
            // SAFETY: a borrowed entry is a live value that outlives the call; the new count
            // is handed to compiled code with the slot's bits.
            std::mem::forget(unsafe { Value::clone_from_bits(st.slots[j]) });
        } else if !owned && !borrowed {
            // Compiled code borrows this entry (from a local, a param or a constant holding
            // the same value): give back this function's count, keep the bits.
            // SAFETY: an owned entry's count belongs to this function; it is released once,
            // and compiled code holds the same value elsewhere, keeping the bits valid.
            drop(unsafe { Value::from_raw_bits(st.slots[j]) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction a run may contain re-executes with the stack effect of the
    /// instruction table (`Ins::effect`): `tt_jit_resume` checks (debug builds) that the run's
    /// stack ends where the site says, and the site is sized from the table.
    #[test]
    fn run_ops_have_the_table_effects() {
        let consts = [Value::int(5)];
        let samples = [
            Ins::Nop,
            Ins::Pop,
            Ins::Dup,
            Ins::Swap,
            Ins::Rot,
            Ins::Const(0),
            Ins::Nil,
            Ins::True,
            Ins::False,
            Ins::Zero,
            Ins::One,
            Ins::LoadLocal(0),
            Ins::StoreLocal(0),
            Ins::LoadParam(0),
            Ins::Arith(Arith::Add),
            Ins::Arith(Arith::Mod),
            Ins::Neg,
            Ins::Eq,
            Ins::Ne,
            Ins::Cmp(Cmp::Le),
        ];
        for i in samples {
            assert!(ROp::supports(i), "{i:?}");
            let (pops, pushes) = i.effect();
            let Some(op) = ROp::from_ins(i, &consts, |_| 0, |_| 0) else {
                assert_eq!((pops, pushes), (0, 0), "{i:?}");
                continue;
            };
            let site = ResumeSite {
                ops: Box::new([op]),
                params: 1,
                locals: 1,
                in_owned: vec![true; pops].into(),
                out_owned: vec![true; pushes].into(),
                stack: pops.max(pushes),
            };
            let mut buf = vec![0u64; site.words()];
            for (j, w) in buf.iter_mut().enumerate() {
                *w = Value::int(j as i64 + 1).into_raw_bits();
            }
            // SAFETY: `site` is live and `buf` has `site.words()` words, each an owned
            // immediate, matching `in_owned` (all owned).
            unsafe { tt_jit_resume(&site, buf.as_mut_ptr()) };
            for &w in &buf[site.params..] {
                // SAFETY: every word past the params holds an owned immediate written above
                // or by the run.
                drop(unsafe { Value::from_raw_bits(w) });
            }
        }
        assert!(!ROp::supports(Ins::Empty));
        assert!(!ROp::supports(Ins::End));
    }
}
