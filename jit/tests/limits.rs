//! Interrupts, deadlines and memory budgets (`tt_vm::limits`, docs/limits.md) stop runaway
//! code in both tiers: endless loops (an integer loop the JIT specialises, a bare backward
//! jump) and a string doubled in a loop.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tt_vm::limits::{self, Scope, ThreadHandle};
use tt_vm::tier::TierMode;
use tt_vm::ttbc::{Chunk, Op, serialize};
use tt_vm::{ErrorKind, Runtime};

fn runtime(jit: bool) -> Runtime {
    let rt = Runtime::new();
    if jit {
        assert!(tt_jit::install(&rt), "JIT supported on this host");
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    rt
}

fn chunk(code: &[u8], consts: &[&str], locals: u8) -> Vec<u8> {
    serialize(&Chunk {
        code: code.to_vec(),
        constants: consts.iter().map(|c| c.as_bytes().to_vec()).collect(),
        local_count: locals,
        ..Default::default()
    })
    .expect("serializable chunk")
}

/// `l0 := 0. [true] whileTrue: [l0 := l0 + 1]`: an integer loop (the JIT's fast loop).
fn counting_forever() -> Vec<u8> {
    let o = |op: Op| op.byte();
    chunk(
        &[
            o(Op::ConstZero),
            o(Op::StoreLocal),
            0,
            o(Op::LoadLocal),
            0,
            o(Op::ConstOne),
            o(Op::Add),
            o(Op::StoreLocal),
            0,
            o(Op::Jump),
            0xFF,
            0xF7,
        ],
        &[],
        1,
    )
}

/// A jump to itself.
fn jumping_forever() -> Vec<u8> {
    chunk(&[Op::Nop.byte(), Op::Jump.byte(), 0xFF, 0xFC], &[], 0)
}

/// `l0 := 'ab'. [true] whileTrue: [l0 := l0 , l0]`.
fn doubling_forever() -> Vec<u8> {
    let o = |op: Op| op.byte();
    chunk(
        &[
            o(Op::Const),
            0,
            0,
            o(Op::StoreLocal),
            0,
            o(Op::LoadLocal),
            0,
            o(Op::LoadLocal),
            0,
            o(Op::Concat),
            o(Op::StoreLocal),
            0,
            o(Op::Jump),
            0xFF,
            0xF6,
        ],
        &["ab"],
        1,
    )
}

/// Runs `bytes` under `limits` on this thread; the error kind, and whether the unit was
/// compiled.
fn run_limited(
    jit: bool,
    bytes: &[u8],
    deadline: Option<Duration>,
    memory: Option<u64>,
) -> ErrorKind {
    let rt = runtime(jit);
    let b = rt.register_block(bytes, Vec::new()).expect("valid chunk");
    let scope = Scope::new(deadline.map(|d| Instant::now() + d), memory);
    let t0 = Instant::now();
    let e = rt
        .invoke_block(&b, &[])
        .expect_err("an endless loop only stops with an error");
    eprintln!("jit={jit}: {e} after {:?}", t0.elapsed());
    assert_eq!(
        b.code().compiled().is_some(),
        jit,
        "{:?}",
        b.code().compile_error()
    );
    drop(scope);
    // The runtime and the thread serve the next call.
    let ok = rt
        .register_block(
            &chunk(&[Op::ConstOne.byte(), Op::Return.byte()], &[], 0),
            Vec::new(),
        )
        .unwrap();
    assert_eq!(rt.invoke_block(&ok, &[]).unwrap().text(), "1");
    e.kind()
}

#[test]
fn a_deadline_stops_an_endless_integer_loop_in_both_tiers() {
    for jit in [false, true] {
        let k = run_limited(
            jit,
            &counting_forever(),
            Some(Duration::from_millis(30)),
            None,
        );
        assert_eq!(k, ErrorKind::DeadlineExceeded, "jit={jit}");
    }
}

#[test]
fn a_deadline_stops_a_bare_backward_jump_in_both_tiers() {
    for jit in [false, true] {
        let k = run_limited(
            jit,
            &jumping_forever(),
            Some(Duration::from_millis(30)),
            None,
        );
        assert_eq!(k, ErrorKind::DeadlineExceeded, "jit={jit}");
    }
}

#[test]
fn a_memory_budget_stops_a_string_doubled_in_a_loop_in_both_tiers() {
    for jit in [false, true] {
        let k = run_limited(jit, &doubling_forever(), None, Some(1 << 20));
        assert_eq!(k, ErrorKind::MemoryLimit, "jit={jit}");
    }
}

#[test]
fn another_thread_interrupts_an_endless_loop_in_both_tiers() {
    for jit in [false, true] {
        for bytes in [counting_forever(), jumping_forever()] {
            let (tx, rx) = mpsc::channel();
            let worker = std::thread::spawn(move || {
                let rt = runtime(jit);
                let b = rt.register_block(&bytes, Vec::new()).unwrap();
                tx.send(ThreadHandle::current()).unwrap();
                let r = rt.invoke_block(&b, &[]);
                (
                    r.map(|v| v.text().to_string()),
                    b.code().compiled().is_some(),
                )
            });
            let h = rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            h.interrupt();
            let (r, compiled) = worker.join().unwrap();
            assert_eq!(compiled, jit);
            let e = r.expect_err("interrupted");
            assert_eq!(e.kind(), ErrorKind::Interrupted);
            assert_eq!(e.message(), limits::INTERRUPTED);
        }
    }
}

#[test]
fn a_thread_without_limits_runs_a_loop_to_its_end() {
    // l0 := 0. [l0 < 100000] whileTrue: [l0 := l0 + 1]. ^l0 — with another thread's
    // interrupt pending meanwhile (it must not stop this one).
    let o = |op: Op| op.byte();
    let bytes = chunk(
        &[
            o(Op::ConstZero),
            o(Op::StoreLocal),
            0,
            o(Op::LoadLocal),
            0,
            o(Op::Const),
            0,
            0,
            o(Op::Lt),
            o(Op::JumpFalse),
            0,
            9,
            o(Op::LoadLocal),
            0,
            o(Op::ConstOne),
            o(Op::Add),
            o(Op::StoreLocal),
            0,
            o(Op::Jump),
            0xFF,
            0xEE,
            o(Op::LoadLocal),
            0,
            o(Op::Return),
        ],
        &["100000"],
        1,
    );
    let other = std::thread::spawn(ThreadHandle::current).join().unwrap();
    other.interrupt();
    for jit in [false, true] {
        let rt = runtime(jit);
        let b = rt.register_block(&bytes, Vec::new()).unwrap();
        assert_eq!(rt.invoke_block(&b, &[]).unwrap().text(), "100000");
    }
}
