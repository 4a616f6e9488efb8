//! TTBC v2 (docs/spec/ttbc.md, part "TTBC v2"): the version-2 header, the verifier's checks of
//! the v2 instructions (accepted in a v2 chunk, refused with offset and reason in a v1 chunk,
//! nested-version rule) and their semantics in the interpreter on hand-assembled chunks. The
//! same instructions run in both tiers through the compiler's semantic cases
//! (`tests/tests/jit_corpus.rs`, group `shared_cells_and_self`).

use tt_vm::ttbc::chunk::FLAG_HAS_CAPTURES;
use tt_vm::ttbc::{
    CaptureDesc, CaptureSource, Chunk, Op, disassemble, load, load_verified, serialize,
};
use tt_vm::{Runtime, Value};

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";

fn chunk(version: u16, code: &[u8]) -> Chunk {
    Chunk {
        version,
        code: code.to_vec(),
        constants: vec![b"7".to_vec()],
        local_count: 1,
        ..Chunk::default()
    }
}

fn err(c: &Chunk) -> String {
    load_verified(&serialize(c).unwrap())
        .unwrap_err()
        .to_string()
}

fn run(c: &Chunk, args: &[Value]) -> String {
    let rt = Runtime::new();
    let b = rt
        .register_block(&serialize(c).unwrap(), Vec::new())
        .unwrap();
    match rt.invoke_block(&b, args) {
        Ok(v) => v.text().into_owned(),
        Err(e) => format!("error: {e}"),
    }
}

const SELF: u8 = Op::PushSelf as u8;
const MAKE: u8 = Op::MakeCapture as u8;
const GET: u8 = Op::CellGet as u8;
const SET: u8 = Op::CellSet as u8;
const RET: u8 = Op::Return as u8;

#[test]
fn a_version_2_header_loads_verifies_and_round_trips() {
    let mut bytes = hex::decode(ADD).unwrap();
    bytes[5] = 2;
    let c = load(&bytes).unwrap();
    assert_eq!(c.version, 2);
    assert!(load_verified(&bytes).is_ok());
    assert_eq!(serialize(&c).unwrap(), bytes);
    assert!(disassemble(&c).starts_with("version: 2\n"));
    // A v1 listing does not mention the version (v1 listings are unchanged).
    let v1 = load(&hex::decode(ADD).unwrap()).unwrap();
    assert!(!disassemble(&v1).contains("version"));
}

#[test]
fn versions_other_than_1_and_2_are_unsupported() {
    for v in [0u8, 3] {
        let mut bytes = hex::decode(ADD).unwrap();
        bytes[5] = v;
        assert_eq!(
            load_verified(&bytes).unwrap_err().to_string(),
            format!("unsupported version {v} at byte 4")
        );
    }
}

#[test]
fn each_v2_instruction_is_accepted_in_a_v2_chunk() {
    for code in [
        vec![SELF, RET],
        vec![Op::ConstOne as u8, MAKE, RET],
        vec![Op::ConstOne as u8, MAKE, GET, RET],
        vec![
            Op::ConstOne as u8,
            MAKE,
            Op::ConstZero as u8,
            SET,
            Op::ReturnNil as u8,
        ],
    ] {
        let c = chunk(2, &code);
        assert!(load_verified(&serialize(&c).unwrap()).is_ok(), "{code:?}");
    }
}

