//! Interpreter behaviour on the spec's worked examples (docs/spec/ttbc.md §13) and the value,
//! non-local-return, depth-limit and memory rules.

use std::sync::Arc;

use tt_vm::ttbc::{CaptureDesc, CaptureSource, Chunk, serialize};
use tt_vm::{ClassDef, MethodImpl, Runtime, Side, Value};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn run(rt: &Runtime, h: &str, args: &[&str]) -> String {
    let b = rt.register_block(&hex(h), Vec::new()).unwrap();
    let args: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
    match rt.invoke_block(&b, &args) {
        Ok(v) => v.text().into_owned(),
        Err(e) => format!("ERR {e}"),
    }
}

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

#[test]
fn worked_example_13_1_add() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, ADD, &["10", "32"]), "42");
    assert_eq!(run(&rt, ADD, &["7"]), "7");
    assert_eq!(run(&rt, ADD, &["a", "1"]), "1");
}

#[test]
fn worked_example_13_1_result_is_typed_integer() {
    let rt = Runtime::new();
    let b = rt.register_block(&hex(ADD), Vec::new()).unwrap();
    let v = rt
        .invoke_block(&b, &[Value::string("10"), Value::string("32")])
        .unwrap();
    assert_eq!(v.as_int(), Some(42));
}

#[test]
fn worked_example_13_2_sum_loop() {
    let rt = Runtime::new();
    for (arg, want) in [
        ("5", "10"),
        ("10", "45"),
        ("0", "0"),
        ("1", "0"),
        ("-3", "0"),
        ("abc", "0"),
    ] {
        assert_eq!(run(&rt, SUM, &[arg]), want, "n = {arg}");
    }
    assert_eq!(run(&rt, SUM, &["100000"]), "4999950000");
}

#[test]
fn worked_example_13_3_captures() {
    let rt = Runtime::new();
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::string("hi"))])
        .unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "hi!");
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::int(42))])
        .unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "42!");
    let b = rt.register_block(&hex(CONCAT_CAPTURE), vec![]).unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "!");
    let err = rt
        .register_block(
            &hex(CONCAT_CAPTURE),
            vec![Some(Value::NIL), Some(Value::NIL)],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "too many captures: got 2, block declares 1"
    );
}

#[test]
fn worked_example_13_4_branch() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, IF_YES, &["yes"]), "Y");
    for a in ["no", "YES", ""] {
        assert_eq!(run(&rt, IF_YES, &[a]), "N");
    }
}

#[test]
fn worked_example_13_5_send_reaches_the_dispatcher_with_typed_args() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Counter".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "setValue:",
        MethodImpl::native(|_rt, this, args| {
            let inst = this.as_instance().unwrap();
            assert_eq!(args[0].as_int(), Some(42), "argument arrives as an integer");
            inst.set("value", args[0].clone(), true)?;
            Ok(Value::string(&format!("set {}", args[0])))
        }),
    )
    .unwrap();
    let c = rt.new_instance("Counter").unwrap();
    assert_eq!(run(&rt, SEND_SETVALUE, &[c.id(), "41"]), "set 42");
    assert_eq!(c.get("value").unwrap().unwrap().as_int(), Some(42));
}

#[test]
fn worked_example_13_6_nested_block() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, NESTED, &["5"]), "15");
    let b = rt
        .register_block(&hex(NESTED_RETURNING_BLOCK), Vec::new())
        .unwrap();
    let inner = rt.invoke_block(&b, &[Value::string("5")]).unwrap();
    let id = inner.text().into_owned();
    assert!(id.starts_with("bytecode_block_"), "{id}");
    assert_eq!(
        rt.invoke_block_id(&id, &[Value::string("10")])
            .unwrap()
            .text(),
        "15"
    );
}

#[test]
fn worked_example_13_7_non_local_return() {
    let rt = Runtime::new();
    assert_eq!(run(&rt, NLR, &["7"]), "7");
    let b = rt.register_block(&hex(NLR_DEAD_HOME), Vec::new()).unwrap();
    let escaped = rt.invoke_block(&b, &[]).unwrap().text().into_owned();
    assert_eq!(
        rt.invoke_block_id(&escaped, &[Value::string("9")])
            .unwrap()
            .text(),
        "9"
    );
}

#[test]
fn unknown_block_id_is_not_found() {
    let rt = Runtime::new();
    let e = rt
        .invoke_block_id("bytecode_block_999999999", &[])
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "block not found: bytecode_block_999999999");
}

/// A chunk `[:n | SEND_SELF recurse] ` used as a method that calls itself forever.
fn recursive_method() -> Vec<u8> {
    let chunk = Chunk {
        version: 1,
        flags: 0,
        code: vec![0x10, 0x00, 0x00, 0x91, 0x00, 0x01, 0x00, 0xF0],
        constants: vec![b"self".to_vec(), b"recurse".to_vec()],
        ..Default::default()
    };
    serialize(&chunk).unwrap()
}

