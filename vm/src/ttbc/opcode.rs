//! The TTBC instruction table (docs/spec/ttbc.md §4, and the v2 instructions of its part "TTBC v2"), declared once in `ttbc_ops!`, and everything
//! derived from it: the [`Op`] enum, [`ALL_OPS`], names, operand kinds and widths, stack
//! effects and the per-instruction [`flags`].
//!
//! # The table
//!
//! In the style of LuaJIT's `BCDEF(_)` (`lj_bc.h`), `ttbc_ops!` lists every instruction exactly
//! once and hands the list to a *consumer* macro, which expands it into whatever it needs. A row
//! reads
//!
//! ```text
//! Send = 0x90, "SEND", Send, 1 + n, 1, [CALL];
//! ^       ^     ^       ^     ^     ^   ^
//! |       |     |       |     |     |   flags (module `flags`): END, CALL, HOME, ENV, JSON, INT, RESERVED
//! |       |     |       |     |     pushes
//! |       |     |       |     pops: a fixed count, `+ n` when the count operand adds to it
//! |       |     |       operand kind (`OperandKind`), which fixes the operand bytes (`Operands`)
//! |       |     the spec's name
//! |       opcode byte
//! variant of `Op`
//! ```
//!
//! # What is derived from it
//!
//! * here: [`Op`] (discriminant = opcode byte), [`ALL_OPS`], [`Op::from_byte`], [`Op::name`],
//!   [`Op::operand_kind`], [`Op::operands`], [`Op::len`], [`Op::stack_effect`],
//!   [`Op::counted`], [`Op::flags`] and the predicates on the flags ([`Op::ends_block`],
//!   [`Op::is_jump`], [`Op::calls`], [`Op::breaks_leaf`], [`Op::needs_runtime`],
//!   [`Op::is_int_op`]);
//! * the verifier's code checks (by operand kind) and depth analysis (§3.4, by
//!   [`Op::stack_effect`], [`Op::ends_block`], [`Op::is_jump`]);
//! * the disassembler's names and operand rendering (by operand kind);
//! * the interpreter's decoded form: `interp::Ins::op` maps a decoded instruction back to its
//!   row, and `Ins::effect`, `Ins::jump_target`, `Ins::falls_through`, `Ins::needs_runtime`,
//!   `Ins::is_int_op` (the facts the JIT's analysis uses) read the table through it; the
//!   fused forms (`interp::fused::X::effect`) compose the effects of the plain instructions
//!   they stand for; `JsonOp`'s names and arities come from here too.
//!
//! # Adding an instruction
//!
//! 1. Add its row to `ttbc_ops!` (byte order), with its operand kind, effect and flags; if it
//!    needs a new operand kind, add it to [`OperandKind`] (and its layout to
//!    [`OperandKind::operands`]), then handle it where the compiler says a match is not
//!    exhaustive (the verifier's code checks, the disassembler).
//! 2. Give it a decoded form: an arm in `CodeUnit::decode` and its inverse in `Ins::op`
//!    (`vm/src/interp/mod.rs`; the test `every_opcode_decodes_and_maps_back` checks the pair),
//!    and its semantics in the interpreter loop (`interp/exec.rs`) and, if compiled code
//!    delegates it, in `Run::jit_op` (`interp/native.rs`).
//! 3. Document it in the spec (`docs/spec/ttbc.md` §4) and add a verifier or interpreter test.
//!
//! Nothing else states what an instruction pops and pushes: derive it from here.

use self::flags::{CALL, END, ENV, HOME, INT, JSON, RESERVED, V2};

