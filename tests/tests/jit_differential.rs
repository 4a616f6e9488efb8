//! Differential tests: every chunk runs in the interpreter (`TierMode::Never`) and compiled
//! (`TierMode::Always`, JIT installed) and must give the same text or the same error message.
//! Each case also asserts that the JIT really compiled the unit.

mod common_jit;

use common_jit::*;
use tt_vm::ttbc::{CaptureSource, Op};
use tt_vm::value::boxing::{SMALL_INT_MAX, SMALL_INT_MIN};
use tt_vm::{Runtime, Value};

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";
const CONCAT_CAPTURE: &str = "545442430001000200000007300010000070F000010001210000010178000000";
const IF_YES: &str = "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000";
const SEND_SETVALUE: &str =
    "54544243000100000000000B22002201155090000001F00001000973657456616C75655F020163016E000000";
const NESTED: &str = "5454424300010000000000102200A000000121002000100001A101F00002001E5454424300010002000000063000220050F000000101790001017803000000023130010178010000";
const NESTED_RETURNING_BLOCK: &str = "5454424300010000000000072200A0000001F00001001E5454424300010002000000063000220050F0000001017900010178030000010178000000";
const NLR: &str = "54544243000100000000000DA00000002200A10101100001F0000200175454424300010004000000032200F20000010176000000000B6E6F742072656163686564010178000000";
const NLR_DEAD_HOME: &str = "545442430001000000000005A0000000F0000100175454424300010004000000032200F2000001017600000000000000";

fn f(x: f64) -> Option<Value> {
    Some(Value::float(x))
}

#[test]
fn worked_examples_13_1_add() {
    let t = Tiers::new();
    let b = t.register(&hex(ADD), &[]);
    assert_eq!(t.invoke(&b, &strs(&["10", "32"])), "42");
    assert_eq!(t.invoke(&b, &strs(&["7"])), "7");
    assert_eq!(t.invoke(&b, &strs(&["a", "1"])), "1");
    // 48-bit overflow (boxed result), 64-bit wrap-around, negative, strings.
    let max = SMALL_INT_MAX.to_string();
    let min = SMALL_INT_MIN.to_string();
    assert_eq!(
        t.invoke(&b, &strs(&[&max, "1"])),
        (SMALL_INT_MAX + 1).to_string()
    );
    assert_eq!(
        t.invoke(&b, &strs(&[&min, "-1"])),
        (SMALL_INT_MIN - 1).to_string()
    );
    assert_eq!(
        t.invoke(&b, &strs(&["9223372036854775807", "1"])),
        "-9223372036854775808"
    );
    assert_eq!(t.invoke(&b, &strs(&["-5", "-7"])), "-12");
    assert_eq!(t.invoke(&b, &strs(&["1.5", "1"])), "1");
    assert_eq!(t.invoke(&b, &[]), "0");
    assert_eq!(
        t.invoke(&b, &[Arg::V(Value::float(1.5)), Arg::V(Value::float(1.5))]),
        "3"
    );
    assert_eq!(
        t.invoke(&b, &[Arg::V(Value::float(1.5)), Arg::s("1")]),
        "2.5"
    );
    assert_eq!(t.invoke(&b, &[Arg::V(Value::TRUE), Arg::s("1")]), "1");
}

#[test]
fn worked_example_13_2_sum_loop() {
    let t = Tiers::new();
    let b = t.register(&hex(SUM), &[]);
    for (arg, want) in [
        ("5", "10"),
        ("10", "45"),
        ("0", "0"),
        ("1", "0"),
        ("-3", "0"),
        ("abc", "0"),
    ] {
        assert_eq!(t.invoke(&b, &strs(&[arg])), want, "n = {arg}");
    }
    assert_eq!(t.invoke(&b, &strs(&["100000"])), "4999950000");
    // The sum leaves the 48-bit range: the loop continues on boxed integers.
    assert_eq!(t.invoke(&b, &strs(&["20000000"])), "199999990000000");
    assert_eq!(t.invoke(&b, &[Arg::V(Value::float(4.5))]), "10");
}

#[test]
fn worked_examples_13_3_to_13_5() {
    let t = Tiers::new();
    assert_eq!(
        t.run(&hex(CONCAT_CAPTURE), &[Some(Value::string("hi"))], &[]),
        "hi!"
    );
    assert_eq!(
        t.run(&hex(CONCAT_CAPTURE), &[Some(Value::int(42))], &[]),
        "42!"
    );
    assert_eq!(t.run(&hex(CONCAT_CAPTURE), &[], &[]), "!");
    assert_eq!(t.run(&hex(CONCAT_CAPTURE), &[f(2.5)], &[]), "2.5!");
    let b = t.register(&hex(IF_YES), &[]);
    assert_eq!(t.invoke(&b, &strs(&["yes"])), "Y");
    for a in ["no", "YES", ""] {
        assert_eq!(t.invoke(&b, &strs(&[a])), "N");
    }
    assert_eq!(t.invoke(&b, &[]), "N");
    // 13.5 with a class that has no setValue: → the dispatcher's error, identical in both tiers.
    let b = t.register(&hex(SEND_SETVALUE), &[]);
    let out = t.invoke(&b, &[Arg::Counter(1), Arg::s("41")]);
    assert_eq!(out, "ERR unknown method: Counter setValue_");
}

