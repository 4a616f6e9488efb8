//! Differential tests of integer-specialised loops (`jit/src/translate/fastloop.rs`): each
//! chunk runs interpreted and compiled and must give the same text. They target what the fast
//! version does differently: the entry guard (non-integer locals and params keep the generic
//! loop), overflow in the middle of a block (bail-out to the generic block with the block's
//! entry values), exits from the middle of the loop, nested loops, temporaries that start as
//! nil, and every comparison.

mod common_jit;

use common_jit::*;
use tt_vm::Value;
use tt_vm::ttbc::Op;
use tt_vm::value::boxing::{SMALL_INT_MAX, SMALL_INT_MIN};

fn int(i: i64) -> Arg {
    Arg::V(Value::int(i))
}

/// `label: [local < bound] whileTrue:` — the loop test, leaving for `exit` when it fails
/// (`bound` is `LOAD_PARAM p` or `LOAD_LOCAL l`).
fn loop_test(a: &mut Asm, label: &str, local: u8, bound: (Op, u8), exit: &str) {
    a.label(label)
        .op8(Op::LoadLocal, local)
        .op8(bound.0, bound.1)
        .op(Op::Lt)
        .jump(Op::JumpFalse, exit);
}

/// `local := local + 1`, then back to `head`.
fn step_back(a: &mut Asm, local: u8, head: &str) {
    a.op8(Op::LoadLocal, local)
        .op(Op::ConstOne)
        .op(Op::Add)
        .op8(Op::StoreLocal, local)
        .jump(Op::Jump, head);
}

/// `[:n | | s i | s := start. i := 0. [i < n] whileTrue: [s := s <op> i. i := i + 1]. s]`.
fn accumulate(start: i64, op: Op) -> Vec<u8> {
    let mut a = Asm::new(1, 2);
    a.text(&start.to_string()).op8(Op::StoreLocal, 0);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
    loop_test(&mut a, "head", 1, (Op::LoadParam, 0), "end");
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 1)
        .op(op)
        .op8(Op::StoreLocal, 0);
    step_back(&mut a, 1, "head");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    a.bytes()
}

#[test]
fn summing_loop_agrees_for_every_kind_of_bound() {
    let t = Tiers::new();
    let b = t.register(&accumulate(0, Op::Add), &[]);
    for n in [0, 1, 2, 10, 1000, -5] {
        let want = (0..n.max(0)).sum::<i64>().to_string();
        assert_eq!(t.invoke(&b, &[int(n)]), want);
    }
    // Non-integer bounds fail the entry guard and run the generic loop.
    // (Comparisons with a float follow the interpreter, whatever it answers.)
    t.invoke(&b, &strs(&["10.5"]));
    assert_eq!(t.invoke(&b, &strs(&["12"])), "66");
    t.invoke(&b, &strs(&["abc"]));
    t.invoke(&b, &[Arg::V(Value::NIL)]);
}

#[test]
fn overflow_in_the_middle_of_a_block_redoes_it_generically() {
    let t = Tiers::new();
    // `s + i` leaves the small-integer range after a few iterations; `i + 1` never does.
    let start = SMALL_INT_MAX - 1000;
    let b = t.register(&accumulate(start, Op::Add), &[]);
    for n in [10, 45, 46, 100, 3000] {
        let want = (start as i128 + (0..n as i128).sum::<i128>()).to_string();
        assert_eq!(t.invoke(&b, &[int(n)]), want, "n = {n}");
    }
    // Downwards past the smallest small integer.
    let start = SMALL_INT_MIN + 1000;
    let b = t.register(&accumulate(start, Op::Sub), &[]);
    for n in [10, 100, 3000] {
        let want = (start as i128 - (0..n as i128).sum::<i128>()).to_string();
        assert_eq!(t.invoke(&b, &[int(n)]), want, "n = {n}");
    }
}