/// The instruction table: calls `$consumer!` with one row per TTBC instruction, in byte order
/// (see the module documentation for the row format).
macro_rules! ttbc_ops {
    ($consumer:ident) => {
        $consumer! {
            // Variant     byte  name              operand     pops   push flags
            Nop          = 0x00, "NOP",            None,       0,     0,   [];
            Pop          = 0x01, "POP",            None,       1,     0,   [];
            Dup          = 0x02, "DUP",            None,       1,     2,   [];
            Swap         = 0x03, "SWAP",           None,       2,     2,   [];
            Rot          = 0x04, "ROT",            None,       3,     3,   [];
            Const        = 0x10, "CONST",          Const,      0,     1,   [];
            ConstNil     = 0x11, "CONST_NIL",      None,       0,     1,   [];
            ConstTrue    = 0x12, "CONST_TRUE",     None,       0,     1,   [];
            ConstFalse   = 0x13, "CONST_FALSE",    None,       0,     1,   [];
            ConstZero    = 0x14, "CONST_ZERO",     None,       0,     1,   [];
            ConstOne     = 0x15, "CONST_ONE",      None,       0,     1,   [];
            ConstEmpty   = 0x16, "CONST_EMPTY",    None,       0,     1,   [];
            PushSelf     = 0x17, "PUSH_SELF",      None,       0,     1,   [ENV, V2];
            LoadLocal    = 0x20, "LOAD_LOCAL",     Local,      0,     1,   [];
            StoreLocal   = 0x21, "STORE_LOCAL",    Local,      1,     0,   [];
            LoadParam    = 0x22, "LOAD_PARAM",     Param,      0,     1,   [];
            LoadCapture  = 0x30, "LOAD_CAPTURE",   Capture,    0,     1,   [ENV];
            StoreCapture = 0x31, "STORE_CAPTURE",  Capture,    1,     0,   [ENV];
            MakeCapture  = 0x32, "MAKE_CAPTURE",   None,       1,     1,   [ENV, RESERVED, V2];
            CellGet      = 0x33, "CELL_GET",       None,       1,     1,   [ENV, V2];
            CellSet      = 0x34, "CELL_SET",       None,       2,     0,   [ENV, V2];
            LoadIvar     = 0x40, "LOAD_IVAR",      Name,       0,     1,   [ENV];
            StoreIvar    = 0x41, "STORE_IVAR",     Name,       1,     0,   [ENV];
            Add          = 0x50, "ADD",            None,       2,     1,   [INT];
            Sub          = 0x51, "SUB",            None,       2,     1,   [INT];
            Mul          = 0x52, "MUL",            None,       2,     1,   [INT];
            Div          = 0x53, "DIV",            None,       2,     1,   [INT];
            Mod          = 0x54, "MOD",            None,       2,     1,   [INT];
            Neg          = 0x55, "NEG",            None,       1,     1,   [INT];
            Eq           = 0x60, "EQ",             None,       2,     1,   [INT];
            Ne           = 0x61, "NE",             None,       2,     1,   [INT];
            Lt           = 0x62, "LT",             None,       2,     1,   [INT];
            Le           = 0x63, "LE",             None,       2,     1,   [INT];
            Gt           = 0x64, "GT",             None,       2,     1,   [INT];
            Ge           = 0x65, "GE",             None,       2,     1,   [INT];
            Not          = 0x68, "NOT",            None,       1,     1,   [];
            And          = 0x69, "AND",            None,       2,     1,   [];
            Or           = 0x6A, "OR",             None,       2,     1,   [];
            Concat       = 0x70, "CONCAT",         None,       2,     1,   [];
            Strlen       = 0x71, "STRLEN",         None,       1,     1,   [];
            Jump         = 0x80, "JUMP",           Jump,       0,     0,   [END];
            JumpTrue     = 0x81, "JUMP_TRUE",      Jump,       1,     0,   [];
            JumpFalse    = 0x82, "JUMP_FALSE",     Jump,       1,     0,   [];
            JumpNil      = 0x83, "JUMP_NIL",       Jump,       1,     0,   [];
            JumpNotNil   = 0x84, "JUMP_NOT_NIL",   Jump,       1,     0,   [];
            Send         = 0x90, "SEND",           Send,       1 + n, 1,   [CALL];
            SendSelf     = 0x91, "SEND_SELF",      Send,       1 + n, 1,   [CALL];
            SendSuper    = 0x92, "SEND_SUPER",     Send,       0 + n, 1,   [CALL];
            SendClass    = 0x93, "SEND_CLASS",     SendClass,  0 + n, 1,   [CALL];
            MakeBlock    = 0xA0, "MAKE_BLOCK",     Block,      0 + n, 1,   [HOME];
            InvokeBlock  = 0xA1, "INVOKE_BLOCK",   Argc,       1 + n, 1,   [CALL];
            BlockValue   = 0xA2, "BLOCK_VALUE",    None,       1,     1,   [CALL];
            ArrayNew     = 0xB0, "ARRAY_NEW",      None,       0,     1,   [JSON];
            ArrayPush    = 0xB1, "ARRAY_PUSH",     None,       2,     1,   [JSON];
            ArrayAt      = 0xB2, "ARRAY_AT",       None,       2,     1,   [JSON];
            ArrayAtPut   = 0xB3, "ARRAY_AT_PUT",   None,       3,     1,   [JSON];
            ArrayLen     = 0xB4, "ARRAY_LEN",      None,       1,     1,   [JSON];
            ArrayFirst   = 0xB5, "ARRAY_FIRST",    None,       1,     1,   [JSON];
            ArrayLast    = 0xB6, "ARRAY_LAST",     None,       1,     1,   [JSON];
            ArrayRemove  = 0xB7, "ARRAY_REMOVE",   None,       2,     1,   [JSON];
            ObjectNew    = 0xB8, "OBJECT_NEW",     None,       0,     1,   [JSON];
            ObjectAt     = 0xB9, "OBJECT_AT",      None,       2,     1,   [JSON];
            ObjectAtPut  = 0xBA, "OBJECT_AT_PUT",  None,       3,     1,   [JSON];
            ObjectHasKey = 0xBB, "OBJECT_HAS_KEY", None,       2,     1,   [JSON];
            ObjectKeys   = 0xBC, "OBJECT_KEYS",    None,       1,     1,   [JSON];
            ObjectValues = 0xBD, "OBJECT_VALUES",  None,       1,     1,   [JSON];
            ObjectRemove = 0xBE, "OBJECT_REMOVE",  None,       2,     1,   [JSON];
            ObjectLen    = 0xBF, "OBJECT_LEN",     None,       1,     1,   [JSON];
            Return       = 0xF0, "RETURN",         None,       1,     0,   [END];
            ReturnNil    = 0xF1, "RETURN_NIL",     None,       0,     0,   [END];
            NonLocalRet  = 0xF2, "NON_LOCAL_RET",  None,       1,     0,   [END, HOME];
        }
    };
}

