//! The bytecode analysis pass: stack depths, block starts and loop heads of a code unit, and
//! the fused compare-and-branch. The per-instruction facts (stack effect, jump target,
//! fall-through, delegated to a helper, integer-only) come from the instruction table
//! (`tt_vm::ttbc::opcode`) through methods on [`Ins`].

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
        let (pops, pushes) = i.effect();
        if d < pops {
            return Err(format!("stack underflow at instruction {pc}"));
        }
        let after = d - pops + pushes;
        a.max_depth = a.max_depth.max(after).max(d);
        if i.needs_runtime() {
            a.max_vals = a.max_vals.max(pops);
        }
        if i.falls_through() && pc + 1 < n {
            work.push((pc + 1, after));
        }
        if let Some(t) = i.jump_target() {
            work.push((t, after));
        }
    }
    // Block starts and loop heads over reachable instructions.
    for pc in 0..n {
        if a.depth[pc].is_none() {
            continue;
        }
        let i = ins[pc];
        if let Some(t) = i.jump_target() {
            a.block_start[t] = true;
            if t <= pc {
                a.loop_head[t] = true;
            }
            if pc + 1 < n {
                a.block_start[pc + 1] = true;
            }
        }
        if !i.falls_through() && pc + 1 < n {
            a.block_start[pc + 1] = true;
        }
    }
    if a.loop_head[0] {
        a.block_start[0] = true;
    }
    Ok(a)
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
