//! The megamorphic cache: one global, fixed-size, direct-mapped table per registry, keyed by
//! (class key, selector, epoch), in the style of objc's method cache.
//!
//! A megamorphic send site (one that saw more than [`crate::POLY_CAPACITY`] receiver classes)
//! stops re-patching its inline entries and asks [`crate::Registry::lookup_mega`], which probes
//! this table and on a miss does the full lookup and fills the slot (replacing whatever was
//! there: replacement on collision). `None` results (not understood) are never stored.
//!
//! # Layout and hashing
//!
//! [`MEGA_ENTRIES`] (a power of two) slots of 32 bytes (`#[repr(C, align(32))]`):
//!
//! | offset | field    | type                     |
//! |-------:|----------|--------------------------|
//! | 0      | `seq`    | `AtomicU32` (seqlock)    |
//! | 4      | `sel`    | `AtomicU32` (selector)   |
//! | 8      | `key`    | `AtomicU64` (`epoch << 32 \| class_id << 1 \| side`) |
//! | 16     | `method` | `&'static Method` or null |
//!
//! The slot index is the top [`MEGA_BITS`] bits of
//! `((class_key as u64) << 32 | sel) * 0x9E37_79B9_7F4A_7C15` (Fibonacci hashing). The epoch is
//! not hashed, so a refill after an invalidation lands on the stale slot it replaces.
//!
//! # Why a seqlock here (and not the inline caches' key/method/key protocol)
//!
//! The inline-cache protocol (see [`crate::cache`]) relies on a slot never going back to a key
//! it held before once it held a different one. Here that is false: two hot (class, selector)
//! pairs that collide keep overwriting one slot within one epoch (`K`, `K'`, `K`, ...), so a
//! reader could read the key `K`, then the method written for `K'`, then `K` again, and return
//! the wrong method. So each slot has a sequence number: a writer makes it odd (claiming the
//! slot with a CAS; a writer that loses just skips the fill), issues a release fence, stores
//! the fields, and stores the next even value with release. A reader loads `seq` (acquire), the
//! fields, issues an acquire fence, reloads `seq`, and accepts only an even, unchanged `seq`
//! with a matching key and selector (Boehm, "Can seqlocks get along with programming language
//! memory models?", MSPC 2012). All fields are atomics, so no read is ever a data race.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use atomic_ref::AtomicRef;

use crate::class::Method;
use crate::selector::Sel;

/// log2 of the number of slots in a registry's megamorphic table.
pub const MEGA_BITS: u32 = 12;
/// Slots in a registry's megamorphic table (4096 x 32 bytes = 128 KiB).
pub const MEGA_ENTRIES: usize = 1 << MEGA_BITS;

#[repr(C, align(32))]
struct MegaEntry<M: 'static> {
    seq: AtomicU32,
    sel: AtomicU32,
    key: AtomicU64,
    method: AtomicRef<'static, Method<M>>,
}

impl<M: 'static> MegaEntry<M> {
    const fn new() -> Self {
        MegaEntry {
            seq: AtomicU32::new(0),
            sel: AtomicU32::new(0),
            key: AtomicU64::new(0),
            method: AtomicRef::new(None),
        }
    }
}

/// A registry's megamorphic table.
pub(crate) struct MegaCache<M: 'static> {
    slots: Box<[MegaEntry<M>; MEGA_ENTRIES]>,
}

