//! TTBC v1 loader, serializer, verifier and disassembler against docs/spec/ttbc.md §2–§6 and §13:
//! worked examples (byte-exact round trip), the rejected vectors of §13.8, one test per check of
//! §3.2–§3.4, golden disassembly listings, and property tests (round trip, never panic).
//!
//! Golden listings live in `tests/golden/*.txt`; run with `UPDATE_GOLDEN=1` to rewrite them.

use std::path::PathBuf;

use proptest::prelude::*;
use tt_vm::ttbc::chunk::{FLAG_DEBUG, FLAG_HAS_CAPTURES, FLAG_HAS_NON_LOCAL_RETURN};
use tt_vm::ttbc::opcode::ALL_OPS;
use tt_vm::ttbc::{
    CaptureDesc, CaptureSource, Chunk, DebugInfo, SrcLoc, disassemble, load, load_verified,
    serialize, serialize_canonical, verify,
};

// ----- worked examples (§13) -------------------------------------------------------------------

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";
const CONCAT_CAPTURE: &str = "545442430001000200000007300010000070F000010001210000010178000000";
const IF_YES: &str = "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000";
const SEND_SETVALUE: &str =
    "54544243000100000000000B22002201155090000001F00001000973657456616C75655F020163016E000000";
const NESTED_INNER: &str = "5454424300010002000000063000220050F0000001017900010178030000";
const NESTED: &str = "5454424300010000000000102200A000000121002000100001A101F00002001E5454424300010002000000063000220050F000000101790001017803000000023130010178010000";
const NESTED_RETURNING_BLOCK: &str = "5454424300010000000000072200A0000001F00001001E5454424300010002000000063000220050F0000001017900010178030000010178000000";
const NLR_INNER: &str = "5454424300010004000000032200F20000010176000000";
const NLR: &str = "54544243000100000000000DA00000002200A10101100001F0000200175454424300010004000000032200F20000010176000000000B6E6F742072656163686564010178000000";
const NLR_DEAD_HOME: &str = "545442430001000000000005A0000000F0000100175454424300010004000000032200F2000001017600000000000000";

/// Every worked example with its stated length (`None` when §13 gives none).
const EXAMPLES: [(&str, &str, Option<usize>); 11] = [
    ("13.1", ADD, Some(28)),
    ("13.2", SUM, Some(53)),
    ("13.3", CONCAT_CAPTURE, Some(32)),
    ("13.4", IF_YES, Some(50)),
    ("13.5", SEND_SETVALUE, Some(44)),
    ("13.6 inner", NESTED_INNER, Some(30)),
    ("13.6", NESTED, Some(72)),
    ("13.6 variant", NESTED_RETURNING_BLOCK, Some(59)),
    ("13.7 inner", NLR_INNER, Some(23)),
    ("13.7", NLR, Some(71)),
    ("13.7 dead home", NLR_DEAD_HOME, None),
];

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn err_bytes(bytes: &[u8]) -> String {
    load_verified(bytes).unwrap_err().to_string()
}

fn err_chunk(c: &Chunk) -> String {
    err_bytes(&serialize(c).unwrap())
}

fn ok_chunk(c: &Chunk) -> usize {
    load_verified(&serialize(c).unwrap()).unwrap().max_stack()
}

fn code(code: &[u8]) -> Chunk {
    Chunk {
        version: 1,
        code: code.to_vec(),
        ..Chunk::default()
    }
}

fn capture(name: &str, source: CaptureSource) -> CaptureDesc {
    CaptureDesc {
        name: name.into(),
        source,
        slot: 0,
    }
}

/// `bytes` with the byte at `at` replaced by `b`.
fn patched(mut bytes: Vec<u8>, at: usize, b: u8) -> Vec<u8> {
    bytes[at] = b;
    bytes
}

#[test]
fn worked_examples_load_verify_and_reserialize_exactly() {
    for (name, h, len) in EXAMPLES {
        let bytes = hex(h);
        if let Some(len) = len {
            assert_eq!(bytes.len(), len, "{name} length");
        }
        let chunk = load(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serialize(&chunk).unwrap(), bytes, "{name} serialize");
        assert_eq!(
            serialize_canonical(&chunk).unwrap(),
            bytes,
            "{name} canonical"
        );
        let v = load_verified(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serialize(v.chunk()).unwrap(), bytes, "{name} verified");
    }
}

