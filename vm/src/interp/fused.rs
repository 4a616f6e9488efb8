//! Superinstructions for the interpreter: a peephole pass over the plain decoded [`Ins`]
//! stream that folds the stack-machine idioms compilers emit (`load a; load b; op; store c`,
//! `load a; load b; cmp; jump`) into register-style instructions.
//!
//! Why: the interpreter's cost is dominated by one hard-to-predict indirect jump per
//! instruction plus operand-stack traffic. Three passes:
//!
//! 1. groups (`load a; load b; op; store c` → `ArithStore`, compare-and-branch → `CmpJump`, …);
//! 2. loop rotation: the backward jump to a loop's exit test becomes the inverted test jumping
//!    back into the body (one dispatch less per iteration);
//! 3. register-operand specialisations (`AddRR`, `AddRI`, `LtRRJump`, …) and the counting-loop
//!    step-and-test `IncJump` (Lua's FORLOOP idea).
//!
//! The §13.2 summing loop goes from 13 dispatches per iteration to 2. Semantics are unchanged:
//! fused instructions have integer fast paths and fall back to the same `value::ops`
//! functions. The JIT translates the plain `ins`, not this form.
//!
//! Fusion never crosses a jump target: a group may only start at one.

use super::Ins;
use super::json_ops::JsonOp;
use crate::value::Value;
use crate::value::ops::{Arith, Cmp};

/// A fused operand: a register of the frame, a small immediate or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opnd {
    /// Frame register (params first, then locals).
    Reg(u16),
    /// Small integer immediate.
    Imm(i32),
    /// Constant-pool value.
    K(u16),
}

/// An interpreter instruction: every plain [`Ins`] variant (jump targets remapped to fused
/// indexes) plus the fused groups. Flat on purpose: a nested `I(Ins)` variant costs a niche
/// decode and a 24-byte copy on every dispatch.
///
/// `repr(u8)`: a plain tag byte first, so dispatch is one byte load and a jump table (the
/// default layout niches the tag into an operand and needs a subtract and a select).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum X {
    Nop,
    Pop,
    Dup,
    Swap,
    Rot,
    Const(u16),
    Nil,
    True,
    False,
    Zero,
    One,
    Empty,
    PushSelf,
    MakeCell,
    CellGet,
    CellSet,
    LoadLocal(u8),
    StoreLocal(u8),
    LoadParam(u8),
    LoadCapture(u8),
    StoreCapture(u8),
    LoadIvar(u16),
    StoreIvar(u16),
    Arith(Arith),
    Neg,
    Eq,
    Ne,
    Cmp(Cmp),
    Not,
    And,
    Or,
    Concat,
    Strlen,
    Jump(u32),
    JumpTrue(u32),
    JumpFalse(u32),
    JumpNil(u32),
    JumpNotNil(u32),
    Send {
        site: u16,
        argc: u8,
    },
    SendSelf {
        site: u16,
        argc: u8,
    },
    SendSuper {
        site: u16,
        argc: u8,
    },
    SendClass {
        class: u16,
        site: u16,
        argc: u8,
    },
    MakeBlock {
        k: u16,
        n: u8,
    },
    InvokeBlock(u8),
    ArrayNew,
    ObjectNew,
    Json(JsonOp),
    Return,
    ReturnNil,
    NonLocalRet,
    End,
    /// `a b → op` stored into register `dst`.
    ArithStore {
        /// Operation.
        op: Arith,
        /// Left operand.
        a: Opnd,
        /// Right operand.
        b: Opnd,
        /// Destination register.
        dst: u16,
    },
    /// `a b → op` pushed.
    ArithPush {
        /// Operation.
        op: Arith,
        /// Left operand.
        a: Opnd,
        /// Right operand.
        b: Opnd,
    },
    /// Compare and branch: jump to `target` when `(a op b) == jump_if`.
    CmpJump {
        /// Comparison.
        op: Cmp,
        /// Left operand.
        a: Opnd,
        /// Right operand.
        b: Opnd,
        /// Branch sense.
        jump_if: bool,
        /// Target (fused index).
        target: u32,
    },
    /// Copy an operand into a register.
    Move {
        /// Source.
        src: Opnd,
        /// Destination register.
        dst: u16,
    },
    /// Push an operand.
    Push(Opnd),
    /// Return an operand.
    Ret(Opnd),
    /// `a op b` returned.
    ArithRet {
        /// Operation.
        op: Arith,
        /// Left operand.
        a: Opnd,
        /// Right operand.
        b: Opnd,
    },
    /// `ArithRet` on two registers: the body of `[:a :b | a + b]`-style blocks.
    ArithRetRR {
        /// Operation.
        op: Arith,
        /// Left register.
        a: u16,
        /// Right register.
        b: u16,
    },
    /// `ArithStore` of `Add` on two registers.
    AddRR {
        /// Left register.
        a: u16,
        /// Right register.
        b: u16,
        /// Destination register.
        dst: u16,
    },
    /// `ArithStore` of `Add` of a register and an immediate.
    AddRI {
        /// Left register.
        a: u16,
        /// Immediate.
        imm: i32,
        /// Destination register.
        dst: u16,
    },
    /// `ArithStore` of `Sub` of a register and an immediate.
    SubRI {
        /// Left register.
        a: u16,
        /// Immediate.
        imm: i32,
        /// Destination register.
        dst: u16,
    },
    /// `CmpJump` of `Le` on two registers: jump when `(a <= b) == jump_if`.
    LeRRJump {
        /// Left register.
        a: u16,
        /// Right register.
        b: u16,
        /// Branch sense.
        jump_if: bool,
        /// Target (fused index).
        target: u32,
    },
    /// A counting loop's step and test: `r := r + imm`, then jump to `target` when
    /// `r < limit` (`r <= limit` when `inclusive`).
    IncJump {
        /// Counter register.
        r: u16,
        /// Step.
        imm: i32,
        /// Limit register.
        limit: u16,
        /// `<=` rather than `<`.
        inclusive: bool,
        /// Target (fused index).
        target: u32,
    },
    /// `CmpJump` of `Lt` on two registers: jump when `(a < b) == jump_if`.
    LtRRJump {
        /// Left register.
        a: u16,
        /// Right register.
        b: u16,
        /// Branch sense.
        jump_if: bool,
        /// Target (fused index).
        target: u32,
    },
}

