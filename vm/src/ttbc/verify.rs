//! The TTBC v1 verifier (docs/spec/ttbc.md §3.3–§3.4) and the typed error of the whole loading path (§3.1).
//!
//! [`verify`] runs, on a structurally loaded [`Chunk`]:
//! 1. the linear code pass of §3.3 (opcodes, operand widths, jump targets, every index, UTF-8 of
//!    text constants, `NON_LOCAL_RET` flag, and — at each `MAKE_BLOCK` — a full load + verify of
//!    the nested chunk, recursively, up to 64 levels);
//! 2. the stack-depth analysis of §3.4 over the reachable instructions.
//!
//! Every failure is a [`TtbcError`] whose `Display` is the spec's normative message. Nothing here
//! panics on any input: all reads are bounds-checked and all arithmetic is checked or widened.

use std::fmt;
use std::sync::Arc;

use super::chunk::{Chunk, FLAG_HAS_NON_LOCAL_RETURN, VERSION_2};
use super::load::load;
use super::opcode::{Op, OperandKind};

/// Maximum operand-stack depth after any instruction (§3.4, §7.1).
pub const MAX_STACK_DEPTH: usize = 1024;

/// Maximum `MAKE_BLOCK` nesting, counting the registered chunk as level 1 (§3.3).
pub const MAX_NESTING_DEPTH: usize = 64;

/// A field of the serialized layout, displayed with the spec's name (§3.2), e.g. `constant 3 length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `magic`
    Magic,
    /// `version`
    Version,
    /// `flags`
    Flags,
    /// `code length`
    CodeLength,
    /// `code`
    Code,
    /// `constant count`
    ConstantCount,
    /// `constant <i> length`
    ConstantLength(u16),
    /// `constant <i>`
    Constant(u16),
    /// `param count`
    ParamCount,
    /// `param <i> name length`
    ParamNameLength(u8),
    /// `param <i> name`
    ParamName(u8),
    /// `local count`
    LocalCount,
    /// `capture count`
    CaptureCount,
    /// `capture <i> name length`
    CaptureNameLength(u8),
    /// `capture <i> name`
    CaptureName(u8),
    /// `capture <i> source`
    CaptureSource(u8),
    /// `capture <i> slot`
    CaptureSlot(u8),
    /// `debug marker`
    DebugMarker,
    /// `source map count`
    SourceMapCount,
    /// `source location <i>`
    SourceLocation(u16),
    /// `var name count`
    VarNameCount,
    /// `var name <i> length`
    VarNameLength(u16),
    /// `var name <i>`
    VarName(u16),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Magic => f.write_str("magic"),
            Field::Version => f.write_str("version"),
            Field::Flags => f.write_str("flags"),
            Field::CodeLength => f.write_str("code length"),
            Field::Code => f.write_str("code"),
            Field::ConstantCount => f.write_str("constant count"),
            Field::ConstantLength(i) => write!(f, "constant {i} length"),
            Field::Constant(i) => write!(f, "constant {i}"),
            Field::ParamCount => f.write_str("param count"),
            Field::ParamNameLength(i) => write!(f, "param {i} name length"),
            Field::ParamName(i) => write!(f, "param {i} name"),
            Field::LocalCount => f.write_str("local count"),
            Field::CaptureCount => f.write_str("capture count"),
            Field::CaptureNameLength(i) => write!(f, "capture {i} name length"),
            Field::CaptureName(i) => write!(f, "capture {i} name"),
            Field::CaptureSource(i) => write!(f, "capture {i} source"),
            Field::CaptureSlot(i) => write!(f, "capture {i} slot"),
            Field::DebugMarker => f.write_str("debug marker"),
            Field::SourceMapCount => f.write_str("source map count"),
            Field::SourceLocation(i) => write!(f, "source location {i}"),
            Field::VarNameCount => f.write_str("var name count"),
            Field::VarNameLength(i) => write!(f, "var name {i} length"),
            Field::VarName(i) => write!(f, "var name {i}"),
        }
    }
}