#[test]
fn worked_example_max_stack_depths() {
    assert_eq!(load_verified(&hex(ADD)).unwrap().max_stack(), 2);
    assert_eq!(load_verified(&hex(SUM)).unwrap().max_stack(), 2);
    assert_eq!(load_verified(&hex(IF_YES)).unwrap().max_stack(), 2);
    assert_eq!(load_verified(&hex(SEND_SETVALUE)).unwrap().max_stack(), 3);
}

#[test]
fn nested_examples_carry_verified_nested_chunks() {
    let v = load_verified(&hex(NESTED)).unwrap();
    assert_eq!(v.nested().len(), 2);
    let inner = v.nested()[0]
        .as_ref()
        .expect("constant 0 is a nested chunk");
    assert!(v.nested()[1].is_none());
    assert_eq!(serialize(inner.chunk()).unwrap(), hex(NESTED_INNER));
    assert_eq!(inner.chunk().captures[0].source, CaptureSource::Param);
    let nlr = load_verified(&hex(NLR)).unwrap();
    let inner = nlr.nested()[0].as_ref().unwrap();
    assert!(inner.chunk().has_non_local_return());
}

#[test]
fn worked_examples_build_from_chunks() {
    let add = Chunk {
        version: 1,
        code: vec![0x22, 0x00, 0x22, 0x01, 0x50, 0xF0],
        params: vec!["x".into(), "y".into()],
        ..Chunk::default()
    };
    assert_eq!(serialize_canonical(&add).unwrap(), hex(ADD));
    let inner = Chunk {
        version: 1,
        code: vec![0x22, 0x00, 0xF2],
        params: vec!["v".into()],
        ..Chunk::default()
    };
    // The canonical writer adds HAS_NON_LOCAL_RETURN for F2.
    assert_eq!(serialize_canonical(&inner).unwrap(), hex(NLR_INNER));
}

// ----- rejected vectors (§13.8) ----------------------------------------------------------------

#[test]
fn rejected_vectors_give_the_listed_messages() {
    let add = hex(ADD);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = add.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            with(&|b| b.push(0)),
            "1 trailing byte(s) after end of chunk at byte 28",
        ),
        (with(&|b| b[3] = 0x58), "invalid magic 54544258 at byte 0"),
        (with(&|b| b[5] = 3), "unsupported version 3 at byte 4"),
        (
            with(&|b| b[7] = 2),
            "HAS_CAPTURES flag does not match capture count 0 at byte 26",
        ),
        (
            add[..27].to_vec(),
            "unexpected end of data reading debug marker at byte 27",
        ),
        (
            with(&|b| b[15] = 2),
            "param index 2 out of range (2 params) at code offset 2",
        ),
        (
            hex("54544243000100000000000250F0000000000000"),
            "stack underflow: ADD needs 2 value(s), depth 0 at code offset 0",
        ),
        (
            hex("545442430001000000000004800005F1000000000000"),
            "jump target 8 outside code (length 4) at code offset 0",
        ),
        (
            hex("54544243000100000000000205F1000000000000"),
            "unknown opcode 0x05 at code offset 0",
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(err_bytes(&bytes), want);
    }
}

// ----- structural checks (§3.2) ----------------------------------------------------------------