#[test]
fn worked_examples_13_6_and_13_7() {
    let t = Tiers::new();
    assert_eq!(t.run(&hex(NESTED), &[], &strs(&["5"])), "15");
    assert_eq!(
        t.run(&hex(NESTED_RETURNING_BLOCK), &[], &strs(&["5"])),
        "bytecode_block_N"
    );
    // The returned block, invoked again from outside (compiled in the JIT tier).
    let (bi, bj) = t.register(&hex(NESTED_RETURNING_BLOCK), &[]);
    let ii = t.interp.invoke_block(&bi, &[Value::string("5")]).unwrap();
    let ij = t.jit.invoke_block(&bj, &[Value::string("5")]).unwrap();
    let ri = t
        .interp
        .invoke_block_id(&ii.text(), &[Value::string("10")])
        .unwrap();
    let rj = t
        .jit
        .invoke_block_id(&ij.text(), &[Value::string("10")])
        .unwrap();
    assert_eq!((ri.text(), rj.text()), ("15".into(), "15".into()));
    assert!(ij.as_block().unwrap().code().compiled().is_some());

    let b = t.register(&hex(NLR), &[]);
    assert_eq!(t.invoke(&b, &strs(&["7"])), "7");
    assert!(
        b.1.code()
            .nested
            .iter()
            .flatten()
            .all(|u| u.compiled().is_some())
    );
    // Dead home: the escaped block's F2 returns from the entry activation of the later call.
    let (di, dj) = t.register(&hex(NLR_DEAD_HOME), &[]);
    let ei = t.interp.invoke_block(&di, &[]).unwrap().text().into_owned();
    let ej = t.jit.invoke_block(&dj, &[]).unwrap().text().into_owned();
    let ri = t
        .interp
        .invoke_block_id(&ei, &[Value::string("9")])
        .unwrap();
    let rj = t.jit.invoke_block_id(&ej, &[Value::string("9")]).unwrap();
    assert_eq!((ri.text(), rj.text()), ("9".into(), "9".into()));
}

/// `[:a :b | a <op> b]`
fn binary(op: Op) -> Vec<u8> {
    let mut a = Asm::new(2, 0);
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .op(op)
        .op(Op::Return);
    a.bytes()
}

/// `[x <op> y]` on two captures.
fn binary_captured(op: Op) -> Vec<u8> {
    let mut a = Asm::new(0, 0);
    a.capture("x", CaptureSource::Local)
        .capture("y", CaptureSource::Local);
    a.op8(Op::LoadCapture, 0)
        .op8(Op::LoadCapture, 1)
        .op(op)
        .op(Op::Return);
    a.bytes()
}

fn operand_values() -> Vec<Value> {
    vec![
        Value::int(0),
        Value::int(1),
        Value::int(-1),
        Value::int(7),
        Value::int(-7),
        Value::int(2),
        Value::int(-2),
        Value::int(SMALL_INT_MAX),
        Value::int(SMALL_INT_MIN),
        Value::int(SMALL_INT_MIN + 1),
        Value::int(i64::MAX),
        Value::int(i64::MIN),
        Value::int(1 << 40),
        Value::float(1.5),
        Value::float(-0.0),
        Value::float(0.0),
        Value::float(f64::NAN),
        Value::float(2.0),
        Value::string("abc"),
        Value::string("10"),
        Value::string("9"),
        Value::string("007"),
        Value::string(""),
        Value::empty_string(),
        Value::string("1.5"),
        Value::NIL,
        Value::TRUE,
        Value::FALSE,
        Value::json(serde_json::json!([1, 2])),
    ]
}