fn operand(i: Ins, params: usize, consts: &[Value]) -> Option<Opnd> {
    Some(match i {
        Ins::LoadLocal(s) => Opnd::Reg((params + s as usize) as u16),
        Ins::LoadParam(p) => Opnd::Reg(p as u16),
        Ins::Zero => Opnd::Imm(0),
        Ins::One => Opnd::Imm(1),
        Ins::Const(k) => match consts[k as usize].as_small_int() {
            Some(v) if i32::try_from(v).is_ok() => Opnd::Imm(v as i32),
            _ => Opnd::K(k),
        },
        _ => return None,
    })
}

/// Lists the plain variants shared by [`Ins`] and [`X`] once, and derives from the list the
/// conversion both ways (`From<Ins> for X`, [`X::plain`]).
macro_rules! plain_variants {
    ($($v:ident $(($a:ident))? $({ $($f:ident),* })?),* $(,)?) => {
        impl From<Ins> for X {
            /// The flat form of a plain instruction (targets still plain indexes).
            fn from(i: Ins) -> X {
                match i {
                    $(Ins::$v $(($a))? $({ $($f),* })? => X::$v $(($a))? $({ $($f),* })?,)*
                }
            }
        }

        impl X {
            /// The plain instruction this is, `None` for a fused group (jump targets stay
            /// in the indexes of the code they are in).
            pub fn plain(self) -> Option<Ins> {
                match self {
                    $(X::$v $(($a))? $({ $($f),* })? => Some(Ins::$v $(($a))? $({ $($f),* })?),)*
                    _ => None,
                }
            }
        }
    };
}

plain_variants! {
    Nop, Pop, Dup, Swap, Rot, Const(a), Nil, True, False, Zero, One, Empty,
    PushSelf, MakeCell, CellGet, CellSet,
    LoadLocal(a), StoreLocal(a), LoadParam(a), LoadCapture(a), StoreCapture(a),
    LoadIvar(a), StoreIvar(a), Arith(a), Neg, Eq, Ne, Cmp(a), Not, And, Or, Concat, Strlen,
    Jump(a), JumpTrue(a), JumpFalse(a), JumpNil(a), JumpNotNil(a),
    Send { site, argc }, SendSelf { site, argc }, SendSuper { site, argc },
    SendClass { class, site, argc }, MakeBlock { k, n }, InvokeBlock(a),
    ArrayNew, ObjectNew, Json(a), Return, ReturnNil, NonLocalRet, End,
}