/// A chunk with every optional field present (45 bytes) and its field layout.
fn full_chunk() -> (Vec<u8>, Vec<(&'static str, usize)>) {
    let c = Chunk {
        version: 1,
        flags: FLAG_DEBUG | FLAG_HAS_CAPTURES,
        code: vec![0xF1],
        constants: vec![b"ab".to_vec()],
        params: vec!["p".into()],
        local_count: 1,
        captures: vec![capture("c", CaptureSource::Local)],
        debug: Some(DebugInfo {
            srcmap: vec![SrcLoc {
                code_offset: 0,
                line: 1,
                column: 1,
            }],
            varnames: vec!["v".into()],
        }),
    };
    let fields = vec![
        ("magic", 4),
        ("version", 2),
        ("flags", 2),
        ("code length", 4),
        ("code", 1),
        ("constant count", 2),
        ("constant 0 length", 2),
        ("constant 0", 2),
        ("param count", 1),
        ("param 0 name length", 1),
        ("param 0 name", 1),
        ("local count", 1),
        ("capture count", 1),
        ("capture 0 name length", 1),
        ("capture 0 name", 1),
        ("capture 0 source", 1),
        ("capture 0 slot", 1),
        ("debug marker", 1),
        ("source map count", 2),
        ("source location 0", 10),
        ("var name count", 2),
        ("var name 0 length", 1),
        ("var name 0", 1),
    ];
    (serialize(&c).unwrap(), fields)
}

#[test]
fn every_field_truncated_reports_its_name_and_offset() {
    let (bytes, fields) = full_chunk();
    assert_eq!(bytes.len(), fields.iter().map(|f| f.1).sum::<usize>());
    assert!(load_verified(&bytes).is_ok());
    let mut start = 0;
    for (field, size) in fields {
        for cut in start..start + size {
            let want = format!("unexpected end of data reading {field} at byte {start}");
            assert_eq!(err_bytes(&bytes[..cut]), want, "cut at {cut}");
        }
        start += size;
    }
}

#[test]
fn invalid_magic_and_version() {
    assert_eq!(err_bytes(b"ttbc"), "invalid magic 74746263 at byte 0");
    assert_eq!(
        err_bytes(&patched(hex(ADD), 4, 1)),
        "unsupported version 257 at byte 4"
    );
}

#[test]
fn reserved_flag_bits() {
    let mut c = code(&[0xF1]);
    c.flags = 0x0008;
    assert_eq!(err_chunk(&c), "reserved flag bits set: 0x0008 at byte 6");
    c.flags = 0xFFFF;
    assert_eq!(err_chunk(&c), "reserved flag bits set: 0xFFF8 at byte 6");
}

#[test]
fn invalid_capture_source() {
    let mut c = code(&[0xF1]);
    c.flags = FLAG_HAS_CAPTURES;
    c.captures = vec![capture("x", CaptureSource::Local)];
    let bytes = serialize(&c).unwrap();
    assert_eq!(bytes[20], 0, "capture 0 source is at byte 20");
    assert_eq!(
        err_bytes(&patched(bytes.clone(), 20, 4)),
        "invalid capture source 4 for capture 0 at byte 20"
    );
    assert_eq!(
        err_bytes(&patched(bytes, 20, 255)),
        "invalid capture source 255 for capture 0 at byte 20"
    );
}

#[test]
fn empty_ivar_capture_name() {
    let mut c = code(&[0xF1]);
    c.flags = FLAG_HAS_CAPTURES;
    c.captures = vec![
        capture("", CaptureSource::Local),
        capture("", CaptureSource::Ivar),
    ];
    assert_eq!(err_chunk(&c), "empty name for ivar capture 1 at byte 22");
    c.captures[1].name = "count".into();
    assert_eq!(ok_chunk(&c), 0);
}

#[test]
fn has_captures_flag_mismatch() {
    let mut c = code(&[0xF1]);
    c.captures = vec![capture("x", CaptureSource::Local)];
    assert_eq!(
        err_chunk(&c),
        "HAS_CAPTURES flag does not match capture count 1 at byte 17"
    );
    c.flags = FLAG_HAS_CAPTURES;
    assert_eq!(ok_chunk(&c), 0);
}

#[test]
fn debug_marker_checks() {
    let mut c = code(&[0xF1]);
    c.flags = FLAG_DEBUG;
    assert_eq!(
        err_chunk(&c),
        "DEBUG flag does not match debug marker 0 at byte 18"
    );
    c.flags = 0;
    c.debug = Some(DebugInfo::default());
    assert_eq!(
        err_chunk(&c),
        "DEBUG flag does not match debug marker 1 at byte 18"
    );
    let plain = serialize(&code(&[0xF1])).unwrap();
    assert_eq!(
        err_bytes(&patched(plain, 18, 2)),
        "invalid debug marker 2 at byte 18"
    );
    c.flags = FLAG_DEBUG;
    assert_eq!(ok_chunk(&c), 0);
}

#[test]
fn names_must_be_utf8() {
    let mut c = code(&[0xF1]);
    c.params = vec!["p".into()];
    let bytes = serialize(&c).unwrap();
    assert_eq!(
        err_bytes(&patched(bytes, 17, 0xFF)),
        "param 0 name is not valid UTF-8 at byte 17"
    );

    let mut c = code(&[0xF1]);
    c.flags = FLAG_HAS_CAPTURES;
    c.captures = vec![capture("x", CaptureSource::Local)];
    let bytes = serialize(&c).unwrap();
    assert_eq!(
        err_bytes(&patched(bytes, 19, 0xC3)),
        "capture 0 name is not valid UTF-8 at byte 19"
    );

    let mut c = code(&[0xF1]);
    c.flags = FLAG_DEBUG;
    c.debug = Some(DebugInfo {
        srcmap: vec![],
        varnames: vec!["v".into()],
    });
    let bytes = serialize(&c).unwrap();
    assert_eq!(
        err_bytes(&patched(bytes, 24, 0x80)),
        "var name 0 is not valid UTF-8 at byte 24"
    );
}

#[test]
fn trailing_bytes() {
    let mut bytes = hex(SUM);
    bytes.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        err_bytes(&bytes),
        "3 trailing byte(s) after end of chunk at byte 53"
    );
}

