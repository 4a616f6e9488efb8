//! Compiler test data shared by two test crates:
//!
//! * `vm/tests/compiler.rs` runs it in the interpreter;
//! * `tests/tests/jit_corpus.rs` (crate `tt-tests`) runs it in the interpreter and with the
//!   Cranelift tier forced on, and checks that both tiers agree (issue 4: "the test corpus
//!   passes in both tiers").
//!
//! It holds the semantic cases (block source, string arguments, expected result text; a failed
//! invocation reads `error: <message>`) and the scripted sends over class files (the corpus in
//! `vm/tests/corpus` and [`PROBE_SOURCE`]). Only `tt_vm` is used here: both crates depend on it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tt_compiler::{LoadReport, compile_to_bytes, load_classes};
use tt_vm::{Block, Runtime, Value};

// ----- semantic cases ----------------------------------------------------------------------

/// (block source, string arguments, expected text or `error: <message>`).
pub type Case = (&'static str, &'static [&'static str], &'static str);

const SUM: &str =
    "[:n | | i sum | i := 0. sum := 0. [i < n] whileTrue: [sum := sum + i. i := i + 1]. sum]";
const YES_NO: &str = "[:a | (a == 'yes') ifTrue: ['Y'] ifFalse: ['N']]";

/// The sources of docs/spec/ttbc.md §13, run.
pub const WORKED_EXAMPLES: &[Case] = &[
    ("[:x :y | x + y]", &["10", "32"], "42"),
    ("[:x :y | x + y]", &["7"], "7"),
    (SUM, &["5"], "10"),
    (SUM, &["10"], "45"),
    (YES_NO, &["yes"], "Y"),
    (YES_NO, &["no"], "N"),
    (
        "[:x | | adder | adder := [:y | x + y]. adder value: 10]",
        &["5"],
        "15",
    ),
    ("[:x | [:v | ^v] value: x. 'not reached']", &["7"], "7"),
];

/// Literals of every kind.
pub const LITERALS: &[Case] = &[
    (
        "[#(0 1 -1 42 007 -0 2.5)]",
        &[],
        r#"["0","1","-1","42","7","0","2.5"]"#,
    ),
    ("['it''s' , #sym , \"dq\"]", &[], "it'ssymdq"),
    (
        "[:v | #{name: 'n', value: v, 'k k': v + 1}]",
        &["5"],
        r#"{"name":"n","value":"5","k k":"6"}"#,
    ),
    ("[:a | {a. a + 1. 'x'}]", &["1"], r#"["1","2","x"]"#),
    ("[#(a #(b) true nil)]", &[], r#"["a","[\"b\"]","true",""]"#),
    ("[true]", &[], "true"),
    ("[nil]", &[], ""),
    ("[]", &[], ""),
    ("['''a\nb''']", &[], "a\nb"),
    ("[self]", &[], "self"),
];

const BINARY_OPS: &str = "[:a :b | {a < b. a <= b. a > b. a >= b. a = b. a == b. a ~= b. a , b. a % b. a - b. a * b. a / b}]";
const AND_OR: &str = "[:a :b | {a and: [b]. a or: [b]}]";

/// Binary operators, precedence, `not`, `negated`, `and:`, `or:`.
pub const OPERATORS: &[Case] = &[
    (
        BINARY_OPS,
        &["7", "2"],
        r#"["false","false","true","true","false","false","true","72","1","5","14","3"]"#,
    ),
    ("[:a :b | a + b * 2 - (a / b) % 3]", &["7", "2"], "0"),
    ("[:a | {a not. a negated}]", &["5"], r#"["false","-5"]"#),
    (AND_OR, &["1", "0"], r#"["false","true"]"#),
    (AND_OR, &["0", "0"], r#"["false","false"]"#),
    (AND_OR, &["1", "1"], r#"["true","true"]"#),
    ("[:a :b | a & b | a]", &["1", "0"], "true"),
];

const NESTED_IF: &str = "[:x | x > 1 ifTrue: [x > 2 ifTrue: [^ 'big']] ifFalse: ['small']. 'mid']";

/// The inlined conditionals.
pub const CONDITIONALS: &[Case] = &[
    ("[:x | x > 0 ifTrue: [^ 'pos']. 'neg']", &["3"], "pos"),
    ("[:x | x > 0 ifTrue: [^ 'pos']. 'neg']", &["-3"], "neg"),
    ("[:x | | r | x ifTrue: [r := 1]. r]", &["true"], "1"),
    ("[:x | | r | x ifTrue: [r := 1]. r]", &["false"], ""),
    ("[:x | x ifFalse: ['no']]", &["0"], "no"),
    ("[:x | x ifFalse: ['no']]", &["1"], ""),
    ("[:x | x ifTrue: ['yes']]", &["1"], "yes"),
    ("[:x | x ifFalse: [0] ifTrue: [1]]", &["true"], "1"),
    ("[:x | x ifFalse: [0] ifTrue: [1]]", &[""], "0"),
    ("[:x | x ifNil: ['default']]", &[""], "default"),
    ("[:x | x ifNil: ['default']]", &["v"], "v"),
    ("[:x | | r | x ifNil: [r := 'none']. r]", &[""], "none"),
    ("[:x | x ifNotNil: [:v | v , '!']]", &["hi"], "hi!"),
    ("[:x | x ifNotNil: [:v | v , '!']]", &[""], ""),
    ("[:x | | r | x ifNotNil: [:v | r := v]. r]", &["got"], "got"),
    ("[:x | | r | x ifNotNil: [:v | r := v]. r]", &[""], ""),
    ("[:x | x ifNotNil: ['set']]", &["a"], "set"),
    ("[:x | x ifNil: [0] ifNotNil: [:v | v + 1]]", &["4"], "5"),
    ("[:x | x ifNil: [0] ifNotNil: [:v | v + 1]]", &[""], "0"),
    ("[:x | x ifNotNil: [:v | v] ifNil: ['none']]", &[""], "none"),
    ("[:x | x ifNotNil: [:v | v] ifNil: ['none']]", &["z"], "z"),
    (NESTED_IF, &["2"], "mid"),
    (NESTED_IF, &["3"], "big"),
];

const TIMES_REPEAT: &str = "[:n | | c | c := 0. n timesRepeat: [c := c + 2]. c]";

/// The inlined loops.
pub const LOOPS: &[Case] = &[
    (
        "[:n | | i | i := 0. [i >= n] whileFalse: [i := i + 1]. i]",
        &["4"],
        "4",
    ),
    (
        "[:n | | i | i := 0. [i := i + 1. i < n] whileTrue. i]",
        &["4"],
        "4",
    ),
    (
        "[:n | | i | i := 0. [i := i + 1. i >= n ifTrue: [^ i]] repeat]",
        &["3"],
        "3",
    ),
    (TIMES_REPEAT, &["3"], "6"),
    (TIMES_REPEAT, &["0"], "0"),
    (
        "[:n | | s | s := 0. 1 to: n do: [:i | s := s + i]. s]",
        &["4"],
        "10",
    ),
    (
        "[:n | | s | s := ''. n to: 1 by: -1 do: [:i | s := s , i]. s]",
        &["3"],
        "321",
    ),
    (
        "[:n | | s | s := ''. 1 to: n by: 2 do: [:i | s := s , i]. s]",
        &["6"],
        "135",
    ),
    // Inlined temporaries start as nil on every iteration.
    (
        "[:n | | i out | i := 0. out := ''. [i < n] whileTrue: [| t | out := out , t. t := 'x'. i := i + 1]. out]",
        &["3"],
        "",
    ),
    (
        "[:n | | i | i := 0. [i < n] whileTrue: [| t | t := i. i := t + 1]. i]",
        &["5"],
        "5",
    ),
];

/// Real (not inlined) blocks: captures, invocation selectors, bare statements.
pub const BLOCKS_AND_CAPTURES: &[Case] = &[
    ("[| x | x := 'hi'. [x , '!'] value]", &[], "hi!"),
    ("[:a | | l | l := 1. [[a + l]] value value]", &["41"], "42"),
    (
        "[:b | b value: 2]",
        &["x"],
        "error: unknown method: String valueWith_",
    ),
    (
        "[| add | add := [:p :q | p * q]. add value: 6 value: 7]",
        &[],
        "42",
    ),
    ("[| f | f := [:p | p + 1]. f valueWith: 1]", &[], "2"),
    ("[| f | f := [41]. f value + 1]", &[], "42"),
    ("[| f | f := [:p | p numArgs]. f numArgs]", &[], "1"),
    ("x := 2. x * 3", &[], "6"),
];

/// Shared variable cells (TTBC v2, docs/spec/ttbc.md "TTBC v2"): blocks that assign their
/// enclosing variables, closures sharing a variable, recursion through a captured variable.
pub const SHARED_CELLS: &[Case] = &[
    // Assignment inside a block, visible outside.
    (
        "[:a | | t | t := 0. [:x | t := x] value: a. t]",
        &["7"],
        "7",
    ),
    // Two closures over one counter.
    (
        "[| n inc get | n := 0. inc := [n := n + 1]. get := [n]. inc value. inc value. inc value. get value]",
        &[],
        "3",
    ),
    (
        "[:k | | n inc | n := 10. inc := [:d | n := n + d]. inc value: k. inc value: k. n]",
        &["5"],
        "20",
    ),
    // Recursion through a captured variable.
    (
        "[:m | | f | f := [:k | k = 0 ifTrue: [0] ifFalse: [k + (f value: k - 1)]]. f value: m]",
        &["10"],
        "55",
    ),
    (
        "[:m | | fib | fib := [:k | k < 2 ifTrue: [k] ifFalse: [(fib value: k - 1) + (fib value: k - 2)]]. fib value: m]",
        &["12"],
        "144",
    ),
    // Assigned after the capture: the block sees the later value.
    ("[| x b | x := 1. b := [x]. x := 2. b value]", &[], "2"),
    // A capture of a capture: the innermost block assigns the outermost variable.
    ("[| t | t := 1. [[t := t + 41] value] value. t]", &[], "42"),
    // A block-local temp in an inlined loop is a fresh cell on each pass.
    (
        "[| bs | bs := '[]'. 1 to: 3 do: [:i | | c | c := i. bs := bs arrayPush: [c := c * 10. c] value]. bs]",
        &[],
        r#"["10","20","30"]"#,
    ),
    // Assigned before the capture only: stays a TTBC v1 copy.
    ("[| x | x := 'hi'. [x , '!'] value]", &[], "hi!"),
];

const NLR_THROUGH_BLOCK: &str = "[:x | | each | each := [:blk | blk value: 1. blk value: 2. 'done']. each value: [:v | v = x ifTrue: [^ v * 10]]. 'none']";

/// The inner block returns from the outer block even when another block runs it.
pub const NON_LOCAL_RETURN_THROUGH_A_SEND: &[Case] = &[
    (NLR_THROUGH_BLOCK, &["2"], "20"),
    (NLR_THROUGH_BLOCK, &["5"], "none"),
];

/// Sends that cannot find a receiver or class.
pub const SENDS_WITHOUT_RECEIVER: &[Case] = &[
    ("[self foo]", &[], "error: self send without a receiver"),
    (
        "[NoSuchClassHere new]",
        &[],
        "error: unknown class: NoSuchClassHere",
    ),
];

const ARR_OBJ: &[&str] = &[r#"["a","b"]"#, r#"{"k":"v"}"#];

/// The JSON intrinsics, each with `arr` = `["a","b"]` and `obj` = `{"k":"v"}`.
pub const JSON_OPCODES: &[Case] = &[
    (
        "[:arr :obj | arr arrayPush: 1]",
        ARR_OBJ,
        r#"["a","b","1"]"#,
    ),
    ("[:arr :obj | arr arrayAt: 1]", ARR_OBJ, "b"),
    (
        "[:arr :obj | arr arrayAt: 0 put: 2]",
        ARR_OBJ,
        r#"["2","b"]"#,
    ),
    ("[:arr :obj | arr arrayLength]", ARR_OBJ, "2"),
    ("[:arr :obj | arr arrayFirst]", ARR_OBJ, "a"),
    ("[:arr :obj | arr arrayLast]", ARR_OBJ, "b"),
    ("[:arr :obj | arr arrayRemoveAt: 0]", ARR_OBJ, r#"["b"]"#),
    ("[:arr :obj | arr arrayIsEmpty]", ARR_OBJ, "false"),
    ("[:arr :obj | '[]' arrayIsEmpty]", ARR_OBJ, "true"),
    ("[:arr :obj | obj objectAt: 'k']", ARR_OBJ, "v"),
    (
        "[:arr :obj | obj objectAt: 'k' put: 2]",
        ARR_OBJ,
        r#"{"k":"2"}"#,
    ),
    ("[:arr :obj | obj objectHasKey: 'k']", ARR_OBJ, "true"),
    ("[:arr :obj | obj objectKeys]", ARR_OBJ, r#"["k"]"#),
    ("[:arr :obj | obj objectValues]", ARR_OBJ, r#"["v"]"#),
    ("[:arr :obj | obj objectRemoveKey: 'k']", ARR_OBJ, "{}"),
    ("[:arr :obj | obj objectLength]", ARR_OBJ, "1"),
    ("[:arr :obj | obj objectIsEmpty]", ARR_OBJ, "false"),
];

/// Every group of semantic cases, by name.
pub const SEMANTIC_GROUPS: &[(&str, &[Case])] = &[
    ("worked_examples", WORKED_EXAMPLES),
    ("literals", LITERALS),
    ("operators", OPERATORS),
    ("conditionals", CONDITIONALS),
    ("loops", LOOPS),
    ("blocks_and_captures", BLOCKS_AND_CAPTURES),
    ("shared_cells", SHARED_CELLS),
    (
        "non_local_return_through_a_send",
        NON_LOCAL_RETURN_THROUGH_A_SEND,
    ),
    ("sends_without_receiver", SENDS_WITHOUT_RECEIVER),
    ("json_opcodes", JSON_OPCODES),
];

/// The text a semantic case expects from an invocation's outcome.
pub fn outcome_text(r: &tt_vm::Result<Value>) -> String {
    match r {
        Ok(v) => v.text().into_owned(),
        Err(e) => format!("error: {e}"),
    }
}

/// Compiles `src` to TTBC bytes (panics with the source on a compile error).
pub fn bytes(src: &str) -> Vec<u8> {
    compile_to_bytes(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

// ----- class files and scripted sends ------------------------------------------------------

/// The `.trash` files of `dir`, as (file name, text), sorted by name.
pub fn corpus(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trash"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .trash files in {}", dir.display());
    files
}

/// Loads every class file of `dir` into `rt`.
pub fn load_corpus(rt: &Runtime, dir: &Path) -> LoadReport {
    let files = corpus(dir);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    load_classes(rt, &refs).unwrap_or_else(|e| panic!("{e}"))
}

/// An argument of a scripted send.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    /// An integer value.
    Int(i64),
    /// A string value.
    Str(&'static str),
    /// A block compiled from this source and registered in the runtime.
    Block(&'static str),
}

/// What a scripted send must produce.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    /// Any successful result.
    Any,
    /// A result with this text.
    Text(&'static str),
    /// An instance of this class.
    ClassOf(&'static str),
    /// An error whose message contains this text.
    ErrorContaining(&'static str),
}

/// One send of a script: `[bind :=] recv sel args`, where `recv` is a variable bound by an
/// earlier step (lower-case) or a class name.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Variable the result is bound to.
    pub bind: Option<&'static str>,
    /// Receiver: variable or class name.
    pub recv: &'static str,
    /// Selector, Smalltalk spelling.
    pub sel: &'static str,
    /// Arguments.
    pub args: &'static [Arg],
    /// Expected outcome.
    pub want: Want,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(b) = self.bind {
            write!(f, "{b} := ")?;
        }
        write!(f, "{} {} {:?}", self.recv, self.sel, self.args)
    }
}

/// `recv sel args` must give `text`.
const fn send(
    recv: &'static str,
    sel: &'static str,
    args: &'static [Arg],
    text: &'static str,
) -> Step {
    Step {
        bind: None,
        recv,
        sel,
        args,
        want: Want::Text(text),
    }
}

/// `recv sel args` must succeed.
const fn perform(recv: &'static str, sel: &'static str, args: &'static [Arg]) -> Step {
    Step {
        bind: None,
        recv,
        sel,
        args,
        want: Want::Any,
    }
}

/// `name := recv sel args` must succeed.
const fn bind(
    name: &'static str,
    recv: &'static str,
    sel: &'static str,
    args: &'static [Arg],
) -> Step {
    Step {
        bind: Some(name),
        recv,
        sel,
        args,
        want: Want::Any,
    }
}

use Arg::{Block as B, Int as I, Str as S};

/// `Demo::Counter` of `corpus/counter.trash`: own methods, the `Resettable` trait, generated
/// accessors, class-side methods with class-instance variables, blocks inlined by
/// `timesRepeat:` and `to:do:`, and the methods that stay in Bash.
pub const COUNTER_SCRIPT: &[Step] = &[
    bind("c", "Demo::Counter", "new", &[]),
    send("c", "increment", &[], "1"),
    send("c", "incrementBy:", &[I(3)], "4"),
    send("c", "describe", &[], "Counter(4)"),
    send("c", "isZero", &[], "false"),
    send("c", "reset", &[], ""),
    send("c", "isZero", &[], "true"),
    perform("c", "setStep:", &[I(5)]),
    send("c", "increment", &[], "5"),
    send("c", "getStep", &[], "5"),
    send("c", "label", &[], "counter"),
    perform("c", "setLabel:", &[S("ctr")]),
    send("c", "label", &[], "ctr"),
    send("c", "getLabel", &[], "ctr"),
    bind("d", "Demo::Counter", "startingAt:", &[I(10)]),
    send("d", "getValue", &[], "10"),
    send("d", "increment", &[], "11"),
    bind("e", "Demo::Counter", "make", &[]),
    send("e", "increment", &[], "1"),
    perform("Demo::Counter", "make", &[]),
    send("Demo::Counter", "created", &[], "2"),
    Step {
        bind: Some("fresh"),
        recv: "Demo::Counter",
        sel: "fresh",
        args: &[],
        want: Want::ClassOf("Demo::Counter"),
    },
    send("fresh", "getValue", &[], "0"),
    send("c", "countTo:", &[I(4)], "1234"),
    send("c", "countTo:", &[I(0)], ""),
    // Bash-only methods: the test runtime has no Bash bridge to fall back to.
    Step {
        bind: None,
        recv: "c",
        sel: "shout",
        args: &[],
        want: Want::ErrorContaining("Demo::Counter>>shout is a Bash method (no native body)"),
    },
    Step {
        bind: None,
        recv: "c",
        sel: "dump",
        args: &[],
        want: Want::ErrorContaining("Demo::Counter>>dump is a Bash method (no native body)"),
    },
];

/// `List` of `corpus/list.trash`: an Array-like collection whose `do:`, `collect:`,
/// `select:`, `inject:into:` and `detect:` take blocks, with non-local returns from inside the
/// block given to `do:` (`detect:`, `detect:ifNone:`, `includes:`) and from an inlined
/// `to:do:` (`indexOf:`).
pub const LIST_SCRIPT: &[Step] = &[
    bind("list", "List", "new", &[]),
    perform("list", "add:", &[I(3)]),
    perform("list", "add:", &[I(1)]),
    perform("list", "add:", &[I(4)]),
    perform("list", "add:", &[I(1)]),
    perform("list", "add:", &[I(5)]),
    send("list", "size", &[], "5"),
    send("list", "getItems", &[], r#"["3","1","4","1","5"]"#),
    send("list", "at:", &[I(2)], "4"),
    send("list", "do:", &[B("[:x | x]")], ""),
    bind("doubled", "list", "collect:", &[B("[:x | x * 2]")]),
    send("doubled", "getItems", &[], r#"["6","2","8","2","10"]"#),
    bind("big", "list", "select:", &[B("[:x | x > 2]")]),
    send("big", "getItems", &[], r#"["3","4","5"]"#),
    send(
        "list",
        "inject:into:",
        &[I(0), B("[:acc :x | acc + x]")],
        "14",
    ),
    send("list", "detect:", &[B("[:x | x > 3]")], "4"),
    send("list", "detect:", &[B("[:x | x > 9]")], ""),
    send(
        "list",
        "detect:ifNone:",
        &[B("[:x | x > 9]"), B("['none']")],
        "none",
    ),
    send(
        "list",
        "detect:ifNone:",
        &[B("[:x | x = 1]"), B("['none']")],
        "1",
    ),
    send("list", "includes:", &[I(4)], "true"),
    send("list", "includes:", &[I(7)], "false"),
    send("list", "indexOf:", &[I(4)], "2"),
    send("list", "indexOf:", &[I(9)], "-1"),
    send("list", "max", &[], "5"),
    send("list", "asString", &[], "3,1,4,1,5"),
    bind("other", "List", "new", &[]),
    perform("other", "setItems:", &[S(r#"["7","8"]"#)]),
    send("other", "size", &[], "2"),
    send("other", "asString", &[], "7,8"),
    // A block that itself sends to new collections: compiled methods run inside a block run
    // by a compiled method.
    send(
        "list",
        "inject:into:",
        &[
            I(0),
            B("[:acc :x | | l | l := @ List new. @ l add: x. @ l add: x. acc + (@ l size)]"),
        ],
        "10",
    ),
    // Stays in Bash: the block would assign a captured variable.
    Step {
        bind: None,
        recv: "list",
        sel: "sumViaDo",
        args: &[],
        want: Want::Text("14"),
    },
];

/// Classes sending to `self`, `super` and other classes, with cascades and a block that sends
/// to `self`.
pub const PROBE_SOURCE: &str = "Base subclass: Object\n\
    \x20 method: greet: n [ ^ 'base ' , n ]\n\
    \x20 classMethod: make [ ^ @ self new ]\n\
    Derived subclass: Base\n\
    \x20 method: greet: n [ ^ 'derived+' , (super greet: n) ]\n\
    \x20 method: check: x [ ^ x > 2 ]\n\
    \x20 method: run: x [ ^ @ self check: x ifTrue: ['big'] ifFalse: ['small'] ]\n\
    \x20 method: pair [ ^ (@ Base make) greet: 'p' ]\n\
    \x20 method: cascade [ | r | r := @ Base new. ^ r greet: 'a'; greet: 'b' ]\n\
    \x20 method: viaBlock: x [ ^ [:y | @ self greet: y] value: x ]\n";

/// Sends to the classes of [`PROBE_SOURCE`].
pub const PROBE_SCRIPT: &[Step] = &[
    bind("d", "Derived", "new", &[]),
    send("d", "greet:", &[S("x")], "derived+base x"),
    send("d", "run:", &[I(3)], "big"),
    send("d", "run:", &[I(1)], "small"),
    send("d", "pair", &[], "base p"),
    send("d", "cascade", &[], "base b"),
    send("d", "viaBlock:", &[S("z")], "derived+base z"),
];

/// Loads [`PROBE_SOURCE`] into `rt`.
pub fn load_probe(rt: &Runtime) -> LoadReport {
    load_classes(rt, &[("probe.trash", PROBE_SOURCE)]).unwrap_or_else(|e| panic!("{e}"))
}

/// A class using `self` as a value (TTBC v2 `PUSH_SELF`): returned, passed as an argument,
/// compared, captured by a block; and a method whose blocks share a counter.
pub const SELF_SOURCE: &str = "Pt subclass: Object\n\
    \x20 instanceVars: v:0\n\
    \x20 method: me [ ^ self ]\n\
    \x20 method: echo: x [ ^ x ]\n\
    \x20 method: viaArg [ ^ @ self echo: self ]\n\
    \x20 method: same [ ^ (@ self echo: self) = self ]\n\
    \x20 method: inBlock [ ^ [self] value ]\n\
    \x20 method: setV: x [ v := x. ^ self ]\n\
    \x20 method: getV [ ^ v ]\n\
    \x20 method: counter [ | n inc | n := 0. inc := [n := n + 1]. inc value. inc value. ^ n ]\n\
    \x20 method: sumTo: k [ | f | f := [:i | i = 0 ifTrue: [0] ifFalse: [i + (f value: i - 1)]]. ^ f value: k ]\n";

/// Sends to the class of [`SELF_SOURCE`].
pub const SELF_SCRIPT: &[Step] = &[
    bind("p", "Pt", "new", &[]),
    Step {
        bind: None,
        recv: "p",
        sel: "me",
        args: &[],
        want: Want::ClassOf("Pt"),
    },
    Step {
        bind: None,
        recv: "p",
        sel: "viaArg",
        args: &[],
        want: Want::ClassOf("Pt"),
    },
    send("p", "same", &[], "true"),
    Step {
        bind: None,
        recv: "p",
        sel: "inBlock",
        args: &[],
        want: Want::ClassOf("Pt"),
    },
    bind("q", "p", "setV:", &[I(9)]),
    send("q", "getV", &[], "9"),
    send("p", "getV", &[], "9"),
    send("p", "counter", &[], "2"),
    send("p", "sumTo:", &[I(4)], "10"),
];

/// Loads [`SELF_SOURCE`] into `rt`.
pub fn load_self_probe(rt: &Runtime) -> LoadReport {
    load_classes(rt, &[("pt.trash", SELF_SOURCE)]).unwrap_or_else(|e| panic!("{e}"))
}

/// The variables and registered blocks of one runtime running a script.
#[derive(Default)]
pub struct Env {
    vars: HashMap<&'static str, Value>,
    /// Every block registered for an [`Arg::Block`] argument, with its source, in order.
    pub blocks: Vec<(&'static str, Arc<Block>)>,
}

impl Env {
    /// A fresh environment.
    pub fn new() -> Env {
        Env::default()
    }

    /// Performs `step`'s send in `rt` (binding the result on success) and returns its outcome.
    pub fn send(&mut self, rt: &Runtime, step: &Step) -> tt_vm::Result<Value> {
        let recv = match self.vars.get(step.recv) {
            Some(v) => v.clone(),
            None => {
                assert!(
                    tt_vm::runtime::is_class_name(step.recv),
                    "{step}: unbound variable {}",
                    step.recv
                );
                Value::string(step.recv)
            }
        };
        let args: Vec<Value> = step
            .args
            .iter()
            .map(|a| match a {
                Arg::Int(n) => Value::int(*n),
                Arg::Str(s) => Value::string(s),
                Arg::Block(src) => {
                    let b = rt
                        .register_block(&bytes(src), Vec::new())
                        .unwrap_or_else(|e| panic!("{src}: {e}"));
                    self.blocks.push((src, b.clone()));
                    Value::block(b)
                }
            })
            .collect();
        let r = rt.send(&recv, step.sel, &args);
        if let (Some(name), Ok(v)) = (step.bind, &r) {
            self.vars.insert(name, v.clone());
        }
        r
    }
}

/// Asserts that `r`, the outcome of `step` in `rt`, is what the step wants.
pub fn check(rt: &Runtime, step: &Step, r: &tt_vm::Result<Value>) {
    match (step.want, r) {
        (Want::Any, Ok(_)) => {}
        (Want::Text(want), Ok(v)) => assert_eq!(v.text(), want, "{step}"),
        (Want::ClassOf(class), Ok(v)) => {
            assert_eq!(rt.class_of(v).unwrap(), class, "{step}")
        }
        (Want::ErrorContaining(part), Err(e)) => {
            assert!(e.to_string().contains(part), "{step}: {e}")
        }
        (Want::ErrorContaining(_), Ok(v)) => {
            panic!("{step}: expected an error, got {:?}", v.text())
        }
        (_, Err(e)) => panic!("{step}: {e}"),
    }
}

/// Runs a whole script in one runtime, checking every step.
pub fn run_script(rt: &Runtime, script: &[Step]) -> Env {
    let mut env = Env::new();
    for step in script {
        let r = env.send(rt, step);
        check(rt, step, &r);
    }
    env
}
