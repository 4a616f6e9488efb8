//! Property test: small closure programs over shared variables (TTBC v2 cells, docs/spec/ttbc.md
//! "TTBC v2") compiled from source give, in the interpreter and compiled, the answer of a tiny
//! reference evaluator in which every variable is one shared location (Smalltalk semantics).
//!
//! A program declares `c0 c1 c2` (all 0) and two blocks: `b0` assigns the variables, `b1`
//! assigns them and may call `b0`; then the top level assigns them and calls the blocks, and
//! answers the three values.

mod common_jit;

use common_jit::Tiers;
use proptest::prelude::*;

/// One statement.
#[derive(Debug, Clone)]
enum St {
    /// `c<i> := c<j> + k`
    Add(usize, usize, u8),
    /// `b<n> value`
    Call(usize),
}

#[derive(Debug, Clone)]
struct Prog {
    b0: Vec<St>,
    b1: Vec<St>,
    top: Vec<St>,
}

fn add() -> impl Strategy<Value = St> {
    (0..3usize, 0..3usize, 0..10u8).prop_map(|(i, j, k)| St::Add(i, j, k))
}

/// Statements that may call blocks `0..blocks`.
fn stmts(blocks: usize, max: usize) -> impl Strategy<Value = Vec<St>> {
    let st = if blocks == 0 {
        add().boxed()
    } else {
        prop_oneof![3 => add(), 1 => (0..blocks).prop_map(St::Call)].boxed()
    };
    prop::collection::vec(st, 0..max)
}

fn prog() -> impl Strategy<Value = Prog> {
    (stmts(0, 4), stmts(1, 4), stmts(2, 8)).prop_map(|(b0, b1, top)| Prog { b0, b1, top })
}

fn source(stmts: &[St]) -> String {
    let parts: Vec<String> = stmts
        .iter()
        .map(|s| match s {
            St::Add(i, j, k) => format!("c{i} := c{j} + {k}"),
            St::Call(n) => format!("b{n} value"),
        })
        .collect();
    parts.join(". ")
}

impl Prog {
    fn source(&self) -> String {
        format!(
            "[| c0 c1 c2 b0 b1 | c0 := 0. c1 := 0. c2 := 0. b0 := [{}]. b1 := [{}]. {}{}(c0 , ' ' , c1) , (' ' , c2)]",
            source(&self.b0),
            source(&self.b1),
            source(&self.top),
            if self.top.is_empty() { "" } else { ". " },
        )
    }

    /// The reference evaluator: one location per variable.
    fn expected(&self) -> String {
        let mut c = [0i64; 3];
        self.run(&self.top, &mut c);
        format!("{} {} {}", c[0], c[1], c[2])
    }

    fn run(&self, stmts: &[St], c: &mut [i64; 3]) {
        for s in stmts {
            match *s {
                St::Add(i, j, k) => c[i] = c[j] + i64::from(k),
                St::Call(0) => self.run(&self.b0, c),
                St::Call(_) => self.run(&self.b1, c),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn closures_over_shared_variables_match_the_reference(p in prog()) {
        let src = p.source();
        let bytes = tt_compiler::compile_to_bytes(&src)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let tiers = Tiers::new();
        let got = tiers.run(&bytes, &[], &[]);
        prop_assert_eq!(got, p.expected(), "{}", src);
    }
}

#[test]
fn a_block_assigning_a_variable_after_another_block_read_it() {
    // `b1` reads c0 through its cell after `b0` changed it; the top level sees both changes.
    let p = Prog {
        b0: vec![St::Add(0, 0, 5)],
        b1: vec![St::Call(0), St::Add(1, 0, 1)],
        top: vec![St::Call(1), St::Add(2, 1, 1)],
    };
    let bytes = tt_compiler::compile_to_bytes(&p.source()).unwrap();
    assert_eq!(Tiers::new().run(&bytes, &[], &[]), "5 6 7");
    assert_eq!(p.expected(), "5 6 7");
}