#[test]
fn param_count_disagreeing_with_names_is_caught_structurally() {
    // 13.1 with param_count 3 (two names written): the reader runs out of data.
    assert_eq!(
        err_bytes(&patched(hex(ADD), 20, 3)),
        "unexpected end of data reading debug marker at byte 28"
    );
    // 13.1 with param_count 1: name `y` is read as local count 1 and capture count 0x79.
    assert_eq!(
        err_bytes(&patched(hex(ADD), 20, 1)),
        "HAS_CAPTURES flag does not match capture count 121 at byte 24"
    );
}

#[test]
fn structural_errors_take_precedence_over_code_errors() {
    let mut bytes = serialize(&code(&[0x05])).unwrap();
    bytes.push(0);
    assert_eq!(
        err_bytes(&bytes),
        "1 trailing byte(s) after end of chunk at byte 19"
    );
}

// ----- code checks (§3.3) ----------------------------------------------------------------------

#[test]
fn unknown_and_reserved_opcodes() {
    assert_eq!(
        err_chunk(&code(&[0x11, 0xFF])),
        "unknown opcode 0xFF at code offset 1"
    );
    assert_eq!(
        err_chunk(&code(&[0x32])),
        "reserved opcode MAKE_CAPTURE (0x32) at code offset 0"
    );
    for b in 0..=255u8 {
        if tt_vm::ttbc::Op::from_byte(b).is_none() {
            let want = format!("unknown opcode 0x{b:02X} at code offset 0");
            assert_eq!(err_chunk(&code(&[b])), want);
        }
    }
}

#[test]
fn truncated_operands_for_every_opcode_with_operands() {
    for op in ALL_OPS.iter().filter(|op| op.len() > 1) {
        for have in 0..op.len() - 1 {
            let mut bytes = vec![0x00, op.byte()];
            bytes.extend(std::iter::repeat_n(0, have));
            let want = format!("truncated operand for {} at code offset 1", op.name());
            assert_eq!(err_chunk(&code(&bytes)), want);
        }
    }
}

#[test]
fn unreachable_instructions_are_still_checked() {
    assert_eq!(
        err_chunk(&code(&[0xF1, 0x05])),
        "unknown opcode 0x05 at code offset 1"
    );
    assert_eq!(
        err_chunk(&code(&[0xF1, 0x20, 0x00])),
        "local slot 0 out of range (0 locals) at code offset 1"
    );
    // …but not by the stack analysis.
    assert_eq!(ok_chunk(&code(&[0xF1, 0x50, 0x01])), 0);
}

