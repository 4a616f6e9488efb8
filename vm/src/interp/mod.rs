//! The interpreter tier: TTBC decoded once into an internal instruction array, then run.
//!
//! The TTBC bytes stay the contract; [`CodeUnit::decode`] turns a verified chunk into
//! [`Ins`] (operands pre-decoded, jump targets as instruction indexes, constants as values,
//! one inline cache per send site) so the loop never re-parses bytes.

mod builtins;
mod compiled;
mod exec;
pub mod fused;
pub mod json_ops;
pub mod trivial;

pub(crate) use exec::Args;
pub(crate) use exec::Run;
pub use exec::{DEFAULT_DEPTH_LIMIT, Unwind};
pub(crate) use exec::{Flow, Frame};

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use tt_dispatch::{SendCache, intern};

use crate::method::MethodImpl;
use crate::tier::Compiled;
use crate::ttbc::{Op, Verified};
use crate::value::Value;
use crate::value::ops::{Arith, Cmp};
use json_ops::JsonOp;

/// One decoded instruction. Jump targets are indexes into [`CodeUnit::ins`]; the index of the
/// final [`Ins::End`] stands for `code_len` (implicit return).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ins {
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
    /// `PUSH_SELF` (TTBC v2).
    PushSelf,
    /// `MAKE_CAPTURE` (TTBC v2): `v → cell`.
    MakeCell,
    /// `CELL_GET` (TTBC v2): `cell → v`.
    CellGet,
    /// `CELL_SET` (TTBC v2): `cell v →`.
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
    /// `site` indexes [`CodeUnit::sites`].
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
}

/// The opcode of an arithmetic operation.
const fn arith_op(a: Arith) -> Op {
    match a {
        Arith::Add => Op::Add,
        Arith::Sub => Op::Sub,
        Arith::Mul => Op::Mul,
        Arith::Div => Op::Div,
        Arith::Mod => Op::Mod,
    }
}

/// The opcode of an ordering comparison.
const fn cmp_op(c: Cmp) -> Op {
    match c {
        Cmp::Lt => Op::Lt,
        Cmp::Le => Op::Le,
        Cmp::Gt => Op::Gt,
        Cmp::Ge => Op::Ge,
    }
}

impl Ins {
    /// The table row ([`crate::ttbc::opcode`]) this instruction was decoded from; `None` for
    /// [`Ins::End`]. Inverse of the decoder up to an alias: `BLOCK_VALUE` decodes to
    /// `InvokeBlock(0)`, which has the same facts as its image.
    #[inline]
    pub const fn op(self) -> Option<Op> {
        Some(match self {
            Ins::Nop => Op::Nop,
            Ins::Pop => Op::Pop,
            Ins::Dup => Op::Dup,
            Ins::Swap => Op::Swap,
            Ins::Rot => Op::Rot,
            Ins::Const(_) => Op::Const,
            Ins::Nil => Op::ConstNil,
            Ins::True => Op::ConstTrue,
            Ins::False => Op::ConstFalse,
            Ins::Zero => Op::ConstZero,
            Ins::One => Op::ConstOne,
            Ins::Empty => Op::ConstEmpty,
            Ins::PushSelf => Op::PushSelf,
            Ins::MakeCell => Op::MakeCapture,
            Ins::CellGet => Op::CellGet,
            Ins::CellSet => Op::CellSet,
            Ins::LoadLocal(_) => Op::LoadLocal,
            Ins::StoreLocal(_) => Op::StoreLocal,
            Ins::LoadParam(_) => Op::LoadParam,
            Ins::LoadCapture(_) => Op::LoadCapture,
            Ins::StoreCapture(_) => Op::StoreCapture,
            Ins::LoadIvar(_) => Op::LoadIvar,
            Ins::StoreIvar(_) => Op::StoreIvar,
            Ins::Arith(a) => arith_op(a),
            Ins::Neg => Op::Neg,
            Ins::Eq => Op::Eq,
            Ins::Ne => Op::Ne,
            Ins::Cmp(c) => cmp_op(c),
            Ins::Not => Op::Not,
            Ins::And => Op::And,
            Ins::Or => Op::Or,
            Ins::Concat => Op::Concat,
            Ins::Strlen => Op::Strlen,
            Ins::Jump(_) => Op::Jump,
            Ins::JumpTrue(_) => Op::JumpTrue,
            Ins::JumpFalse(_) => Op::JumpFalse,
            Ins::JumpNil(_) => Op::JumpNil,
            Ins::JumpNotNil(_) => Op::JumpNotNil,
            Ins::Send { .. } => Op::Send,
            Ins::SendSelf { .. } => Op::SendSelf,
            Ins::SendSuper { .. } => Op::SendSuper,
            Ins::SendClass { .. } => Op::SendClass,
            Ins::MakeBlock { .. } => Op::MakeBlock,
            Ins::InvokeBlock(_) => Op::InvokeBlock,
            Ins::ArrayNew => Op::ArrayNew,
            Ins::ObjectNew => Op::ObjectNew,
            Ins::Json(j) => j.op(),
            Ins::Return => Op::Return,
            Ins::ReturnNil => Op::ReturnNil,
            Ins::NonLocalRet => Op::NonLocalRet,
            Ins::End => return None,
        })
    }

