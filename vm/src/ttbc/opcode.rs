//! The TTBC v1 opcode table (docs/spec/ttbc.md §4): byte values, names, operand widths and stack effects.
//!
//! This table is the single source of truth for the loader, verifier, disassembler, compiler,
//! interpreter decoder and JIT. Operand widths are exact; stack effects are the pop/push counts
//! used by the verifier's depth analysis (§3.4).

/// One TTBC opcode. The discriminant is the opcode byte.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    Nop = 0x00,
    Pop = 0x01,
    Dup = 0x02,
    Swap = 0x03,
    Rot = 0x04,
    Const = 0x10,
    ConstNil = 0x11,
    ConstTrue = 0x12,
    ConstFalse = 0x13,
    ConstZero = 0x14,
    ConstOne = 0x15,
    ConstEmpty = 0x16,
    LoadLocal = 0x20,
    StoreLocal = 0x21,
    LoadParam = 0x22,
    LoadCapture = 0x30,
    StoreCapture = 0x31,
    MakeCapture = 0x32,
    LoadIvar = 0x40,
    StoreIvar = 0x41,
    Add = 0x50,
    Sub = 0x51,
    Mul = 0x52,
    Div = 0x53,
    Mod = 0x54,
    Neg = 0x55,
    Eq = 0x60,
    Ne = 0x61,
    Lt = 0x62,
    Le = 0x63,
    Gt = 0x64,
    Ge = 0x65,
    Not = 0x68,
    And = 0x69,
    Or = 0x6A,
    Concat = 0x70,
    Strlen = 0x71,
    Jump = 0x80,
    JumpTrue = 0x81,
    JumpFalse = 0x82,
    JumpNil = 0x83,
    JumpNotNil = 0x84,
    Send = 0x90,
    SendSelf = 0x91,
    SendSuper = 0x92,
    SendClass = 0x93,
    MakeBlock = 0xA0,
    InvokeBlock = 0xA1,
    BlockValue = 0xA2,
    ArrayNew = 0xB0,
    ArrayPush = 0xB1,
    ArrayAt = 0xB2,
    ArrayAtPut = 0xB3,
    ArrayLen = 0xB4,
    ArrayFirst = 0xB5,
    ArrayLast = 0xB6,
    ArrayRemove = 0xB7,
    ObjectNew = 0xB8,
    ObjectAt = 0xB9,
    ObjectAtPut = 0xBA,
    ObjectHasKey = 0xBB,
    ObjectKeys = 0xBC,
    ObjectValues = 0xBD,
    ObjectRemove = 0xBE,
    ObjectLen = 0xBF,
    Return = 0xF0,
    ReturnNil = 0xF1,
    NonLocalRet = 0xF2,
}

/// The kind of operand bytes that follow an opcode byte.
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