#[test]
fn arithmetic_comparison_and_logic_on_every_operand_kind() {
    let t = Tiers::new();
    let ops = [
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Mod,
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::And,
        Op::Or,
        Op::Concat,
    ];
    let vals = operand_values();
    for op in ops {
        let params = t.register(&binary(op), &[]);
        for x in &vals {
            for y in &vals {
                t.invoke(&params, &[Arg::V(x.clone()), Arg::V(y.clone())]);
            }
        }
        // The same through captures (floats from captures, §14.1 rule 3).
        for x in &vals {
            for y in vals.iter().step_by(3) {
                t.run(
                    &binary_captured(op),
                    &[Some(x.clone()), Some(y.clone())],
                    &[],
                );
            }
        }
    }
    let unary = [Op::Neg, Op::Not, Op::Strlen];
    for op in unary {
        let mut a = Asm::new(1, 0);
        a.op8(Op::LoadParam, 0).op(op).op(Op::Return);
        let b = t.register(&a.bytes(), &[]);
        for x in &vals {
            t.invoke(&b, &[Arg::V(x.clone())]);
        }
    }
    // Spot checks of the quick-reference table (§14.8).
    assert_eq!(t.run(&binary(Op::Div), &[], &strs(&["-7", "2"])), "-3");
    assert_eq!(t.run(&binary(Op::Mod), &[], &strs(&["-7", "2"])), "-1");
    assert_eq!(t.run(&binary(Op::Div), &[], &strs(&["5", "0"])), "0");
    assert_eq!(t.run(&binary(Op::Lt), &[], &strs(&["10", "9"])), "false");
    assert_eq!(t.run(&binary(Op::Lt), &[], &strs(&["abc", "1"])), "true");
    assert_eq!(t.run(&binary(Op::Eq), &[], &strs(&["1", "01"])), "false");
    assert_eq!(
        t.run(&binary(Op::Mul), &[], &strs(&["140737488355327", "2"])),
        "281474976710654"
    );
    assert_eq!(
        t.run(
            &binary(Op::Div),
            &[],
            &[Arg::V(Value::int(SMALL_INT_MIN)), Arg::s("-1")]
        ),
        (-SMALL_INT_MIN).to_string()
    );
}

/// Conditional jumps on every kind of condition value, fused and not fused with a compare.
#[test]
fn conditional_jumps() {
    let t = Tiers::new();
    for jump in [Op::JumpTrue, Op::JumpFalse, Op::JumpNil, Op::JumpNotNil] {
        let mut a = Asm::new(1, 0);
        a.op8(Op::LoadParam, 0)
            .jump(jump, "yes")
            .text("no")
            .op(Op::Return)
            .label("yes")
            .text("yes")
            .op(Op::Return);
        let b = t.register(&a.bytes(), &[]);
        for x in operand_values() {
            t.invoke(&b, &[Arg::V(x)]);
        }
        for x in ["0", "false", "nil", "", "no", "-0", "[]", "{}", "null"] {
            t.invoke(&b, &strs(&[x]));
        }
    }
    // Compare fused with a jump whose operands are heap values (slow path, releases).
    for jump in [Op::JumpTrue, Op::JumpFalse] {
        for cmp in [Op::Eq, Op::Ne, Op::Lt, Op::Ge] {
            let mut a = Asm::new(2, 0);
            a.op8(Op::LoadParam, 0).op8(Op::LoadParam, 1).op(Op::Concat);
            a.op8(Op::LoadParam, 1)
                .op(cmp)
                .jump(jump, "yes")
                .text("no")
                .op(Op::Return);
            a.label("yes").text("yes").op(Op::Return);
            let b = t.register(&a.bytes(), &[]);
            for (x, y) in [("1", "2"), ("", "5"), ("a", "b"), ("7", ""), ("", "")] {
                t.invoke(&b, &strs(&[x, y]));
            }
        }
    }
    // A jump to the next instruction.
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0)
        .jump(Op::JumpTrue, "next")
        .label("next")
        .text("done")
        .op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["x"])), "done");
}

#[test]
fn stack_ops_constants_and_implicit_return() {
    let t = Tiers::new();
    let mut a = Asm::new(3, 0);
    // p0 p1 p2 ROT → p1 p2 p0 ; SWAP → p1 p0 p2 ; CONCAT CONCAT → p1p0p2
    a.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .op8(Op::LoadParam, 2);
    a.ops(&[
        Op::Rot,
        Op::Swap,
        Op::Concat,
        Op::Concat,
        Op::Dup,
        Op::Concat,
        Op::Nop,
    ]);
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["a", "b", "c"])), "bacbac");
    let mut a = Asm::new(0, 0);
    a.ops(&[
        Op::ConstNil,
        Op::ConstTrue,
        Op::ConstFalse,
        Op::ConstZero,
        Op::ConstOne,
        Op::ConstEmpty,
    ]);
    a.ops(&[Op::Concat, Op::Concat, Op::Concat, Op::Concat, Op::Concat]);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "truefalse01");
    // Falling off the end with an empty stack returns nil; with values, TOS.
    let a = Asm::new(0, 0);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "");
    let mut a = Asm::new(1, 1);
    a.op8(Op::LoadParam, 0)
        .op(Op::Dup)
        .op8(Op::StoreLocal, 0)
        .op(Op::Pop)
        .op8(Op::LoadLocal, 0)
        .text("x");
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["p"])), "x");
    let mut a = Asm::new(0, 0);
    a.text("x").op(Op::ReturnNil);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "");
    // Unreachable code after a return is never translated.
    let mut a = Asm::new(0, 0);
    a.text("r").op(Op::Return).ops(&[Op::Add, Op::Add, Op::Pop]);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "r");
}