/// Per-instruction flags (bits of [`Op::flags`]), stated in the table's last column.
pub mod flags {
    /// Control never falls through to the next instruction (JUMP, the returns).
    pub const END: u8 = 1 << 0;
    /// May run another activation: a send or a block invocation.
    pub const CALL: u8 = 1 << 1;
    /// Ties activations to a home: MAKE_BLOCK (the block's activations may return through
    /// this one) and NON_LOCAL_RET.
    pub const HOME: u8 = 1 << 2;
    /// Reads or writes the activation's environment beyond its registers and operand stack
    /// (the receiver's instance variables, the block's captures, the receiver itself, shared
    /// variable cells).
    pub const ENV: u8 = 1 << 3;
    /// A JSON container instruction (docs/spec/ttbc.md §12).
    pub const JSON: u8 = 1 << 4;
    /// A value operation with a small-integer fast path (arithmetic, comparison).
    pub const INT: u8 = 1 << 5;
    /// Reserved in TTBC v1: decodes, but the verifier rejects it in a version-1 chunk with
    /// `reserved opcode MAKE_CAPTURE (0x32)` (MAKE_CAPTURE; TTBC v2 gives it a meaning).
    pub const RESERVED: u8 = 1 << 6;
    /// A TTBC v2 instruction: only valid in a chunk whose header version is 2 (the verifier
    /// refuses it in a version-1 chunk, docs/spec/ttbc.md "TTBC v2").
    pub const V2: u8 = 1 << 7;
}

