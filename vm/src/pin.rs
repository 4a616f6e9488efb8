//! Keep-alive of released objects for calls that are still running, without atomic
//! read-modify-writes on the call path (deferred release, epoch based).
//!
//! The C ABI hands out raw `TTInstance*` / `TTBlock*` handles: pointers to objects owned by the
//! object space and the block registry. docs/spec/c-abi.md §3.3 (`TT_Release`): handles become invalid
//! when the release returns, but "invocations already running keep the object alive until they
//! finish". A strong reference taken per call would do that, at the price of two locked
//! read-modify-writes per call (~7 ns each on the CI machines, more than the rest of a send).
//! Instead, the hot entry points run under a [`Pin`], and releasing [`retire`]s the object's
//! strong reference instead of dropping it:
//!
//! * [`pin`] records, in the calling thread's slot, the global epoch at which its outermost
//!   pinned call began (a plain load and a plain store; nested pins only count a thread-local
//!   depth). Dropping the outermost [`Pin`] clears the slot with a release store.
//! * [`retire`] takes the next epoch `e` and drops the reference at once unless some thread is
//!   pinned at an epoch ≤ `e`; then it waits in a limbo list, and is dropped by the first scan
//!   that finds no such thread: at the end of an outermost pin (when the limbo is not empty),
//!   at the next retirement, or by [`drain`] (`TT_Close`).
//!
//! Why plain stores suffice: a call that happens-before the release (say the method signalled
//! the releasing thread) wrote its slot and read the epoch before that signal, so the releasing
//! thread's scan (acquire loads) sees the slot, with an epoch ≤ `e`. A call that does not
//! happen-before the release cannot tell whether it began before the release returned; using
//! the handle then is the undefined behaviour the spec allows. A scan that sees a slot cleared
//! (acquire) also sees every access of the call that cleared it.
//!
//! A thread whose thread-local storage is already gone (a pinned call from a thread-local
//! destructor) pins through a global counter instead, which holds back every retirement.

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Epoch of the next retirement; slots hold the epoch their outermost pin began at, 0 when the
/// thread is not pinned.
static EPOCH: AtomicU64 = AtomicU64::new(1);
/// Every slot ever made (a thread's while it lives, then free for the next thread; free slots
/// read 0).
static SLOTS: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// Slots of threads that have exited, for reuse.
static FREE: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// Retired references waiting for the pins that may still use them, with their epochs.
static LIMBO: Mutex<Vec<(u64, Arc<dyn Any + Send + Sync>)>> = Mutex::new(Vec::new());
/// `LIMBO.len()`, read without the lock at the end of every outermost pin.
static LIMBO_LEN: AtomicUsize = AtomicUsize::new(0);
/// Pins of threads without thread-local storage (see the module documentation).
static ANONYMOUS: AtomicUsize = AtomicUsize::new(0);

/// One thread's pin state. Slots are allocated once and never freed (they are recycled), so
/// a pin can hold a plain `&'static` to its slot.
struct Slot {
    /// The epoch the outermost pin began at; 0 when not pinned. Written by the owner only.
    epoch: AtomicU64,
    /// Nesting depth of the owner's pins (owner-only; atomic only to be `Sync`).
    depth: AtomicU32,
}

thread_local! {
    /// The current thread's slot: constant-initialised and without a destructor, so reading it
    /// is one thread-local access with no lazy-initialisation state to check.
    static MINE: Cell<Option<&'static Slot>> = const { Cell::new(None) };
    /// Gives the slot back when the thread exits (touched only when the slot is taken).
    static RECYCLE: Recycle = const { Recycle(Cell::new(None)) };
}

struct Recycle(Cell<Option<&'static Slot>>);

impl Drop for Recycle {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            // Later pins on this (exiting) thread are anonymous.
            let _ = MINE.try_with(|m| m.set(None));
            slot.depth.store(0, Ordering::Relaxed);
            slot.epoch.store(0, Ordering::Release);
            lock(&FREE).push(slot);
        }
    }
}

/// Takes a slot for the current thread; `None` once its thread-local storage is being torn
/// down.
#[cold]
fn register() -> Option<&'static Slot> {
    RECYCLE
        .try_with(|r| {
            let slot = lock(&FREE).pop().unwrap_or_else(|| {
                let slot: &'static Slot = Box::leak(Box::new(Slot {
                    epoch: AtomicU64::new(0),
                    depth: AtomicU32::new(0),
                }));
                lock(&SLOTS).push(slot);
                slot
            });
            r.0.set(Some(slot));
            MINE.with(|m| m.set(Some(slot)));
            slot
        })
        .ok()
}

/// Locks a mutex, ignoring poisoning (the data stays consistent: every critical section here
/// is a push, a pop, an extraction or a scan).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Proof that the current thread is pinned: objects released while it lives stay allocated.
/// Not `Send`: it must be dropped on the thread that made it.
#[must_use = "the pin ends when the guard is dropped"]
pub struct Pin {
    /// The thread's slot; `None` for an anonymous pin.
    slot: Option<&'static Slot>,
    _not_send: PhantomData<*const ()>,
}