#[test]
fn locals_params_and_captures() {
    let t = Tiers::new();
    // Locals start nil; store/load of heap values; overwriting a local whose value is on the
    // stack (borrowed entries must survive the store).
    let mut a = Asm::new(1, 2);
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadParam, 0)
        .op(Op::Concat)
        .op8(Op::StoreLocal, 0);
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 0)
        .text("!")
        .op(Op::Concat)
        .op8(Op::StoreLocal, 0);
    a.op8(Op::LoadLocal, 0)
        .op(Op::Concat)
        .op8(Op::StoreLocal, 1)
        .op8(Op::LoadLocal, 1)
        .op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["ab"])), "abab!");
    // Stored capture values persist across invocations of the same block.
    let mut a = Asm::new(1, 0);
    a.capture("acc", CaptureSource::Local);
    a.op8(Op::LoadCapture, 0)
        .op8(Op::LoadParam, 0)
        .op(Op::Add)
        .op(Op::Dup)
        .op8(Op::StoreCapture, 0)
        .op(Op::Return);
    let b = t.register(&a.bytes(), &[Some(Value::int(10))]);
    assert_eq!(t.invoke(&b, &strs(&["5"])), "15");
    assert_eq!(t.invoke(&b, &strs(&["5"])), "20");
    assert_eq!(t.invoke(&b, &[Arg::V(Value::float(0.5))]), "20.5");
    // Missing capture → nil.
    let b = t.register(&a.bytes(), &[]);
    assert_eq!(t.invoke(&b, &strs(&["5"])), "5");
}

#[test]
fn json_opcodes_and_their_errors() {
    let t = Tiers::new();
    let mut a = Asm::new(0, 1);
    a.op(Op::ArrayNew)
        .text("a")
        .op(Op::ArrayPush)
        .op(Op::ConstOne)
        .op(Op::ArrayPush)
        .op8(Op::StoreLocal, 0);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ArrayLen)
        .op8(Op::LoadLocal, 0)
        .op(Op::ArrayFirst)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0).op(Op::ArrayLast).op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ConstZero)
        .text("z")
        .op(Op::ArrayAtPut)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ConstZero)
        .op(Op::ArrayRemove)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .op(Op::ConstOne)
        .op(Op::ArrayAt)
        .op(Op::Concat);
    a.op(Op::ObjectNew)
        .text("k")
        .text("v")
        .op(Op::ObjectAtPut)
        .op8(Op::StoreLocal, 0);
    a.op8(Op::LoadLocal, 0)
        .op(Op::Concat)
        .op8(Op::LoadLocal, 0)
        .text("k")
        .op(Op::ObjectAt)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .text("k")
        .op(Op::ObjectHasKey)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0).op(Op::ObjectKeys).op(Op::Concat);
    a.op8(Op::LoadLocal, 0).op(Op::ObjectValues).op(Op::Concat);
    a.op8(Op::LoadLocal, 0).op(Op::ObjectLen).op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .text("k")
        .op(Op::ObjectRemove)
        .op(Op::Concat)
        .op(Op::Return);
    let out = t.run(&a.bytes(), &[], &[]);
    assert_eq!(
        out,
        "2a1[\"z\",\"1\"][\"1\"]1{\"k\":\"v\"}vtrue[\"k\"][\"v\"]1{}"
    );
    // Errors: invalid JSON, wrong container kind; the error aborts with live values on the
    // stack and in locals (they must be released on the unwind path).
    for (op, arg) in [
        (Op::ArrayLen, "{"),
        (Op::ArrayLen, "{}"),
        (Op::ObjectLen, "[1]"),
        (Op::ObjectKeys, "5"),
    ] {
        let mut a = Asm::new(1, 1);
        a.text("held")
            .op8(Op::StoreLocal, 0)
            .text("on stack")
            .op8(Op::LoadParam, 0)
            .op(op)
            .op(Op::Concat);
        a.op(Op::Return);
        let out = t.run(&a.bytes(), &[], &strs(&[arg]));
        assert!(out.starts_with("ERR "), "{out}");
    }
}

