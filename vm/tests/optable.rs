//! The instruction table (`tt_vm::ttbc::opcode`) against its consumers, for every opcode: the
//! verifier's depth analysis (§3.4), the disassembler and the interpreter's decoded form agree
//! with the table's stack effect and flags.

use std::sync::Arc;

use tt_vm::interp::CodeUnit;
use tt_vm::ttbc::chunk::{FLAG_HAS_CAPTURES, FLAG_HAS_NON_LOCAL_RETURN};
use tt_vm::ttbc::opcode::{ALL_OPS, OperandKind};
use tt_vm::ttbc::verify::CodeReason;
use tt_vm::ttbc::{
    CaptureDesc, CaptureSource, Chunk, Op, TtbcError, disassemble, serialize, verify,
};

/// The count operand given to counted instructions.
const COUNT: u8 = 3;

fn capture(name: &str) -> CaptureDesc {
    CaptureDesc {
        name: name.into(),
        source: CaptureSource::Local,
        slot: 0,
    }
}

/// [`chunk_in`] with the lowest version that has `op` (2 for the TTBC v2 instructions).
fn chunk_around(op: Op, pushes: usize) -> Chunk {
    chunk_in(if op.is_v2() { 2 } else { 1 }, op, pushes)
}

/// A chunk of header version `version` with `pushes` CONST_NILs, then `op` with valid operands
/// (count operand [`COUNT`], jumps to the next instruction), then (when `op` falls through) a
/// POP per value it pushes, then RETURN_NIL. Constant 0 is text, constant 1 a nested chunk with
/// [`COUNT`] captures.
fn chunk_in(version: u16, op: Op, pushes: usize) -> Chunk {
    let nested = Chunk {
        version: 1,
        flags: FLAG_HAS_CAPTURES,
        captures: (0..COUNT).map(|i| capture(&format!("c{i}"))).collect(),
        code: vec![Op::ReturnNil.byte()],
        ..Chunk::default()
    };
    let mut code = vec![Op::ConstNil.byte(); pushes];
    code.push(op.byte());
    let mut operands = vec![0u8; op.operands().len()];
    if op.operand_kind() == OperandKind::Block {
        operands[1] = 1;
    }
    if let Some(i) = op.count_at() {
        operands[i] = COUNT;
    }
    code.extend(operands);
    if !op.ends_block() {
        let (_, pushed) = op.stack_effect(COUNT);
        code.extend(std::iter::repeat_n(Op::Pop.byte(), pushed));
    }
    code.push(Op::ReturnNil.byte());
    Chunk {
        version,
        flags: FLAG_HAS_CAPTURES | FLAG_HAS_NON_LOCAL_RETURN,
        code,
        constants: vec![b"x".to_vec(), serialize(&nested).unwrap()],
        params: vec!["p".into()],
        local_count: 1,
        captures: vec![capture("c")],
        debug: None,
    }
}

#[test]
fn verifier_depths_follow_the_table_for_every_opcode() {
    for op in ALL_OPS {
        let (pops, pushes) = op.stack_effect(COUNT);
        let v = verify(chunk_around(op, pops)).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        let after = if op.ends_block() { 0 } else { pushes };
        assert_eq!(v.max_stack(), pops.max(after), "{op:?}");
        if pops > 0 {
            let e = verify(chunk_around(op, pops - 1)).unwrap_err();
            let want = TtbcError::code(
                CodeReason::StackUnderflow {
                    op,
                    needs: pops,
                    depth: pops - 1,
                },
                pops - 1,
            );
            assert_eq!(e, want, "{op:?}");
        }
    }
}

#[test]
fn reserved_opcodes_are_rejected_in_v1_chunks() {
    for op in ALL_OPS.into_iter().filter(|op| op.is_reserved()) {
        let e = verify(chunk_in(1, op, 0)).unwrap_err();
        assert_eq!(e, TtbcError::code(CodeReason::ReservedOpcode, 0));
    }
}

#[test]
fn v2_opcodes_are_refused_in_v1_chunks_with_offset_and_reason() {
    for op in ALL_OPS.into_iter().filter(|op| op.is_v2()) {
        let (pops, _) = op.stack_effect(COUNT);
        let e = verify(chunk_in(1, op, pops)).unwrap_err();
        let reason = if op.is_reserved() {
            CodeReason::ReservedOpcode
        } else {
            CodeReason::RequiresV2 { op, version: 1 }
        };
        assert_eq!(e, TtbcError::code(reason, pops), "{op:?}");
        if !op.is_reserved() {
            let text = format!(
                "{} (0x{:02X}) requires TTBC v2 (chunk version 1) at code offset {pops}",
                op.name(),
                op.byte()
            );
            assert_eq!(e.to_string(), text);
        }
    }
}

#[test]
fn decoded_instructions_carry_the_table_facts_for_every_opcode() {
    for op in ALL_OPS {
        let (pops, pushes) = op.stack_effect(COUNT);
        let unit = CodeUnit::decode(Arc::new(verify(chunk_around(op, pops)).unwrap()));
        let ins = unit.ins[pops];
        assert_eq!(ins.effect(), (pops, pushes), "{op:?}");
        assert_eq!(ins.falls_through(), !op.ends_block(), "{op:?}");
        assert_eq!(
            ins.jump_target(),
            op.is_jump().then_some(pops + 1),
            "{op:?}"
        );
        assert_eq!(ins.needs_runtime(), op.needs_runtime(), "{op:?}");
        assert_eq!(ins.is_int_op(), op.is_int_op(), "{op:?}");
        let leaf = !op.breaks_leaf();
        assert_eq!(unit.leaf, leaf, "{op:?}");
    }
}

#[test]
fn the_disassembler_names_every_opcode() {
    for op in ALL_OPS {
        let listing = disassemble(&chunk_around(op, 0));
        let line = format!("{:04X}  {}", 0, op.name());
        assert!(listing.contains(&line), "{op:?}:\n{listing}");
    }
}