/// Why the byte layout was rejected (§3.2). Displays as the normative reason text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StructuralReason {
    /// A field extends past the end of the data.
    #[error("unexpected end of data reading {0}")]
    UnexpectedEnd(Field),
    /// The first four bytes are not `TTBC` (value shown big-endian).
    #[error("invalid magic {0:08X}")]
    InvalidMagic(u32),
    /// The version is not 1 or 2.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u16),
    /// Reserved flag bits are set (the value shows only the reserved bits).
    #[error("reserved flag bits set: 0x{0:04X}")]
    ReservedFlags(u16),
    /// A param, capture or var name is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(Field),
    /// A capture source byte above 3.
    #[error("invalid capture source {src} for capture {index}")]
    InvalidCaptureSource {
        /// The source byte.
        src: u8,
        /// The capture index.
        index: u8,
    },
    /// An ivar capture (source 1) with an empty name.
    #[error("empty name for ivar capture {0}")]
    EmptyIvarName(u8),
    /// HAS_CAPTURES disagrees with the capture count.
    #[error("HAS_CAPTURES flag does not match capture count {0}")]
    CapturesFlagMismatch(u8),
    /// A debug marker other than 0 or 1.
    #[error("invalid debug marker {0}")]
    InvalidDebugMarker(u8),
    /// DEBUG disagrees with the debug marker.
    #[error("DEBUG flag does not match debug marker {0}")]
    DebugFlagMismatch(u8),
    /// Bytes follow the end of the chunk.
    #[error("{0} trailing byte(s) after end of chunk")]
    TrailingBytes(usize),
}

/// Why the code was rejected (§3.3, §3.4). Displays as the normative reason text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeReason {
    /// A byte that is not an opcode of §4.
    #[error("unknown opcode 0x{0:02X}")]
    UnknownOpcode(u8),
    /// The reserved `MAKE_CAPTURE` opcode.
    #[error("reserved opcode MAKE_CAPTURE (0x32)")]
    ReservedOpcode,
    /// A TTBC v2 instruction in a version-1 chunk.
    #[error("{} (0x{:02X}) requires TTBC v2 (chunk version {version})", .op.name(), .op.byte())]
    RequiresV2 {
        /// The instruction's opcode.
        op: Op,
        /// The chunk's header version.
        version: u16,
    },
    /// A `MAKE_BLOCK` whose nested chunk has a higher version than the chunk containing it.
    #[error("nested chunk version {nested} exceeds enclosing chunk version {outer}")]
    NestedVersion {
        /// The nested chunk's version.
        nested: u16,
        /// The enclosing chunk's version.
        outer: u16,
    },
    /// The operands of the last instruction run past the end of the code.
    #[error("truncated operand for {}", .0.name())]
    TruncatedOperand(Op),
    /// A jump target below 0 or above the code length.
    #[error("jump target {target} outside code (length {len})")]
    JumpOutside {
        /// The computed target `pc + 3 + d`.
        target: i64,
        /// The code length.
        len: usize,
    },
    /// A jump target inside an instruction.
    #[error("jump target {0} is not an instruction boundary")]
    JumpNotBoundary(usize),
    /// A constant index at or above the constant count.
    #[error("constant index {index} out of range ({count} constants)")]
    ConstantOutOfRange {
        /// The index operand.
        index: u16,
        /// The constant count.
        count: usize,
    },
    /// A constant used as text is not UTF-8.
    #[error("constant {0} is not valid UTF-8")]
    ConstantNotUtf8(u16),
    /// A local slot at or above the local count.
    #[error("local slot {slot} out of range ({count} locals)")]
    LocalOutOfRange {
        /// The slot operand.
        slot: u8,
        /// The local count.
        count: u8,
    },
    /// A param index at or above the param count.
    #[error("param index {index} out of range ({count} params)")]
    ParamOutOfRange {
        /// The index operand.
        index: u8,
        /// The param count.
        count: usize,
    },
    /// A capture index at or above the capture count.
    #[error("capture index {index} out of range ({count} captures)")]
    CaptureOutOfRange {
        /// The index operand.
        index: u8,
        /// The capture count.
        count: usize,
    },
    /// `MAKE_BLOCK k n` whose `n` differs from the nested chunk's capture count.
    #[error("MAKE_BLOCK capture count {count} does not match nested chunk capture count {nested}")]
    CaptureCountMismatch {
        /// The `n` operand.
        count: u8,
        /// The nested chunk's capture count.
        nested: usize,
    },
    /// A `MAKE_BLOCK` that would create a 65th nesting level.
    #[error("nested chunk depth exceeds 64")]
    NestingTooDeep,
    /// `F2` in a chunk without HAS_NON_LOCAL_RETURN.
    #[error("NON_LOCAL_RET without HAS_NON_LOCAL_RETURN flag")]
    NonLocalRetWithoutFlag,
    /// An instruction reached with fewer values than it pops.
    #[error("stack underflow: {} needs {needs} value(s), depth {depth}", .op.name())]
    StackUnderflow {
        /// The instruction's opcode.
        op: Op,
        /// Values it pops.
        needs: usize,
        /// Depth before it.
        depth: usize,
    },
    /// The depth after an instruction exceeds 1024.
    #[error("stack depth {0} exceeds limit 1024")]
    StackOverflow(usize),
    /// An offset reached with two different depths.
    #[error("inconsistent stack depth at {target}: {first} vs {second}")]
    InconsistentDepth {
        /// The merge offset.
        target: usize,
        /// The depth recorded first.
        first: usize,
        /// The conflicting depth.
        second: usize,
    },
}