/// Combined stack effect `(pops, pushes)` of a straight sequence of effects.
const fn compose(effects: &[(usize, usize)]) -> (usize, usize) {
    // `need`: values the sequence takes from below its start; `depth`: values above it.
    let (mut need, mut depth, mut i) = (0, 0, 0);
    while i < effects.len() {
        let (pops, pushes) = effects[i];
        if pops > depth {
            need += pops - depth;
            depth = 0;
        } else {
            depth -= pops;
        }
        depth += pushes;
        i += 1;
    }
    (need, depth)
}

/// The plain instruction a fused operand stands for (its load: `LOAD_LOCAL`, `LOAD_PARAM`,
/// `CONST_ZERO`, `CONST_ONE` or `CONST`, which all have the same effect).
const fn load(o: Opnd) -> Ins {
    match o {
        Opnd::Reg(r) => Ins::LoadLocal(r as u8),
        Opnd::Imm(0) => Ins::Zero,
        Opnd::Imm(1) => Ins::One,
        Opnd::Imm(_) => Ins::Const(0),
        Opnd::K(k) => Ins::Const(k),
    }
}

impl X {
    /// Stack effect `(pops, pushes)`, in terms of the instruction table: a plain instruction's
    /// is [`Ins::effect`], a fused group's the combined effect of the plain instructions it
    /// stands for (see [`fuse`] and the passes after it).
    pub fn effect(self) -> (usize, usize) {
        let reg = |r: u16| load(Opnd::Reg(r));
        let imm = |i: i32| load(Opnd::Imm(i));
        let store = Ins::StoreLocal(0);
        let e = |seq: &[Ins]| {
            let mut effects = [(0, 0); 4];
            for (slot, i) in effects.iter_mut().zip(seq) {
                *slot = i.effect();
            }
            compose(&effects[..seq.len()])
        };
        match self {
            X::ArithStore { op, a, b, .. } => e(&[load(a), load(b), Ins::Arith(op), store]),
            X::ArithPush { op, a, b } => e(&[load(a), load(b), Ins::Arith(op)]),
            X::CmpJump { op, a, b, .. } => e(&[load(a), load(b), Ins::Cmp(op), Ins::JumpTrue(0)]),
            X::Move { src, .. } => e(&[load(src), store]),
            X::Push(o) => load(o).effect(),
            X::Ret(o) => e(&[load(o), Ins::Return]),
            X::ArithRet { op, a, b } => e(&[load(a), load(b), Ins::Arith(op), Ins::Return]),
            X::ArithRetRR { op, a, b } => e(&[reg(a), reg(b), Ins::Arith(op), Ins::Return]),
            X::AddRR { a, b, .. } => e(&[reg(a), reg(b), Ins::Arith(Arith::Add), store]),
            X::AddRI { a, imm: i, .. } => e(&[reg(a), imm(i), Ins::Arith(Arith::Add), store]),
            X::SubRI { a, imm: i, .. } => e(&[reg(a), imm(i), Ins::Arith(Arith::Sub), store]),
            X::LeRRJump { a, b, .. } => e(&[reg(a), reg(b), Ins::Cmp(Cmp::Le), Ins::JumpTrue(0)]),
            X::LtRRJump { a, b, .. } => e(&[reg(a), reg(b), Ins::Cmp(Cmp::Lt), Ins::JumpTrue(0)]),
            X::IncJump {
                r, imm: i, limit, ..
            } => compose(&[
                e(&[reg(r), imm(i), Ins::Arith(Arith::Add), store]),
                e(&[reg(r), reg(limit), Ins::Cmp(Cmp::Lt), Ins::JumpTrue(0)]),
            ]),
            plain => plain.plain().map_or((0, 0), Ins::effect),
        }
    }

    /// True when control may continue with the next instruction (a fused group ending in a
    /// return does not).
    pub fn falls_through(self) -> bool {
        match self {
            X::Ret(_) | X::ArithRet { .. } | X::ArithRetRR { .. } => false,
            plain => plain.plain().is_none_or(Ins::falls_through),
        }
    }
}

