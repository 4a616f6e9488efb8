//! Tests of the Trashtalk → TTBC compiler: the worked examples of docs/spec/ttbc.md §13 byte for byte,
//! golden disassembly listings for every syntax form, semantic tests (compile → register →
//! invoke), error positions, and a class-file corpus loaded into a runtime.
//!
//! Golden listings live in `tests/golden_compiler/<name>.txt`; run with `UPDATE_GOLDEN=1`
//! to rewrite them. The semantic cases and the scripted sends over the corpus live in
//! `compiler_cases/`, shared with `tests/tests/jit_corpus.rs`, which runs them in both tiers.

mod compiler_cases;

use std::path::PathBuf;

use tt_compiler::{
    CompileError, MethodContext, compile_block, compile_method, compile_method_with,
    compile_to_bytes, load_classes,
};
use tt_vm::ttbc::{Chunk, disassemble, load, load_verified, serialize_canonical};
use tt_vm::{Runtime, Side, Value};

fn bytes(src: &str) -> Vec<u8> {
    compile_to_bytes(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn hexs(b: &[u8]) -> String {
    hex::encode_upper(b)
}

// ----- docs/spec/ttbc.md §13 worked examples ---------------------------------------------------------

#[test]
fn spec_13_1_add() {
    let expected = "5454424300010000000000062200220150F000000201780179000000";
    assert_eq!(hexs(&bytes("[:x :y | x + y]")), expected);
}

#[test]
fn spec_13_2_loop() {
    let src =
        "[:n | | i sum | i := 0. sum := 0. [i < n] whileTrue: [sum := sum + i. i := i + 1]. sum]";
    let expected = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";
    assert_eq!(hexs(&bytes(src)), expected);
}

#[test]
fn spec_13_3_capture_is_the_nested_chunk_of_a_local() {
    // `[x , '!']` with x a local of the enclosing block: capture source 0, slot 0.
    let outer = compile_block("[| x | [x , '!']]").unwrap();
    assert_eq!(
        hexs(&outer.constants[0]),
        "545442430001000200000007300010000070F000010001210000010178000000"
    );
}

#[test]
fn spec_13_4_if_true_if_false() {
    let expected = "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000";
    assert_eq!(
        hexs(&bytes("[:a | (a == 'yes') ifTrue: ['Y'] ifFalse: ['N']]")),
        expected
    );
}

#[test]
fn spec_13_5_keyword_send() {
    let expected =
        "54544243000100000000000B22002201155090000001F00001000973657456616C75655F020163016E000000";
    assert_eq!(hexs(&bytes("[:c :n | c setValue: n + 1]")), expected);
}

#[test]
fn spec_13_6_nested_make_block() {
    let inner = "5454424300010002000000063000220050F0000001017900010178030000";
    let outer = "5454424300010000000000102200A000000121002000100001A101F00002001E5454424300010002000000063000220050F000000101790001017803000000023130010178010000";
    let chunk = compile_block("[:x | | adder | adder := [:y | x + y]. adder value: 10]").unwrap();
    assert_eq!(hexs(&chunk.constants[0]), inner);
    assert_eq!(hexs(&serialize_canonical(&chunk).unwrap()), outer);
    let variant = "5454424300010000000000072200A0000001F00001001E5454424300010002000000063000220050F0000001017900010178030000010178000000";
    assert_eq!(hexs(&bytes("[:x | [:y | x + y]]")), variant);
}

#[test]
fn spec_13_7_non_local_return() {
    let inner = "5454424300010004000000032200F20000010176000000";
    let outer = "54544243000100000000000DA00000002200A10101100001F0000200175454424300010004000000032200F20000010176000000000B6E6F742072656163686564010178000000";
    let chunk = compile_block("[:x | [:v | ^v] value: x. 'not reached']").unwrap();
    assert_eq!(hexs(&chunk.constants[0]), inner);
    assert_eq!(
        hexs(&bytes("[:x | [:v | ^v] value: x. 'not reached']")),
        outer
    );
    let dead_home = "545442430001000000000005A0000000F0000100175454424300010004000000032200F2000001017600000000000000";
    assert_eq!(hexs(&bytes("[[:v | ^v]]")), dead_home);
}

// ----- golden listings ---------------------------------------------------------------------

enum Kind {
    Block,
    Method {
        params: &'static [&'static str],
        ivars: &'static [&'static str],
        class_side: bool,
    },
}