/// Loader/verifier error; `Display` is the spec's exact message including its suffix (§3.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TtbcError {
    /// A structural error (§3.2) at byte offset `at` of the serialized chunk.
    #[error("{reason} at byte {at}")]
    Structural {
        /// What is wrong.
        reason: StructuralReason,
        /// Offset of the field being read.
        at: usize,
    },
    /// A code or stack error (§3.3, §3.4) at the instruction starting at `pc`.
    #[error("{reason} at code offset {pc}")]
    Code {
        /// What is wrong.
        reason: CodeReason,
        /// Offset of the instruction's opcode byte within `code`.
        pc: usize,
    },
    /// An error inside the nested chunk stored in `constant`, used by the `MAKE_BLOCK` at `pc`.
    #[error("in nested chunk (constant {constant}, MAKE_BLOCK at code offset {pc}): {inner}")]
    Nested {
        /// The constant index holding the nested chunk.
        constant: u16,
        /// Offset of the `MAKE_BLOCK` in the enclosing chunk.
        pc: usize,
        /// The nested chunk's own error (offsets relative to the nested chunk).
        inner: Box<TtbcError>,
    },
}

impl TtbcError {
    /// A structural error at byte `at`.
    pub fn structural(reason: StructuralReason, at: usize) -> TtbcError {
        TtbcError::Structural { reason, at }
    }

    /// A code error at code offset `pc`.
    pub fn code(reason: CodeReason, pc: usize) -> TtbcError {
        TtbcError::Code { reason, pc }
    }

    /// The innermost error, looking through every [`TtbcError::Nested`] wrapper.
    pub fn innermost(&self) -> &TtbcError {
        match self {
            TtbcError::Nested { inner, .. } => inner.innermost(),
            other => other,
        }
    }
}

/// A chunk that passed every check of docs/spec/ttbc.md §3, with its verified nested chunks.
///
/// Only the verifier makes one ([`verify`], [`load_verified`]): the fields are private, so a
/// `Verified` in hand is proof that its chunk passed the checks the interpreter and the JIT rely
/// on (operands in range, jump targets on instructions, stack depth within [`MAX_STACK_DEPTH`]).
/// Code outside the verifier cannot build one:
///
/// ```compile_fail,E0451
/// use tt_vm::ttbc::{Chunk, Verified};
///
/// let forged = Verified { chunk: Chunk::default(), max_stack: 0, nested: Vec::new() };
/// ```
#[derive(Debug)]
pub struct Verified {
    /// The chunk.
    chunk: Chunk,
    /// Maximum operand-stack depth found by §3.4.
    max_stack: usize,
    /// Verified nested chunks by constant index (`None` for constants not used by MAKE_BLOCK).
    nested: Vec<Option<Arc<Verified>>>,
}

impl Verified {
    /// The verified chunk.
    pub fn chunk(&self) -> &Chunk {
        &self.chunk
    }

    /// Maximum operand-stack depth found by §3.4 (at most [`MAX_STACK_DEPTH`]).
    pub fn max_stack(&self) -> usize {
        self.max_stack
    }

    /// Verified nested chunks by constant index (`None` for constants not used by MAKE_BLOCK).
    pub fn nested(&self) -> &[Option<Arc<Verified>>] {
        &self.nested
    }
}