#[test]
fn jump_targets_outside_code() {
    assert_eq!(
        err_chunk(&code(&[0x80, 0xFF, 0xF0])),
        "jump target -13 outside code (length 3) at code offset 0"
    );
    assert_eq!(
        err_chunk(&code(&[0x00, 0x12, 0x81, 0x00, 0x01])),
        "jump target 6 outside code (length 5) at code offset 2"
    );
    assert_eq!(
        err_chunk(&code(&[0x80, 0x80, 0x00])),
        "jump target -32765 outside code (length 3) at code offset 0"
    );
}

#[test]
fn jump_into_an_instruction() {
    let mut c = code(&[0x80, 0x00, 0x01, 0x20, 0x00, 0xF1]);
    c.local_count = 1;
    assert_eq!(
        err_chunk(&c),
        "jump target 4 is not an instruction boundary at code offset 0"
    );
    // Backward into the operand of the jump itself.
    assert_eq!(
        err_chunk(&code(&[0x80, 0xFF, 0xFE])),
        "jump target 1 is not an instruction boundary at code offset 0"
    );
}

#[test]
fn jump_to_code_length_and_boundaries_are_allowed() {
    for op in [0x81u8, 0x82, 0x83, 0x84] {
        assert_eq!(ok_chunk(&code(&[0x12, op, 0x00, 0x00])), 1);
    }
    assert_eq!(ok_chunk(&code(&[0x80, 0x00, 0x00])), 0);
    assert_eq!(ok_chunk(&code(&[0x00, 0x80, 0xFF, 0xFC])), 0);
}

#[test]
fn constant_index_out_of_range_for_every_user() {
    let cases: [(&[u8], usize); 8] = [
        (&[0x10, 0x00, 0x01], 0),
        (&[0x40, 0x00, 0x01], 0),
        (&[0x11, 0x41, 0x00, 0x01], 1),
        (&[0x11, 0x90, 0x00, 0x01, 0x00], 1),
        (&[0x11, 0x91, 0x00, 0x01, 0x00], 1),
        (&[0x92, 0x00, 0x01, 0x00], 0),
        (&[0x93, 0x00, 0x01, 0x00, 0x00, 0x00], 0),
        (&[0xA0, 0x00, 0x01, 0x00], 0),
    ];
    for (bytes, pc) in cases {
        let mut c = code(bytes);
        c.constants = vec![b"Foo".to_vec()];
        let want = format!("constant index 1 out of range (1 constants) at code offset {pc}");
        assert_eq!(err_chunk(&c), want, "{bytes:02X?}");
    }
    // SEND_CLASS: the selector operand is checked too.
    let mut c = code(&[0x93, 0x00, 0x00, 0x00, 0x07, 0x00]);
    c.constants = vec![b"Foo".to_vec()];
    assert_eq!(
        err_chunk(&c),
        "constant index 7 out of range (1 constants) at code offset 0"
    );
}

#[test]
fn text_constants_must_be_utf8() {
    let cases: [&[u8]; 6] = [
        &[0x10, 0x00, 0x00],
        &[0x40, 0x00, 0x00],
        &[0x11, 0x90, 0x00, 0x00, 0x00],
        &[0x11, 0x91, 0x00, 0x00, 0x00],
        &[0x92, 0x00, 0x00, 0x00],
        &[0x93, 0x00, 0x01, 0x00, 0x00, 0x00],
    ];
    for bytes in cases {
        let mut c = code(bytes);
        c.constants = vec![vec![0xFF, 0xFE], b"Foo".to_vec()];
        let pc = usize::from(bytes[0] == 0x11);
        let want = format!("constant 0 is not valid UTF-8 at code offset {pc}");
        assert_eq!(err_chunk(&c), want, "{bytes:02X?}");
    }
    // Unreferenced constants are not checked.
    let mut c = code(&[0x10, 0x00, 0x01, 0xF0]);
    c.constants = vec![vec![0xFF], b"ok".to_vec()];
    assert_eq!(ok_chunk(&c), 1);
}

