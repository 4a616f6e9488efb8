//! A readable listing of a TTBC chunk (header, constants with nested chunks, then one line per
//! instruction), for the CLI, debugging and golden tests.
//!
//! The disassembler never panics, including on chunks that were only loaded and would fail
//! verification: bad indexes show as `<bad const>` / `<bad index>`, undecodable bytes as
//! `<unknown 0xXX>` or `<truncated>`.

use std::fmt::Write as _;

use super::chunk::{
    CaptureSource, Chunk, FLAG_DEBUG, FLAG_HAS_CAPTURES, FLAG_HAS_NON_LOCAL_RETURN, FLAG_RESERVED,
    VERSION, VERSION_2,
};
use super::load::load;
use super::opcode::OperandKind;
use super::verify::{DecodeError, Insn, MAX_NESTING_DEPTH, decode};

/// Indentation added for each nested chunk listing.
const NEST_INDENT: &str = "      ";

/// Renders `chunk` as a listing, e.g.
///
/// ```text
/// params: 2 (x, y)
/// locals: 0
/// captures: 0
/// flags: 0x0000
/// constants: 0
/// code: 6 bytes
/// 0000  LOAD_PARAM 0 (x)
/// 0002  LOAD_PARAM 1 (y)
/// 0004  ADD
/// 0005  RETURN
/// ```
///
/// Constants that load as chunks are shown as `<chunk N bytes>` and disassembled, indented,
/// below their entry.
pub fn disassemble(chunk: &Chunk) -> String {
    let mut out = String::new();
    Listing {
        out: &mut out,
        indent: String::new(),
        level: 1,
    }
    .chunk(chunk);
    out
}

/// Writer state for one chunk (nested chunks get a new `Listing` with a deeper indent).
struct Listing<'o> {
    out: &'o mut String,
    indent: String,
    level: usize,
}

impl Listing<'_> {
    fn line(&mut self, text: &str) {
        self.out.push_str(&self.indent);
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn chunk(&mut self, chunk: &Chunk) {
        self.header(chunk);
        self.constants(chunk);
        self.debug(chunk);
        self.code(chunk);
    }

    fn header(&mut self, chunk: &Chunk) {
        if chunk.version != VERSION {
            // Only a v2 chunk says so: v1 listings stay as they were.
            self.line(&format!("version: {}", chunk.version));
        }
        let params: Vec<String> = chunk.params.iter().map(|p| escape(p)).collect();
        if params.is_empty() {
            self.line("params: 0");
        } else {
            self.line(&format!("params: {} ({})", params.len(), params.join(", ")));
        }
        self.line(&format!("locals: {}", chunk.local_count));
        self.line(&format!("captures: {}", chunk.captures.len()));
        for (i, c) in chunk.captures.iter().enumerate() {
            let source = source_name(c.source);
            let name = escape(&c.name);
            self.line(&format!("  {i}: {name} ({source}, slot {})", c.slot));
        }
        self.line(&format!("flags: {}", flags_text(chunk.flags)));
    }

    fn constants(&mut self, chunk: &Chunk) {
        self.line(&format!("constants: {}", chunk.constants.len()));
        let made = make_block_constants(chunk);
        for (i, bytes) in chunk.constants.iter().enumerate() {
            match load(bytes) {
                Ok(nested) => {
                    self.line(&format!("  {i}: <chunk {} bytes>", bytes.len()));
                    self.nested(&nested);
                }
                Err(e) if made.get(i).copied().unwrap_or(false) => {
                    self.line(&format!("  {i}: <bad chunk {} bytes: {e}>", bytes.len()));
                }
                Err(_) => self.line(&format!("  {i}: {}", render_constant(bytes))),
            }
        }
    }

    fn nested(&mut self, chunk: &Chunk) {
        let indent = format!("{}{NEST_INDENT}", self.indent);
        if self.level >= MAX_NESTING_DEPTH {
            self.out.push_str(&indent);
            self.out.push_str("<nesting too deep>\n");
            return;
        }
        Listing {
            out: self.out,
            indent,
            level: self.level + 1,
        }
        .chunk(chunk);
    }

    fn debug(&mut self, chunk: &Chunk) {
        let Some(debug) = &chunk.debug else {
            return;
        };
        self.line(&format!(
            "debug: {} source location(s), {} var name(s)",
            debug.srcmap.len(),
            debug.varnames.len()
        ));
        for loc in &debug.srcmap {
            let (off, line, col) = (loc.code_offset, loc.line, loc.column);
            self.line(&format!("  {off:04X} line {line} column {col}"));
        }
        for (i, name) in debug.varnames.iter().enumerate() {
            self.line(&format!("  var {i}: {}", escape(name)));
        }
    }

    fn code(&mut self, chunk: &Chunk) {
        let code = &chunk.code;
        self.line(&format!("code: {} bytes", code.len()));
        let mut pc = 0;
        while pc < code.len() {
            match decode(code, pc) {
                Ok(insn) => {
                    self.line(&format!("{pc:04X}  {}", instruction(chunk, &insn)));
                    pc = insn.next();
                }
                Err(DecodeError::Unknown(b)) => {
                    self.line(&format!("{pc:04X}  <unknown 0x{b:02X}>"));
                    pc += 1;
                }
                Err(DecodeError::Truncated(op)) => {
                    self.line(&format!("{pc:04X}  {} <truncated>", op.name()));
                    break;
                }
            }
        }
    }
}