const fn method(params: &'static [&'static str], ivars: &'static [&'static str]) -> Kind {
    Kind::Method {
        params,
        ivars,
        class_side: false,
    }
}

/// (name, kind, source): every syntax form the compiler accepts.
const GOLDEN: &[(&str, Kind, &str)] = &[
    ("add_params", Kind::Block, "[:x :y | x + y]"),
    (
        "literal_numbers",
        Kind::Block,
        "[#(0 1 -1 42 007 -0 2.5 -3.5e2)]",
    ),
    (
        "literal_strings_symbols",
        Kind::Block,
        "['' . 'it''s' . #foo . #at:put: . \"dq\". '''multi\nline''']",
    ),
    (
        "literal_special",
        Kind::Block,
        "[:a | a foo: true bar: false baz: nil]",
    ),
    (
        "literal_array_nested",
        Kind::Block,
        "[#(1 two 'three' #four (5 6) true nil)]",
    ),
    ("brace_array", Kind::Block, "[:a | {a. a + 1. 'x'}]"),
    (
        "object_literal",
        Kind::Block,
        "[:v | #{name: 'n', value: v, 'k k': v + 1}]",
    ),
    (
        "unary_binary_keyword",
        Kind::Block,
        "[:c | c foo bar: c baz + 2 qux: 3]",
    ),
    (
        "precedence_parens",
        Kind::Block,
        "[:a :b | a + b * 2 - (a / b) % 3]",
    ),
    (
        "binary_opcodes",
        Kind::Block,
        "[:a :b | {a < b. a <= b. a > b. a >= b. a = b. a == b. a ~= b. a , b. a % b. a - b. a * b. a / b}]",
    ),
    ("binary_send", Kind::Block, "[:a :b | a -> b]"),
    ("cascade", Kind::Block, "[:c | c add: 1; add: 2; yourself]"),
    ("cascade_self", Kind::Block, "[self reset; start: 1]"),
    ("self_send_and_value", Kind::Block, "[self foo: 1. self]"),
    ("super_send", Kind::Block, "[:x | super init: x]"),
    (
        "class_send",
        Kind::Block,
        "[Counter new. Pkg::Thing make: 2]",
    ),
    (
        "at_send",
        Kind::Block,
        "[:c | @ c increment. @ c size. @ Counter new]",
    ),
    (
        "temps_assign",
        Kind::Block,
        "[:n | | a b | a := n. b := a := a + 1. b]",
    ),
    ("implicit_local", Kind::Block, "[x := 3. x + 1]"),
    (
        "return_top_level",
        Kind::Block,
        "[:x | x > 0 ifTrue: [^ 'pos']. 'neg']",
    ),
    (
        "if_true_if_false",
        Kind::Block,
        "[:a | (a == 'yes') ifTrue: ['Y'] ifFalse: ['N']]",
    ),
    (
        "if_true_statement",
        Kind::Block,
        "[:x | | r | x ifTrue: [r := 1]. r]",
    ),
    ("if_false_value", Kind::Block, "[:x | x ifFalse: ['no']]"),
    (
        "if_false_if_true",
        Kind::Block,
        "[:x | x ifFalse: [0] ifTrue: [1]]",
    ),
    ("if_nil_value", Kind::Block, "[:x | x ifNil: ['default']]"),
    (
        "if_nil_statement",
        Kind::Block,
        "[:x | | r | x ifNil: [r := 'none']. r]",
    ),
    (
        "if_not_nil_binding",
        Kind::Block,
        "[:x | x ifNotNil: [:v | v , '!']]",
    ),
    (
        "if_not_nil_binding_statement",
        Kind::Block,
        "[:x | | r | x ifNotNil: [:v | r := v]. r]",
    ),
    (
        "if_not_nil_plain",
        Kind::Block,
        "[:x | x ifNotNil: ['set']]",
    ),
    (
        "if_nil_if_not_nil",
        Kind::Block,
        "[:x | x ifNil: [0] ifNotNil: [:v | v + 1]]",
    ),
    (
        "if_not_nil_if_nil",
        Kind::Block,
        "[:x | x ifNotNil: [:v | v] ifNil: ['none']]",
    ),
    (
        "while_true",
        Kind::Block,
        "[:n | | i sum | i := 0. sum := 0. [i < n] whileTrue: [sum := sum + i. i := i + 1]. sum]",
    ),
    (
        "while_false",
        Kind::Block,
        "[:n | | i | i := 0. [i >= n] whileFalse: [i := i + 1]. i]",
    ),
    (
        "while_true_unary",
        Kind::Block,
        "[:n | | i | i := 0. [i := i + 1. i < n] whileTrue. i]",
    ),
    (
        "repeat_with_return",
        Kind::Block,
        "[:n | | i | i := 0. [i := i + 1. i >= n ifTrue: [^ i]] repeat]",
    ),
    (
        "times_repeat",
        Kind::Block,
        "[:n | | c | c := 0. n timesRepeat: [c := c + 2]. c]",
    ),
    (
        "to_do",
        Kind::Block,
        "[:n | | s | s := 0. 1 to: n do: [:i | s := s + i]. s]",
    ),
    (
        "to_by_do",
        Kind::Block,
        "[:n | | s | s := ''. n to: 1 by: -1 do: [:i | s := s , i]. s]",
    ),
    (
        "and_or_values",
        Kind::Block,
        "[:a :b | {a and: [b]. a or: [b]}]",
    ),
    (
        "and_statement",
        Kind::Block,
        "[:a | | r | a > 0 and: [r := 1]. r]",
    ),
    ("not_negated", Kind::Block, "[:a | {a not. a negated}]"),
    (
        "inlined_temps_in_loop",
        Kind::Block,
        "[:n | | i | i := 0. [i < n] whileTrue: [| t | t := i. i := t + 1]. i]",
    ),
    (
        "control_keyword_split",
        Kind::Block,
        "[:c | c foo: 1 ifTrue: ['y'] ifFalse: ['n']]",
    ),
    (
        "non_literal_block_args",
        Kind::Block,
        "[:c :b | c ifTrue: b]",
    ),
    (
        "nested_block",
        Kind::Block,
        "[:x | | adder | adder := [:y | x + y]. adder value: 10]",
    ),
    ("nested_block_returned", Kind::Block, "[:x | [:y | x + y]]"),
    (
        "non_local_return",
        Kind::Block,
        "[:x | [:v | ^v] value: x. 'not reached']",
    ),
    (
        "non_local_return_in_inlined",
        Kind::Block,
        "[:c | c do: [:x | x > 1 ifTrue: [^ x]]. 0]",
    ),
    (
        "capture_sources",
        Kind::Block,
        "[:a | | l | l := 1. [[a + l]]]",
    ),
    (
        "block_invocation",
        Kind::Block,
        "[:b | b value. b value: 1. b value: 1 value: 2. b valueWith: 3]",
    ),
    (
        "json_opcodes",
        Kind::Block,
        "[:arr :obj | {arr arrayPush: 1. arr arrayAt: 0. arr arrayAt: 0 put: 2. arr arrayLength. arr arrayFirst. arr arrayLast. arr arrayRemoveAt: 0. arr arrayIsEmpty. obj objectAt: 'k'. obj objectAt: 'k' put: 2. obj objectHasKey: 'k'. obj objectKeys. obj objectValues. obj objectRemoveKey: 'k'. obj objectLength. obj objectIsEmpty}]",
    ),
    (
        "newline_statements",
        Kind::Block,
        "[:a |\n  | b |\n  b := a\n    foo: 1\n    bar: 2\n  b baz\n]",
    ),
    (
        "comments",
        Kind::Block,
        "# leading comment\n[:a | # inside\n  a + 1] # trailing",
    ),
    ("constant_dedup", Kind::Block, "['x' , 'x' , 'y' , 'x']"),
    ("bare_statements", Kind::Block, "x := 2. x * 3"),
    ("empty_block", Kind::Block, "[]"),
    ("empty_nested_block", Kind::Block, "[[]]"),
    (
        "method_ivars",
        method(&[], &["value", "step"]),
        "value := value + step. ^ value",
    ),
    (
        "method_tail_assignment",
        method(&["n"], &["count"]),
        "count := count + n",
    ),
    (
        "method_keyword_args",
        method(&["i", "v"], &["items"]),
        "items := items arrayAt: i put: v. ^ v",
    ),
    (
        "method_ivar_capture",
        method(&[], &["total"]),
        "^ [:x | total := total + x]",
    ),
    (
        "method_self_sends",
        method(&["n"], &[]),
        "| c | c := @ self new. @ c setValue: n. ^ c",
    ),
    (
        "method_detect_nlr",
        method(&["aBlock"], &[]),
        "@ self do: [:x | (aBlock value: x) ifTrue: [^ x]]. ^ nil",
    ),
    (
        "class_method_ivar_block",
        Kind::Method {
            params: &[],
            ivars: &["created"],
            class_side: true,
        },
        "[:x | created := x] value: 3. ^ created",
    ),
];