/// What an instruction's operand bytes mean; fixes their layout ([`OperandKind::operands`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    /// No operands.
    None,
    /// `u16` index of a text constant pushed as a value (CONST).
    Const,
    /// `u16` index of a text constant used as an instance-variable name.
    Name,
    /// `u8` local slot.
    Local,
    /// `u8` param index.
    Param,
    /// `u8` capture index.
    Capture,
    /// `i16` relative jump offset (target `pc + 3 + d`).
    Jump,
    /// `u8` argument count (INVOKE_BLOCK).
    Argc,
    /// `u16` selector constant + `u8` argument count (SEND, SEND_SELF, SEND_SUPER).
    Send,
    /// `u16` class constant + `u16` selector constant + `u8` argument count (SEND_CLASS).
    SendClass,
    /// `u16` nested-chunk constant + `u8` capture count (MAKE_BLOCK).
    Block,
}

impl OperandKind {
    /// The byte layout of operands of this kind.
    pub const fn operands(self) -> Operands {
        match self {
            OperandKind::None => Operands::None,
            OperandKind::Local | OperandKind::Param | OperandKind::Capture | OperandKind::Argc => {
                Operands::U8
            }
            OperandKind::Const | OperandKind::Name => Operands::U16,
            OperandKind::Jump => Operands::I16,
            OperandKind::Send | OperandKind::Block => Operands::U16U8,
            OperandKind::SendClass => Operands::U16U16U8,
        }
    }
}

/// The byte layout of the operands that follow an opcode byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operands {
    /// No operand bytes.
    None,
    /// One `u8` (local slot, param index, capture index, argument count).
    U8,
    /// One `u16` constant index.
    U16,
    /// One `i16` relative jump offset.
    I16,
    /// `u16` constant index + `u8` count (SEND*, MAKE_BLOCK).
    U16U8,
    /// `u16` class constant + `u16` selector constant + `u8` argc (SEND_CLASS).
    U16U16U8,
}

impl Operands {
    /// Number of operand bytes.
    pub const fn len(self) -> usize {
        match self {
            Operands::None => 0,
            Operands::U8 => 1,
            Operands::U16 | Operands::I16 => 2,
            Operands::U16U8 => 3,
            Operands::U16U16U8 => 5,
        }
    }

    /// True when there are no operand bytes.
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// `true` for the table's `+ n` marker (the count operand adds to the pops).
macro_rules! counted_marker {
    (n) => {
        true
    };
}

/// Expands the table into [`Op`], [`ALL_OPS`] and the per-opcode facts.
macro_rules! define_ops {
    ($(
        $op:ident = $byte:literal, $name:literal, $kind:ident,
        $pops:literal $(+ $n:ident)?, $pushes:literal, [$($flag:ident),*];
    )*) => {
        /// One TTBC opcode. The discriminant is the opcode byte; every fact about it comes from
        /// the table `ttbc_ops!`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($byte), "): pops ", stringify!($pops $(+ $n)?), ", pushes ", stringify!($pushes), ".")]
                $op = $byte,
            )*
        }

        /// Every defined opcode, in byte order (including the reserved `MAKE_CAPTURE`).
        pub const ALL_OPS: [Op; [$(Op::$op),*].len()] = [$(Op::$op),*];

