//! The in-memory form of one TTBC chunk (v1, or v2 with the same layout) (docs/spec/ttbc.md §2), exactly as serialized.
//!
//! A [`Chunk`] holds every field of the byte layout, including the raw `flags` word, so that
//! loading and re-serializing reproduces the input bytes exactly (§2.5). Semantic checks live in
//! the verifier; a `Chunk` that has not been verified must never be executed.

/// Flag bit: a debug section follows the debug marker.
pub const FLAG_DEBUG: u16 = 0x0001;
/// Flag bit: the chunk declares at least one capture.
pub const FLAG_HAS_CAPTURES: u16 = 0x0002;
/// Flag bit: the chunk's code may contain `NON_LOCAL_RET`.
pub const FLAG_HAS_NON_LOCAL_RETURN: u16 = 0x0004;
/// Reserved flag bits; must be zero.
pub const FLAG_RESERVED: u16 = 0xFFF8;
/// The four magic bytes `TTBC`.
pub const MAGIC: [u8; 4] = *b"TTBC";
/// Format version 1: the version the Bash runtime and the Go original write (docs/spec/ttbc.md §2).
pub const VERSION: u16 = 1;
/// Format version 2: v1's layout plus the v2 instructions (docs/spec/ttbc.md, part "TTBC v2").
pub const VERSION_2: u16 = 2;
/// The highest version the loader accepts.
pub const MAX_VERSION: u16 = VERSION_2;

/// Where a capture cell's initial value comes from (§2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CaptureSource {
    /// A local of the creating scope (by value).
    Local = 0,
    /// An instance variable of the creating activation's self (reads/writes go through).
    Ivar = 1,
    /// A capture cell of the creating block (by value).
    Capture = 2,
    /// A parameter of the creating scope (by value).
    Param = 3,
}

impl CaptureSource {
    /// Decodes a source byte; `None` for values above 3.
    pub fn from_byte(b: u8) -> Option<CaptureSource> {
        match b {
            0 => Some(CaptureSource::Local),
            1 => Some(CaptureSource::Ivar),
            2 => Some(CaptureSource::Capture),
            3 => Some(CaptureSource::Param),
            _ => None,
        }
    }
}

/// One capture descriptor (§2.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CaptureDesc {
    /// Variable name (UTF-8; may be empty except for ivar captures).
    pub name: String,
    /// Source of the cell's value.
    pub source: CaptureSource,
    /// Informational slot index.
    pub slot: u8,
}

/// One source-map entry of the debug section (§2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SrcLoc {
    /// Offset of an instruction within `code`.
    pub code_offset: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u16,
}

/// The optional debug section (§2.4). Never changes execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DebugInfo {
    /// Source-map entries.
    pub srcmap: Vec<SrcLoc>,
    /// Names of local slots.
    pub varnames: Vec<String>,
}

/// One chunk, field for field (§2.1).
///
/// Invariant kept by the loader: `params.len() <= 255`, `captures.len() <= 255`,
/// `constants.len() <= 65535`, each constant ≤ 65535 bytes. Flag consistency is checked by the
/// loader/verifier, not by this type, so a writer can also emit deliberately malformed chunks
/// for tests.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chunk {
    /// Format version of the header (1 or 2). Version 2 allows the v2 instructions
    /// ([`crate::ttbc::opcode::flags::V2`]); the layout is the same.
    pub version: u16,
    /// Raw flags word (kept verbatim for a byte-exact round trip).
    pub flags: u16,
    /// Instruction stream.
    pub code: Vec<u8>,
    /// Constant pool: raw byte strings (text, or serialized nested chunks for MAKE_BLOCK).
    pub constants: Vec<Vec<u8>>,
    /// Parameter names.
    pub params: Vec<String>,
    /// Number of local slots.
    pub local_count: u8,
    /// Capture descriptors, in capture-index order.
    pub captures: Vec<CaptureDesc>,
    /// Debug section, present iff the debug marker is 1.
    pub debug: Option<DebugInfo>,
}

impl Default for Chunk {
    /// An empty version-1 chunk.
    fn default() -> Chunk {
        Chunk {
            version: VERSION,
            flags: 0,
            code: Vec::new(),
            constants: Vec::new(),
            params: Vec::new(),
            local_count: 0,
            captures: Vec::new(),
            debug: None,
        }
    }
}

impl Chunk {
    /// True when the HAS_NON_LOCAL_RETURN flag is set.
    pub fn has_non_local_return(&self) -> bool {
        self.flags & FLAG_HAS_NON_LOCAL_RETURN != 0
    }

    /// Number of parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Computes the flags word a writer must emit for this chunk's data (§2.5 rule 3):
    /// DEBUG and HAS_CAPTURES from the data, HAS_NON_LOCAL_RETURN kept if already set and
    /// added when `contains_non_local_ret` is true.
    pub fn canonical_flags(&self, contains_non_local_ret: bool) -> u16 {
        let mut f = self.flags & FLAG_HAS_NON_LOCAL_RETURN;
        if self.debug.is_some() {
            f |= FLAG_DEBUG;
        }
        if !self.captures.is_empty() {
            f |= FLAG_HAS_CAPTURES;
        }
        if contains_non_local_ret {
            f |= FLAG_HAS_NON_LOCAL_RETURN;
        }
        f
    }
}