/// Every defined opcode, in byte order (68 entries including the reserved `MAKE_CAPTURE`).
pub const ALL_OPS: [Op; 68] = [
    Op::Nop,
    Op::Pop,
    Op::Dup,
    Op::Swap,
    Op::Rot,
    Op::Const,
    Op::ConstNil,
    Op::ConstTrue,
    Op::ConstFalse,
    Op::ConstZero,
    Op::ConstOne,
    Op::ConstEmpty,
    Op::LoadLocal,
    Op::StoreLocal,
    Op::LoadParam,
    Op::LoadCapture,
    Op::StoreCapture,
    Op::MakeCapture,
    Op::LoadIvar,
    Op::StoreIvar,
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Mod,
    Op::Neg,
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Not,
    Op::And,
    Op::Or,
    Op::Concat,
    Op::Strlen,
    Op::Jump,
    Op::JumpTrue,
    Op::JumpFalse,
    Op::JumpNil,
    Op::JumpNotNil,
    Op::Send,
    Op::SendSelf,
    Op::SendSuper,
    Op::SendClass,
    Op::MakeBlock,
    Op::InvokeBlock,
    Op::BlockValue,
    Op::ArrayNew,
    Op::ArrayPush,
    Op::ArrayAt,
    Op::ArrayAtPut,
    Op::ArrayLen,
    Op::ArrayFirst,
    Op::ArrayLast,
    Op::ArrayRemove,
    Op::ObjectNew,
    Op::ObjectAt,
    Op::ObjectAtPut,
    Op::ObjectHasKey,
    Op::ObjectKeys,
    Op::ObjectValues,
    Op::ObjectRemove,
    Op::ObjectLen,
    Op::Return,
    Op::ReturnNil,
    Op::NonLocalRet,
];

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

    /// The spec's upper-case name (`LOAD_PARAM`).
    pub const fn name(self) -> &'static str {
        match self {
            Op::Nop => "NOP",
            Op::Pop => "POP",
            Op::Dup => "DUP",
            Op::Swap => "SWAP",
            Op::Rot => "ROT",
            Op::Const => "CONST",
            Op::ConstNil => "CONST_NIL",
            Op::ConstTrue => "CONST_TRUE",
            Op::ConstFalse => "CONST_FALSE",
            Op::ConstZero => "CONST_ZERO",
            Op::ConstOne => "CONST_ONE",
            Op::ConstEmpty => "CONST_EMPTY",
            Op::LoadLocal => "LOAD_LOCAL",
            Op::StoreLocal => "STORE_LOCAL",
            Op::LoadParam => "LOAD_PARAM",
            Op::LoadCapture => "LOAD_CAPTURE",
            Op::StoreCapture => "STORE_CAPTURE",
            Op::MakeCapture => "MAKE_CAPTURE",
            Op::LoadIvar => "LOAD_IVAR",
            Op::StoreIvar => "STORE_IVAR",
            Op::Add => "ADD",
            Op::Sub => "SUB",
            Op::Mul => "MUL",
            Op::Div => "DIV",
            Op::Mod => "MOD",
            Op::Neg => "NEG",
            Op::Eq => "EQ",
            Op::Ne => "NE",
            Op::Lt => "LT",
            Op::Le => "LE",
            Op::Gt => "GT",
            Op::Ge => "GE",
            Op::Not => "NOT",
            Op::And => "AND",
            Op::Or => "OR",
            Op::Concat => "CONCAT",
            Op::Strlen => "STRLEN",
            Op::Jump => "JUMP",
            Op::JumpTrue => "JUMP_TRUE",
            Op::JumpFalse => "JUMP_FALSE",
            Op::JumpNil => "JUMP_NIL",
            Op::JumpNotNil => "JUMP_NOT_NIL",
            Op::Send => "SEND",
            Op::SendSelf => "SEND_SELF",
            Op::SendSuper => "SEND_SUPER",
            Op::SendClass => "SEND_CLASS",
            Op::MakeBlock => "MAKE_BLOCK",
            Op::InvokeBlock => "INVOKE_BLOCK",
            Op::BlockValue => "BLOCK_VALUE",
            Op::ArrayNew => "ARRAY_NEW",
            Op::ArrayPush => "ARRAY_PUSH",
            Op::ArrayAt => "ARRAY_AT",
            Op::ArrayAtPut => "ARRAY_AT_PUT",
            Op::ArrayLen => "ARRAY_LEN",
            Op::ArrayFirst => "ARRAY_FIRST",
            Op::ArrayLast => "ARRAY_LAST",
            Op::ArrayRemove => "ARRAY_REMOVE",
            Op::ObjectNew => "OBJECT_NEW",
            Op::ObjectAt => "OBJECT_AT",
            Op::ObjectAtPut => "OBJECT_AT_PUT",
            Op::ObjectHasKey => "OBJECT_HAS_KEY",
            Op::ObjectKeys => "OBJECT_KEYS",
            Op::ObjectValues => "OBJECT_VALUES",
            Op::ObjectRemove => "OBJECT_REMOVE",
            Op::ObjectLen => "OBJECT_LEN",
            Op::Return => "RETURN",
            Op::ReturnNil => "RETURN_NIL",
            Op::NonLocalRet => "NON_LOCAL_RET",
        }
    }

    /// Operand layout of this opcode.
    pub const fn operands(self) -> Operands {
        match self {
            Op::Const | Op::LoadIvar | Op::StoreIvar => Operands::U16,
            Op::LoadLocal
            | Op::StoreLocal
            | Op::LoadParam
            | Op::LoadCapture
            | Op::StoreCapture
            | Op::InvokeBlock => Operands::U8,
            Op::Jump | Op::JumpTrue | Op::JumpFalse | Op::JumpNil | Op::JumpNotNil => Operands::I16,
            Op::Send | Op::SendSelf | Op::SendSuper | Op::MakeBlock => Operands::U16U8,
            Op::SendClass => Operands::U16U16U8,
            _ => Operands::None,
        }
    }

    /// Total instruction length in bytes (opcode + operands).
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        1 + self.operands().len()
    }

    /// True for the jump family (operand is an `i16` relative offset).
    pub const fn is_jump(self) -> bool {
        matches!(self.operands(), Operands::I16)
    }

    /// True when control never falls through to the next instruction.
    pub const fn ends_block(self) -> bool {
        matches!(
            self,
            Op::Jump | Op::Return | Op::ReturnNil | Op::NonLocalRet
        )
    }

    /// Stack effect `(pops, pushes)` for §3.4. `count` is the `u8` count operand of
    /// SEND / SEND_SELF / SEND_SUPER / SEND_CLASS / MAKE_BLOCK / INVOKE_BLOCK (ignored otherwise).
    pub const fn stack_effect(self, count: u8) -> (usize, usize) {
        let n = count as usize;
        match self {
            Op::Nop | Op::Jump | Op::MakeCapture => (0, 0),
            Op::Pop | Op::StoreLocal | Op::StoreCapture | Op::StoreIvar => (1, 0),
            Op::Dup => (1, 2),
            Op::Swap => (2, 2),
            Op::Rot => (3, 3),
            Op::Const
            | Op::ConstNil
            | Op::ConstTrue
            | Op::ConstFalse
            | Op::ConstZero
            | Op::ConstOne
            | Op::ConstEmpty
            | Op::LoadLocal
            | Op::LoadParam
            | Op::LoadCapture
            | Op::LoadIvar
            | Op::ArrayNew
            | Op::ObjectNew => (0, 1),
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Mod
            | Op::Eq
            | Op::Ne
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::And
            | Op::Or
            | Op::Concat
            | Op::ArrayPush
            | Op::ArrayAt
            | Op::ArrayRemove
            | Op::ObjectAt
            | Op::ObjectHasKey
            | Op::ObjectRemove => (2, 1),
            Op::Neg
            | Op::Not
            | Op::Strlen
            | Op::BlockValue
            | Op::ArrayLen
            | Op::ArrayFirst
            | Op::ArrayLast
            | Op::ObjectKeys
            | Op::ObjectValues
            | Op::ObjectLen => (1, 1),
            Op::ArrayAtPut | Op::ObjectAtPut => (3, 1),
            Op::JumpTrue | Op::JumpFalse | Op::JumpNil | Op::JumpNotNil => (1, 0),
            Op::Send | Op::SendSelf | Op::InvokeBlock => (1 + n, 1),
            Op::SendSuper | Op::SendClass | Op::MakeBlock => (n, 1),
            Op::Return | Op::NonLocalRet => (1, 0),
            Op::ReturnNil => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_68_distinct_bytes_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for op in ALL_OPS {
            assert!(seen.insert(op.byte()), "duplicate byte {:#x}", op.byte());
            assert_eq!(Op::from_byte(op.byte()), Some(op));
        }
        assert_eq!(seen.len(), 68);
        assert_eq!((0..=255u8).filter_map(Op::from_byte).count(), 68);
        assert_eq!(Op::from_byte(0x05), None);
    }

    #[test]
    fn widths_match_spec() {
        assert_eq!(Op::SendClass.len(), 6);
        assert_eq!(Op::Send.len(), 4);
        assert_eq!(Op::Jump.len(), 3);
        assert_eq!(Op::LoadParam.len(), 2);
        assert_eq!(Op::Add.len(), 1);
    }
}
