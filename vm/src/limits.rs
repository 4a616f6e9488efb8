//! What stops runaway code: interrupts from other threads, per-thread deadlines and per-thread
//! memory budgets (docs/limits.md).
//!
//! # The poll
//!
//! Both tiers poll [`ATTENTION`] at every loop back-edge and at every activation (a block or
//! bytecode method call): one relaxed load of a process-wide word and a branch. The word counts
//! the threads whose *signal* is raised, so it is zero unless something asks some thread to
//! stop; only then does a poll take the out-of-line [`poll_slow`], which looks at the calling
//! thread's own signal and answers the typed error that unwinds the call like any run-time
//! error ([`ErrorKind::Interrupted`], [`ErrorKind::DeadlineExceeded`],
//! [`ErrorKind::MemoryLimit`]).
//!
//! # Raising a signal
//!
//! * [`ThreadHandle::interrupt`] (from any thread): the thread's next poll fails with
//!   `interrupted`; the request is consumed by that poll.
//! * [`set_deadline`]: a timer thread (started on first use) raises the signal when the deadline
//!   passes; every later poll fails with `deadline exceeded` until the deadline is cleared.
//! * [`set_memory_limit`]: the allocation points of runtime values call [`charge`]; an
//!   allocation past the budget raises the signal and every later poll fails with `memory limit
//!   exceeded` until the budget is reset.
//! * [`interrupt_all`] (shutdown): every poll of every thread fails with `interrupted` from then
//!   on.
//!
//! A thread that uses none of these pays one load and a not-taken branch per poll and one load
//! per charged allocation.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

use crate::error::{Error, ErrorKind};

/// Number of threads whose signal is raised (plus one after [`interrupt_all`]). Polled by both
/// tiers; compiled code loads it from its fixed address ([`attention_addr`]).
pub static ATTENTION: AtomicU32 = AtomicU32::new(0);

/// Number of threads with a memory budget: zero makes [`charge`] a load and a branch.
static BUDGETED: AtomicU32 = AtomicU32::new(0);

/// Set by [`interrupt_all`].
static ALL: AtomicBool = AtomicBool::new(false);

const INTERRUPT: u8 = 1;
const DEADLINE: u8 = 2;
const MEMORY: u8 = 4;
/// The thread ended: the signal never counts in [`ATTENTION`] again.
const DEAD: u8 = 0x80;

/// Message of [`ErrorKind::Interrupted`].
pub const INTERRUPTED: &str = "interrupted";
/// Message of [`ErrorKind::DeadlineExceeded`].
pub const DEADLINE_EXCEEDED: &str = "deadline exceeded";
/// Message of [`ErrorKind::MemoryLimit`].
pub const MEMORY_LIMIT_EXCEEDED: &str = "memory limit exceeded";

/// One thread's signal word, shared with whoever holds a [`ThreadHandle`] on it.
#[derive(Debug, Default)]
struct Signal {
    /// `INTERRUPT | DEADLINE | MEMORY` bits; nonzero counts once in [`ATTENTION`].
    raised: AtomicU8,
    /// Generation of the thread's current deadline (0: none). The timer raises `DEADLINE`
    /// only for the current generation (read and raised under the timer's lock).
    deadline_gen: AtomicU64,
}

impl Signal {
    fn raise(&self, bit: u8) {
        if self.raised.fetch_or(bit, Ordering::AcqRel) == 0 {
            ATTENTION.fetch_add(1, Ordering::Release);
        }
    }

    /// Lowers `bit`; true if it was raised.
    fn lower(&self, bit: u8) -> bool {
        let old = self.raised.fetch_and(!bit, Ordering::AcqRel);
        if old == bit {
            ATTENTION.fetch_sub(1, Ordering::Release);
        }
        old & bit != 0
    }
}

/// A handle on a thread, to interrupt its running call from another thread
/// ([`ThreadHandle::interrupt`]). Cheap to clone; it stays valid after the thread ended
/// (interrupting it then does nothing).
#[derive(Clone, Debug)]
pub struct ThreadHandle(Arc<Signal>);

impl ThreadHandle {
    /// The calling thread's handle.
    pub fn current() -> ThreadHandle {
        THREAD.with(|t| ThreadHandle(Arc::clone(&t.signal)))
    }

    /// Asks the thread to stop: its next poll (loop back-edge or call) fails with
    /// `interrupted`. If the thread runs nothing now, its next call's first poll fails.
    pub fn interrupt(&self) {
        self.0.raise(INTERRUPT);
    }
}