fn compile_kind(kind: &Kind, src: &str) -> Result<Chunk, CompileError> {
    match kind {
        Kind::Block => compile_block(src),
        Kind::Method {
            params,
            ivars,
            class_side,
        } => {
            let mut ctx = MethodContext::new(
                &params.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &ivars.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            );
            ctx.class_side = *class_side;
            compile_method_with(src, &ctx)
        }
    }
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden_compiler")
        .join(format!("{name}.txt"))
}

#[test]
fn golden_listings() {
    let mut failures = Vec::new();
    for (name, kind, src) in GOLDEN {
        let chunk = compile_kind(kind, src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = serialize_canonical(&chunk).unwrap();
        load_verified(&bytes).unwrap_or_else(|e| panic!("{name}: verifier: {e}"));
        assert_eq!(load(&bytes).unwrap(), chunk, "{name}: round trip");
        let listing = format!("# source\n{src}\n# listing\n{}", disassemble(&chunk));
        if let Err(e) = tt_testkit::golden::check(golden_path(name), &listing) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_files_have_no_orphans() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden_compiler");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".txt");
        assert!(
            GOLDEN.iter().any(|(n, _, _)| *n == stem),
            "orphan golden file {name}"
        );
    }
}

// ----- semantics ---------------------------------------------------------------------------

fn run(src: &str, args: &[&str]) -> String {
    let rt = Runtime::new();
    let b = rt
        .register_block(&bytes(src), Vec::new())
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    let args: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
    compiler_cases::outcome_text(&rt.invoke_block(&b, &args))
}

/// Runs shared semantic cases (also run in both tiers by `tests/tests/jit_corpus.rs`).
fn check_cases(cases: &[compiler_cases::Case]) {
    for (src, args, want) in cases {
        assert_eq!(run(src, args), *want, "{src} with {args:?}");
    }
}

#[test]
fn semantics_of_worked_examples() {
    check_cases(compiler_cases::WORKED_EXAMPLES);
}

#[test]
fn semantics_of_literals() {
    check_cases(compiler_cases::LITERALS);
}

#[test]
fn semantics_of_operators() {
    check_cases(compiler_cases::OPERATORS);
}

#[test]
fn semantics_of_conditionals() {
    check_cases(compiler_cases::CONDITIONALS);
}

#[test]
fn semantics_of_loops() {
    check_cases(compiler_cases::LOOPS);
}

#[test]
fn semantics_of_shared_cells() {
    check_cases(compiler_cases::SHARED_CELLS);
}

#[test]
fn semantics_of_blocks_and_captures() {
    check_cases(compiler_cases::BLOCKS_AND_CAPTURES);
    // The 13.3 chunk, registered with a capture value.
    let outer = compile_block("[| x | [x , '!']]").unwrap();
    let rt = Runtime::new();
    let b = rt
        .register_block(&outer.constants[0], vec![Some(Value::string("hi"))])
        .unwrap();
    assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "hi!");
}