#[test]
fn multiplication_overflows_to_boxed_and_then_wraps_like_the_interpreter() {
    let t = Tiers::new();
    // s := 3. s := s * (i + 3)... through 64-bit wrap-around: the tiers must agree throughout.
    let mut a = Asm::new(1, 2);
    a.text("3").op8(Op::StoreLocal, 0);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
    loop_test(&mut a, "head", 1, (Op::LoadParam, 0), "end");
    a.op8(Op::LoadLocal, 0)
        .text("3")
        .op(Op::Mul)
        .op8(Op::StoreLocal, 0);
    step_back(&mut a, 1, "head");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    for n in [0, 5, 28, 29, 30, 39, 40, 41, 60] {
        t.invoke(&b, &[int(n)]);
    }
    assert_eq!(t.invoke(&b, &[int(5)]), (3i64 * 3i64.pow(5)).to_string());
}

#[test]
fn a_jump_out_of_the_middle_of_the_loop_keeps_the_current_locals() {
    let t = Tiers::new();
    // [:n :stop | | i | i := 0. [i < n] whileTrue: [i = stop ifTrue: [^i + 1000]. i := i + 1]. i]
    let mut a = Asm::new(2, 1);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 0);
    loop_test(&mut a, "head", 0, (Op::LoadParam, 0), "end");
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadParam, 1)
        .op(Op::Eq)
        .jump(Op::JumpTrue, "out");
    step_back(&mut a, 0, "head");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    a.label("out")
        .op8(Op::LoadLocal, 0)
        .text("1000")
        .op(Op::Add)
        .op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    assert_eq!(t.invoke(&b, &[int(100), int(7)]), "1007");
    assert_eq!(t.invoke(&b, &[int(100), int(-1)]), "100");
    assert_eq!(t.invoke(&b, &[int(5), int(5)]), "5");
    // A non-integer `stop` fails the guard (it is a param the loop reads).
    assert_eq!(t.invoke(&b, &[int(10), Arg::s("x")]), "10");
}

#[test]
fn nested_loops_agree() {
    let t = Tiers::new();
    // s := 0. i := 0. [i < n] whileTrue: [j := 0. [j < i] whileTrue: [s := s + (i * j). j := j + 1]. i := i + 1]. s
    let mut a = Asm::new(1, 3);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 0);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
    loop_test(&mut a, "outer", 1, (Op::LoadParam, 0), "end");
    a.op(Op::ConstZero).op8(Op::StoreLocal, 2);
    loop_test(&mut a, "inner", 2, (Op::LoadLocal, 1), "next");
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 1)
        .op8(Op::LoadLocal, 2)
        .op(Op::Mul)
        .op(Op::Add)
        .op8(Op::StoreLocal, 0);
    step_back(&mut a, 2, "inner");
    a.label("next");
    step_back(&mut a, 1, "outer");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    for n in [0i64, 1, 2, 10, 50] {
        let want: i64 = (0..n).map(|i| (0..i).map(|j| i * j).sum::<i64>()).sum();
        assert_eq!(t.invoke(&b, &[int(n)]), want.to_string());
    }
    t.invoke(&b, &strs(&["4.5"]));
}

#[test]
fn a_temporary_that_starts_as_nil_gets_the_fast_version_and_stays_nil_without_iterations() {
    let t = Tiers::new();
    // | s i tmp | ... [i < n] whileTrue: [tmp := i * 2. s := s + tmp. i := i + 1]. tmp
    let mut a = Asm::new(1, 3);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 0);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
    loop_test(&mut a, "head", 1, (Op::LoadParam, 0), "end");
    a.op8(Op::LoadLocal, 1)
        .text("2")
        .op(Op::Mul)
        .op8(Op::StoreLocal, 2);
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 2)
        .op(Op::Add)
        .op8(Op::StoreLocal, 0);
    step_back(&mut a, 1, "head");
    a.label("end")
        .op8(Op::LoadLocal, 2)
        .op8(Op::LoadLocal, 0)
        .op(Op::Concat)
        .op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    // `tmp` is written before it is read in every iteration: nil passes the entry guard.
    assert_eq!(tt_jit::fast_loop_heads(b.1.code()).unwrap().len(), 1);
    // n = 0: tmp stays nil (empty text).
    assert_eq!(t.invoke(&b, &[int(0)]), "0");
    assert_eq!(t.invoke(&b, &[int(4)]), "612");
}

