//! The TTBC v1 structural loader (docs/spec/ttbc.md §2, §3.2).
//!
//! [`load`] reads the fields of §2.1 in order and applies the structural checks of §3.2 in
//! reading order, reporting the first failure as `<reason> at byte <n>`, where `<n>` is the
//! offset of the field being read. It does not look inside the code (that is the verifier's job),
//! so a loaded [`Chunk`] must still be verified before it runs.

use super::chunk::{
    CaptureDesc, CaptureSource, Chunk, DebugInfo, FLAG_DEBUG, FLAG_HAS_CAPTURES, FLAG_RESERVED,
    MAGIC, MAX_VERSION, SrcLoc, VERSION,
};
use super::verify::{Field, StructuralReason, TtbcError};

/// Loads one serialized chunk, checking its structure (§3.2) but not its code.
pub fn load(bytes: &[u8]) -> Result<Chunk, TtbcError> {
    let mut r = Reader {
        data: bytes,
        pos: 0,
    };
    let (version, flags) = read_header(&mut r)?;
    let code = r.u32_len_bytes(Field::CodeLength, Field::Code)?.to_vec();
    let constants = read_constants(&mut r)?;
    let params = read_params(&mut r)?;
    let local_count = r.u8(Field::LocalCount)?;
    let captures = read_captures(&mut r, flags)?;
    let debug = read_debug(&mut r, flags)?;
    r.finish()?;
    Ok(Chunk {
        version,
        flags,
        code,
        constants,
        params,
        local_count,
        captures,
        debug,
    })
}

/// A bounds-checked big-endian cursor that reports truncation with the field name.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Takes the next `n` bytes as `field`.
    fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], TtbcError> {
        let at = self.pos;
        let bytes = at
            .checked_add(n)
            .and_then(|end| self.data.get(at..end))
            .ok_or_else(|| TtbcError::structural(StructuralReason::UnexpectedEnd(field), at))?;
        self.pos = at + bytes.len();
        Ok(bytes)
    }

    /// Takes exactly `N` bytes as `field`.
    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], TtbcError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: Field) -> Result<u8, TtbcError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: Field) -> Result<u16, TtbcError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: Field) -> Result<u32, TtbcError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A `u32` length followed by that many bytes.
    fn u32_len_bytes(&mut self, len: Field, body: Field) -> Result<&'a [u8], TtbcError> {
        let n = self.u32(len)?;
        self.take(usize::try_from(n).unwrap_or(usize::MAX), body)
    }

    /// A `u16` length followed by that many bytes.
    fn u16_len_bytes(&mut self, len: Field, body: Field) -> Result<&'a [u8], TtbcError> {
        let n = self.u16(len)?;
        self.take(usize::from(n), body)
    }

    /// A `u8` length followed by that many UTF-8 bytes.
    fn name(&mut self, len: Field, body: Field) -> Result<String, TtbcError> {
        let n = self.u8(len)?;
        let at = self.pos;
        let bytes = self.take(usize::from(n), body)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| TtbcError::structural(StructuralReason::InvalidUtf8(body), at))
    }

    /// Fails when bytes remain after the end of the chunk.
    fn finish(&self) -> Result<(), TtbcError> {
        let extra = self.data.len().saturating_sub(self.pos);
        if extra == 0 {
            Ok(())
        } else {
            let reason = StructuralReason::TrailingBytes(extra);
            Err(TtbcError::structural(reason, self.pos))
        }
    }
}

/// Magic, version and flags; returns the version and the flags.
fn read_header(r: &mut Reader<'_>) -> Result<(u16, u16), TtbcError> {
    let magic = r.array::<4>(Field::Magic)?;
    if magic != MAGIC {
        let reason = StructuralReason::InvalidMagic(u32::from_be_bytes(magic));
        return Err(TtbcError::structural(reason, 0));
    }
    let at = r.pos;
    let version = r.u16(Field::Version)?;
    if !(VERSION..=MAX_VERSION).contains(&version) {
        let reason = StructuralReason::UnsupportedVersion(version);
        return Err(TtbcError::structural(reason, at));
    }
    let at = r.pos;
    let flags = r.u16(Field::Flags)?;
    if flags & FLAG_RESERVED != 0 {
        let reason = StructuralReason::ReservedFlags(flags & FLAG_RESERVED);
        return Err(TtbcError::structural(reason, at));
    }
    Ok((version, flags))
}

