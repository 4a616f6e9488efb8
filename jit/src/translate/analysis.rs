//! The bytecode analysis pass: stack depths, block starts and loop heads of a code unit, and
//! the per-instruction facts the translator needs (stack effect, jump target, fall-through,
//! delegated to a helper, fallible inside a run, fused compare-and-branch).

use tt_vm::interp::{CodeUnit, Ins};

/// Stack depths and block structure, from an abstract interpretation like the verifier's
/// (§3.4), over reachable instructions only.
pub(super) struct Analysis {
    /// Stack depth before each instruction; `None` when unreachable.
    pub(super) depth: Vec<Option<usize>>,
    /// Instructions that start a block (jump targets and instructions after a jump).
    pub(super) block_start: Vec<bool>,
    /// True when a backward edge reaches the instruction (a loop head).
    pub(super) loop_head: Vec<bool>,
    /// Largest depth.
    pub(super) max_depth: usize,
    /// Largest operand count of a delegated instruction.
    pub(super) max_vals: usize,
}

/// Pops and pushes of an instruction.
pub(super) fn effect(i: Ins) -> (usize, usize) {
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

pub(super) fn jump_target(i: Ins) -> Option<usize> {
    match i {
        Ins::Jump(t)
        | Ins::JumpTrue(t)
        | Ins::JumpFalse(t)
        | Ins::JumpNil(t)
        | Ins::JumpNotNil(t) => Some(t as usize),
        _ => None,
    }
}

pub(super) fn falls_through(i: Ins) -> bool {
    !matches!(
        i,
        Ins::Jump(_) | Ins::Return | Ins::ReturnNil | Ins::NonLocalRet | Ins::End
    )
}

pub(super) fn analyse(unit: &CodeUnit) -> Result<Analysis, String> {
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

/// True for the instructions compiled code hands to [`Helper::Op`](crate::helpers::Helper::Op).
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
pub(super) fn is_fallible(i: Ins) -> bool {
    matches!(
        i,
        Ins::Arith(_) | Ins::Neg | Ins::Eq | Ins::Ne | Ins::Cmp(_)
    )
}

/// A comparison at `pc` followed by a conditional jump that is not a jump target: translated
/// as one compare-and-branch. Returns the jump's target and whether it jumps on true.
pub(super) fn fused_jump(unit: &CodeUnit, an: &Analysis, pc: usize) -> Option<(usize, bool)> {
    if !matches!(unit.ins[pc], Ins::Eq | Ins::Ne | Ins::Cmp(_)) {
        return None;
    }
    match unit.ins.get(pc + 1).copied() {
        Some(Ins::JumpTrue(t)) if !an.block_start[pc + 1] => Some((t as usize, true)),
        Some(Ins::JumpFalse(t)) if !an.block_start[pc + 1] => Some((t as usize, false)),
        _ => None,
    }
}