#[test]
fn every_comparison_and_stack_shuffle_agrees() {
    let t = Tiers::new();
    for (cmp, jump) in [
        (Op::Gt, Op::JumpFalse),
        (Op::Ge, Op::JumpFalse),
        (Op::Le, Op::JumpTrue),
        (Op::Lt, Op::JumpTrue),
        (Op::Ne, Op::JumpFalse),
        (Op::Eq, Op::JumpTrue),
    ] {
        // i := n. [i <cmp> 0 <jump> end] c := c + 1 (through DUP/POP). i := i - 1. repeat.
        let mut a = Asm::new(1, 2);
        a.op8(Op::LoadParam, 0).op8(Op::StoreLocal, 0);
        a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
        a.label("head")
            .op8(Op::LoadLocal, 0)
            .op(Op::ConstZero)
            .op(cmp)
            .jump(jump, "end");
        a.op8(Op::LoadLocal, 1)
            .op(Op::ConstOne)
            .op(Op::Add)
            .op(Op::Dup)
            .op8(Op::StoreLocal, 1)
            .op(Op::Pop);
        a.op8(Op::LoadLocal, 0)
            .op(Op::ConstOne)
            .op(Op::Sub)
            .op8(Op::StoreLocal, 0)
            // Stop runaway loops (`Ne`/`Eq` from a negative start): at most 100 iterations.
            .op8(Op::LoadLocal, 1)
            .text("100")
            .op(Op::Lt)
            .jump(Op::JumpFalse, "end")
            .jump(Op::Jump, "head");
        a.label("end")
            .op8(Op::LoadLocal, 1)
            .op8(Op::LoadLocal, 0)
            .op(Op::Concat)
            .op(Op::Return);
        let b = t.register(&a.bytes(), &[]);
        for n in [-3, 0, 1, 7] {
            t.invoke(&b, &[int(n)]);
        }
    }
}

/// `[:n | | i | i := start. [i <cmp> n] whileTrue: [i := i + 1]. i]` with the comparison
/// written as `i < n`, `n > i` or `i <= n`.
fn count_up(start: i64, form: &str) -> Vec<u8> {
    let mut a = Asm::new(1, 1);
    a.text(&start.to_string()).op8(Op::StoreLocal, 0);
    a.label("head");
    match form {
        "lt" => a.op8(Op::LoadLocal, 0).op8(Op::LoadParam, 0).op(Op::Lt),
        "gt" => a.op8(Op::LoadParam, 0).op8(Op::LoadLocal, 0).op(Op::Gt),
        _ => a.op8(Op::LoadLocal, 0).op8(Op::LoadParam, 0).op(Op::Le),
    };
    a.jump(Op::JumpFalse, "end");
    step_back(&mut a, 0, "head");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    a.bytes()
}

#[test]
fn an_increment_guarded_by_less_than_reaches_the_largest_small_integer_exactly() {
    // A wrong unchecked increment wraps and the loop never ends: run the body on its own thread
    // so such a bug fails the test instead of hanging the run.
    let (done, finished) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        increments_up_to_the_largest_small_integer();
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(()) => body.join().expect("body panicked after finishing"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(body.join().expect_err("the body ended without reporting"))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("counting up to the largest small integer did not stop within 60 s")
        }
    }
}

fn increments_up_to_the_largest_small_integer() {
    // After `i < n` (or `n > i`) the fast version adds 1 without an overflow check: with n the
    // largest small integer the loop must stop there, in both tiers.
    let t = Tiers::new();
    for form in ["lt", "gt"] {
        let b = t.register(&count_up(SMALL_INT_MAX - 5, form), &[]);
        assert_eq!(
            t.invoke(&b, &[int(SMALL_INT_MAX)]),
            SMALL_INT_MAX.to_string()
        );
        assert_eq!(
            t.invoke(&b, &[int(SMALL_INT_MAX - 2)]),
            (SMALL_INT_MAX - 2).to_string()
        );
    }
    // `i <= n` proves nothing: the increment past the largest small integer is checked and
    // redone generically (a boxed integer), which then ends the loop.
    let b = t.register(&count_up(SMALL_INT_MAX - 3, "le"), &[]);
    assert_eq!(
        t.invoke(&b, &[int(SMALL_INT_MAX)]),
        (SMALL_INT_MAX as i128 + 1).to_string()
    );
}