/// `make[k]` is true when some decodable `MAKE_BLOCK` uses constant `k`.
fn make_block_constants(chunk: &Chunk) -> Vec<bool> {
    let mut made = vec![false; chunk.constants.len()];
    let mut pc = 0;
    while pc < chunk.code.len() {
        let Ok(insn) = decode(&chunk.code, pc) else {
            break;
        };
        if insn.op.operand_kind() == OperandKind::Block
            && let Some(m) = made.get_mut(usize::from(insn.word(0)))
        {
            *m = true;
        }
        pc = insn.next();
    }
    made
}

/// The text after the offset: name, operands and an annotation (by the opcode's operand kind).
fn instruction(chunk: &Chunk, insn: &Insn<'_>) -> String {
    let name = insn.op.name();
    let bad = || "<bad index>".to_string();
    let u8_note = |note: Option<String>| {
        let b = insn.byte(0);
        match note {
            Some(note) => format!("{name} {b} ({note})"),
            None => format!("{name} {b}"),
        }
    };
    let i = usize::from(insn.byte(0));
    match insn.op.operand_kind() {
        OperandKind::None if insn.op.is_reserved() && chunk.version < VERSION_2 => {
            format!("{name} (reserved)")
        }
        OperandKind::None => name.to_string(),
        OperandKind::Argc => u8_note(None),
        OperandKind::Param => u8_note(Some(chunk.params.get(i).map_or_else(bad, |p| escape(p)))),
        OperandKind::Capture => u8_note(Some(
            chunk.captures.get(i).map_or_else(bad, |c| escape(&c.name)),
        )),
        OperandKind::Local if insn.byte(0) >= chunk.local_count => u8_note(Some(bad())),
        OperandKind::Local => u8_note(
            chunk
                .debug
                .as_ref()
                .and_then(|d| d.varnames.get(i))
                .map(|n| escape(n)),
        ),
        OperandKind::Const => {
            let k = insn.word(0);
            format!("{name} {k} ({})", quoted_constant(chunk, k))
        }
        OperandKind::Name => {
            let k = insn.word(0);
            format!("{name} {k} ({})", bare_constant(chunk, k))
        }
        OperandKind::Jump => {
            let d = insn.word(0) as i16;
            let target = insn.jump_target();
            let shown = if (0..=chunk.code.len() as i64).contains(&target) {
                format!("{target:04X}")
            } else {
                format!("<outside {target}>")
            };
            format!("{name} {d:+} -> {shown}")
        }
        OperandKind::Block => {
            let (k, n) = (insn.word(0), insn.count());
            let note = match chunk.constants.get(usize::from(k)) {
                Some(bytes) => format!("<chunk {} bytes>", bytes.len()),
                None => "<bad const>".to_string(),
            };
            format!("{name} {k} {n} ({note})")
        }
        OperandKind::Send => {
            let (k, n) = (insn.word(0), insn.count());
            format!("{name} {k} {n} ({} argc={n})", bare_constant(chunk, k))
        }
        OperandKind::SendClass => {
            let (c, k, n) = (insn.word(0), insn.word(2), insn.count());
            let class = bare_constant(chunk, c);
            let sel = bare_constant(chunk, k);
            format!("{name} {c} {k} {n} ({class} {sel} argc={n})")
        }
    }
}

/// Constant `k` as quoted text (`'!'`), or `<bad const>`.
fn quoted_constant(chunk: &Chunk, k: u16) -> String {
    match text_constant(chunk, k) {
        Some(s) => format!("'{}'", escape(s)),
        None => "<bad const>".to_string(),
    }
}

/// Constant `k` as bare text (selectors, class and ivar names), or `<bad const>`.
fn bare_constant(chunk: &Chunk, k: u16) -> String {
    match text_constant(chunk, k) {
        Some(s) => escape(s),
        None => "<bad const>".to_string(),
    }
}

fn text_constant(chunk: &Chunk, k: u16) -> Option<&str> {
    let bytes = chunk.constants.get(usize::from(k))?;
    std::str::from_utf8(bytes).ok()
}

/// A constant-pool entry that is not a chunk: quoted text, or a hex dump of its first bytes.
fn render_constant(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return format!("'{}'", escape(s));
    }
    let mut hex = String::new();
    for b in bytes.iter().take(16) {
        let _ = write!(hex, " {b:02X}");
    }
    let more = if bytes.len() > 16 { " ..." } else { "" };
    format!("<{} bytes:{hex}{more}>", bytes.len())
}

/// Escapes quotes, backslashes and control characters so every listing line stays one line.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn source_name(source: CaptureSource) -> &'static str {
    match source {
        CaptureSource::Local => "local",
        CaptureSource::Ivar => "ivar",
        CaptureSource::Capture => "capture",
        CaptureSource::Param => "param",
    }
}