/// Verifies a loaded chunk as a registered (level 1) chunk: code checks (§3.3), including every
/// nested chunk, then stack analysis (§3.4).
pub fn verify(chunk: Chunk) -> Result<Verified, TtbcError> {
    verify_at_level(chunk, 1)
}

/// Loads (§3.2) and verifies (§3.3–§3.4) a serialized chunk.
pub fn load_verified(bytes: &[u8]) -> Result<Arc<Verified>, TtbcError> {
    let chunk = load(bytes)?;
    verify(chunk).map(Arc::new)
}

fn verify_at_level(chunk: Chunk, level: usize) -> Result<Verified, TtbcError> {
    let nested = CodeChecker::new(&chunk, level).run()?;
    let max_stack = analyze_stack(&chunk)?;
    Ok(Verified {
        chunk,
        max_stack,
        nested,
    })
}

// ----- instruction decoding ------------------------------------------------------------------

/// One decoded instruction: its opcode, offset and operand bytes (exactly `op.operands().len()`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Insn<'a> {
    /// The opcode.
    pub op: Op,
    /// Offset of the opcode byte.
    pub pc: usize,
    /// The operand bytes.
    pub operands: &'a [u8],
}

/// Why an instruction could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The byte is not in the opcode table.
    Unknown(u8),
    /// The operands run past the end of the code.
    Truncated(Op),
}

impl DecodeError {
    fn reason(self) -> CodeReason {
        match self {
            DecodeError::Unknown(b) => CodeReason::UnknownOpcode(b),
            DecodeError::Truncated(op) => CodeReason::TruncatedOperand(op),
        }
    }
}

/// Decodes the instruction at `pc` (which must be `< code.len()`).
pub(crate) fn decode(code: &[u8], pc: usize) -> Result<Insn<'_>, DecodeError> {
    let byte = code.get(pc).copied().unwrap_or(0);
    let op = Op::from_byte(byte).ok_or(DecodeError::Unknown(byte))?;
    let start = pc.saturating_add(1);
    let end = start.saturating_add(op.operands().len());
    let operands = code.get(start..end).ok_or(DecodeError::Truncated(op))?;
    Ok(Insn { op, pc, operands })
}

impl Insn<'_> {
    /// Operand byte `i` (0 when absent; never happens for a decoded instruction).
    pub fn byte(&self, i: usize) -> u8 {
        self.operands.get(i).copied().unwrap_or(0)
    }

    /// Big-endian `u16` operand starting at operand byte `i`.
    pub fn word(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.byte(i), self.byte(i + 1)])
    }

    /// Offset of the next instruction.
    pub fn next(&self) -> usize {
        self.pc.saturating_add(self.op.len())
    }

    /// Jump target `pc + 3 + d` (for the jump family; may be negative or past the code).
    pub fn jump_target(&self) -> i64 {
        let d = i64::from(self.word(0) as i16);
        self.pc as i64 + 3 + d
    }

    /// The `u8` count operand of SEND* / MAKE_BLOCK / INVOKE_BLOCK (0 for other opcodes).
    pub fn count(&self) -> u8 {
        self.op.count_at().map_or(0, |i| self.byte(i))
    }
}

// ----- code checks (§3.3) --------------------------------------------------------------------

/// The linear pass of §3.3 over one chunk.
struct CodeChecker<'a> {
    chunk: &'a Chunk,
    level: usize,
    /// `starts[i]` is true when an instruction starts at offset `i`.
    starts: Vec<bool>,
    /// Offset of the first undecodable instruction; boundaries after it are unknown.
    stop: Option<usize>,
    nested: Vec<Option<Arc<Verified>>>,
}