#[test]
fn the_loops_the_block_compiler_emits_get_a_fast_version() {
    use tt_compiler::compile_to_bytes;
    let t = Tiers::new();
    for (src, n_and_want) in [
        (
            "[:n | | s i | s := 0. i := 0. [i < n] whileTrue: [s := s + i. i := i + 1]. s]",
            &[(0, "0"), (10, "45"), (1000, "499500")][..],
        ),
        (
            "[:n | | s | s := 0. 1 to: n do: [:i | s := s + i]. s]",
            &[(0, "0"), (10, "55")][..],
        ),
        (
            "[:n | | s | s := 0. n timesRepeat: [s := s + 2]. s]",
            &[(0, "0"), (7, "14")][..],
        ),
        (
            "[:n | | s | s := 0. n to: 1 by: -1 do: [:i | s := s * 2 + i]. s]",
            &[(0, "0"), (4, "49")][..],
        ),
        (
            "[:n | | s | s := 0. 1 to: n do: [:i | 1 to: i do: [:j | s := s + j]]. s]",
            &[(0, "0"), (4, "20")][..],
        ),
        // Temporaries of the loop's block, nilled at the start of each iteration.
        (
            "[:n | | s i | s := 0. i := 0. [i < n] whileTrue: [| t | t := i * i. s := s + t. i := i + 1]. s]",
            &[(0, "0"), (4, "14")][..],
        ),
        (
            "[:n | | s | s := 0. 1 to: n do: [:i | | t u | t := i * i. u := t - i. s := s + u]. s]",
            &[(0, "0"), (4, "20")][..],
        ),
        // Declared outside and nil until the first iteration writes it; read after the loop.
        (
            "[:n | | s t | s := 0. 1 to: n do: [:i | t := i + 1. s := s + t]. s , ':' , t]",
            &[(0, "0:"), (3, "9:4")][..],
        ),
        // Doubling overflows the small-integer range: bail-outs, then the generic loop.
        (
            "[:n | | s | s := 1. 1 to: n do: [:i | s := s * 2]. s]",
            &[(10, "1024"), (60, "1152921504606846976")][..],
        ),
    ] {
        let b = t.register(&compile_to_bytes(src).unwrap(), &[]);
        let heads = tt_jit::fast_loop_heads(b.1.code()).unwrap();
        assert!(!heads.is_empty(), "no fast version for {src}");
        for &(n, want) in n_and_want {
            assert_eq!(t.invoke(&b, &[int(n)]), want, "{src} with n = {n}");
        }
    }
}

#[test]
fn a_local_read_before_it_is_written_keeps_nil_out_of_the_fast_version() {
    // `s` is read (s + i) before any store in an iteration: nil on entry must fail the guard,
    // so the generic loop computes `nil + i` the interpreter's way.
    let t = Tiers::new();
    let mut a = Asm::new(1, 2);
    a.op(Op::ConstZero).op8(Op::StoreLocal, 1);
    loop_test(&mut a, "head", 1, (Op::LoadParam, 0), "end");
    a.op8(Op::LoadLocal, 0)
        .op8(Op::LoadLocal, 1)
        .op(Op::Add)
        .op8(Op::StoreLocal, 0);
    step_back(&mut a, 1, "head");
    a.label("end").op8(Op::LoadLocal, 0).op(Op::Return);
    let b = t.register(&a.bytes(), &[]);
    assert_eq!(tt_jit::fast_loop_heads(b.1.code()).unwrap().len(), 1);
    for n in [0, 1, 5] {
        t.invoke(&b, &[int(n)]);
    }
}