#[test]
fn blocks_make_invoke_and_errors() {
    let t = Tiers::new();
    // [:x | | adder | adder := [:y | x + y]. (adder value: 10) , (adder numArgs)]
    let mut inner = Asm::new(1, 0);
    inner
        .capture("x", CaptureSource::Param)
        .op8(Op::LoadCapture, 0)
        .op8(Op::LoadParam, 0)
        .op(Op::Add);
    inner.op(Op::Return);
    let inner = inner.bytes();
    let mut a = Asm::new(1, 1);
    a.op8(Op::LoadParam, 0)
        .make_block(&inner, 1)
        .op8(Op::StoreLocal, 0);
    a.op8(Op::LoadLocal, 0).text("10").op8(Op::InvokeBlock, 1);
    a.op8(Op::LoadLocal, 0)
        .send(Op::Send, "numArgs", 0)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .text("1")
        .send(Op::Send, "valueWith:", 1)
        .op(Op::Concat);
    a.op8(Op::LoadLocal, 0)
        .op(Op::BlockValue)
        .op(Op::Concat)
        .op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["5"])), "15165");
    // Invoking nil, an unknown id, a non-block text.
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0).op(Op::BlockValue).op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    assert_eq!(t.invoke(&b, &[]), "ERR nil block");
    assert_eq!(
        t.invoke(&b, &strs(&["bytecode_block_999999999"])),
        "ERR block not found: bytecode_block_N"
    );
    let out = t.invoke(&b, &strs(&["plain"]));
    assert!(out.starts_with("ERR"), "{out}");
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0)
        .ops(&[Op::ConstOne, Op::ConstOne, Op::ConstOne])
        .op8(Op::InvokeBlock, 3);
    a.op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &strs(&["plain"])),
        "ERR cannot invoke plain with 3 arguments"
    );
    // An error raised inside a nested block propagates through the compiled caller.
    let mut inner = Asm::new(0, 0);
    inner.op(Op::ConstNil).op(Op::BlockValue).op(Op::Return);
    let inner = inner.bytes();
    let mut a = Asm::new(0, 1);
    a.text("keep")
        .op8(Op::StoreLocal, 0)
        .text("live")
        .make_block(&inner, 0)
        .op(Op::BlockValue);
    a.op(Op::Concat).op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "ERR nil block");
}

#[test]
fn non_local_return_through_nested_compiled_activations() {
    let t = Tiers::new();
    // inner2 [:v | ^v] ; inner1 [:v | | r | r := inner2 value: v. 'inner1 continued'] ;
    // outer [:x | (inner1 value: x) . 'outer continued']
    let mut inner2 = Asm::new(1, 0);
    inner2.op8(Op::LoadParam, 0).op(Op::NonLocalRet);
    let inner2 = inner2.bytes();
    let mut inner1 = Asm::new(1, 1);
    inner1
        .text("pending")
        .make_block(&inner2, 0)
        .op8(Op::LoadParam, 0)
        .op8(Op::InvokeBlock, 1);
    inner1
        .op8(Op::StoreLocal, 0)
        .text("inner1 continued")
        .op(Op::Concat)
        .op(Op::Return);
    let inner1 = inner1.bytes();
    let mut outer = Asm::new(1, 1);
    outer.text("held").op8(Op::StoreLocal, 0);
    outer
        .make_block(&inner1, 0)
        .op8(Op::LoadParam, 0)
        .op8(Op::InvokeBlock, 1)
        .op(Op::Pop);
    outer.text("outer continued").op(Op::Return);
    let b = t.register(&outer.bytes(), &[]);
    assert_eq!(t.invoke(&b, &strs(&["nlr"])), "nlr");
    // F2 in an entry block behaves like RETURN.
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0).op(Op::NonLocalRet);
    assert_eq!(t.run(&a.bytes(), &[], &strs(&["self-home"])), "self-home");
    // Dead home through a native frame: the block escapes into a capture and a later call
    // runs it from a different run.
    let mut make = Asm::new(0, 0);
    make.make_block(&inner2, 0).op(Op::Return);
    let (mi, mj) = t.register(&make.bytes(), &[]);
    let bi = t.interp.invoke_block(&mi, &[]).unwrap();
    let bj = t.jit.invoke_block(&mj, &[]).unwrap();
    let mut call = Asm::new(2, 0);
    call.op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 1)
        .op8(Op::InvokeBlock, 1)
        .text(" not reached")
        .op(Op::Concat);
    call.op(Op::Return);
    let ci = t.interp.register_block(&call.bytes(), vec![]).unwrap();
    let cj = t.jit.register_block(&call.bytes(), vec![]).unwrap();
    let ri = outcome(t.interp.invoke_block(&ci, &[bi, Value::string("dead")]));
    let rj = outcome(t.jit.invoke_block(&cj, &[bj, Value::string("dead")]));
    assert_eq!((ri.as_str(), rj.as_str()), ("dead", "dead"));
}