/// Fuses a plain instruction stream.
pub fn fuse(ins: &[Ins], params: usize, consts: &[Value]) -> Box<[X]> {
    let mut is_target = vec![false; ins.len()];
    for t in ins.iter().filter_map(|i| i.jump_target()) {
        is_target[t] = true;
    }
    // A window of `n` instructions starting at `i` is fusable when none but the first is a target.
    let free = |i: usize, n: usize| i + n <= ins.len() && (i + 1..i + n).all(|j| !is_target[j]);
    let opnd = |i: usize| operand(ins[i], params, consts);
    let mut out: Vec<X> = Vec::with_capacity(ins.len());
    let mut map = vec![u32::MAX; ins.len()];
    let mut i = 0;
    while i < ins.len() {
        map[i] = out.len() as u32;
        let (x, n) = match (opnd(i), free(i, 2).then(|| opnd(i + 1)).flatten()) {
            (Some(a), Some(b)) if free(i, 4) => match (ins[i + 2], ins[i + 3]) {
                (Ins::Arith(op), Ins::StoreLocal(d)) => (
                    X::ArithStore {
                        op,
                        a,
                        b,
                        dst: (params + d as usize) as u16,
                    },
                    4,
                ),
                (Ins::Cmp(op), Ins::JumpFalse(t)) => (
                    X::CmpJump {
                        op,
                        a,
                        b,
                        jump_if: false,
                        target: t,
                    },
                    4,
                ),
                (Ins::Cmp(op), Ins::JumpTrue(t)) => (
                    X::CmpJump {
                        op,
                        a,
                        b,
                        jump_if: true,
                        target: t,
                    },
                    4,
                ),
                (Ins::Arith(op), Ins::Return) => (X::ArithRet { op, a, b }, 4),
                (Ins::Arith(op), _) => (X::ArithPush { op, a, b }, 3),
                _ => (X::Push(a), 1),
            },
            (Some(a), Some(b)) if free(i, 3) => match ins[i + 2] {
                Ins::Arith(op) => (X::ArithPush { op, a, b }, 3),
                _ => (X::Push(a), 1),
            },
            (Some(a), _) if free(i, 2) => match ins[i + 1] {
                Ins::StoreLocal(d) => (
                    X::Move {
                        src: a,
                        dst: (params + d as usize) as u16,
                    },
                    2,
                ),
                Ins::Return => (X::Ret(a), 2),
                _ => (X::Push(a), 1),
            },
            (Some(a), _) => (X::Push(a), 1),
            _ => (X::from(ins[i]), 1),
        };
        out.push(x);
        i += n;
    }
    for x in &mut out {
        if let Some(t) = x.target_mut() {
            *t = map[*t as usize];
        }
    }
    let out = rewrite(&out, rotate_loop);
    let out: Vec<X> = out.into_iter().map(specialise).collect();
    rewrite(&out, counting_loop).into()
}

impl X {
    /// The jump target of a branching instruction.
    pub fn target(mut self) -> Option<u32> {
        self.target_mut().copied()
    }

    /// The jump target of a branching instruction, to remap it.
    fn target_mut(&mut self) -> Option<&mut u32> {
        match self {
            X::Jump(t) | X::JumpTrue(t) | X::JumpFalse(t) | X::JumpNil(t) | X::JumpNotNil(t) => {
                Some(t)
            }
            X::CmpJump { target, .. }
            | X::LtRRJump { target, .. }
            | X::LeRRJump { target, .. }
            | X::IncJump { target, .. } => Some(target),
            _ => None,
        }
    }
}

/// Rewrites `code` group by group: `step(code, targets, j, out)` pushes the replacement of the
/// instructions from `j` on and returns how many it consumed (only the first of which may be
/// a jump target); jump targets (in `code`'s indexes, also in what `step` pushes) are then
/// remapped.
fn rewrite(code: &[X], step: fn(&[X], &[bool], usize, &mut Vec<X>) -> usize) -> Vec<X> {
    let mut targets = vec![false; code.len() + 1];
    for x in code {
        if let Some(t) = x.target() {
            targets[t as usize] = true;
        }
    }
    let mut out = Vec::with_capacity(code.len() + 2);
    let mut map = vec![0u32; code.len() + 1];
    let mut j = 0;
    while j < code.len() {
        map[j] = out.len() as u32;
        let n = step(code, &targets, j, &mut out).max(1);
        let here = out.len() as u32;
        map[j + 1..j + n].fill(here);
        j += n;
    }
    map[code.len()] = out.len() as u32;
    for x in &mut out {
        if let Some(t) = x.target_mut() {
            *t = map[*t as usize];
        }
    }
    out
}

