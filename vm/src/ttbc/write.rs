//! The TTBC v1 serializer (docs/spec/ttbc.md §2.5).
//!
//! [`serialize`] writes a [`Chunk`] field for field with its flags word as given, so a loaded
//! chunk re-serializes byte-exactly (and tests can emit deliberately inconsistent flags).
//! [`serialize_canonical`] first fixes DEBUG / HAS_CAPTURES / HAS_NON_LOCAL_RETURN from the data
//! (§2.5 rule 3); the compiler uses it. Both refuse only what the format cannot encode.

use std::fmt;

use super::chunk::{CaptureDesc, Chunk, DebugInfo, MAGIC};
use super::opcode::Op;
use super::verify::decode;

/// Which kind of length-prefixed name was too long to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A parameter name.
    Param,
    /// A capture name.
    Capture,
    /// A debug var name.
    VarName,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Param => "param",
            NameKind::Capture => "capture",
            NameKind::VarName => "var",
        })
    }
}

/// Why a chunk cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// `code` is longer than `u32::MAX` bytes.
    #[error("code is {0} bytes long; at most 4294967295 can be encoded")]
    CodeTooLong(usize),
    /// More than 65 535 constants.
    #[error("{0} constants; at most 65535 can be encoded")]
    TooManyConstants(usize),
    /// A constant longer than 65 535 bytes.
    #[error("constant {index} is {len} bytes long; at most 65535 can be encoded")]
    ConstantTooLong {
        /// The constant index.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// More than 255 parameters.
    #[error("{0} params; at most 255 can be encoded")]
    TooManyParams(usize),
    /// More than 255 captures.
    #[error("{0} captures; at most 255 can be encoded")]
    TooManyCaptures(usize),
    /// A name longer than 255 bytes.
    #[error("{kind} name {index} is {len} bytes long; at most 255 can be encoded")]
    NameTooLong {
        /// Which list the name belongs to.
        kind: NameKind,
        /// Its index in that list.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// More than 65 535 source-map entries.
    #[error("{0} source locations; at most 65535 can be encoded")]
    TooManySourceLocations(usize),
    /// More than 65 535 debug var names.
    #[error("{0} var names; at most 65535 can be encoded")]
    TooManyVarNames(usize),
}

/// Serializes a chunk (§2.1 field order), writing `chunk.flags` verbatim.
pub fn serialize(chunk: &Chunk) -> Result<Vec<u8>, WriteError> {
    write_chunk(chunk, chunk.flags)
}

/// Serializes a chunk after setting DEBUG and HAS_CAPTURES from the data and adding
/// HAS_NON_LOCAL_RETURN when the code contains `NON_LOCAL_RET` (§2.5 rule 3).
pub fn serialize_canonical(chunk: &Chunk) -> Result<Vec<u8>, WriteError> {
    let flags = chunk.canonical_flags(contains_non_local_ret(&chunk.code));
    write_chunk(chunk, flags)
}

/// True when an instruction of `code` (decoded linearly from offset 0) is `NON_LOCAL_RET`.
/// Decoding stops at the first unknown opcode or truncated operand.
pub fn contains_non_local_ret(code: &[u8]) -> bool {
    let mut pc = 0;
    while pc < code.len() {
        match decode(code, pc) {
            Ok(insn) if insn.op == Op::NonLocalRet => return true,
            Ok(insn) => pc = insn.next(),
            Err(_) => return false,
        }
    }
    false
}

fn write_chunk(chunk: &Chunk, flags: u16) -> Result<Vec<u8>, WriteError> {
    let mut w = Writer(Vec::with_capacity(estimate_len(chunk)));
    w.bytes(&MAGIC);
    w.u16(chunk.version);
    w.u16(flags);
    let code_len =
        u32::try_from(chunk.code.len()).map_err(|_| WriteError::CodeTooLong(chunk.code.len()))?;
    w.u32(code_len);
    w.bytes(&chunk.code);
    write_constants(&mut w, &chunk.constants)?;
    write_params(&mut w, &chunk.params)?;
    w.u8(chunk.local_count);
    write_captures(&mut w, &chunk.captures)?;
    match &chunk.debug {
        None => w.u8(0),
        Some(debug) => {
            w.u8(1);
            write_debug(&mut w, debug)?;
        }
    }
    Ok(w.0)
}

fn estimate_len(chunk: &Chunk) -> usize {
    let consts: usize = chunk.constants.iter().map(|c| c.len() + 2).sum();
    20 + chunk.code.len() + consts + chunk.params.len() * 8 + chunk.captures.len() * 10
}

/// A big-endian byte sink.
struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// A `u8` length-prefixed name.
    fn name(&mut self, name: &str, kind: NameKind, index: usize) -> Result<(), WriteError> {
        let len = u8::try_from(name.len()).map_err(|_| WriteError::NameTooLong {
            kind,
            index,
            len: name.len(),
        })?;
        self.u8(len);
        self.bytes(name.as_bytes());
        Ok(())
    }
}

fn write_constants(w: &mut Writer, constants: &[Vec<u8>]) -> Result<(), WriteError> {
    let count = u16::try_from(constants.len())
        .map_err(|_| WriteError::TooManyConstants(constants.len()))?;
    w.u16(count);
    for (index, c) in constants.iter().enumerate() {
        let len = u16::try_from(c.len()).map_err(|_| WriteError::ConstantTooLong {
            index,
            len: c.len(),
        })?;
        w.u16(len);
        w.bytes(c);
    }
    Ok(())
}