impl<'a> CodeChecker<'a> {
    fn new(chunk: &'a Chunk, level: usize) -> CodeChecker<'a> {
        let code = &chunk.code;
        let mut starts = vec![false; code.len()];
        let mut stop = None;
        let mut pc = 0;
        while pc < code.len() {
            starts[pc] = true;
            match decode(code, pc) {
                Ok(insn) => pc = insn.next(),
                Err(_) => {
                    stop = Some(pc);
                    break;
                }
            }
        }
        CodeChecker {
            chunk,
            level,
            starts,
            stop,
            nested: vec![None; chunk.constants.len()],
        }
    }

    fn run(mut self) -> Result<Vec<Option<Arc<Verified>>>, TtbcError> {
        let code = &self.chunk.code;
        let mut pc = 0;
        while pc < code.len() {
            let insn = decode(code, pc).map_err(|e| TtbcError::code(e.reason(), pc))?;
            self.check(&insn)?;
            pc = insn.next();
        }
        Ok(self.nested)
    }

    fn check(&mut self, insn: &Insn<'_>) -> Result<(), TtbcError> {
        let at = |reason| TtbcError::code(reason, insn.pc);
        if insn.op.is_v2() && self.chunk.version < VERSION_2 {
            if insn.op.is_reserved() {
                return Err(at(CodeReason::ReservedOpcode));
            }
            let version = self.chunk.version;
            return Err(at(CodeReason::RequiresV2 {
                op: insn.op,
                version,
            }));
        }
        if insn.op == Op::NonLocalRet && self.chunk.flags & FLAG_HAS_NON_LOCAL_RETURN == 0 {
            return Err(at(CodeReason::NonLocalRetWithoutFlag));
        }
        match insn.op.operand_kind() {
            OperandKind::None | OperandKind::Argc => Ok(()),
            OperandKind::Const | OperandKind::Name | OperandKind::Send => {
                self.text_constant(insn.word(0)).map_err(at)
            }
            OperandKind::SendClass => {
                self.text_constant(insn.word(0)).map_err(at)?;
                self.text_constant(insn.word(2)).map_err(at)
            }
            OperandKind::Local => self.local(insn.byte(0)).map_err(at),
            OperandKind::Param => self.param(insn.byte(0)).map_err(at),
            OperandKind::Capture => self.capture(insn.byte(0)).map_err(at),
            OperandKind::Block => self.make_block(insn),
            OperandKind::Jump => self.jump(insn.jump_target()).map_err(at),
        }
    }

    fn constant(&self, index: u16) -> Result<&'a [u8], CodeReason> {
        self.chunk
            .constants
            .get(usize::from(index))
            .map(Vec::as_slice)
            .ok_or(CodeReason::ConstantOutOfRange {
                index,
                count: self.chunk.constants.len(),
            })
    }

    fn text_constant(&self, index: u16) -> Result<(), CodeReason> {
        let bytes = self.constant(index)?;
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(_) => Err(CodeReason::ConstantNotUtf8(index)),
        }
    }

    fn local(&self, slot: u8) -> Result<(), CodeReason> {
        let count = self.chunk.local_count;
        if slot < count {
            Ok(())
        } else {
            Err(CodeReason::LocalOutOfRange { slot, count })
        }
    }

    fn param(&self, index: u8) -> Result<(), CodeReason> {
        let count = self.chunk.params.len();
        if usize::from(index) < count {
            Ok(())
        } else {
            Err(CodeReason::ParamOutOfRange { index, count })
        }
    }

    fn capture(&self, index: u8) -> Result<(), CodeReason> {
        let count = self.chunk.captures.len();
        if usize::from(index) < count {
            Ok(())
        } else {
            Err(CodeReason::CaptureOutOfRange { index, count })
        }
    }

    fn jump(&self, target: i64) -> Result<(), CodeReason> {
        let len = self.chunk.code.len();
        let t = usize::try_from(target)
            .ok()
            .filter(|&t| t <= len)
            .ok_or(CodeReason::JumpOutside { target, len })?;
        if t == len || self.starts.get(t).copied().unwrap_or(false) {
            return Ok(());
        }
        // Past the first undecodable instruction boundaries are unknown; the linear pass
        // reports that instruction's error when it gets there.
        match self.stop {
            Some(stop) if t > stop => Ok(()),
            _ => Err(CodeReason::JumpNotBoundary(t)),
        }
    }

    fn make_block(&mut self, insn: &Insn<'_>) -> Result<(), TtbcError> {
        let (k, n, pc) = (insn.word(0), insn.count(), insn.pc);
        self.constant(k).map_err(|r| TtbcError::code(r, pc))?;
        if self.level >= MAX_NESTING_DEPTH {
            return Err(TtbcError::code(CodeReason::NestingTooDeep, pc));
        }
        let nested = self.nested_chunk(k, pc)?;
        if nested.chunk.version > self.chunk.version {
            let reason = CodeReason::NestedVersion {
                nested: nested.chunk.version,
                outer: self.chunk.version,
            };
            return Err(TtbcError::code(reason, pc));
        }
        let declared = nested.chunk.captures.len();
        if usize::from(n) != declared {
            let reason = CodeReason::CaptureCountMismatch {
                count: n,
                nested: declared,
            };
            return Err(TtbcError::code(reason, pc));
        }
        Ok(())
    }

    /// Loads and verifies constant `k` as a nested chunk (once per constant).
    fn nested_chunk(&mut self, k: u16, pc: usize) -> Result<Arc<Verified>, TtbcError> {
        let slot = usize::from(k);
        if let Some(Some(done)) = self.nested.get(slot) {
            return Ok(done.clone());
        }
        let wrap = |inner| TtbcError::Nested {
            constant: k,
            pc,
            inner: Box::new(inner),
        };
        let bytes = self.constant(k).map_err(|r| TtbcError::code(r, pc))?;
        let chunk = load(bytes).map_err(wrap)?;
        let verified = Arc::new(verify_at_level(chunk, self.level + 1).map_err(wrap)?);
        if let Some(entry) = self.nested.get_mut(slot) {
            *entry = Some(verified.clone());
        }
        Ok(verified)
    }
}

