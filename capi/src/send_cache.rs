//! The C send cache: `(dispatch epoch, receiver class, selector) → C method`, probed by
//! `TT_SendSel` and `TT_SendDirect` before anything else.
//!
//! The general instance path of a C send ([`crate::sends::send_instance_raw`]) finds the
//! per-selector inline cache, probes it with the registry's epoch, checks the method is
//! native, and maps the native closure back to its C function through a side table: about 80
//! instructions before the C function is called. Sends from C are almost always to C methods,
//! so the first successful such send of a `(class, selector)` pair also records the C function
//! here, in one direct-mapped table that answers with a handful of loads:
//!
//! * **Key.** The receiver's cache class key ([`tt_vm::Instance::cache_class`]: `class_id << 1`,
//!   or an odd key no entry holds when the instance is released or has no class), the
//!   selector, and the registry epoch read *before* the lookup that found the method. Every
//!   class or method change moves the epoch, so entries of older epochs never answer again
//!   (a send racing a redefinition may see either version, as with the inline caches).
//! * **Entries** are seqlocks (`seq` odd while a writer is inside; readers retry nothing: a
//!   torn or changing entry is simply a miss). Writers are serialized by a mutex (fills are
//!   rare: once per pair and epoch).
//! * **Init.** The table is only consulted through the registry's epoch cell that
//!   [`tt_host::lifecycle::epoch_cell`] publishes while the runtime is initialised (by
//!   `TT_Init` or a Rust host's `tt_host::lifecycle::init`), so a send before initialisation
//!   takes the general path and its error.
//!
//! What a hit skips compared with the general path: the per-selector site and its hit counter
//! (sends answered here are not counted in `tt stats`' site figures), the selector validity
//! check (an entry exists only for a selector that was valid when it was filled, and
//! selectors are never freed) and the released check (a released instance's class key matches
//! no entry). The pin, argument normalisation and result ownership rules are unchanged.

use std::ffi::c_int;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};

use tt_vm::Instance;

use crate::classes::CMethod;
use crate::types::{TTInstance, TTSel, TTValue};

/// Entries in the table (a power of two).
const SLOTS: usize = 1 << 10;

/// One entry: a seqlock over `(key, sel) → (func, num_args)`.
#[repr(C, align(32))]
struct Entry {
    seq: AtomicU32,
    sel: AtomicU32,
    /// `epoch << 32 | class key`; 0 when empty (epochs are never 0).
    key: AtomicU64,
    func: AtomicUsize,
    num_args: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Entry = Entry {
    seq: AtomicU32::new(0),
    sel: AtomicU32::new(0),
    key: AtomicU64::new(0),
    func: AtomicUsize::new(0),
    num_args: AtomicI32::new(0),
};

static TABLE: [Entry; SLOTS] = [EMPTY; SLOTS];
/// Serializes writers.
static FILL: Mutex<()> = Mutex::new(());

#[inline(always)]
fn slot(class_key: u32, sel: TTSel) -> &'static Entry {
    let h = (class_key ^ sel.wrapping_mul(0x9E37_79B9)).wrapping_mul(0x85EB_CA6B);
    &TABLE[(h >> (32 - 10)) as usize & (SLOTS - 1)]
}

/// The C method cached for a send of `sel` to `receiver`, if any.
///
/// # Safety
/// `receiver` is NULL or a valid instance handle, and the caller is pinned
/// ([`tt_vm::pin`]) so that it stays allocated for the call.
#[inline(always)]
pub unsafe fn probe(receiver: *mut TTInstance, sel: TTSel) -> Option<CMethod> {
    // SAFETY: forwarded contract.
    unsafe { probe_with(tt_host::lifecycle::epoch_cell(), receiver, sel) }
}

/// [`probe`] with the epoch cell given (null: not initialised).
///
/// # Safety
/// As [`probe`]; `epoch` is null or points to a live epoch cell.
#[inline(always)]
unsafe fn probe_with(
    epoch: *const AtomicU32,
    receiver: *mut TTInstance,
    sel: TTSel,
) -> Option<CMethod> {
    if epoch.is_null() || receiver.is_null() {
        return None;
    }
    // SAFETY: the published epoch cell points into the global runtime's registry (it lives
    // for the process); other callers pass a live cell.
    let epoch = unsafe { &*epoch }.load(Ordering::Relaxed);
    // SAFETY: a valid handle is the data pointer of an `Arc<Instance>` (crate::convert),
    // kept allocated by the caller's pin.
    let class_key = unsafe { &*(receiver as *const Instance) }.cache_class();
    let want = (u64::from(epoch) << 32) | u64::from(class_key);
    let e = slot(class_key, sel);
    let s1 = e.seq.load(Ordering::Acquire);
    let key = e.key.load(Ordering::Relaxed);
    let esel = e.sel.load(Ordering::Relaxed);
    let func = e.func.load(Ordering::Relaxed);
    let num_args = e.num_args.load(Ordering::Relaxed);
    fence(Ordering::Acquire);
    let s2 = e.seq.load(Ordering::Relaxed);
    if s1 != s2 || s1 & 1 != 0 || key != want || esel != sel || func == 0 {
        return None;
    }
    // SAFETY: a non-zero `func` of a consistent entry was stored by `fill` from a
    // `CMethod::func` (the writer protocol: the fields are read between two equal even
    // sequence numbers).
    let func = unsafe {
        std::mem::transmute::<
            usize,
            unsafe extern "C" fn(*mut TTInstance, *mut TTValue, c_int) -> TTValue,
        >(func)
    };
    Some(CMethod { func, num_args })
}