    /// The `u8` count operand (argument or capture count) of a counted instruction
    /// ([`Op::counted`]); 0 otherwise.
    #[inline]
    pub const fn count(self) -> u8 {
        match self {
            Ins::Send { argc, .. }
            | Ins::SendSelf { argc, .. }
            | Ins::SendSuper { argc, .. }
            | Ins::SendClass { argc, .. }
            | Ins::InvokeBlock(argc) => argc,
            Ins::MakeBlock { n, .. } => n,
            _ => 0,
        }
    }

    /// Stack effect `(pops, pushes)`, from the table ([`Op::stack_effect`]); `(0, 0)` for
    /// [`Ins::End`].
    #[inline]
    pub const fn effect(self) -> (usize, usize) {
        match self.op() {
            Some(op) => op.stack_effect(self.count()),
            None => (0, 0),
        }
    }

    /// The jump target (an index into [`CodeUnit::ins`]) of the jump family.
    #[inline]
    pub const fn jump_target(self) -> Option<usize> {
        match self {
            Ins::Jump(t)
            | Ins::JumpTrue(t)
            | Ins::JumpFalse(t)
            | Ins::JumpNil(t)
            | Ins::JumpNotNil(t) => Some(t as usize),
            _ => None,
        }
    }

    /// True when control may continue with the next instruction (not after `JUMP`, the
    /// returns ([`Op::ends_block`]) or [`Ins::End`]).
    #[inline]
    pub const fn falls_through(self) -> bool {
        match self.op() {
            Some(op) => !op.ends_block(),
            None => false,
        }
    }

    /// True when the instruction needs the runtime beyond registers, stack and constants
    /// ([`Op::needs_runtime`]): compiled code hands these to the runtime.
    #[inline]
    pub const fn needs_runtime(self) -> bool {
        match self.op() {
            Some(op) => op.needs_runtime(),
            None => false,
        }
    }

    /// True for the value operations with a small-integer fast path ([`Op::is_int_op`]).
    #[inline]
    pub const fn is_int_op(self) -> bool {
        match self.op() {
            Some(op) => op.is_int_op(),
            None => false,
        }
    }
}