#[test]
fn sends_to_native_and_bytecode_methods() {
    let t = Tiers::new();
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0).send(Op::Send, "increment", 0);
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "incr", 0)
        .op(Op::Concat);
    a.op8(Op::LoadParam, 0)
        .text("5")
        .send(Op::Send, "addTwice:", 1)
        .op(Op::Concat);
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "get", 0)
        .op(Op::Concat)
        .op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    assert_eq!(t.invoke(&b, &[Arg::Counter(1)]), "2320103");
    // SEND_SUPER from a bytecode override; monomorphic then polymorphic site.
    assert_eq!(t.invoke(&b, &[Arg::Sub(1)]), "102320103");
    assert_eq!(t.invoke(&b, &[Arg::Counter(5)]), "6720107");
    // Errors: unknown selector, native failure, unknown ivar, released receiver, unknown class.
    for sel in ["nope", "fail", "setBad"] {
        let mut a = Asm::new(1, 1);
        a.text("held")
            .op8(Op::StoreLocal, 0)
            .text("stacked")
            .op8(Op::LoadParam, 0)
            .send(Op::Send, sel, 0);
        a.op(Op::Concat).op(Op::Return);
        let b = t.register(&a.bytes(), &[]);
        let out = t.invoke(&b, &[Arg::Counter(1)]);
        assert!(out.starts_with("ERR"), "{sel}: {out}");
        assert_eq!(
            t.invoke(&b, &[Arg::Released]).split(':').next(),
            Some("ERR instance not found")
        );
    }
    // SEND_CLASS (class-side bytecode method doing `Counter new`) and a class-name receiver.
    let mut a = Asm::new(0, 0);
    a.send_class("Counter", "make", 0)
        .send(Op::Send, "increment", 0);
    a.text("Counter")
        .send(Op::Send, "new", 0)
        .send(Op::Send, "incr", 0)
        .op(Op::Concat);
    a.send_class("NoSuchClass", "new", 0)
        .op(Op::Concat)
        .op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &[]),
        "ERR unknown class: NoSuchClass"
    );
    // SEND_SELF without a receiver.
    let mut a = Asm::new(0, 0);
    a.text("self").send(Op::SendSelf, "get", 0).op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &[]),
        "ERR self send without a receiver"
    );
    let mut a = Asm::new(0, 0);
    a.send(Op::SendSuper, "get", 0).op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &[]),
        "ERR self send without a receiver"
    );
}

#[test]
fn ivars_in_compiled_methods() {
    let t = Tiers::new();
    // A block without self: LOAD_IVAR → nil, STORE_IVAR → no effect.
    let mut a = Asm::new(0, 0);
    a.op(Op::ConstOne)
        .k(Op::StoreIvar, "value")
        .k(Op::LoadIvar, "value")
        .op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &[]), "");
    // Through bytecode methods (incr reads and writes `value`; setBad fails).
    let mut a = Asm::new(1, 0);
    for _ in 0..3 {
        a.op8(Op::LoadParam, 0)
            .send(Op::Send, "incr", 0)
            .op(Op::Pop);
    }
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "get", 0)
        .op(Op::Return);
    assert_eq!(t.run(&a.bytes(), &[], &[Arg::Counter(39)]), "42");
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "setBad", 0)
        .op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &[Arg::Counter(0)]),
        "ERR unknown instance variable 'nosuch' for Counter"
    );
}

#[test]
fn depth_limit_recursion() {
    let t = Tiers::new();
    let mut a = Asm::new(1, 0);
    a.op8(Op::LoadParam, 0)
        .send(Op::Send, "recurse", 0)
        .op(Op::Return);
    assert_eq!(
        t.run(&a.bytes(), &[], &[Arg::Rec]),
        "ERR block invocation depth limit (1000) exceeded"
    );
    // A block that invokes itself through its capture cell.
    let mut a = Asm::new(0, 0);
    a.capture("me", CaptureSource::Local)
        .op8(Op::LoadCapture, 0)
        .op8(Op::LoadCapture, 0);
    a.op8(Op::InvokeBlock, 0).op(Op::Concat).op(Op::Return);
    let (bi, bj) = t.register(&a.bytes(), &[None]);
    bi.set_cell(0, Value::block(bi.clone())).unwrap();
    bj.set_cell(0, Value::block(bj.clone())).unwrap();
    assert_eq!(
        t.invoke(&(bi, bj), &[]),
        "ERR block invocation depth limit (1000) exceeded"
    );
    // The runtime still works afterwards.
    assert_eq!(t.run(&hex(ADD), &[], &strs(&["1", "2"])), "3");
}