#[test]
fn v2_instructions_in_a_v1_chunk_are_refused_with_offset_and_reason() {
    let nil = Op::ConstNil as u8;
    let cases: [(Vec<u8>, &str); 4] = [
        (
            vec![nil, SELF, RET],
            "PUSH_SELF (0x17) requires TTBC v2 (chunk version 1) at code offset 1",
        ),
        (
            vec![nil, MAKE, RET],
            "reserved opcode MAKE_CAPTURE (0x32) at code offset 1",
        ),
        (
            vec![nil, GET, RET],
            "CELL_GET (0x33) requires TTBC v2 (chunk version 1) at code offset 1",
        ),
        (
            vec![nil, nil, SET, Op::ReturnNil as u8],
            "CELL_SET (0x34) requires TTBC v2 (chunk version 1) at code offset 2",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(err(&chunk(1, &code)), want);
    }
}

#[test]
fn v2_instructions_have_their_stack_effects_checked() {
    assert_eq!(
        err(&chunk(2, &[Op::ConstNil as u8, SET, Op::ReturnNil as u8])),
        "stack underflow: CELL_SET needs 2 value(s), depth 1 at code offset 1"
    );
    assert_eq!(
        err(&chunk(2, &[GET, RET])),
        "stack underflow: CELL_GET needs 1 value(s), depth 0 at code offset 0"
    );
    assert_eq!(
        err(&chunk(2, &[MAKE, RET])),
        "stack underflow: MAKE_CAPTURE needs 1 value(s), depth 0 at code offset 0"
    );
}

#[test]
fn a_v2_nested_chunk_inside_a_v1_chunk_is_refused() {
    let inner = serialize(&chunk(2, &[SELF, RET])).unwrap();
    let mut outer = chunk(1, &[Op::MakeBlock as u8, 0, 1, 0, RET]);
    outer.constants.push(inner.clone());
    assert_eq!(
        err(&outer),
        "nested chunk version 2 exceeds enclosing chunk version 1 at code offset 0"
    );
    // A v2 chunk may hold v1 and v2 nested chunks.
    outer.version = 2;
    assert!(load_verified(&serialize(&outer).unwrap()).is_ok());
    let v1_inner = serialize(&chunk(1, &[Op::ConstOne as u8, RET])).unwrap();
    outer.constants[1] = v1_inner;
    assert!(load_verified(&serialize(&outer).unwrap()).is_ok());
}

#[test]
fn push_self_without_a_receiver_is_nil() {
    // A block registered from outside has no self (§7.3): PUSH_SELF pushes nil.
    let c = chunk(2, &[SELF, Op::ConstEmpty as u8, Op::Eq as u8, RET]);
    assert_eq!(run(&c, &[]), "true");
}

#[test]
fn a_cell_holds_what_cell_set_stores() {
    // local 0 := MAKE_CAPTURE(1); CELL_SET(local 0, "7"); CELL_GET(local 0) + 1
    let c = chunk(
        2,
        &[
            Op::ConstOne as u8,
            MAKE,
            Op::StoreLocal as u8,
            0,
            Op::LoadLocal as u8,
            0,
            Op::Const as u8,
            0,
            0,
            SET,
            Op::LoadLocal as u8,
            0,
            GET,
            Op::ConstOne as u8,
            Op::Add as u8,
            RET,
        ],
    );
    assert_eq!(run(&c, &[]), "8");
}

#[test]
fn a_block_sees_and_assigns_the_cell_it_captured() {
    // Inner `[:v | cell := v]` as CELL_SET on capture 0, then the outer reads the cell.
    let inner = Chunk {
        version: 2,
        flags: FLAG_HAS_CAPTURES,
        code: vec![
            Op::LoadCapture as u8,
            0,
            Op::LoadParam as u8,
            0,
            SET,
            Op::LoadCapture as u8,
            0,
            GET,
            RET,
        ],
        params: vec!["v".into()],
        captures: vec![CaptureDesc {
            name: "x".into(),
            source: CaptureSource::Local,
            slot: 0,
        }],
        ..Chunk::default()
    };
    let mut outer = chunk(
        2,
        &[
            Op::ConstZero as u8,
            MAKE,
            Op::StoreLocal as u8,
            0,
            Op::LoadLocal as u8,
            0,
            Op::MakeBlock as u8,
            0,
            1,
            1,
            Op::LoadParam as u8,
            0,
            Op::InvokeBlock as u8,
            1,
            Op::Pop as u8,
            Op::LoadLocal as u8,
            0,
            GET,
            RET,
        ],
    );
    outer.params = vec!["n".into()];
    outer.constants.push(serialize(&inner).unwrap());
    assert_eq!(run(&outer, &[Value::string("42")]), "42");
}

#[test]
fn cell_instructions_on_a_value_that_is_not_a_cell_are_errors() {
    let get = chunk(2, &[Op::Const as u8, 0, 0, GET, RET]);
    assert_eq!(run(&get, &[]), "error: CELL_GET: not a variable cell: 7");
    let set = chunk(
        2,
        &[
            Op::Const as u8,
            0,
            0,
            Op::ConstOne as u8,
            SET,
            Op::ReturnNil as u8,
        ],
    );
    assert_eq!(run(&set, &[]), "error: CELL_SET: not a variable cell: 7");
}