/// Pins the current thread until the returned guard is dropped (see the module
/// documentation). Nests.
#[inline]
pub fn pin() -> Pin {
    let slot = match MINE.try_with(Cell::get) {
        Ok(Some(slot)) => Some(slot),
        _ => register(),
    };
    match slot {
        Some(s) => {
            let d = s.depth.load(Ordering::Relaxed);
            if d == 0 {
                s.epoch
                    .store(EPOCH.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            s.depth.store(d + 1, Ordering::Relaxed);
        }
        None => {
            ANONYMOUS.fetch_add(1, Ordering::AcqRel);
        }
    }
    Pin {
        slot,
        _not_send: PhantomData,
    }
}

impl Drop for Pin {
    #[inline]
    fn drop(&mut self) {
        let Some(s) = self.slot else {
            ANONYMOUS.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        let d = s.depth.load(Ordering::Relaxed) - 1;
        s.depth.store(d, Ordering::Relaxed);
        if d == 0 {
            s.epoch.store(0, Ordering::Release);
            if LIMBO_LEN.load(Ordering::Relaxed) != 0 {
                reclaim();
            }
        }
    }
}

/// The oldest epoch any thread is pinned at (`u64::MAX` when none is; 0 while an anonymous pin
/// holds everything back).
fn oldest_pin() -> u64 {
    if ANONYMOUS.load(Ordering::Acquire) != 0 {
        return 0;
    }
    lock(&SLOTS)
        .iter()
        .map(|s| s.epoch.load(Ordering::Acquire))
        .filter(|&e| e != 0)
        .min()
        .unwrap_or(u64::MAX)
}

/// Drops `obj` (a strong reference just removed from a registry) once no call that may still
/// use it is running: at once when no thread is pinned, else later (module documentation).
pub fn retire(obj: Arc<dyn Any + Send + Sync>) {
    let e = EPOCH.fetch_add(1, Ordering::AcqRel);
    let oldest = oldest_pin();
    if e < oldest {
        drop(obj);
    } else {
        let mut limbo = lock(&LIMBO);
        limbo.push((e, obj));
        LIMBO_LEN.store(limbo.len(), Ordering::Relaxed);
    }
    // Older retirements the same scan shows free.
    if LIMBO_LEN.load(Ordering::Relaxed) != 0 {
        reclaim_below(oldest);
    }
}

/// Drops the retired references no pinned thread can still use.
fn reclaim() {
    reclaim_below(oldest_pin());
}

/// Drops the retired references older than `oldest` (the oldest pinned epoch of a scan).
fn reclaim_below(oldest: u64) {
    let freed: Vec<_> = {
        let mut limbo = lock(&LIMBO);
        let freed = limbo.extract_if(.., |(e, _)| *e < oldest).collect();
        LIMBO_LEN.store(limbo.len(), Ordering::Relaxed);
        freed
    };
    // Dropped outside the lock: an object's drop may release further objects.
    drop(freed);
}

/// Drops every retired reference now (`TT_Close`, which no other call may overlap).
pub fn drain() {
    let all = std::mem::take(&mut *lock(&LIMBO));
    LIMBO_LEN.store(0, Ordering::Relaxed);
    drop(all);
}

/// Number of retired references still waiting (for tests and `tt stats`).
pub fn waiting() -> usize {
    lock(&LIMBO).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Weak;
    use std::sync::mpsc;

    // The limbo is process-wide: these tests use their own objects, look only at them, and run
    // one at a time (`drain` would drop another test's kept object).
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn unpinned_retirement_drops_at_once() {
        let _serial = lock(&SERIAL);
        let obj = Arc::new(7u32);
        let weak = Arc::downgrade(&obj);
        retire(obj);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_pinned_thread_keeps_a_retired_object_until_its_outermost_pin_ends() {
        let _serial = lock(&SERIAL);
        let obj = Arc::new(String::from("kept"));
        let weak: Weak<String> = Arc::downgrade(&obj);
        let (to_main, from_pinned) = mpsc::channel();
        let (to_pinned, from_main) = mpsc::channel::<()>();
        let pinned = std::thread::spawn(move || {
            let outer = pin();
            let inner = pin();
            to_main.send(()).unwrap(); // pinned: happens-before the release below
            from_main.recv().unwrap();
            drop(inner);
            let alive_after_inner = weak.upgrade().is_some();
            drop(outer);
            (alive_after_inner, weak)
        });
        from_pinned.recv().unwrap();
        retire(obj);
        to_pinned.send(()).unwrap();
        let (alive_after_inner, weak) = pinned.join().unwrap();
        assert!(alive_after_inner, "nested pin ended: still pinned");
        assert!(
            weak.upgrade().is_none(),
            "dropped when the outermost pin ended"
        );
    }

    #[test]
    fn self_release_inside_a_pin_waits_for_the_pin() {
        let _serial = lock(&SERIAL);
        let obj = Arc::new(vec![1u8, 2, 3]);
        let weak = Arc::downgrade(&obj);
        let p = pin();
        retire(obj);
        assert_eq!(weak.upgrade().as_deref(), Some(&vec![1u8, 2, 3]));
        drop(p);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn slots_of_exited_threads_are_reused() {
        let _serial = lock(&SERIAL);
        let pin_on_new_thread = || std::thread::spawn(|| drop(pin())).join().unwrap();
        pin_on_new_thread();
        let slots = lock(&SLOTS).len();
        for _ in 0..20 {
            pin_on_new_thread();
        }
        // Other tests' threads may hold a few slots meanwhile, but not one per thread here.
        assert!(lock(&SLOTS).len() < slots + 10, "slots are recycled");
    }

    #[test]
    fn drain_drops_everything() {
        let _serial = lock(&SERIAL);
        let obj = Arc::new(1u64);
        let weak = Arc::downgrade(&obj);
        let p = pin();
        retire(obj);
        drain();
        assert!(weak.upgrade().is_none());
        drop(p);
    }
}