#[test]
fn refcounts_stay_exact() {
    let t = Tiers::new();
    let json = Value::json(serde_json::json!({"k": [1, 2, 3]}));
    let node = json.json_node().unwrap();
    let base = std::sync::Arc::strong_count(&node);
    // Copies into locals, dups, swaps, pops, passes to helpers, returns one copy.
    let mut a = Asm::new(1, 3);
    a.op8(Op::LoadParam, 0)
        .op8(Op::StoreLocal, 0)
        .op8(Op::LoadLocal, 0)
        .op8(Op::StoreLocal, 1);
    a.op8(Op::LoadLocal, 1)
        .op(Op::Dup)
        .op(Op::Swap)
        .op(Op::Pop)
        .op8(Op::StoreLocal, 2);
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 1)
        .op(Op::Eq)
        .op(Op::Pop);
    a.op8(Op::LoadLocal, 2).op(Op::ObjectLen).op(Op::Pop);
    a.op8(Op::LoadLocal, 0)
        .op8(Op::StoreLocal, 0)
        .op8(Op::LoadLocal, 2)
        .op(Op::Return);
    let (bi, bj) = t.register(&a.bytes(), &[]);
    for (rt, b) in [(&t.interp, &bi), (&t.jit, &bj)] {
        for _ in 0..3 {
            let r = rt.invoke_block(b, std::slice::from_ref(&json)).unwrap();
            assert_eq!(std::sync::Arc::strong_count(&node), base + 1);
            drop(r);
            assert_eq!(std::sync::Arc::strong_count(&node), base);
        }
    }
    assert!(bj.code().compiled().is_some());
    // Owned heap operands (capture loads are owned copies) through every value operation and
    // conditional jump, each first in its block (fast copy) and again after a slow path
    // (generic copy); the count must come back to where it was.
    let mut a = Asm::new(0, 1);
    a.capture("j", CaptureSource::Local);
    let binary = [
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Mod,
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::And,
        Op::Or,
        Op::Concat,
    ];
    let mut n = 0;
    let mut next = |a: &mut Asm| {
        n += 1;
        let l = format!("b{n}");
        a.jump(Op::Jump, &l).label(&l);
    };
    for op in binary {
        a.op8(Op::LoadCapture, 0)
            .op8(Op::LoadCapture, 0)
            .op(op)
            .op(Op::Pop);
        a.op8(Op::LoadCapture, 0)
            .op8(Op::LoadCapture, 0)
            .op(op)
            .op(Op::Pop);
        next(&mut a);
    }
    for op in [Op::Neg, Op::Not, Op::Strlen] {
        a.op8(Op::LoadCapture, 0)
            .op(op)
            .op(Op::Pop)
            .op8(Op::LoadCapture, 0)
            .op(op)
            .op(Op::Pop);
        next(&mut a);
    }
    for (k, jump) in [Op::JumpTrue, Op::JumpFalse, Op::JumpNil, Op::JumpNotNil]
        .into_iter()
        .enumerate()
    {
        let l = format!("j{k}");
        a.op8(Op::LoadCapture, 0).jump(jump, &l).label(&l);
        let l = format!("c{k}");
        a.op8(Op::LoadCapture, 0)
            .op8(Op::LoadCapture, 0)
            .op(Op::Eq)
            .jump(jump, &l)
            .label(&l);
    }
    a.op8(Op::LoadCapture, 0)
        .op8(Op::LoadCapture, 0)
        .op8(Op::LoadCapture, 0)
        .ops(&[Op::Rot, Op::Swap, Op::Dup]);
    a.op8(Op::StoreLocal, 0)
        .ops(&[Op::Pop, Op::Pop, Op::Pop])
        .op8(Op::LoadLocal, 0)
        .op8(Op::StoreLocal, 0);
    a.op(Op::ReturnNil);
    let cap = [Some(json.clone())];
    let (bi, bj) = t.register(&a.bytes(), &cap);
    let with_cells = std::sync::Arc::strong_count(&node);
    for (rt, b) in [(&t.interp, &bi), (&t.jit, &bj)] {
        for _ in 0..3 {
            rt.invoke_block(b, &[]).unwrap();
            assert_eq!(std::sync::Arc::strong_count(&node), with_cells);
        }
    }
    assert!(bj.code().compiled().is_some());
    // The error path releases stack entries and locals too.
    let mut a = Asm::new(1, 2);
    a.op8(Op::LoadParam, 0)
        .op8(Op::StoreLocal, 0)
        .op8(Op::LoadParam, 0)
        .op8(Op::LoadParam, 0);
    a.op(Op::Concat)
        .op8(Op::LoadLocal, 0)
        .op(Op::ConstNil)
        .op(Op::BlockValue)
        .op(Op::Return);
    let (bi, bj) = t.register(&a.bytes(), &[]);
    let before = std::sync::Arc::strong_count(&node);
    for (rt, b) in [(&t.interp, &bi), (&t.jit, &bj)] {
        let r = rt.invoke_block(b, std::slice::from_ref(&json));
        assert_eq!(r.unwrap_err().to_string(), "nil block");
        assert_eq!(std::sync::Arc::strong_count(&node), before);
    }
}