/// A verified chunk decoded for execution, with its send-site caches, nested units and tier
/// state. Shared by every block made from the chunk.
pub struct CodeUnit {
    /// The verified chunk (its bytes re-serialize exactly).
    pub verified: Arc<Verified>,
    /// Decoded instructions; the last one is [`Ins::End`]. The compiled tier translates these.
    pub ins: Box<[Ins]>,
    /// The interpreter's form: `ins` with superinstructions fused in (see [`fused`]).
    pub code: Box<[fused::X]>,
    /// Byte offset of each instruction (parallel to `ins`; `End` has `code_len`).
    pub offsets: Box<[u32]>,
    /// Constants as values (text constants; nested chunks and non-UTF-8 bytes are nil).
    pub consts: Box<[Value]>,
    /// Constants as shared names (ivar names, class names; empty when not UTF-8).
    pub names: Box<[Arc<str>]>,
    /// One inline cache per SEND / SEND_SELF / SEND_SUPER / SEND_CLASS site.
    pub sites: Box<[SendCache<MethodImpl>]>,
    /// Decoded nested chunks by constant index.
    pub nested: Box<[Option<Arc<CodeUnit>>]>,
    /// Number of parameters.
    pub param_count: usize,
    /// Number of locals.
    pub local_count: usize,
    /// Maximum operand-stack depth.
    pub max_stack: usize,
    /// Whether the unit makes blocks (MAKE_BLOCK): only then can one of its activations be
    /// the home of a non-local return from another activation.
    pub makes_blocks: bool,
    /// Whether the unit is a leaf: no sends, block creation or invocation, or non-local
    /// return, so an activation of it never nests another one or needs the run's homes.
    /// Leaves are entered directly, without a run (`Runtime::invoke_block`).
    pub leaf: bool,
    /// The body of a trivial leaf ([`trivial`]): evaluated on the caller's arguments by
    /// `Runtime::invoke_block` while the unit is not compiled, and never tiered up in
    /// `TierMode::Auto` (that entry is cheaper than a compiled one).
    pub trivial: Option<trivial::Trivial>,
    // The tier state: private, read and set through the methods below.
    /// Invocation + back-edge counter driving tier-up.
    heat: AtomicU32,
    /// Compiled code, once the tier compiled this unit.
    compiled: OnceLock<Compiled>,
    /// Why compilation failed, if it did. Read it with [`CodeUnit::compile_error`].
    compile_error: OnceLock<String>,
    /// Opaque per-unit data owned by the compiled tier (e.g. its context).
    tier_data: AtomicPtr<()>,
}

impl std::fmt::Debug for CodeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeUnit")
            .field("ins", &self.ins.len())
            .field("params", &self.param_count)
            .field("locals", &self.local_count)
            .finish()
    }
}

fn u16_at(code: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([code[at], code[at + 1]])
}