fn read_constants(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, TtbcError> {
    let count = r.u16(Field::ConstantCount)?;
    let mut out = Vec::with_capacity(usize::from(count).min(r.data.len()));
    for i in 0..count {
        let bytes = r.u16_len_bytes(Field::ConstantLength(i), Field::Constant(i))?;
        out.push(bytes.to_vec());
    }
    Ok(out)
}

fn read_params(r: &mut Reader<'_>) -> Result<Vec<String>, TtbcError> {
    let count = r.u8(Field::ParamCount)?;
    (0..count)
        .map(|i| r.name(Field::ParamNameLength(i), Field::ParamName(i)))
        .collect()
}

fn read_captures(r: &mut Reader<'_>, flags: u16) -> Result<Vec<CaptureDesc>, TtbcError> {
    let at = r.pos;
    let count = r.u8(Field::CaptureCount)?;
    if (flags & FLAG_HAS_CAPTURES != 0) != (count > 0) {
        let reason = StructuralReason::CapturesFlagMismatch(count);
        return Err(TtbcError::structural(reason, at));
    }
    (0..count).map(|i| read_capture(r, i)).collect()
}

fn read_capture(r: &mut Reader<'_>, i: u8) -> Result<CaptureDesc, TtbcError> {
    let name = r.name(Field::CaptureNameLength(i), Field::CaptureName(i))?;
    let at = r.pos;
    let byte = r.u8(Field::CaptureSource(i))?;
    let source = CaptureSource::from_byte(byte).ok_or_else(|| {
        let reason = StructuralReason::InvalidCaptureSource {
            src: byte,
            index: i,
        };
        TtbcError::structural(reason, at)
    })?;
    if source == CaptureSource::Ivar && name.is_empty() {
        return Err(TtbcError::structural(
            StructuralReason::EmptyIvarName(i),
            at,
        ));
    }
    let slot = r.u8(Field::CaptureSlot(i))?;
    Ok(CaptureDesc { name, source, slot })
}

fn read_debug(r: &mut Reader<'_>, flags: u16) -> Result<Option<DebugInfo>, TtbcError> {
    let at = r.pos;
    let marker = r.u8(Field::DebugMarker)?;
    if marker > 1 {
        let reason = StructuralReason::InvalidDebugMarker(marker);
        return Err(TtbcError::structural(reason, at));
    }
    if (flags & FLAG_DEBUG != 0) != (marker == 1) {
        let reason = StructuralReason::DebugFlagMismatch(marker);
        return Err(TtbcError::structural(reason, at));
    }
    if marker == 0 {
        return Ok(None);
    }
    let srcmap = read_srcmap(r)?;
    let varnames = read_varnames(r)?;
    Ok(Some(DebugInfo { srcmap, varnames }))
}

fn read_srcmap(r: &mut Reader<'_>) -> Result<Vec<SrcLoc>, TtbcError> {
    let count = r.u16(Field::SourceMapCount)?;
    let mut out = Vec::with_capacity(usize::from(count).min(r.data.len() / 10));
    for i in 0..count {
        let b = r.array::<10>(Field::SourceLocation(i))?;
        out.push(SrcLoc {
            code_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            line: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            column: u16::from_be_bytes([b[8], b[9]]),
        });
    }
    Ok(out)
}

fn read_varnames(r: &mut Reader<'_>) -> Result<Vec<String>, TtbcError> {
    let count = r.u16(Field::VarNameCount)?;
    (0..count)
        .map(|i| r.name(Field::VarNameLength(i), Field::VarName(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn err(bytes: &[u8]) -> String {
        load(bytes).unwrap_err().to_string()
    }

    #[test]
    fn loads_the_first_worked_example() {
        let c = load(&hex(ADD)).unwrap();
        assert_eq!(c.code, vec![0x22, 0x00, 0x22, 0x01, 0x50, 0xF0]);
        assert_eq!(c.params, vec!["x".to_string(), "y".to_string()]);
        assert_eq!(c.local_count, 0);
        assert!(c.captures.is_empty() && c.debug.is_none() && c.constants.is_empty());
    }

    #[test]
    fn every_prefix_is_a_truncation_error() {
        let bytes = hex(ADD);
        for n in 0..bytes.len() {
            let msg = err(&bytes[..n]);
            assert!(
                msg.starts_with("unexpected end of data reading "),
                "{n}: {msg}"
            );
        }
    }

    #[test]
    fn empty_input_reports_magic() {
        assert_eq!(err(&[]), "unexpected end of data reading magic at byte 0");
    }

    #[test]
    fn huge_code_length_is_a_truncation() {
        let mut b = hex(ADD);
        b[8..12].copy_from_slice(&[0xFF; 4]);
        assert_eq!(err(&b), "unexpected end of data reading code at byte 12");
    }

    #[test]
    fn reserved_flags_show_only_reserved_bits() {
        let mut b = hex(ADD);
        b[6..8].copy_from_slice(&[0x80, 0x0C]);
        assert_eq!(err(&b), "reserved flag bits set: 0x8008 at byte 6");
    }
}