/// Per-thread state.
struct ThreadLimits {
    signal: Arc<Signal>,
    /// Bytes the thread may still allocate, when it has a budget.
    budget: Cell<Option<u64>>,
}

impl Drop for ThreadLimits {
    fn drop(&mut self) {
        let old = self.signal.raised.fetch_or(DEAD, Ordering::AcqRel);
        if old != 0 && old & DEAD == 0 {
            ATTENTION.fetch_sub(1, Ordering::Release);
        }
        if self.budget.get().is_some() {
            BUDGETED.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

thread_local! {
    static THREAD: ThreadLimits = ThreadLimits {
        signal: Arc::default(),
        budget: Cell::new(None),
    };
}

/// The address of [`ATTENTION`], which compiled code embeds.
pub fn attention_addr() -> *const AtomicU32 {
    &ATTENTION
}

/// The poll: `Ok` unless the calling thread was asked to stop.
#[inline(always)]
pub fn poll() -> Result<(), Error> {
    if ATTENTION.load(Ordering::Relaxed) == 0 {
        Ok(())
    } else {
        poll_slow()
    }
}

/// The out-of-line part of [`poll`] (compiled code calls it through a helper when
/// [`ATTENTION`] is nonzero): the calling thread's error, if it was asked to stop.
#[cold]
#[inline(never)]
pub fn poll_slow() -> Result<(), Error> {
    if ALL.load(Ordering::Acquire) {
        return Err(Error::new(ErrorKind::Interrupted, INTERRUPTED));
    }
    THREAD
        .try_with(|t| {
            let r = t.signal.raised.load(Ordering::Acquire);
            if r & INTERRUPT != 0 && t.signal.lower(INTERRUPT) {
                return Err(Error::new(ErrorKind::Interrupted, INTERRUPTED));
            }
            if r & DEADLINE != 0 {
                return Err(Error::new(ErrorKind::DeadlineExceeded, DEADLINE_EXCEEDED));
            }
            if r & MEMORY != 0 {
                return Err(Error::new(ErrorKind::MemoryLimit, MEMORY_LIMIT_EXCEEDED));
            }
            Ok(())
        })
        .unwrap_or(Ok(()))
}

/// Makes every poll of every thread fail with `interrupted` from now on (for a process that
/// shuts down: running calls stop at their next poll, new ones at their first).
pub fn interrupt_all() {
    if !ALL.swap(true, Ordering::AcqRel) {
        ATTENTION.fetch_add(1, Ordering::Release);
    }
}

/// Withdraws a pending interrupt request of the calling thread (one no poll consumed yet).
/// True if there was one.
pub fn clear_interrupt() -> bool {
    THREAD.with(|t| t.signal.lower(INTERRUPT))
}

// ----- deadlines -------------------------------------------------------------------------

/// The deadline timer: pending deadlines `(when, generation, signal)` and the condition its
/// thread waits on.
struct Timer {
    pending: Mutex<Vec<(Instant, u64, Weak<Signal>)>>,
    wake: Condvar,
}

static TIMER: OnceLock<Timer> = OnceLock::new();
static NEXT_GEN: AtomicU64 = AtomicU64::new(1);

fn timer() -> &'static Timer {
    TIMER.get_or_init(|| {
        std::thread::Builder::new()
            .name("tt-deadlines".into())
            .spawn(timer_loop)
            .expect("spawning the deadline timer thread");
        Timer {
            pending: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }
    })
}

fn timer_loop() {
    let t = timer();
    let mut pending = t.pending.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        pending.retain(|(at, generation, sig)| {
            let Some(sig) = sig.upgrade() else {
                return false;
            };
            if sig.deadline_gen.load(Ordering::Acquire) != *generation {
                return false;
            }
            if *at <= now {
                sig.raise(DEADLINE);
                return false;
            }
            true
        });
        pending = match pending.iter().map(|p| p.0).min() {
            None => t.wake.wait(pending).unwrap_or_else(|e| e.into_inner()),
            Some(at) => {
                t.wake
                    .wait_timeout(pending, at.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

/// Sets (`Some`) or clears (`None`) the calling thread's deadline. Once it passes, every poll
/// of the thread fails with `deadline exceeded` until the deadline is cleared or replaced.
pub fn set_deadline(at: Option<Instant>) {
    THREAD.with(|th| {
        let sig = &th.signal;
        if at.is_none() && sig.deadline_gen.load(Ordering::Acquire) == 0 {
            // Nothing set: no lock (a host that never sets one never starts the timer).
            sig.lower(DEADLINE);
            return;
        }
        let t = timer();
        let mut pending = t.pending.lock().unwrap_or_else(|e| e.into_inner());
        sig.lower(DEADLINE);
        match at {
            None => {
                sig.deadline_gen.store(0, Ordering::Release);
                pending.retain(|p| !std::ptr::eq(p.2.as_ptr(), Arc::as_ptr(sig)));
            }
            Some(at) => {
                let generation = NEXT_GEN.fetch_add(1, Ordering::Relaxed);
                sig.deadline_gen.store(generation, Ordering::Release);
                pending.retain(|p| !std::ptr::eq(p.2.as_ptr(), Arc::as_ptr(sig)));
                if at <= Instant::now() {
                    sig.raise(DEADLINE);
                } else {
                    pending.push((at, generation, Arc::downgrade(sig)));
                    t.wake.notify_one();
                }
            }
        }
    });
}

// ----- memory budgets ----------------------------------------------------------------------

/// Sets (`Some(bytes)`) or removes (`None`) the calling thread's memory budget: the bytes its
/// runtime values (strings, JSON collections, blocks, instances) may allocate from now on.
/// Resetting it also withdraws an earlier `memory limit exceeded`.
pub fn set_memory_limit(bytes: Option<u64>) {
    THREAD.with(|t| {
        let had = t.budget.replace(bytes).is_some();
        match (had, bytes.is_some()) {
            (false, true) => {
                BUDGETED.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                BUDGETED.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        t.signal.lower(MEMORY);
    });
}

/// What is left of the calling thread's memory budget (`None`: no budget).
pub fn memory_left() -> Option<u64> {
    THREAD.with(|t| t.budget.get())
}

/// Counts an allocation of `bytes` against the calling thread's budget. False when it does not
/// fit: the thread's signal is raised (its next poll fails with `memory limit exceeded`) and
/// the caller should allocate as little as it can instead (the result is never used: the call
/// stops at its next poll).
#[inline]
pub fn charge(bytes: usize) -> bool {
    if BUDGETED.load(Ordering::Relaxed) == 0 {
        true
    } else {
        charge_slow(bytes)
    }
}

#[cold]
#[inline(never)]
fn charge_slow(bytes: usize) -> bool {
    THREAD
        .try_with(|t| match t.budget.get() {
            None => true,
            Some(left) if bytes as u64 <= left => {
                t.budget.set(Some(left - bytes as u64));
                true
            }
            Some(_) => {
                t.budget.set(Some(0));
                t.signal.raise(MEMORY);
                false
            }
        })
        .unwrap_or(true)
}

/// The limits of one request on the calling thread: a deadline and a memory budget, both
/// withdrawn (with any pending interrupt) when the scope ends.
#[derive(Debug)]
pub struct Scope {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Scope {
    /// Sets the calling thread's deadline and memory budget until the scope is dropped.
    pub fn new(deadline: Option<Instant>, memory: Option<u64>) -> Scope {
        set_deadline(deadline);
        set_memory_limit(memory);
        Scope {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        set_deadline(None);
        set_memory_limit(None);
        clear_interrupt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_thread_without_limits_polls_ok() {
        assert!(poll().is_ok());
        assert!(charge(1 << 40));
    }

    #[test]
    fn an_interrupt_is_reported_once() {
        let h = ThreadHandle::current();
        h.interrupt();
        let e = poll().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Interrupted);
        assert!(poll().is_ok());
    }

    #[test]
    fn a_passed_deadline_fails_every_poll_until_cleared() {
        let _s = Scope::new(Some(Instant::now() + Duration::from_millis(20)), None);
        assert!(poll().is_ok());
        let t0 = Instant::now();
        let e = loop {
            if let Err(e) = poll() {
                break e;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "the deadline never fired"
            );
        };
        assert_eq!(e.kind(), ErrorKind::DeadlineExceeded);
        assert_eq!(e.message(), DEADLINE_EXCEEDED);
        assert!(poll().is_err());
        set_deadline(None);
        assert!(poll().is_ok());
    }

    #[test]
    fn a_budget_refuses_what_does_not_fit_and_the_poll_reports_it() {
        let s = Scope::new(None, Some(100));
        assert!(charge(60));
        assert!(poll().is_ok());
        assert!(!charge(60));
        assert_eq!(poll().unwrap_err().kind(), ErrorKind::MemoryLimit);
        drop(s);
        assert!(poll().is_ok());
        assert_eq!(memory_left(), None);
    }
}