/// Decodes the verified instruction at byte offset `pc` of `code`; `site` allocates the inline
/// cache of a send to selector constant `k`, `target` turns a jump at `pc` with offset `d` into
/// an instruction index.
fn decode_ins(
    code: &[u8],
    pc: usize,
    site: &mut impl FnMut(u16) -> u16,
    target: &impl Fn(usize, i16) -> u32,
) -> Ins {
    let op = Op::from_byte(code[pc]).expect("verified opcode");
    let u8op = || code[pc + 1];
    let u16op = || u16_at(code, pc + 1);
    let jd = || u16_at(code, pc + 1) as i16;
    let count = || op.count_at().map_or(0, |i| code[pc + 1 + i]);
    match op {
        Op::Nop => Ins::Nop,
        Op::PushSelf => Ins::PushSelf,
        Op::MakeCapture => Ins::MakeCell,
        Op::CellGet => Ins::CellGet,
        Op::CellSet => Ins::CellSet,
        Op::Pop => Ins::Pop,
        Op::Dup => Ins::Dup,
        Op::Swap => Ins::Swap,
        Op::Rot => Ins::Rot,
        Op::Const => Ins::Const(u16op()),
        Op::ConstNil => Ins::Nil,
        Op::ConstTrue => Ins::True,
        Op::ConstFalse => Ins::False,
        Op::ConstZero => Ins::Zero,
        Op::ConstOne => Ins::One,
        Op::ConstEmpty => Ins::Empty,
        Op::LoadLocal => Ins::LoadLocal(u8op()),
        Op::StoreLocal => Ins::StoreLocal(u8op()),
        Op::LoadParam => Ins::LoadParam(u8op()),
        Op::LoadCapture => Ins::LoadCapture(u8op()),
        Op::StoreCapture => Ins::StoreCapture(u8op()),
        Op::LoadIvar => Ins::LoadIvar(u16op()),
        Op::StoreIvar => Ins::StoreIvar(u16op()),
        Op::Add => Ins::Arith(Arith::Add),
        Op::Sub => Ins::Arith(Arith::Sub),
        Op::Mul => Ins::Arith(Arith::Mul),
        Op::Div => Ins::Arith(Arith::Div),
        Op::Mod => Ins::Arith(Arith::Mod),
        Op::Neg => Ins::Neg,
        Op::Eq => Ins::Eq,
        Op::Ne => Ins::Ne,
        Op::Lt => Ins::Cmp(Cmp::Lt),
        Op::Le => Ins::Cmp(Cmp::Le),
        Op::Gt => Ins::Cmp(Cmp::Gt),
        Op::Ge => Ins::Cmp(Cmp::Ge),
        Op::Not => Ins::Not,
        Op::And => Ins::And,
        Op::Or => Ins::Or,
        Op::Concat => Ins::Concat,
        Op::Strlen => Ins::Strlen,
        Op::Jump => Ins::Jump(target(pc, jd())),
        Op::JumpTrue => Ins::JumpTrue(target(pc, jd())),
        Op::JumpFalse => Ins::JumpFalse(target(pc, jd())),
        Op::JumpNil => Ins::JumpNil(target(pc, jd())),
        Op::JumpNotNil => Ins::JumpNotNil(target(pc, jd())),
        Op::Send => Ins::Send {
            site: site(u16op()),
            argc: count(),
        },
        Op::SendSelf => Ins::SendSelf {
            site: site(u16op()),
            argc: count(),
        },
        Op::SendSuper => Ins::SendSuper {
            site: site(u16op()),
            argc: count(),
        },
        Op::SendClass => Ins::SendClass {
            class: u16op(),
            site: site(u16_at(code, pc + 3)),
            argc: count(),
        },
        Op::MakeBlock => Ins::MakeBlock {
            k: u16op(),
            n: count(),
        },
        Op::InvokeBlock => Ins::InvokeBlock(count()),
        Op::BlockValue => Ins::InvokeBlock(0),
        Op::ArrayNew => Ins::ArrayNew,
        Op::ArrayPush => Ins::Json(JsonOp::ArrayPush),
        Op::ArrayAt => Ins::Json(JsonOp::ArrayAt),
        Op::ArrayAtPut => Ins::Json(JsonOp::ArrayAtPut),
        Op::ArrayLen => Ins::Json(JsonOp::ArrayLen),
        Op::ArrayFirst => Ins::Json(JsonOp::ArrayFirst),
        Op::ArrayLast => Ins::Json(JsonOp::ArrayLast),
        Op::ArrayRemove => Ins::Json(JsonOp::ArrayRemove),
        Op::ObjectNew => Ins::ObjectNew,
        Op::ObjectAt => Ins::Json(JsonOp::ObjectAt),
        Op::ObjectAtPut => Ins::Json(JsonOp::ObjectAtPut),
        Op::ObjectHasKey => Ins::Json(JsonOp::ObjectHasKey),
        Op::ObjectKeys => Ins::Json(JsonOp::ObjectKeys),
        Op::ObjectValues => Ins::Json(JsonOp::ObjectValues),
        Op::ObjectRemove => Ins::Json(JsonOp::ObjectRemove),
        Op::ObjectLen => Ins::Json(JsonOp::ObjectLen),
        Op::Return => Ins::Return,
        Op::ReturnNil => Ins::ReturnNil,
        Op::NonLocalRet => Ins::NonLocalRet,
    }
}

impl CodeUnit {
    /// Decodes a verified chunk (and its nested chunks, recursively).
    pub fn decode(verified: Arc<Verified>) -> Arc<CodeUnit> {
        let chunk = verified.chunk();
        let code = &chunk.code;
        // Pass 1: instruction boundaries.
        let mut index_of = vec![u32::MAX; code.len() + 1];
        let mut offsets = Vec::new();
        let mut pc = 0;
        while pc < code.len() {
            let op = Op::from_byte(code[pc]).expect("verified opcode");
            index_of[pc] = offsets.len() as u32;
            offsets.push(pc as u32);
            pc += op.len();
        }
        index_of[code.len()] = offsets.len() as u32;
        offsets.push(code.len() as u32);

        let consts: Vec<Value> = chunk
            .constants
            .iter()
            .map(|c| {
                std::str::from_utf8(c)
                    .map(Value::string)
                    .unwrap_or(Value::NIL)
            })
            .collect();
        let names: Vec<Arc<str>> = chunk
            .constants
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap_or("").into())
            .collect();
        let mut sites = Vec::new();
        let mut site = |k: u16| -> u16 {
            let name = std::str::from_utf8(&chunk.constants[k as usize]).unwrap_or("");
            sites.push(SendCache::new(intern(name)));
            (sites.len() - 1) as u16
        };
        let target = |pc: usize, d: i16| -> u32 {
            let t = (pc as i64 + 3 + d as i64) as usize;
            index_of[t]
        };