        impl Op {
            /// The spec's upper-case name (`LOAD_PARAM`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Op::$op => $name,)*
                }
            }

            /// What the operand bytes mean.
            pub const fn operand_kind(self) -> OperandKind {
                match self {
                    $(Op::$op => OperandKind::$kind,)*
                }
            }

            /// True when the instruction's `u8` count operand (its last operand byte: argument
            /// count or capture count) adds to what it pops.
            pub const fn counted(self) -> bool {
                match self {
                    $(Op::$op => false $(|| counted_marker!($n))?,)*
                }
            }

            /// Stack effect `(pops, pushes)` for §3.4. `count` is the `u8` count operand of
            /// SEND / SEND_SELF / SEND_SUPER / SEND_CLASS / MAKE_BLOCK / INVOKE_BLOCK (ignored
            /// otherwise, see [`Op::counted`]).
            #[inline]
            pub const fn stack_effect(self, count: u8) -> (usize, usize) {
                let n = if self.counted() { count as usize } else { 0 };
                match self {
                    $(Op::$op => ($pops + n, $pushes),)*
                }
            }

            /// The instruction's [`flags`] bits.
            #[inline]
            pub const fn flags(self) -> u8 {
                match self {
                    $(Op::$op => 0 $(| $flag)*,)*
                }
            }
        }
    };
}

ttbc_ops!(define_ops);

static FROM_BYTE: [Option<Op>; 256] = {
    let mut table = [None; 256];
    let mut i = 0;
    while i < ALL_OPS.len() {
        table[ALL_OPS[i] as usize] = Some(ALL_OPS[i]);
        i += 1;
    }
    table
};

impl Op {
    /// Decodes an opcode byte; `None` for bytes that are not in the table.
    /// `0x32` (reserved `MAKE_CAPTURE`) decodes to [`Op::MakeCapture`]; the verifier rejects it.
    #[inline]
    pub fn from_byte(b: u8) -> Option<Op> {
        FROM_BYTE[b as usize]
    }

    /// The opcode byte.
    #[inline]
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// Operand layout of this opcode.
    #[inline]
    pub const fn operands(self) -> Operands {
        self.operand_kind().operands()
    }

    /// Total instruction length in bytes (opcode + operands).
    #[allow(clippy::len_without_is_empty)]
    #[inline]
    pub const fn len(self) -> usize {
        1 + self.operands().len()
    }

    /// Offset of the `u8` count operand within the operand bytes, for [`Op::counted`] opcodes.
    pub const fn count_at(self) -> Option<usize> {
        if self.counted() {
            Some(self.operands().len() - 1)
        } else {
            None
        }
    }

    /// True when every bit of `flag` is set.
    #[inline]
    pub const fn has(self, flag: u8) -> bool {
        self.flags() & flag == flag
    }

    /// True for the jump family (operand is an `i16` relative offset).
    #[inline]
    pub const fn is_jump(self) -> bool {
        matches!(self.operand_kind(), OperandKind::Jump)
    }

    /// True when control never falls through to the next instruction ([`flags::END`]).
    #[inline]
    pub const fn ends_block(self) -> bool {
        self.has(END)
    }

    /// True when the instruction may run another activation ([`flags::CALL`]).
    #[inline]
    pub const fn calls(self) -> bool {
        self.has(CALL)
    }

    /// True when a unit containing the instruction is not a leaf: it may run another
    /// activation, or ties activations to a home ([`flags::CALL`], [`flags::HOME`]).
    #[inline]
    pub const fn breaks_leaf(self) -> bool {
        self.flags() & (CALL | HOME) != 0
    }

    /// True when the instruction needs the runtime beyond the activation's registers, operand
    /// stack and constants: sends and block invocation, block creation and non-local return,
    /// instance variables and captures, JSON containers ([`flags::CALL`], [`flags::HOME`],
    /// [`flags::ENV`], [`flags::JSON`]). Compiled code hands these to the runtime.
    #[inline]
    pub const fn needs_runtime(self) -> bool {
        self.flags() & (CALL | HOME | ENV | JSON) != 0
    }

    /// True for the value operations with a small-integer fast path ([`flags::INT`]).
    #[inline]
    pub const fn is_int_op(self) -> bool {
        self.has(INT)
    }

    /// True for the opcode reserved in TTBC v1 ([`flags::RESERVED`]): the verifier rejects it
    /// in a version-1 chunk.
    #[inline]
    pub const fn is_reserved(self) -> bool {
        self.has(RESERVED)
    }