#[test]
fn local_param_and_capture_indexes() {
    let mut c = code(&[0x20, 0x02]);
    c.local_count = 2;
    assert_eq!(
        err_chunk(&c),
        "local slot 2 out of range (2 locals) at code offset 0"
    );
    c.code = vec![0x11, 0x21, 0x05];
    assert_eq!(
        err_chunk(&c),
        "local slot 5 out of range (2 locals) at code offset 1"
    );
    assert_eq!(
        err_chunk(&code(&[0x22, 0x00])),
        "param index 0 out of range (0 params) at code offset 0"
    );
    assert_eq!(
        err_chunk(&code(&[0x30, 0x00])),
        "capture index 0 out of range (0 captures) at code offset 0"
    );
    let mut c = code(&[0x11, 0x31, 0x01]);
    c.flags = FLAG_HAS_CAPTURES;
    c.captures = vec![capture("x", CaptureSource::Param)];
    assert_eq!(
        err_chunk(&c),
        "capture index 1 out of range (1 captures) at code offset 1"
    );
}

#[test]
fn make_block_capture_count_must_match() {
    let mut c = code(&[0xA0, 0x00, 0x00, 0x00, 0xF0]);
    c.constants = vec![hex(NESTED_INNER)];
    assert_eq!(
        err_chunk(&c),
        "MAKE_BLOCK capture count 0 does not match nested chunk capture count 1 at code offset 0"
    );
    c.code = vec![0x11, 0x11, 0xA0, 0x00, 0x00, 0x02, 0xF0];
    assert_eq!(
        err_chunk(&c),
        "MAKE_BLOCK capture count 2 does not match nested chunk capture count 1 at code offset 2"
    );
}

#[test]
fn nested_errors_are_wrapped_with_relative_offsets() {
    let underflow = hex("54544243000100000000000250F0000000000000");
    let mut c = code(&[0x11, 0x01, 0xA0, 0x00, 0x01, 0x00, 0xF0]);
    c.constants = vec![b"x".to_vec(), underflow];
    let msg = "in nested chunk (constant 1, MAKE_BLOCK at code offset 2): \
               stack underflow: ADD needs 2 value(s), depth 0 at code offset 0";
    assert_eq!(err_chunk(&c), msg);

    // Two levels: the outer wraps the middle's wrapped message.
    let mut outer = code(&[0x00, 0xA0, 0x00, 0x00, 0x00, 0xF0]);
    outer.constants = vec![serialize(&c).unwrap()];
    assert_eq!(
        err_chunk(&outer),
        format!("in nested chunk (constant 0, MAKE_BLOCK at code offset 1): {msg}")
    );

    // Structural errors inside a nested chunk, and a constant that is not a chunk at all.
    let mut trailing = hex(ADD);
    trailing.push(0);
    let mut c = code(&[0xA0, 0x00, 0x00, 0x00, 0xF0]);
    c.constants = vec![trailing];
    assert_eq!(
        err_chunk(&c),
        "in nested chunk (constant 0, MAKE_BLOCK at code offset 0): \
         1 trailing byte(s) after end of chunk at byte 28"
    );
    c.constants = vec![b"hello".to_vec()];
    assert_eq!(
        err_chunk(&c),
        "in nested chunk (constant 0, MAKE_BLOCK at code offset 0): invalid magic 68656C6C at byte 0"
    );
}

#[test]
fn nested_code_errors_precede_outer_stack_errors() {
    let mut c = code(&[0x50, 0xA0, 0x00, 0x00, 0x00, 0xF0]);
    c.constants = vec![hex("54544243000100000000000205F1000000000000")];
    assert_eq!(
        err_chunk(&c),
        "in nested chunk (constant 0, MAKE_BLOCK at code offset 1): unknown opcode 0x05 at code offset 0"
    );
}

/// A chain of `levels` chunks, each (but the last) making a block from the next.
fn chain(levels: usize) -> Vec<u8> {
    let mut bytes = serialize(&code(&[0xF1])).unwrap();
    for _ in 1..levels {
        let mut c = code(&[0xA0, 0x00, 0x00, 0x00, 0xF0]);
        c.constants = vec![bytes];
        bytes = serialize(&c).unwrap();
    }
    bytes
}