#[test]
fn tiering_threshold_and_failures() {
    use std::sync::Arc;
    use tt_vm::tier::{Compiled, Compiler, TierMode};
    // Auto mode with a threshold of 3 invocations.
    let rt = Runtime::new();
    assert!(tt_jit::install(&rt));
    rt.set_tier_mode(TierMode::Auto);
    rt.set_tier_threshold(3);
    // `x + y + 1` is not trivial (`tt_vm::interp::trivial`): it tiers up.
    let add1 = tt_compiler::compile_to_bytes("[:x :y | x + y + 1]").unwrap();
    let b = rt.register_block(&add1, vec![]).unwrap();
    assert!(b.code().trivial.is_none());
    for i in 0..5 {
        assert_eq!(
            rt.invoke_block(&b, &[Value::int(i), Value::int(1)])
                .unwrap()
                .as_int(),
            Some(i + 2)
        );
        assert_eq!(
            b.code().compiled().is_some(),
            i >= 2,
            "after {} invocations",
            i + 1
        );
    }
    // A trivial block (`[:x :y | x + y]`) never tiers up in Auto mode: its own entry is
    // cheaper than a compiled one. Forced compilation still works (below, and TierMode::Always).
    let t = rt.register_block(&hex(ADD), vec![]).unwrap();
    assert!(t.code().trivial.is_some());
    for i in 0..10 {
        let r = rt
            .invoke_block(&t, &[Value::int(i), Value::int(1)])
            .unwrap();
        assert_eq!(r.as_int(), Some(i + 1));
    }
    assert!(t.code().compiled().is_none());
    assert!(rt.compile_unit(t.code()));
    assert_eq!(
        rt.invoke_block(&t, &[Value::int(4), Value::int(1)])
            .unwrap()
            .as_int(),
        Some(5)
    );
    // Back-edges count too: one long loop makes the next invocation compile.
    let b = rt.register_block(&hex(SUM), vec![]).unwrap();
    rt.set_tier_threshold(100);
    rt.invoke_block(&b, &[Value::int(1000)]).unwrap();
    assert!(b.code().compiled().is_none());
    assert_eq!(
        rt.invoke_block(&b, &[Value::int(10)]).unwrap().as_int(),
        Some(45)
    );
    assert!(b.code().compiled().is_some());
    // Never: nothing compiles.
    let rt = Runtime::new();
    tt_jit::install(&rt);
    rt.set_tier_mode(TierMode::Never);
    let b = rt.register_block(&hex(ADD), vec![]).unwrap();
    for _ in 0..10 {
        rt.invoke_block(&b, &[]).unwrap();
    }
    assert!(b.code().compiled().is_none());
    // A failing compiler leaves the unit interpreted with the reason recorded.
    struct Failing;
    // SAFETY: never returns a `Compiled`, so there is no entry to vouch for.
    unsafe impl Compiler for Failing {
        fn compile(&self, _unit: &tt_vm::interp::CodeUnit) -> Result<Compiled, String> {
            Err("no thanks".into())
        }
    }
    let rt = Runtime::new();
    rt.set_compiler(Some(Arc::new(Failing)));
    rt.set_tier_mode(TierMode::Always);
    let b = rt.register_block(&hex(ADD), vec![]).unwrap();
    assert_eq!(
        rt.invoke_block(&b, &[Value::int(2), Value::int(3)])
            .unwrap()
            .as_int(),
        Some(5)
    );
    assert_eq!(b.code().compile_error(), Some("no thanks"));
    // Stats move.
    let s = tt_jit::stats();
    assert!(s.compiled_units > 0 && s.code_bytes > 0);
}

#[test]
fn a_panicking_native_method_unwinds_through_compiled_code_like_the_interpreter() {
    let t = Tiers::new();
    // Compiled caller → (compiled) nested block → native method that panics; locals and stack
    // entries are live in both compiled frames.
    let mut inner = Asm::new(1, 1);
    inner
        .text("held")
        .op8(Op::StoreLocal, 0)
        .text("x")
        .op8(Op::LoadParam, 0);
    inner
        .send(Op::Send, "explode", 0)
        .op(Op::Concat)
        .op(Op::Return);
    let inner = inner.bytes();
    let mut a = Asm::new(1, 1);
    a.text("outer")
        .op8(Op::StoreLocal, 0)
        .make_block(&inner, 0)
        .op8(Op::LoadParam, 0);
    a.op8(Op::InvokeBlock, 1).op(Op::Return);
    let (bi, bj) = t.register(&a.bytes(), &[]);
    for (rt, b) in [(&t.interp, &bi), (&t.jit, &bj)] {
        let recv = Value::instance(rt.new_instance("Counter").unwrap());
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.invoke_block(b, &[recv])));
        let msg = r.expect_err("the panic propagates");
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"native method panicked"));
        // The runtime (and its depth accounting) still works afterwards.
        let ok = rt.register_block(&hex(ADD), vec![]).unwrap();
        assert_eq!(
            rt.invoke_block(&ok, &[Value::int(1), Value::int(2)])
                .unwrap()
                .as_int(),
            Some(3)
        );
    }
    assert!(bj.code().compiled().is_some());
}