    /// True for the TTBC v2 instructions ([`flags::V2`]): valid only in a version-2 chunk.
    #[inline]
    pub const fn is_v2(self) -> bool {
        self.has(V2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_71_distinct_bytes_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for op in ALL_OPS {
            assert!(seen.insert(op.byte()), "duplicate byte {:#x}", op.byte());
            assert_eq!(Op::from_byte(op.byte()), Some(op));
        }
        assert_eq!(seen.len(), 71);
        assert_eq!(ALL_OPS.len(), 71);
        assert_eq!((0..=255u8).filter_map(Op::from_byte).count(), 71);
        assert_eq!(Op::from_byte(0x05), None);
    }

    #[test]
    fn table_is_in_byte_order() {
        assert!(ALL_OPS.windows(2).all(|w| w[0].byte() < w[1].byte()));
    }

    #[test]
    fn widths_match_spec() {
        assert_eq!(Op::SendClass.len(), 6);
        assert_eq!(Op::Send.len(), 4);
        assert_eq!(Op::Jump.len(), 3);
        assert_eq!(Op::LoadParam.len(), 2);
        assert_eq!(Op::Add.len(), 1);
    }

    #[test]
    fn counted_opcodes_end_with_their_u8_count() {
        let counted: Vec<Op> = ALL_OPS.into_iter().filter(|op| op.counted()).collect();
        assert_eq!(
            counted,
            [
                Op::Send,
                Op::SendSelf,
                Op::SendSuper,
                Op::SendClass,
                Op::MakeBlock,
                Op::InvokeBlock
            ]
        );
        for op in ALL_OPS {
            let (base, _) = op.stack_effect(0);
            assert_eq!(
                op.stack_effect(7).0,
                base + if op.counted() { 7 } else { 0 }
            );
        }
        assert_eq!(Op::SendClass.count_at(), Some(4));
        assert_eq!(Op::Send.count_at(), Some(2));
        assert_eq!(Op::InvokeBlock.count_at(), Some(0));
        assert_eq!(Op::Const.count_at(), None);
    }

    #[test]
    fn effects_and_flags_match_spec() {
        assert_eq!(Op::Send.stack_effect(2), (3, 1));
        assert_eq!(Op::SendSuper.stack_effect(2), (2, 1));
        assert_eq!(Op::InvokeBlock.stack_effect(1), (2, 1));
        assert_eq!(Op::BlockValue.stack_effect(9), (1, 1));
        assert_eq!(Op::ArrayAtPut.stack_effect(0), (3, 1));
        assert_eq!(Op::Rot.stack_effect(0), (3, 3));
        let ends: Vec<Op> = ALL_OPS.into_iter().filter(|op| op.ends_block()).collect();
        assert_eq!(ends, [Op::Jump, Op::Return, Op::ReturnNil, Op::NonLocalRet]);
        let jumps = ALL_OPS.into_iter().filter(|op| op.is_jump()).count();
        assert_eq!(jumps, 5);
        assert!(Op::MakeCapture.is_reserved());
        let v2: Vec<Op> = ALL_OPS.into_iter().filter(|op| op.is_v2()).collect();
        assert_eq!(
            v2,
            [Op::PushSelf, Op::MakeCapture, Op::CellGet, Op::CellSet]
        );
        assert!(v2.iter().all(|op| op.needs_runtime() && !op.breaks_leaf()));
        assert_eq!(Op::CellSet.stack_effect(0), (2, 0));
        assert_eq!(Op::MakeCapture.stack_effect(0), (1, 1));
        assert!(Op::BlockValue.calls() && Op::BlockValue.breaks_leaf());
        assert!(Op::MakeBlock.breaks_leaf() && !Op::MakeBlock.calls());
        assert!(Op::LoadIvar.needs_runtime() && !Op::LoadIvar.breaks_leaf());
        assert!(Op::Lt.is_int_op() && !Op::Not.is_int_op());
    }
}