/// Loop rotation: a backward `Jump` to a compare-and-branch that leaves the loop becomes the
/// inverted compare-and-branch back into the loop body followed by a jump to the exit, so a
/// `while` loop costs one dispatch less per iteration. Semantics are unchanged: both forms
/// evaluate the same comparison once per iteration and go to the same places.
fn rotate_loop(code: &[X], _: &[bool], j: usize, out: &mut Vec<X>) -> usize {
    if let X::Jump(t) = code[j]
        && (t as usize) <= j
        && let X::CmpJump {
            op,
            a,
            b,
            jump_if,
            target,
        } = code[t as usize]
        && (target as usize) > j
    {
        out.push(X::CmpJump {
            op,
            a,
            b,
            jump_if: !jump_if,
            target: t + 1,
        });
        out.push(X::Jump(target));
    } else {
        out.push(code[j]);
    }
    1
}

/// A counting loop's step and test (`r := r + k` then the rotated `r < n` / `r <= n` branch
/// back) as one instruction, in the spirit of Lua's FORLOOP. Not when the limit is the counter
/// itself (`[i <= i]`): `IncJump` reads the limit before the step.
fn counting_loop(code: &[X], targets: &[bool], j: usize, out: &mut Vec<X>) -> usize {
    if let X::AddRI { a, imm, dst } = code[j]
        && a == dst
        && j + 1 < code.len()
        && !targets[j + 1]
    {
        let test = match code[j + 1] {
            X::LtRRJump {
                a: r,
                b,
                jump_if: true,
                target,
            } if r == a && b != a => Some((b, false, target)),
            X::LeRRJump {
                a: r,
                b,
                jump_if: true,
                target,
            } if r == a && b != a => Some((b, true, target)),
            _ => None,
        };
        if let Some((limit, inclusive, target)) = test {
            out.push(X::IncJump {
                r: a,
                imm,
                limit,
                inclusive,
                target,
            });
            return 2;
        }
    }
    out.push(code[j]);
    1
}