        let mut ins = Vec::with_capacity(offsets.len());
        for &off in &offsets[..offsets.len() - 1] {
            ins.push(decode_ins(code, off as usize, &mut site, &target));
        }
        ins.push(Ins::End);
        let nested = verified
            .nested()
            .iter()
            .map(|n| n.as_ref().map(|v| CodeUnit::decode(v.clone())))
            .collect();
        let code = fused::fuse(&ins, chunk.params.len(), &consts);
        let makes_blocks = ins.iter().any(|i| matches!(i, Ins::MakeBlock { .. }));
        let leaf = !ins.iter().any(|i| i.op().is_some_and(Op::breaks_leaf));
        let trivial = if leaf {
            trivial::Trivial::of(&code, chunk.params.len())
        } else {
            None
        };
        Arc::new(CodeUnit {
            code,
            trivial,
            param_count: chunk.params.len(),
            local_count: chunk.local_count as usize,
            max_stack: verified.max_stack(),
            makes_blocks,
            leaf,
            ins: ins.into(),
            offsets: offsets.into(),
            consts: consts.into(),
            names: names.into(),
            sites: sites.into(),
            nested,
            heat: AtomicU32::new(0),
            compiled: OnceLock::new(),
            compile_error: OnceLock::new(),
            tier_data: AtomicPtr::new(std::ptr::null_mut()),
            verified,
        })
    }

    /// The compiled entry, if this unit has been compiled.
    #[inline]
    pub fn compiled(&self) -> Option<&Compiled> {
        self.compiled.get()
    }

    /// Why compiling this unit failed, if it did (the unit then stays interpreted).
    #[inline]
    pub fn compile_error(&self) -> Option<&str> {
        self.compile_error.get().map(String::as_str)
    }

    /// Records the outcome of compiling this unit: its code, or why it stays interpreted.
    /// The first outcome recorded stays (a unit is compiled at most once). Returns whether the
    /// unit is compiled.
    pub(crate) fn record_compiled(&self, outcome: Result<Compiled, String>) -> bool {
        match outcome {
            Ok(code) => {
                let _ = self.compiled.set(code);
                true
            }
            Err(why) => {
                let _ = self.compile_error.set(why);
                false
            }
        }
    }

    /// The heat counter: invocations + back-edges counted so far (roughly).
    pub fn heat(&self) -> u32 {
        self.heat.load(Ordering::Relaxed)
    }

    /// Opaque per-unit data owned by the compiled tier (e.g. its context); null until the tier
    /// stores something.
    pub fn tier_data(&self) -> &AtomicPtr<()> {
        &self.tier_data
    }

    /// Adds `n` to the heat counter and returns the new value.
    #[inline]
    pub fn warm(&self, n: u32) -> u32 {
        // A lossy load+store (no locked RMW): heat only needs to be roughly right.
        let h = self.heat.load(Ordering::Relaxed).saturating_add(n);
        self.heat.store(h, Ordering::Relaxed);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttbc::opcode::ALL_OPS;

    #[test]
    fn decoded_forms_stay_small_and_copy() {
        fn copy<T: Copy>() {}
        copy::<Ins>();
        copy::<fused::X>();
        assert_eq!(std::mem::size_of::<Ins>(), 8);
        assert_eq!(std::mem::size_of::<fused::X>(), 28);
    }

    /// The code of `op` with every operand byte 0 except its count operand (3).
    fn sample(op: Op) -> Vec<u8> {
        let mut code = vec![0; op.len()];
        code[0] = op.byte();
        if let Some(i) = op.count_at() {
            code[1 + i] = 3;
        }
        code
    }

    fn decode_sample(op: Op) -> Ins {
        decode_ins(&sample(op), 0, &mut |k| k, &|_, _| 7)
    }

    #[test]
    fn every_opcode_decodes_and_maps_back() {
        for op in ALL_OPS {
            let ins = decode_sample(op);
            let back = match op {
                Op::BlockValue => Op::InvokeBlock,
                op => op,
            };
            assert_eq!(ins.op(), Some(back), "{op:?}");
            let count = if op == Op::BlockValue { 0 } else { 3 };
            assert_eq!(ins.count(), if op.counted() { count } else { 0 });
            assert_eq!(ins.effect(), op.stack_effect(3), "{op:?}");
            assert_eq!(ins.falls_through(), !op.ends_block(), "{op:?}");
            assert_eq!(ins.jump_target(), op.is_jump().then_some(7), "{op:?}");
            assert_eq!(ins.needs_runtime(), op.needs_runtime(), "{op:?}");
            assert_eq!(ins.is_int_op(), op.is_int_op(), "{op:?}");
            let back = ins.op().unwrap();
            assert_eq!(back.breaks_leaf(), op.breaks_leaf(), "{op:?}");
        }
        assert_eq!(Ins::End.op(), None);
        assert_eq!(Ins::End.effect(), (0, 0));
        assert!(!Ins::End.falls_through());
        assert_eq!(Ins::End.jump_target(), None);
    }

    /// The per-instruction facts as the JIT's analysis stated them before the table
    /// (`jit/src/translate.rs`: `effect`, `falls_through`, `is_delegated`, `is_fallible`),
    /// kept as the reference the table must reproduce.
    mod jit_reference {
        use super::super::Ins;

        pub fn effect(i: Ins) -> (usize, usize) {
            match i {
                Ins::Nop | Ins::Jump(_) | Ins::ReturnNil | Ins::End => (0, 0),
                Ins::PushSelf => (0, 1),
                Ins::MakeCell | Ins::CellGet => (1, 1),
                Ins::CellSet => (2, 0),
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
                Ins::Arith(_)
                | Ins::Eq
                | Ins::Ne
                | Ins::Cmp(_)
                | Ins::And
                | Ins::Or
                | Ins::Concat => (2, 1),
                Ins::Neg | Ins::Not | Ins::Strlen => (1, 1),
                Ins::Send { argc, .. } | Ins::SendSelf { argc, .. } => (argc as usize + 1, 1),
                Ins::SendSuper { argc, .. } | Ins::SendClass { argc, .. } => (argc as usize, 1),
                Ins::MakeBlock { n, .. } => (n as usize, 1),
                Ins::InvokeBlock(n) => (n as usize + 1, 1),
                Ins::Json(op) => (
                    match op.op().name() {
                        "ARRAY_LEN" | "ARRAY_FIRST" | "ARRAY_LAST" | "OBJECT_KEYS"
                        | "OBJECT_VALUES" | "OBJECT_LEN" => 1,
                        "ARRAY_AT_PUT" | "OBJECT_AT_PUT" => 3,
                        _ => 2,
                    },
                    1,
                ),
            }
        }

        pub fn falls_through(i: Ins) -> bool {
            !matches!(
                i,
                Ins::Jump(_) | Ins::Return | Ins::ReturnNil | Ins::NonLocalRet | Ins::End
            )
        }

        pub fn is_delegated(i: Ins) -> bool {
            matches!(
                i,
                Ins::LoadCapture(_)
                    | Ins::StoreCapture(_)
                    | Ins::PushSelf
                    | Ins::MakeCell
                    | Ins::CellGet
                    | Ins::CellSet
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

        pub fn is_fallible(i: Ins) -> bool {
            matches!(
                i,
                Ins::Arith(_) | Ins::Neg | Ins::Eq | Ins::Ne | Ins::Cmp(_)
            )
        }

        pub fn not_leaf(i: Ins) -> bool {
            matches!(
                i,
                Ins::Send { .. }
                    | Ins::SendSelf { .. }
                    | Ins::SendSuper { .. }
                    | Ins::SendClass { .. }
                    | Ins::MakeBlock { .. }
                    | Ins::InvokeBlock(_)
                    | Ins::NonLocalRet
            )
        }
    }

    #[test]
    fn table_facts_reproduce_the_former_jit_statements() {
        let all = ALL_OPS.into_iter().map(decode_sample).chain([
            Ins::End,
            Ins::InvokeBlock(0),
            Ins::Send { site: 0, argc: 0 },
        ]);
        for i in all {
            assert_eq!(i.effect(), jit_reference::effect(i), "{i:?}");
            assert_eq!(i.falls_through(), jit_reference::falls_through(i), "{i:?}");
            assert_eq!(i.needs_runtime(), jit_reference::is_delegated(i), "{i:?}");
            assert_eq!(i.is_int_op(), jit_reference::is_fallible(i), "{i:?}");
            let breaks = i.op().is_some_and(Op::breaks_leaf);
            assert_eq!(breaks, jit_reference::not_leaf(i), "{i:?}");
        }
    }
}