#[test]
fn nesting_depth_limit_is_64_chunks() {
    assert!(load_verified(&chain(64)).is_ok());
    let prefix = "in nested chunk (constant 0, MAKE_BLOCK at code offset 0): ".repeat(63);
    assert_eq!(
        err_bytes(&chain(65)),
        format!("{prefix}nested chunk depth exceeds 64 at code offset 0")
    );
}

#[test]
fn non_local_return_needs_its_flag() {
    let mut c = code(&[0x11, 0xF2]);
    assert_eq!(
        err_chunk(&c),
        "NON_LOCAL_RET without HAS_NON_LOCAL_RETURN flag at code offset 1"
    );
    c.flags = FLAG_HAS_NON_LOCAL_RETURN;
    assert_eq!(ok_chunk(&c), 1);
    // The flag may be set without F2.
    let mut c = code(&[0xF1]);
    c.flags = FLAG_HAS_NON_LOCAL_RETURN;
    assert_eq!(ok_chunk(&c), 0);
}

#[test]
fn code_errors_take_precedence_over_stack_errors() {
    assert_eq!(
        err_chunk(&code(&[0x50, 0x05])),
        "unknown opcode 0x05 at code offset 1"
    );
}

// ----- stack analysis (§3.4) -------------------------------------------------------------------

#[test]
fn stack_underflow() {
    let mut c = code(&[0x11, 0x90, 0x00, 0x00, 0x02, 0xF0]);
    c.constants = vec![b"at_put_".to_vec()];
    assert_eq!(
        err_chunk(&c),
        "stack underflow: SEND needs 3 value(s), depth 1 at code offset 1"
    );
    assert_eq!(
        err_chunk(&code(&[0xF0])),
        "stack underflow: RETURN needs 1 value(s), depth 0 at code offset 0"
    );
    assert_eq!(
        err_chunk(&code(&[0x11, 0x11, 0x04])),
        "stack underflow: ROT needs 3 value(s), depth 2 at code offset 2"
    );
}

#[test]
fn ifnotnil_dup_after_jump_nil_underflows() {
    // x ifNotNil: [:v | …] at statement level in the original compiler (§3.4 note).
    let mut c = code(&[0x22, 0x00, 0x83, 0x00, 0x02, 0x02, 0x01, 0xF1]);
    c.params = vec!["x".into()];
    assert_eq!(
        err_chunk(&c),
        "stack underflow: DUP needs 1 value(s), depth 0 at code offset 5"
    );
}

#[test]
fn stack_depth_limit_is_1024() {
    assert_eq!(ok_chunk(&code(&[0x11; 1024])), 1024);
    assert_eq!(
        err_chunk(&code(&[0x11; 1025])),
        "stack depth 1025 exceeds limit 1024 at code offset 1024"
    );
}

#[test]
fn inconsistent_depth_at_a_merge() {
    // 0 CONST_TRUE; 1 JUMP_FALSE +1 -> 5; 4 CONST_NIL; 5 RETURN_NIL: 5 is reached with 0 and 1.
    assert_eq!(
        err_chunk(&code(&[0x12, 0x82, 0x00, 0x01, 0x11, 0xF1])),
        "inconsistent stack depth at 5: 0 vs 1 at code offset 4"
    );
    // Reaching code_len with different depths is fine (each path ends there).
    assert_eq!(ok_chunk(&code(&[0x12, 0x82, 0x00, 0x01, 0x11])), 1);
}

#[test]
fn verify_accepts_a_loaded_chunk_directly() {
    let v = verify(load(&hex(IF_YES)).unwrap()).unwrap();
    assert_eq!(v.max_stack(), 2);
    assert_eq!(v.nested().len(), 3);
    assert!(v.nested().iter().all(Option::is_none));
}

// ----- golden disassembly ----------------------------------------------------------------------

fn golden(name: &str, h: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"));
    let listing = disassemble(&load(&hex(h)).unwrap());
    tt_testkit::golden::assert_golden(path, &listing);
}

#[test]
fn golden_13_1_add() {
    golden("13_1_add", ADD);
}