// ----- stack analysis (§3.4) -----------------------------------------------------------------

/// Abstract interpretation of the operand-stack depth; returns the maximum depth.
/// Must run after the code checks (it relies on decodable code and valid jump targets, and
/// reports a code error rather than panicking if that is not so).
fn analyze_stack(chunk: &Chunk) -> Result<usize, TtbcError> {
    let code = &chunk.code;
    let len = code.len();
    if len == 0 {
        return Ok(0);
    }
    let mut depth_at: Vec<Option<usize>> = vec![None; len];
    depth_at[0] = Some(0);
    let mut work = vec![0usize];
    let mut max = 0;
    while let Some(pc) = work.pop() {
        let depth = depth_at.get(pc).copied().flatten().unwrap_or(0);
        let insn = decode(code, pc).map_err(|e| TtbcError::code(e.reason(), pc))?;
        let after = depth_after(&insn, depth)?;
        max = max.max(after);
        for succ in successors(&insn, len)? {
            merge(&mut depth_at, &mut work, succ, after, pc)?;
        }
    }
    Ok(max)
}

/// Applies the stack effect of `insn` to `depth`, checking underflow and the depth limit.
fn depth_after(insn: &Insn<'_>, depth: usize) -> Result<usize, TtbcError> {
    let (pops, pushes) = insn.op.stack_effect(insn.count());
    if depth < pops {
        let reason = CodeReason::StackUnderflow {
            op: insn.op,
            needs: pops,
            depth,
        };
        return Err(TtbcError::code(reason, insn.pc));
    }
    let after = depth - pops + pushes;
    if after > MAX_STACK_DEPTH {
        return Err(TtbcError::code(CodeReason::StackOverflow(after), insn.pc));
    }
    Ok(after)
}

/// Successor offsets of `insn` that are inside the code (reaching `len` ends a path).
fn successors(insn: &Insn<'_>, len: usize) -> Result<Vec<usize>, TtbcError> {
    let mut out = Vec::with_capacity(2);
    if !insn.op.ends_block() {
        out.push(insn.next());
    }
    if insn.op.is_jump() {
        let target = insn.jump_target();
        let t = usize::try_from(target)
            .ok()
            .filter(|&t| t <= len)
            .ok_or(TtbcError::code(
                CodeReason::JumpOutside { target, len },
                insn.pc,
            ))?;
        out.push(t);
    }
    out.retain(|&s| s < len);
    Ok(out)
}