/// Register-operand forms of the commonest fused groups (no operand-kind dispatch).
fn specialise(x: X) -> X {
    match x {
        X::ArithRet {
            op,
            a: Opnd::Reg(a),
            b: Opnd::Reg(b),
        } => X::ArithRetRR { op, a, b },
        X::ArithStore {
            op: Arith::Add,
            a: Opnd::Reg(a),
            b: Opnd::Reg(b),
            dst,
        } => X::AddRR { a, b, dst },
        X::ArithStore {
            op: Arith::Add,
            a: Opnd::Reg(a),
            b: Opnd::Imm(imm),
            dst,
        } => X::AddRI { a, imm, dst },
        X::ArithStore {
            op: Arith::Sub,
            a: Opnd::Reg(a),
            b: Opnd::Imm(imm),
            dst,
        } => X::SubRI { a, imm, dst },
        X::CmpJump {
            op: Cmp::Lt,
            a: Opnd::Reg(a),
            b: Opnd::Reg(b),
            jump_if,
            target,
        } => X::LtRRJump {
            a,
            b,
            jump_if,
            target,
        },
        X::CmpJump {
            op: Cmp::Le,
            a: Opnd::Reg(a),
            b: Opnd::Reg(b),
            jump_if,
            target,
        } => X::LeRRJump {
            a,
            b,
            jump_if,
            target,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stack depth before each reachable instruction, by the table's effects (as the
    /// verifier's §3.4 analysis); panics on an underflow or two depths at one instruction.
    fn depths(
        n: usize,
        effect: impl Fn(usize) -> (usize, usize),
        succ: impl Fn(usize) -> Vec<usize>,
    ) -> Vec<Option<usize>> {
        let mut depth = vec![None; n];
        let mut work = vec![(0, 0)];
        while let Some((pc, d)) = work.pop() {
            match depth[pc] {
                Some(old) => assert_eq!(old, d, "inconsistent depth at {pc}"),
                None => {
                    depth[pc] = Some(d);
                    let (pops, pushes) = effect(pc);
                    assert!(d >= pops, "underflow at {pc}");
                    work.extend(succ(pc).into_iter().map(|s| (s, d - pops + pushes)));
                }
            }
        }
        depth
    }

    /// Fuses `ins` and checks that the plain and the fused code both have consistent stack
    /// depths by their effects, and end (at `End`) at the same depths.
    fn check_effects(ins: &[Ins], params: usize) -> Box<[X]> {
        let plain = depths(
            ins.len(),
            |pc| ins[pc].effect(),
            |pc| {
                let i = ins[pc];
                i.jump_target()
                    .into_iter()
                    .chain(i.falls_through().then_some(pc + 1))
                    .collect()
            },
        );
        let x = fuse(ins, params, &[]);
        let fused = depths(
            x.len(),
            |pc| x[pc].effect(),
            |pc| {
                let t = x[pc].target().map(|t| t as usize);
                t.into_iter()
                    .chain(x[pc].falls_through().then_some(pc + 1))
                    .collect()
            },
        );
        assert_eq!(plain.last(), fused.last(), "depth at End");
        x
    }

    #[test]
    fn fused_groups_have_the_effects_of_what_they_stand_for() {
        let add = |a: u16, b: Opnd| X::ArithStore {
            op: Arith::Add,
            a: Opnd::Reg(a),
            b,
            dst: 0,
        };
        assert_eq!(add(0, Opnd::Imm(1)).effect(), (0, 0));
        let push = X::ArithPush {
            op: Arith::Mul,
            a: Opnd::Reg(0),
            b: Opnd::K(0),
        };
        assert_eq!(push.effect(), (0, 1));
        assert_eq!(X::Ret(Opnd::Imm(3)).effect(), (0, 0));
        assert!(!X::Ret(Opnd::Imm(3)).falls_through());
        let inc = X::IncJump {
            r: 0,
            imm: 1,
            limit: 1,
            inclusive: false,
            target: 0,
        };
        assert_eq!(inc.effect(), (0, 0));
        assert_eq!(X::Arith(Arith::Add).effect(), (2, 1));
        assert_eq!(X::Send { site: 0, argc: 2 }.effect(), (3, 1));
        assert_eq!(compose(&[(0, 1), (0, 1), (2, 1), (1, 0)]), (0, 0));
        assert_eq!(compose(&[(2, 1), (2, 1)]), (3, 1));
    }

    #[test]
    fn sum_loop_fuses_to_two_dispatches_per_iteration() {
        // docs/spec/ttbc.md §13.2 decoded.
        let mut ins = vec![
            Ins::Zero,
            Ins::StoreLocal(0),
            Ins::Zero,
            Ins::StoreLocal(1),
            Ins::LoadLocal(0),
            Ins::LoadParam(0),
            Ins::Cmp(Cmp::Lt),
            Ins::JumpFalse(0),
            Ins::LoadLocal(1),
            Ins::LoadLocal(0),
            Ins::Arith(Arith::Add),
            Ins::StoreLocal(1),
            Ins::LoadLocal(0),
            Ins::One,
            Ins::Arith(Arith::Add),
            Ins::StoreLocal(0),
            Ins::Jump(4),
            Ins::LoadLocal(1),
            Ins::Return,
            Ins::End,
        ];
        ins[7] = Ins::JumpFalse(17);
        let x = check_effects(&ins, 1);
        assert_eq!(
            &x[..],
            &[
                X::Move {
                    src: Opnd::Imm(0),
                    dst: 1
                },
                X::Move {
                    src: Opnd::Imm(0),
                    dst: 2
                },
                X::LtRRJump {
                    a: 1,
                    b: 0,
                    jump_if: false,
                    target: 6
                },
                // Loop body: two dispatches per iteration.
                X::AddRR { a: 2, b: 1, dst: 2 },
                X::IncJump {
                    r: 1,
                    imm: 1,
                    limit: 0,
                    inclusive: false,
                    target: 3
                },
                X::Jump(6),
                X::Ret(Opnd::Reg(2)),
                X::End,
            ]
        );
    }

    #[test]
    fn a_two_parameter_arithmetic_block_is_one_instruction() {
        // `[:x :y | x * y]`: LOAD_PARAM 0 ; LOAD_PARAM 1 ; MUL ; RETURN
        let ins = [
            Ins::LoadParam(0),
            Ins::LoadParam(1),
            Ins::Arith(Arith::Mul),
            Ins::Return,
            Ins::End,
        ];
        let x = check_effects(&ins, 2);
        assert_eq!(
            x[0],
            X::ArithRetRR {
                op: Arith::Mul,
                a: 0,
                b: 1
            }
        );
    }

    #[test]
    fn never_fuses_across_a_jump_target() {
        // LOAD_LOCAL 0 ; (target) LOAD_LOCAL 1 ; ADD ; RETURN
        let ins = [
            Ins::LoadLocal(0),
            Ins::LoadLocal(1),
            Ins::Arith(Arith::Add),
            Ins::Return,
            Ins::Jump(1),
            Ins::End,
        ];
        let x = check_effects(&ins, 0);
        assert_eq!(
            &x[..],
            &[
                X::Push(Opnd::Reg(0)),
                X::Push(Opnd::Reg(1)),
                X::Arith(Arith::Add),
                X::Return,
                X::Jump(1),
                X::End,
            ]
        );
    }
}