#[test]
fn golden_13_2_loop() {
    golden("13_2_loop", SUM);
}

#[test]
fn golden_13_4_branch() {
    golden("13_4_branch", IF_YES);
}

#[test]
fn golden_13_6_nested() {
    golden("13_6_nested", NESTED);
}

#[test]
fn golden_13_7_non_local_return() {
    golden("13_7_non_local_return", NLR);
}

// ----- properties ------------------------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:é€0-9]{0,6}"
}

fn capture_desc() -> impl Strategy<Value = CaptureDesc> {
    (name(), 0u8..4, any::<u8>()).prop_map(|(name, s, slot)| {
        let source = CaptureSource::from_byte(s).unwrap();
        let name = if source == CaptureSource::Ivar && name.is_empty() {
            "iv".to_string()
        } else {
            name
        };
        CaptureDesc { name, source, slot }
    })
}

fn debug_info() -> impl Strategy<Value = DebugInfo> {
    let loc =
        (any::<u32>(), any::<u32>(), any::<u16>()).prop_map(|(code_offset, line, column)| SrcLoc {
            code_offset,
            line,
            column,
        });
    (
        prop::collection::vec(loc, 0..4),
        prop::collection::vec(name(), 0..4),
    )
        .prop_map(|(srcmap, varnames)| DebugInfo { srcmap, varnames })
}

/// Structurally valid chunks: random code and constants, consistent DEBUG/HAS_CAPTURES flags.
fn chunk() -> impl Strategy<Value = Chunk> {
    (
        prop::collection::vec(any::<u8>(), 0..48),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..5),
        prop::collection::vec(name(), 0..4),
        any::<u8>(),
        prop::collection::vec(capture_desc(), 0..4),
        prop::option::of(debug_info()),
        any::<bool>(),
    )
        .prop_map(
            |(code, constants, params, local_count, captures, debug, nlr)| {
                let mut flags = 0;
                if debug.is_some() {
                    flags |= FLAG_DEBUG;
                }
                if !captures.is_empty() {
                    flags |= FLAG_HAS_CAPTURES;
                }
                if nlr {
                    flags |= FLAG_HAS_NON_LOCAL_RETURN;
                }
                Chunk {
                    version: 1,
                    flags,
                    code,
                    constants,
                    params,
                    local_count,
                    captures,
                    debug,
                }
            },
        )
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Set(prop::sample::Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<prop::sample::Index>;
    prop_oneof![
        (i(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        (i(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        i().prop_map(Mutation::Delete),
        (i(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    if n == 0 {
        return;
    }
    match m {
        Mutation::Flip(i, bit) => bytes[i.index(n)] ^= 1 << bit,
        Mutation::Insert(i, b) => bytes.insert(i.index(n + 1), *b),
        Mutation::Delete(i) => {
            bytes.remove(i.index(n));
        }
        Mutation::Set(i, b) => bytes[i.index(n)] = *b,
    }
}

/// Runs everything a consumer may run on untrusted bytes; must never panic.
fn exercise(bytes: &[u8]) {
    if let Ok(c) = load(bytes) {
        let _ = disassemble(&c);
        assert_eq!(
            serialize(&c).unwrap(),
            bytes,
            "loaded chunks re-serialize exactly"
        );
    }
    if let Ok(v) = load_verified(bytes) {
        assert!(v.max_stack() <= 1024);
        let _ = disassemble(v.chunk());
    }
}

proptest! {
    #[test]
    fn valid_chunks_round_trip(c in chunk()) {
        let bytes = serialize(&c).unwrap();
        let loaded = load(&bytes).unwrap();
        prop_assert_eq!(&loaded, &c);
        prop_assert_eq!(serialize(&loaded).unwrap(), bytes.clone());
        prop_assert_eq!(serialize_canonical(&loaded).map(|b| b.len()).unwrap(), bytes.len());
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
        let mut with_header = b"TTBC\x00\x01".to_vec();
        with_header.extend_from_slice(&bytes);
        exercise(&with_header);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0..EXAMPLES.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = hex(EXAMPLES[which].1);
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        exercise(&bytes);
    }
}