/// Records depth `depth` at `succ`, queueing it when new; reports a conflicting depth at `pc`.
fn merge(
    depth_at: &mut [Option<usize>],
    work: &mut Vec<usize>,
    succ: usize,
    depth: usize,
    pc: usize,
) -> Result<(), TtbcError> {
    let Some(entry) = depth_at.get_mut(succ) else {
        return Ok(());
    };
    match *entry {
        None => {
            *entry = Some(depth);
            work.push(succ);
            Ok(())
        }
        Some(first) if first != depth => {
            let reason = CodeReason::InconsistentDepth {
                target: succ,
                first,
                second: depth,
            };
            Err(TtbcError::code(reason, pc))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttbc::chunk::{CaptureDesc, CaptureSource, FLAG_HAS_CAPTURES};
    use crate::ttbc::write::serialize;

    fn chunk(code: &[u8]) -> Chunk {
        Chunk {
            version: 1,
            code: code.to_vec(),
            ..Chunk::default()
        }
    }

    fn err(c: Chunk) -> String {
        verify(c).unwrap_err().to_string()
    }

    #[test]
    fn empty_code_verifies_with_depth_zero() {
        assert_eq!(verify(chunk(&[])).unwrap().max_stack, 0);
    }

    #[test]
    fn decode_reports_unknown_and_truncated() {
        assert_eq!(decode(&[0x05], 0).unwrap_err(), DecodeError::Unknown(5));
        assert_eq!(
            decode(&[0x90, 0, 0], 0).unwrap_err(),
            DecodeError::Truncated(Op::Send)
        );
        let insn = decode(&[0x80, 0xFF, 0xE8], 0).unwrap();
        assert_eq!(insn.jump_target(), -21);
    }

    #[test]
    fn jump_into_unknown_region_reports_the_unknown_opcode() {
        // JUMP +2 -> 5, code: 80 00 02 | 05 | 00 00: boundaries after 3 are unknown.
        let msg = err(chunk(&[0x80, 0x00, 0x02, 0x05, 0x00, 0x00]));
        assert_eq!(msg, "unknown opcode 0x05 at code offset 3");
    }

    #[test]
    fn jump_to_code_len_is_allowed() {
        let v = verify(chunk(&[0x12, 0x82, 0x00, 0x00])).unwrap();
        assert_eq!(v.max_stack, 1);
    }

    #[test]
    fn backward_loop_with_consistent_depth() {
        // 0: NOP; 1: JUMP -4 -> 0
        let v = verify(chunk(&[0x00, 0x80, 0xFF, 0xFC])).unwrap();
        assert_eq!(v.max_stack, 0);
    }

    #[test]
    fn loop_growing_the_stack_is_inconsistent() {
        // 0: CONST_NIL; 1: JUMP -4 -> 0 (depth 1 vs 0)
        assert_eq!(
            err(chunk(&[0x11, 0x80, 0xFF, 0xFC])),
            "inconsistent stack depth at 0: 0 vs 1 at code offset 1"
        );
    }

    #[test]
    fn nested_chunks_are_cached_per_constant() {
        let inner = serialize(&Chunk {
            version: 1,
            flags: FLAG_HAS_CAPTURES,
            captures: vec![CaptureDesc {
                name: "x".into(),
                source: CaptureSource::Local,
                slot: 0,
            }],
            code: vec![0x30, 0x00, 0xF0],
            ..Chunk::default()
        })
        .unwrap();
        let outer = Chunk {
            version: 1,
            code: vec![0x11, 0xA0, 0, 0, 1, 0x01, 0x11, 0xA0, 0, 0, 1, 0xF0],
            constants: vec![inner, b"text".to_vec()],
            ..Chunk::default()
        };
        let v = verify(outer).unwrap();
        assert!(v.nested[0].is_some());
        assert!(v.nested[1].is_none());
        assert_eq!(v.nested[0].as_ref().unwrap().max_stack, 1);
    }

    #[test]
    fn innermost_looks_through_wrappers() {
        let e = TtbcError::Nested {
            constant: 0,
            pc: 2,
            inner: Box::new(TtbcError::code(CodeReason::ReservedOpcode, 1)),
        };
        assert_eq!(
            e.innermost().to_string(),
            "reserved opcode MAKE_CAPTURE (0x32) at code offset 1"
        );
    }

    #[test]
    fn field_names_match_spec() {
        assert_eq!(Field::ConstantLength(3).to_string(), "constant 3 length");
        assert_eq!(Field::CaptureSlot(1).to_string(), "capture 1 slot");
        assert_eq!(Field::VarNameLength(2).to_string(), "var name 2 length");
        assert_eq!(Field::SourceLocation(0).to_string(), "source location 0");
    }
}