/// `0x0006 (HAS_CAPTURES, HAS_NON_LOCAL_RETURN)`.
fn flags_text(flags: u16) -> String {
    let names: Vec<&str> = [
        (FLAG_DEBUG, "DEBUG"),
        (FLAG_HAS_CAPTURES, "HAS_CAPTURES"),
        (FLAG_HAS_NON_LOCAL_RETURN, "HAS_NON_LOCAL_RETURN"),
        (FLAG_RESERVED, "RESERVED"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|&(_, name)| name)
    .collect();
    if names.is_empty() {
        format!("0x{flags:04X}")
    } else {
        format!("0x{flags:04X} ({})", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttbc::chunk::{CaptureDesc, DebugInfo, SrcLoc};

    #[test]
    fn lists_header_and_instructions() {
        let c = Chunk {
            version: 1,
            code: vec![0x22, 0x00, 0x10, 0x00, 0x00, 0x70, 0x82, 0x00, 0x00, 0xF0],
            constants: vec![b"!".to_vec()],
            params: vec!["x".into()],
            ..Chunk::default()
        };
        let text = disassemble(&c);
        assert!(text.contains("params: 1 (x)\n"), "{text}");
        assert!(text.contains("0000  LOAD_PARAM 0 (x)\n"), "{text}");
        assert!(text.contains("0002  CONST 0 ('!')\n"), "{text}");
        assert!(text.contains("0006  JUMP_FALSE +0 -> 0009\n"), "{text}");
    }

    #[test]
    fn sends_and_blocks_show_their_constants() {
        let c = Chunk {
            version: 1,
            code: vec![
                0x22, 0x00, 0x15, 0x90, 0x00, 0x00, 0x01, 0x93, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0,
                0x00, 0x02, 0x00, 0x40, 0x00, 0x03, 0xA1, 0x00,
            ],
            constants: vec![
                b"setValue_".to_vec(),
                b"MyApp::Counter".to_vec(),
                b"TTBC".to_vec(),
                b"count".to_vec(),
            ],
            params: vec!["c".into()],
            ..Chunk::default()
        };
        let text = disassemble(&c);
        assert!(
            text.contains("0003  SEND 0 1 (setValue_ argc=1)\n"),
            "{text}"
        );
        assert!(
            text.contains("0007  SEND_CLASS 1 0 0 (MyApp::Counter setValue_ argc=0)\n"),
            "{text}"
        );
        assert!(
            text.contains("000D  MAKE_BLOCK 2 0 (<chunk 4 bytes>)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  2: <bad chunk 4 bytes: unexpected end of data reading version at byte 4>\n"
            ),
            "{text}"
        );
        assert!(text.contains("0011  LOAD_IVAR 3 (count)\n"), "{text}");
        assert!(text.contains("0014  INVOKE_BLOCK 0\n"), "{text}");
    }

    #[test]
    fn bad_code_does_not_panic() {
        let c = Chunk {
            version: 1,
            code: vec![0x05, 0x10, 0x00, 0x07, 0x32, 0x80, 0x80, 0x00, 0x90, 0x00],
            ..Chunk::default()
        };
        let text = disassemble(&c);
        assert!(text.contains("0000  <unknown 0x05>\n"), "{text}");
        assert!(text.contains("0001  CONST 7 (<bad const>)\n"), "{text}");
        assert!(text.contains("0004  MAKE_CAPTURE (reserved)\n"), "{text}");
        assert!(
            text.contains("0005  JUMP -32768 -> <outside -32760>\n"),
            "{text}"
        );
        assert!(text.contains("0008  SEND <truncated>\n"), "{text}");
    }

    #[test]
    fn shows_captures_debug_and_escapes() {
        let c = Chunk {
            version: 1,
            flags: FLAG_HAS_CAPTURES | FLAG_DEBUG | 0x0100,
            code: vec![0x30, 0x00, 0x21, 0x00],
            constants: vec![b"a'b\n".to_vec(), vec![0xFF, 0x00]],
            local_count: 1,
            captures: vec![CaptureDesc {
                name: "count".into(),
                source: CaptureSource::Ivar,
                slot: 2,
            }],
            debug: Some(DebugInfo {
                srcmap: vec![SrcLoc {
                    code_offset: 2,
                    line: 3,
                    column: 4,
                }],
                varnames: vec!["tmp".into()],
            }),
            ..Chunk::default()
        };
        let text = disassemble(&c);
        assert!(text.contains("  0: count (ivar, slot 2)\n"), "{text}");
        assert!(
            text.contains("flags: 0x0103 (DEBUG, HAS_CAPTURES, RESERVED)\n"),
            "{text}"
        );
        assert!(text.contains("  0: 'a\\'b\\n'\n"), "{text}");
        assert!(text.contains("  1: <2 bytes: FF 00>\n"), "{text}");
        assert!(text.contains("  0002 line 3 column 4\n"), "{text}");
        assert!(text.contains("0000  LOAD_CAPTURE 0 (count)\n"), "{text}");
        assert!(text.contains("0002  STORE_LOCAL 0 (tmp)\n"), "{text}");
    }
}