#[test]
fn semantics_of_non_local_return_through_a_send() {
    check_cases(compiler_cases::NON_LOCAL_RETURN_THROUGH_A_SEND);
}

#[test]
fn semantics_of_sends_without_receiver() {
    check_cases(compiler_cases::SENDS_WITHOUT_RECEIVER);
}

#[test]
fn semantics_of_json_opcodes() {
    check_cases(compiler_cases::JSON_OPCODES);
}

// ----- errors ------------------------------------------------------------------------------

fn err(src: &str) -> CompileError {
    match compile_block(src) {
        Ok(c) => panic!("{src}: compiled to {}", disassemble(&c)),
        Err(e) => e,
    }
}

#[test]
fn syntax_errors_have_line_and_column() {
    assert_eq!(
        err("[:x | x foo").to_string(),
        "1:12: expected ']' to close block, found end of input"
    );
    assert_eq!(
        err("[:x | x foo) ]").to_string(),
        "1:12: expected ']' to close block, found ')'"
    );
    assert_eq!(
        err("[:a |\n  a + 1.\n  (a foo: 2 . 3)]").to_string(),
        "3:13: expected ')' to close parenthesis, found '.'"
    );
    assert_eq!(
        err("[:a |\n  a + 1.\n  a foo: ]").to_string(),
        "3:10: expected an expression, found ']'"
    );
    assert_eq!(
        err("[:a a]").to_string(),
        "1:5: expected '|' after block parameters, found 'a'"
    );
    assert_eq!(
        err("[| a b ]").to_string(),
        "1:8: expected a temporary name or '|' to close temporaries, found ']'"
    );
    assert_eq!(
        err("['abc]").to_string(),
        "1:2: unterminated string literal"
    );
    assert_eq!(
        err("[x := ].").to_string(),
        "1:7: expected an expression, found ']'"
    );
    assert_eq!(
        err("[1] ]").to_string(),
        "1:5: expected '.' or end of input, found ']'"
    );
    assert_eq!(
        err("[self := 1]").to_string(),
        "1:2: cannot assign to 'self'"
    );
    let e = err("[\n  x := $(date)]");
    assert_eq!((e.line(), e.column()), (2, 8));
    assert!(e.message().contains("Bash command substitution"), "{e}");
}