fn write_params(w: &mut Writer, params: &[String]) -> Result<(), WriteError> {
    let count = u8::try_from(params.len()).map_err(|_| WriteError::TooManyParams(params.len()))?;
    w.u8(count);
    for (index, name) in params.iter().enumerate() {
        w.name(name, NameKind::Param, index)?;
    }
    Ok(())
}

fn write_captures(w: &mut Writer, captures: &[CaptureDesc]) -> Result<(), WriteError> {
    let count =
        u8::try_from(captures.len()).map_err(|_| WriteError::TooManyCaptures(captures.len()))?;
    w.u8(count);
    for (index, c) in captures.iter().enumerate() {
        w.name(&c.name, NameKind::Capture, index)?;
        w.u8(c.source as u8);
        w.u8(c.slot);
    }
    Ok(())
}

fn write_debug(w: &mut Writer, debug: &DebugInfo) -> Result<(), WriteError> {
    let n = debug.srcmap.len();
    w.u16(u16::try_from(n).map_err(|_| WriteError::TooManySourceLocations(n))?);
    for loc in &debug.srcmap {
        w.u32(loc.code_offset);
        w.u32(loc.line);
        w.u16(loc.column);
    }
    let n = debug.varnames.len();
    w.u16(u16::try_from(n).map_err(|_| WriteError::TooManyVarNames(n))?);
    for (index, name) in debug.varnames.iter().enumerate() {
        w.name(name, NameKind::VarName, index)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttbc::chunk::{
        CaptureSource, FLAG_DEBUG, FLAG_HAS_CAPTURES, FLAG_HAS_NON_LOCAL_RETURN,
    };

    #[test]
    fn writes_the_first_worked_example() {
        let c = Chunk {
            version: 1,
            code: vec![0x22, 0x00, 0x22, 0x01, 0x50, 0xF0],
            params: vec!["x".into(), "y".into()],
            ..Chunk::default()
        };
        let hex = hex::encode_upper(serialize(&c).unwrap());
        assert_eq!(
            hex,
            "5454424300010000000000062200220150F000000201780179000000"
        );
    }

    #[test]
    fn canonical_fixes_flags_from_data() {
        let c = Chunk {
            version: 1,
            flags: 0,
            code: vec![0x22, 0x00, 0xF2],
            params: vec!["v".into()],
            captures: vec![CaptureDesc {
                name: "x".into(),
                source: CaptureSource::Param,
                slot: 0,
            }],
            debug: Some(DebugInfo::default()),
            ..Chunk::default()
        };
        let bytes = serialize_canonical(&c).unwrap();
        let flags = u16::from_be_bytes([bytes[6], bytes[7]]);
        assert_eq!(
            flags,
            FLAG_DEBUG | FLAG_HAS_CAPTURES | FLAG_HAS_NON_LOCAL_RETURN
        );
        // Raw serialize keeps the (inconsistent) flags.
        assert_eq!(serialize(&c).unwrap()[6..8], [0, 0]);
    }

    #[test]
    fn canonical_scans_instructions_not_bytes() {
        // CONST 0xF2F2 contains F2 bytes only as an operand.
        assert!(!contains_non_local_ret(&[0x10, 0xF2, 0xF2, 0xF0]));
        assert!(contains_non_local_ret(&[0x11, 0xF2]));
        assert!(!contains_non_local_ret(&[0x05, 0xF2]));
    }

    #[test]
    fn canonical_keeps_an_explicit_non_local_return_flag() {
        let c = Chunk {
            version: 1,
            flags: FLAG_HAS_NON_LOCAL_RETURN | FLAG_HAS_CAPTURES,
            code: vec![0xF1],
            ..Chunk::default()
        };
        let bytes = serialize_canonical(&c).unwrap();
        assert_eq!(bytes[6..8], [0x00, 0x04]);
    }

    #[test]
    fn refuses_what_cannot_be_encoded() {
        let too_many = Chunk {
            version: 1,
            params: vec![String::new(); 256],
            ..Chunk::default()
        };
        assert_eq!(serialize(&too_many), Err(WriteError::TooManyParams(256)));
        let long_const = Chunk {
            version: 1,
            constants: vec![vec![], vec![0; 65536]],
            ..Chunk::default()
        };
        assert_eq!(
            serialize(&long_const),
            Err(WriteError::ConstantTooLong {
                index: 1,
                len: 65536
            })
        );
        let long_name = Chunk {
            version: 1,
            captures: vec![CaptureDesc {
                name: "n".repeat(256),
                source: CaptureSource::Local,
                slot: 0,
            }],
            ..Chunk::default()
        };
        let e = serialize(&long_name).unwrap_err();
        assert_eq!(
            e.to_string(),
            "capture name 0 is 256 bytes long; at most 255 can be encoded"
        );
        let captures = Chunk {
            version: 1,
            captures: vec![long_name.captures[0].clone(); 256],
            ..Chunk::default()
        };
        assert_eq!(serialize(&captures), Err(WriteError::TooManyCaptures(256)));
        let consts = Chunk {
            version: 1,
            constants: vec![vec![]; 65536],
            ..Chunk::default()
        };
        assert_eq!(serialize(&consts), Err(WriteError::TooManyConstants(65536)));
    }
}