#[test]
fn unbounded_recursion_is_an_error_not_a_crash() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Loop".into(),
        ..Default::default()
    })
    .unwrap();
    let v = tt_vm::ttbc::load_verified(&recursive_method()).unwrap();
    rt.add_method("Loop", Side::Instance, "recurse", MethodImpl::bytecode(v))
        .unwrap();
    let inst = rt.new_instance("Loop").unwrap();
    let e = rt.send(&Value::instance(inst), "recurse", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "block invocation depth limit (1000) exceeded"
    );
}

#[test]
fn released_instance_gives_a_clear_error() {
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Thing".into(),
        ivars: vec!["a".into()],
        ..Default::default()
    })
    .unwrap();
    let inst = rt.new_instance("Thing").unwrap();
    let v = Value::instance(inst.clone());
    let id = inst.id().to_owned();
    assert!(rt.release(&id));
    let e = inst.get("a").unwrap_err();
    assert_eq!(e.to_string(), format!("instance not found: {id}"));
    let e = rt.send(&v, "anything", &[]).unwrap_err();
    assert_eq!(e.to_string(), format!("instance not found: {id}"));
    let e = rt.send(&Value::string(&id), "anything", &[]).unwrap_err();
    assert!(e.is_not_found());
}

#[test]
fn ivar_capture_reads_and_writes_through() {
    // Method `[ | | [value := value + 1] value. value ]` style: an ivar capture cell.
    let inner = Chunk {
        version: 1,
        flags: 0x0002,
        code: vec![0x30, 0x00, 0x15, 0x50, 0x31, 0x00, 0x30, 0x00, 0xF0],
        captures: vec![CaptureDesc {
            name: "value".into(),
            source: CaptureSource::Ivar,
            slot: 0,
        }],
        ..Default::default()
    };
    let inner = serialize(&inner).unwrap();
    let outer = Chunk {
        version: 1,
        flags: 0,
        // LOAD_IVAR 0 ; MAKE_BLOCK 1 1 ; BLOCK_VALUE ; POP ; LOAD_IVAR 0 ; RETURN
        code: vec![
            0x40, 0x00, 0x00, 0xA0, 0x00, 0x01, 0x01, 0xA2, 0x01, 0x40, 0x00, 0x00, 0xF0,
        ],
        constants: vec![b"value".to_vec(), inner],
        ..Default::default()
    };
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "Cell".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    let v = tt_vm::ttbc::load_verified(&serialize(&outer).unwrap()).unwrap();
    rt.add_method("Cell", Side::Instance, "bump", MethodImpl::bytecode(v))
        .unwrap();
    let inst = rt.new_instance("Cell").unwrap();
    inst.set("value", Value::int(41), true).unwrap();
    let r = rt
        .send(&Value::instance(inst.clone()), "bump", &[])
        .unwrap();
    assert_eq!(r.as_int(), Some(42));
    assert_eq!(inst.get("value").unwrap().unwrap().as_int(), Some(42));
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// 10^7 invocations of a block that builds temporary strings keep RSS flat: reference
/// counting frees every temporary as soon as its last value is dropped.
#[test]
fn ten_million_invocations_creating_strings_keep_rss_flat() {
    let rt = Runtime::new();
    // [x , '!']  with x captured: CONCAT makes a fresh string per call.
    let b = rt
        .register_block(&hex(CONCAT_CAPTURE), vec![Some(Value::string("temporary"))])
        .unwrap();
    let b = Arc::clone(&b);
    for _ in 0..100_000 {
        let _ = rt.invoke_block(&b, &[]).unwrap();
    }
    let before = rss_kib().unwrap_or(0);
    for _ in 0..10_000_000u32 {
        let v = rt.invoke_block(&b, &[]).unwrap();
        debug_assert_eq!(v.as_str(), Some("temporary!"));
    }
    let after = rss_kib().unwrap_or(0);
    assert!(
        after <= before + 2048,
        "RSS grew from {before} KiB to {after} KiB over 10^7 invocations"
    );
}

/// `CodeUnit::leaf` decides which compiled units `Runtime::invoke_block` enters directly
/// (no run, no depth accounting): only units that can never nest an activation or need a home.
#[test]
fn leaf_units_are_those_without_sends_blocks_or_non_local_returns() {
    let rt = Runtime::new();
    let leaf = |h: &str| rt.register_block(&hex(h), Vec::new()).unwrap().code().leaf;
    assert!(leaf(ADD));
    assert!(leaf(SUM));
    assert!(leaf(CONCAT_CAPTURE));
    assert!(leaf(IF_YES));
    assert!(!leaf(SEND_SETVALUE));
    assert!(!leaf(NESTED));
    assert!(!leaf(NLR));
}