impl<M: Send + Sync + 'static> MegaCache<M> {
    pub(crate) fn new() -> Self {
        let v: Vec<MegaEntry<M>> = (0..MEGA_ENTRIES).map(|_| MegaEntry::new()).collect();
        let slots: Box<[MegaEntry<M>; MEGA_ENTRIES]> = match v.into_boxed_slice().try_into() {
            Ok(b) => b,
            Err(_) => unreachable!("the table has exactly MEGA_ENTRIES slots"),
        };
        MegaCache { slots }
    }

    #[inline(always)]
    fn slot(&self, key: u64, sel: Sel) -> &MegaEntry<M> {
        let class_key = key & 0xFFFF_FFFF;
        let h = ((class_key << 32) | u64::from(sel.0)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        &self.slots[(h >> (64 - MEGA_BITS)) as usize]
    }

    /// The method cached for (`key`, `sel`), if the slot holds exactly that.
    #[inline]
    pub(crate) fn probe(&self, key: u64, sel: Sel) -> Option<&'static Method<M>> {
        let e = self.slot(key, sel);
        let s1 = e.seq.load(Ordering::Acquire);
        let k = e.key.load(Ordering::Relaxed);
        let s = e.sel.load(Ordering::Relaxed);
        let m = e.method.load(Ordering::Acquire);
        fence(Ordering::Acquire);
        let s2 = e.seq.load(Ordering::Relaxed);
        if s1 & 1 == 0 && s1 == s2 && k == key && s == sel.0 {
            m
        } else {
            None
        }
    }

    /// Stores (`key`, `sel`) → `m`, replacing the slot's content; skipped if another writer
    /// holds the slot at this moment.
    pub(crate) fn insert(&self, key: u64, sel: Sel, m: &'static Method<M>) {
        let e = self.slot(key, sel);
        let s = e.seq.load(Ordering::Relaxed);
        if s & 1 != 0
            || e.seq
                .compare_exchange(s, s.wrapping_add(1), Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        fence(Ordering::Release);
        e.key.store(key, Ordering::Relaxed);
        e.sel.store(sel.0, Ordering::Relaxed);
        e.method.store(Some(m), Ordering::Release);
        e.seq.store(s.wrapping_add(2), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::{ClassId, Side, cache_key};

    #[test]
    fn slot_layout() {
        assert_eq!(std::mem::size_of::<MegaEntry<u8>>(), 32);
        assert_eq!(std::mem::offset_of!(MegaEntry<u8>, seq), 0);
        assert_eq!(std::mem::offset_of!(MegaEntry<u8>, sel), 4);
        assert_eq!(std::mem::offset_of!(MegaEntry<u8>, key), 8);
        assert_eq!(std::mem::offset_of!(MegaEntry<u8>, method), 16);
    }

    #[test]
    fn insert_probe_replace() {
        let t = MegaCache::<u32>::new();
        let m1 = Method::leak(Sel(7), ClassId(1), Side::Instance, 1);
        let m2 = Method::leak(Sel(7), ClassId(1), Side::Instance, 2);
        let k1 = cache_key(5, ClassId(1), Side::Instance);
        assert!(t.probe(k1, Sel(7)).is_none());
        t.insert(k1, Sel(7), m1);
        assert!(std::ptr::eq(t.probe(k1, Sel(7)).unwrap(), m1));
        // Other selector, other side, other epoch: no hit.
        assert!(t.probe(k1, Sel(8)).is_none());
        assert!(
            t.probe(cache_key(5, ClassId(1), Side::Class), Sel(7))
                .is_none()
        );
        let k2 = cache_key(6, ClassId(1), Side::Instance);
        assert!(t.probe(k2, Sel(7)).is_none());
        // A newer epoch's fill replaces the stale slot (same index: epoch is not hashed).
        t.insert(k2, Sel(7), m2);
        assert!(std::ptr::eq(t.probe(k2, Sel(7)).unwrap(), m2));
        assert!(t.probe(k1, Sel(7)).is_none());
    }

    #[test]
    fn concurrent_colliding_writers_never_tear() {
        // Writers alternate two different (key, method) pairs in one slot; readers must only
        // ever see each key with its own method.
        let t = MegaCache::<u64>::new();
        let sel = Sel(3);
        let ka = cache_key(9, ClassId(2), Side::Instance);
        let ma = Method::leak(sel, ClassId(2), Side::Instance, ka);
        // Find a second class that collides with class 2 for this selector.
        let kb = (3..100_000u32)
            .map(|c| cache_key(9, ClassId(c), Side::Instance))
            .find(|&k| std::ptr::eq(t.slot(k, sel), t.slot(ka, sel)))
            .expect("a colliding class exists");
        let mb = Method::leak(sel, ClassId((kb as u32) >> 1), Side::Instance, kb);
        std::thread::scope(|s| {
            for w in 0..2 {
                let t = &t;
                s.spawn(move || {
                    for i in 0..200_000 {
                        if (i + w) % 2 == 0 {
                            t.insert(ka, sel, ma)
                        } else {
                            t.insert(kb, sel, mb)
                        }
                    }
                });
            }
            for _ in 0..2 {
                let t = &t;
                s.spawn(move || {
                    for i in 0..400_000u64 {
                        let k = if i % 2 == 0 { ka } else { kb };
                        if let Some(m) = t.probe(k, sel) {
                            assert_eq!(m.imp, k, "a key was paired with another key's method");
                        }
                    }
                });
            }
        });
    }
}