/// The registry epoch to key a fill with: read it before the lookup whose result is filled.
pub fn epoch_now() -> Option<u32> {
    let epoch = tt_host::lifecycle::epoch_cell();
    // SAFETY: as in `probe`.
    (!epoch.is_null()).then(|| unsafe { &*epoch }.load(Ordering::Acquire))
}

/// Records `cm` as the method of `sel` for instances of class key `class_key` at `epoch`
/// (read with [`epoch_now`] before the lookup that found it).
pub fn fill(epoch: u32, class_key: u32, sel: TTSel, cm: CMethod) {
    if class_key & 1 != 0 {
        // Class-side or no class: never cached.
        return;
    }
    let key = (u64::from(epoch) << 32) | u64::from(class_key);
    let e = slot(class_key, sel);
    // Paths that never probe (`TT_Send` by id) come here on every call: an entry that already
    // says the same costs four loads instead of the lock and the writes. A read torn by a
    // concurrent writer can only skip a fill (a later miss), never make an entry answer.
    if e.key.load(Ordering::Relaxed) == key
        && e.sel.load(Ordering::Relaxed) == sel
        && e.func.load(Ordering::Relaxed) == cm.func as usize
        && e.num_args.load(Ordering::Relaxed) == cm.num_args
    {
        return;
    }
    let _g = FILL.lock().unwrap_or_else(|e| e.into_inner());
    let s = e.seq.load(Ordering::Relaxed);
    e.seq.store(s.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    e.key.store(key, Ordering::Relaxed);
    e.sel.store(sel, Ordering::Relaxed);
    e.func.store(cm.func as usize, Ordering::Relaxed);
    e.num_args.store(cm.num_args, Ordering::Relaxed);
    e.seq.store(s.wrapping_add(2), Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn answer(_: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
        TTValue::int(42)
    }

    /// A selector id far above any a test interns, so the shared table entry is ours.
    const SEL: TTSel = 0xFFFF_0001;

    #[test]
    fn entries_answer_only_their_own_key_selector_and_epoch() {
        let cell = AtomicU32::new(7);
        // An instance of class 5: only its cache class word is read.
        let inst = tt_vm::Instance::new(
            "i".into(),
            "C".into(),
            Some(tt_dispatch::ClassId(5)),
            None,
            Default::default(),
        );
        let h = &inst as *const Instance as *mut TTInstance;
        let cm = CMethod {
            func: answer,
            num_args: 0,
        };
        // SAFETY: `h` points to a live instance and `cell` is live for the whole test.
        unsafe {
            assert!(probe_with(&cell, h, SEL).is_none());
            fill(7, inst.cache_class(), SEL, cm);
            let hit = probe_with(&cell, h, SEL).expect("filled");
            assert_eq!(hit.func as *const () as usize, answer as *const () as usize);
            assert_eq!(hit.num_args, 0);
            assert!(probe_with(&cell, h, SEL + 1).is_none(), "other selector");
            assert!(
                probe_with(&cell, std::ptr::null_mut(), SEL).is_none(),
                "NULL receiver"
            );
            assert!(
                probe_with(std::ptr::null(), h, SEL).is_none(),
                "not initialised"
            );
            cell.store(8, Ordering::Relaxed);
            assert!(
                probe_with(&cell, h, SEL).is_none(),
                "a new epoch invalidates"
            );
            cell.store(7, Ordering::Relaxed);
            inst.mark_released();
            assert!(
                probe_with(&cell, h, SEL).is_none(),
                "released receivers never hit"
            );
        }
    }

    /// `TT_Send` by id fills on every call: before the check, each call took the fill lock
    /// and rewrote the entry (29.8 → 38.1 ns per `TT_Send`).
    #[test]
    fn refilling_an_unchanged_entry_takes_no_lock() {
        const OTHER: TTSel = 0xFFFF_0101;
        let cm = CMethod {
            func: answer,
            num_args: 1,
        };
        fill(3, 10, OTHER, cm);
        let held = FILL.lock().unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let same = std::thread::spawn(move || {
            fill(3, 10, OTHER, cm);
            let _ = done.send(());
        });
        let answered = finished.recv_timeout(std::time::Duration::from_secs(10));
        drop(held);
        same.join().unwrap();
        assert!(
            answered.is_ok(),
            "an unchanged refill waited for the fill lock"
        );
        // A changed entry is still written (under the lock).
        fill(4, 10, OTHER, cm);
        let e = slot(10, OTHER);
        assert_eq!(e.key.load(Ordering::Relaxed), (4u64 << 32) | 10);
    }
}