#[test]
fn semantic_errors_have_line_and_column() {
    assert_eq!(err("[y + 1]").to_string(), "1:2: undefined variable 'y'");
    assert_eq!(
        err("[:a | a := 1]").to_string(),
        "1:7: cannot assign to argument 'a'"
    );
    assert_eq!(
        err("[:a :a | a]").to_string(),
        "1:5: duplicate variable name 'a'"
    );
    assert_eq!(
        err("[Foo := 1]").to_string(),
        "1:2: cannot assign to class name 'Foo'"
    );
    assert_eq!(
        err("[thisContext]").to_string(),
        "1:2: 'thisContext' is not supported by TTBC"
    );
    assert_eq!(
        err("[super]").to_string(),
        "1:2: 'super' can only be used as a message receiver"
    );
    // Variables a block assigns, or assigned after a capture, are shared cells: TTBC v2.
    for src in [
        "[:a | | t | t := 0.\n  [:x | t := x] value: a.\n  t]",
        "[| t | t := 0. [t] value. t := 1. t]",
        "[:n | | i f | i := 0. [i < n] whileTrue: [i := i + 1. f := [i]]. f value]",
        "[| f | f := [:k | k = 0 ifTrue: [0] ifFalse: [k + (f value: k - 1)]]. f value: 3]",
    ] {
        let c = compile_block(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(c.version, 2, "{src}");
    }
    // Without such a variable the chunk stays TTBC v1, nested chunks included.
    for src in [
        "[| x | x := 'hi'. [x , '!'] value]",
        "[:a | [:b | a + b]]",
        "[self]",
    ] {
        assert_eq!(compile_block(src).unwrap().version, 1, "{src}");
    }
    // The parameter of an inlined loop is written by the loop itself: never a cell.
    let e = err("[1 to: 3 do: [:i | [i := 5] value]]");
    assert!(
        e.message()
            .starts_with("assignment to captured variable 'i' inside a block"),
        "{e}"
    );
    let e = err("[:s | s size]");
    assert!(e.message().contains("string intrinsic"), "{e}");
    assert!(compile_block("[:s | @ s size]").is_ok());
    let e = err("[:s | (@ s save) ifFailed: [0]]");
    assert!(e.message().contains("no TTBC equivalent"), "{e}");
}

#[test]
fn method_errors() {
    // `self` as a value in a method is the receiver: TTBC v2 PUSH_SELF.
    let c = compile_method("^ self", &[], &[]).unwrap();
    assert_eq!(c.version, 2);
    assert_eq!(
        c.code,
        [
            tt_vm::ttbc::Op::PushSelf.byte(),
            tt_vm::ttbc::Op::Return.byte()
        ]
    );
    let e = compile_method("count := count + 1.\n  ^ other", &[], &["count".into()]).unwrap_err();
    assert_eq!(e.to_string(), "2:5: undefined variable 'other'");
    assert!(compile_method("^ [:x | total := total + x]", &[], &["total".into()]).is_ok());
}

// ----- class files -------------------------------------------------------------------------

fn load_corpus(rt: &Runtime) -> tt_compiler::LoadReport {
    compiler_cases::load_corpus(
        rt,
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
    )
}

#[test]
fn corpus_report() {
    let rt = Runtime::new();
    let report = load_corpus(&rt);
    let counter = report.class("Demo::Counter").expect("counter");
    let m = |sel: &str, side| counter.method(sel, side).unwrap_or_else(|| panic!("{sel}"));
    assert!(m("increment", Side::Instance).native);
    assert!(m("reset", Side::Instance).native, "trait method");
    assert!(m("getStep", Side::Instance).native, "generated accessor");
    assert!(m("startingAt:", Side::Class).native);
    let dump = m("dump", Side::Instance);
    assert_eq!(dump.reason.as_deref(), Some("raw bash method"));
    let shout = m("shout", Side::Instance);
    assert_eq!(shout.reason.as_deref(), Some("pragma bashOnly"));
    let stamp = m("stamp", Side::Instance);
    assert!(
        stamp
            .reason
            .as_deref()
            .unwrap()
            .contains("Bash command substitution"),
        "{stamp:?}"
    );
    assert!(
        stamp
            .reason
            .as_deref()
            .unwrap()
            .starts_with("counter.trash:"),
        "{stamp:?}"
    );
    let list = report.class("List").expect("list");
    // The block assigns `total`: a shared cell (TTBC v2), compiled natively.
    let sum = list.method("sumViaDo", Side::Instance).unwrap();
    assert!(sum.native, "{sum:?}");
    for sel in [
        "do:",
        "collect:",
        "select:",
        "inject:into:",
        "detect:",
        "detect:ifNone:",
    ] {
        assert!(list.method(sel, Side::Instance).unwrap().native, "{sel}");
    }
    let cid = rt.resolve_class("Demo::Counter").unwrap();
    let sel = tt_compiler::normalize_selector("shout");
    assert_eq!(
        rt.method_pragmas(cid, Side::Instance, tt_dispatch_sel(&sel)),
        vec!["bashOnly".to_string()]
    );
}

fn tt_dispatch_sel(s: &str) -> tt_vm::Sel {
    tt_dispatch::intern(s)
}

#[test]
fn corpus_counter_with_trait() {
    let rt = Runtime::new();
    load_corpus(&rt);
    compiler_cases::run_script(&rt, compiler_cases::COUNTER_SCRIPT);
}

#[test]
fn corpus_collection_with_blocks() {
    let rt = Runtime::new();
    load_corpus(&rt);
    compiler_cases::run_script(&rt, compiler_cases::LIST_SCRIPT);
}

#[test]
fn load_errors_are_positioned() {
    let rt = Runtime::new();
    let e = load_classes(
        &rt,
        &[("a.trash", "A subclass: Object\n  include: Missing\n")],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a.trash:2:12: unknown trait 'Missing'");
    let e = load_classes(
        &rt,
        &[("b.trash", "A subclass: Object\n  method: foo [ ^ 1\n")],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "b.trash:2:15: expected a matching ']' for this method body, found end of input"
    );
    let e = load_classes(
        &rt,
        &[
            ("c.trash", "A subclass: Object\n"),
            ("d.trash", "A subclass: Object\n"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "d.trash:1:1: 'A' is defined twice");
    assert!(
        rt.resolve_class("A").is_none(),
        "nothing registered on error"
    );
}

#[test]
fn sends_to_self_super_and_classes() {
    let rt = Runtime::new();
    let report = compiler_cases::load_probe(&rt);
    assert!(
        report
            .classes
            .iter()
            .all(|c| c.methods.iter().all(|m| m.native)),
        "{report:?}"
    );
    compiler_cases::run_script(&rt, compiler_cases::PROBE_SCRIPT);
}

#[test]
fn self_as_a_value_in_methods() {
    let rt = Runtime::new();
    let report = compiler_cases::load_self_probe(&rt);
    assert!(
        report
            .classes
            .iter()
            .all(|c| c.methods.iter().all(|m| m.native)),
        "{report:?}"
    );
    compiler_cases::run_script(&rt, compiler_cases::SELF_SCRIPT);
}
