//! Inline caches: one [`SendCache`] per send site (monomorphic → polymorphic → megamorphic).
//!
//! # Keys
//!
//! A cache key is a `u64`: `(epoch as u64) << 32 | class_key`, with
//! `class_key = class_id << 1 | side` (side: 0 instance, 1 class); see [`cache_key`]. The
//! registry's epoch (an `AtomicU32`, [`Registry::epoch_ptr`]) moves on every change, so every
//! change makes every cached entry miss: whole-cache invalidation (class changes are rare; hot
//! reload = `define_class` again). Epochs are never 0, so 0 is never a valid key and marks an
//! empty (or being-written) entry.
//!
//! # Layout (`#[repr(C, align(64))]`, identical for every payload type `M`)
//!
//! With `N` = [`POLY_CAPACITY`] = 4 the site is 128 bytes:
//!
//! | offset        | field          | type                                   |
//! |--------------:|----------------|----------------------------------------|
//! | `16*i + 0`    | entry `i` key  | `AtomicU64` (0 = empty), `i` in `0..N` |
//! | `16*i + 8`    | entry `i` method | `&'static Method<M>` as a pointer (null = none) |
//! | `16*N` (64)   | selector       | `u32` ([`Sel`], immutable)             |
//! | `16*N+4` (68) | state          | `AtomicU32`: bits 0–1 [`CacheState`], bit 2 fill lock |
//! | `16*N+8` (72) | hits           | `AtomicU64`                            |
//! | `16*N+16` (80)| misses         | `AtomicU64`                            |
//! | `16*N+24` ... | private        | (hit-flush mark, registry binding)     |
//!
//! The method cell is an `atomic_ref::AtomicRef<'static, Method<M>>`: an `AtomicPtr` that hands
//! back `Option<&'static Method<M>>` without `unsafe` in this crate (loads are at least acquire,
//! stores at least release). The [`layout`] constants spell these out (and a test checks them against `offset_of!`).
//! Entry 0 is the monomorphic entry: generated code may inline the monomorphic check by
//! following the reader protocol below on offsets 0 and 8.
//!
//! # Reader and writer protocol (lock-free reads, no torn pairs)
//!
//! Writer (only one at a time per site: the fill lock bit in `state`, taken with a CAS; a thread
//! that finds it taken answers its miss uncached instead of waiting):
//! `key.store(0, Relaxed); fence(Release); method.store(m, Release); key.store(k, Release)`.
//!
//! Reader: `k1 = key.load(Acquire); if k1 != want {miss}; m = method.load(Acquire);
//! k2 = key.load(Relaxed); if k2 != k1 {miss}; hit(m)`.
//!
//! Why this cannot return a method paired with the wrong key: `k1` (acquire) reads the final
//! store of some write `W1` of key `K`, so `m` is `W1`'s method or a later one. If it is the
//! method of a later write `Wx` with a key `K' ≠ K`, then `Wx`'s `key.store(0)` precedes its
//! release fence, which synchronizes with our acquire load of `m`; so `k2` reads that 0 or a
//! later key. `k2 == K` would need `K` to be written to this slot again after `K'`. That never
//! happens: for one site (one selector) a key `(epoch, class)` determines the method uniquely
//! (the fill reads the epoch and the dictionaries under one lock), a slot holding a key of the
//! current epoch is never overwritten (a full site goes megamorphic instead), and the epochs a
//! site writes only increase (fills are serialized by the lock bit, each reads the epoch while
//! holding it, and a site only fills from the one registry it is bound to). An ABA on the same
//! key — the slot rewritten with the same `K` — is harmless, since it carries the same method.
//! A stale epoch read by the hit path only yields the method of that (just-past) epoch: a send
//! racing a redefinition may see either version, as it would with any lock.
//!
//! The megamorphic table cannot make that "never rewritten" promise (colliding pairs overwrite
//! one slot within an epoch), so it uses a seqlock instead; see [`crate::mega`].
//!
//! # Transitions
//!
//! * Empty → Monomorphic: the first successful fill writes entry 0.
//! * Monomorphic → Polymorphic: a second class (same epoch) takes the next free entry, up to
//!   [`POLY_CAPACITY`] entries.
//! * Polymorphic → Megamorphic: one more class. The site stops re-patching; its inline entries
//!   keep answering for the classes they hold (until the next epoch) and every other lookup goes
//!   to [`Registry::lookup_mega`]. Megamorphic is final.
//! * After an invalidation all entries are stale; the site refills them from entry 0 and keeps
//!   its state (states only move forward).
//! * A lookup that finds nothing (not understood) is never cached: the next call looks up again.
//!
//! # Counters
//!
//! `hits`/`misses` are plain relaxed load + store increments (no atomic read-modify-write on the
//! hit path), so they may lose counts when threads race on one site. A site binds to a registry
//! on its first miss and reports its state transitions and (batched) hits there, so
//! [`Registry::stats`] needs no list of sites; see [`crate::stats`]. A site used with a
//! registry other than the one it is bound to still answers correctly, uncached.
//!
//! # Choosing `POLY_CAPACITY` (measured)
//!
//! `POLY_CAPACITY = 4`. Measured on this project's machine (2-vCPU AMD EPYC, Rust 1.95,
//! release): ns per `SendCache::lookup` hit, the minimum over 3000 batches of 4096 lookups
//! (robust to preemption on a shared machine), one site over `n` classes; `P` polymorphic,
//! `M` megamorphic. "cyclic" cycles the receivers 0,1,..,n-1 (branch-predictable); "random"
//! draws them from a 1 M-long pseudo-random sequence (unpredictable, as in real megamorphic code).
//!
//! | n classes | cyclic cap 4 | cap 6    | cap 8    | random cap 4 | cap 6    | cap 8    |
//! |----------:|-------------:|---------:|---------:|-------------:|---------:|---------:|
//! | 1         | 1.15         | 1.15     | 1.15     | 1.15         | 1.15     | 1.15     |
//! | 4         | 1.93 P       | 1.87 P   | 2.26 P   | 6.88 P       | 6.76 P   | 7.08 P   |
//! | 5         | 2.46 M       | 2.31 P   | 2.47 P   | 7.73 M       | 7.25 P   | 7.58 P   |
//! | 6         | 2.65 M       | 2.34 P   | 2.60 P   | 7.41 M       | 7.80 P   | 7.93 P   |
//! | 8         | 2.94 M       | 2.94 M   | 2.98 P   | 6.67 M       | 8.09 M   | 8.36 P   |
//! | 16        | 3.40 M       | 3.79 M   | 4.09 M   | 5.35 M       | 6.51 M   | 7.41 M   |
//!
//! With unpredictable receivers the cost is the mispredicted compare chain (the ~7 ns of
//! implementers.md B.1), and a longer chain only adds to it: the hashed megamorphic probe
//! (5.4–7.7 ns) is as fast as or faster than scanning 6 or 8 entries. A capacity of 6 wins only
//! with 5–6 predictable classes, by ≤ 0.3 ns, and loses up to 1.4 ns with 8 random classes and
//! 0.4–0.7 ns at 16; 4 entries also keep a site at 128 bytes (6 or 8: 192). So 4, as in V8
//! (implementers.md B.2). The Criterion figures (`cargo bench -p tt-benches --bench dispatch`,
//! ids `dispatch/poly4`, `poly6`, `poly8`, `mega16`) agree within their noise on that machine.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
use std::sync::{Arc, OnceLock};

use atomic_ref::AtomicRef;

use crate::class::{ClassId, Method, Side, cache_key};
use crate::registry::Registry;
use crate::selector::Sel;
use crate::stats::{Counters, HIT_FLUSH, bump};

/// Inline entries per site: the polymorphic capacity (chosen by measurement, see the module
/// docs). One more receiver class makes the site megamorphic.
pub const POLY_CAPACITY: usize = 4;

/// Byte offsets of a [`SendCache`] for generated code (see the module docs).
pub mod layout {
    use super::POLY_CAPACITY;

    /// Size of one inline entry.
    pub const ENTRY_SIZE: usize = 16;
    /// Offset of entry `i`'s key (`AtomicU64`) is `ENTRY_SIZE * i + ENTRY_KEY`.
    pub const ENTRY_KEY: usize = 0;
    /// Offset of entry `i`'s method pointer is `ENTRY_SIZE * i + ENTRY_METHOD`.
    pub const ENTRY_METHOD: usize = 8;
    /// Offset of the selector (`u32`).
    pub const SELECTOR: usize = ENTRY_SIZE * POLY_CAPACITY;
    /// Offset of the state word (`AtomicU32`: bits 0–1 state, bit 2 fill lock).
    pub const STATE: usize = SELECTOR + 4;
    /// Offset of the hit counter (`AtomicU64`).
    pub const HITS: usize = SELECTOR + 8;
    /// Offset of the miss counter (`AtomicU64`).
    pub const MISSES: usize = SELECTOR + 16;
    /// Alignment of a site.
    pub const ALIGN: usize = 64;
}

/// The state of a send site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CacheState {
    /// Never filled (or every lookup so far found nothing).
    Empty = 0,
    /// One receiver class seen (entry 0).
    Monomorphic = 1,
    /// 2..=[`POLY_CAPACITY`] receiver classes seen in one epoch.
    Polymorphic = 2,
    /// More classes than that: uses the registry's megamorphic table.
    Megamorphic = 3,
}

impl CacheState {
    fn from_bits(b: u32) -> CacheState {
        match b & STATE_MASK {
            0 => CacheState::Empty,
            1 => CacheState::Monomorphic,
            2 => CacheState::Polymorphic,
            _ => CacheState::Megamorphic,
        }
    }
}

const STATE_MASK: u32 = 0b11;
const FILL_LOCK: u32 = 0b100;

/// One inline entry: 16 bytes, `#[repr(C)]`.
#[repr(C)]
struct Entry<M: 'static> {
    key: AtomicU64,
    method: AtomicRef<'static, Method<M>>,
}

impl<M: 'static> Entry<M> {
    const fn new() -> Self {
        Entry {
            key: AtomicU64::new(0),
            method: AtomicRef::new(None),
        }
    }

    /// The reader protocol (module docs).
    #[inline(always)]
    fn probe(&self, want: u64) -> Option<&'static Method<M>> {
        let k1 = self.key.load(Ordering::Acquire);
        if k1 != want {
            return None;
        }
        let m = self.method.load(Ordering::Acquire);
        let k2 = self.key.load(Ordering::Relaxed);
        if k2 != k1 {
            return None;
        }
        m
    }

    /// The writer protocol (module docs); call with the site's fill lock held.
    fn write(&self, key: u64, m: &'static Method<M>) {
        self.key.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        self.method.store(Some(m), Ordering::Release);
        self.key.store(key, Ordering::Release);
    }
}

/// One inline cache per send site. Fixed `#[repr(C)]` layout documented in the
/// [module docs](self) so JIT-generated code can read the cells directly.
#[repr(C, align(64))]
pub struct SendCache<M: 'static> {
    entries: [Entry<M>; POLY_CAPACITY],
    sel: Sel,
    state: AtomicU32,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Hits already reported to the registry.
    flushed: AtomicU64,
    /// The registry this site is bound to (its counters), set on the first miss.
    bound: OnceLock<Arc<Counters>>,
}

impl<M: 'static> std::fmt::Debug for SendCache<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendCache")
            .field("sel", &self.sel)
            .field(
                "state",
                &CacheState::from_bits(self.state.load(Ordering::Relaxed)),
            )
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<M: 'static> Drop for SendCache<M> {
    fn drop(&mut self) {
        if let Some(c) = self.bound.get() {
            let h = self.hits.load(Ordering::Relaxed);
            c.add_hits(h.saturating_sub(self.flushed.load(Ordering::Relaxed)));
            c.site_dropped(CacheState::from_bits(self.state.load(Ordering::Relaxed)));
        }
    }
}

impl<M: Send + Sync + 'static> SendCache<M> {
    /// An empty site for `sel`.
    pub const fn new(sel: Sel) -> Self {
        SendCache {
            entries: [const { Entry::new() }; POLY_CAPACITY],
            sel,
            state: AtomicU32::new(CacheState::Empty as u32),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            bound: OnceLock::new(),
        }
    }

    /// The site's selector.
    #[inline]
    pub fn selector(&self) -> Sel {
        self.sel
    }

    /// The hot path: hit → method; miss → registry lookup, update the cache state, return.
    /// `None` = not understood (not cached).
    #[inline]
    pub fn lookup(
        &self,
        reg: &Registry<M>,
        class: ClassId,
        side: Side,
    ) -> Option<&'static Method<M>> {
        let want = cache_key(reg.epoch_relaxed(), class, side);
        if let Some(m) = self.entries[0].probe(want) {
            self.hit();
            return Some(m);
        }
        self.lookup_rest(reg, class, side, want)
    }

    /// The site's state.
    pub fn state(&self) -> CacheState {
        CacheState::from_bits(self.state.load(Ordering::Relaxed))
    }

    /// Lookups answered without a full lookup (inline entries or the megamorphic table).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that needed a full lookup.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Counts one hit answered outside [`SendCache::lookup`] (generated code that probed
    /// entry 0 itself), exactly as `lookup` counts its hits.
    #[inline]
    pub fn record_hit(&self) {
        self.hit();
    }

    #[inline(always)]
    fn hit(&self) {
        let h = self.hits.load(Ordering::Relaxed).wrapping_add(1);
        self.hits.store(h, Ordering::Relaxed);
        if h.is_multiple_of(HIT_FLUSH) {
            self.flush_hits();
        }
    }

    /// Reports the hits counted since the last report to the registry the site is bound to.
    /// The site does it itself every [`HIT_FLUSH`] hits and on every miss; generated code that
    /// counts its own inline hits in the `hits` cell ([`layout::HITS`]) calls it at the same
    /// points.
    #[cold]
    #[inline(never)]
    pub fn flush_hits(&self) {
        if let Some(c) = self.bound.get() {
            let h = self.hits.load(Ordering::Relaxed);
            let before = self.flushed.swap(h, Ordering::Relaxed);
            c.add_hits(h.saturating_sub(before));
        }
    }

    /// Entries 1.. (polymorphic), then the megamorphic table, then the miss path.
    #[inline(never)]
    fn lookup_rest(
        &self,
        reg: &Registry<M>,
        class: ClassId,
        side: Side,
        want: u64,
    ) -> Option<&'static Method<M>> {
        for e in &self.entries[1..] {
            if let Some(m) = e.probe(want) {
                self.hit();
                return Some(m);
            }
        }
        if self.state.load(Ordering::Relaxed) & STATE_MASK == CacheState::Megamorphic as u32 {
            return self.lookup_mega(reg, class, side);
        }
        self.miss(reg, class, side)
    }

    /// A megamorphic site's lookup of a class its inline entries do not hold.
    #[inline(never)]
    fn lookup_mega(
        &self,
        reg: &Registry<M>,
        class: ClassId,
        side: Side,
    ) -> Option<&'static Method<M>> {
        // The table belongs to `reg`, so its answer is right even for a foreign registry.
        let (m, hit) = reg.mega_lookup(class, side, self.sel);
        if hit {
            self.hit();
        } else {
            self.count_miss(reg.counters());
        }
        m
    }

    fn count_miss(&self, c: &Counters) {
        bump(&self.misses);
        c.add_miss();
        self.flush_hits();
    }

    #[cold]
    #[inline(never)]
    fn miss(&self, reg: &Registry<M>, class: ClassId, side: Side) -> Option<&'static Method<M>> {
        let counters = reg.counters();
        let bound = self.bound.get_or_init(|| {
            counters.site_bound();
            counters.clone()
        });
        if !Arc::ptr_eq(bound, counters) {
            // A site fills only from the registry it is bound to (module docs).
            bump(&self.misses);
            counters.add_miss();
            return reg.lookup(class, side, self.sel);
        }
        self.count_miss(bound);

        let st = self.state.load(Ordering::Relaxed);
        if st & FILL_LOCK != 0
            || self
                .state
                .compare_exchange(st, st | FILL_LOCK, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            // Another thread is filling: answer without touching the entries.
            return reg.lookup(class, side, self.sel);
        }
        let old = CacheState::from_bits(st);
        let unlock = |s: CacheState| self.state.store(s as u32, Ordering::Release);
        if old == CacheState::Megamorphic {
            unlock(old);
            return reg.lookup_mega(class, side, self.sel);
        }

        let (epoch, found) = reg.lookup_at_epoch(class, side, self.sel);
        let Some(m) = found else {
            unlock(old);
            return None;
        };
        let key = cache_key(epoch, class, side);
        let mut free = None;
        let mut live = 0usize;
        for (i, e) in self.entries.iter().enumerate() {
            let k = e.key.load(Ordering::Relaxed);
            if k == key {
                // Filled by another thread in the meantime.
                unlock(old);
                return Some(m);
            }
            if (k >> 32) as u32 == epoch {
                live += 1;
            } else if free.is_none() {
                free = Some(i);
            }
        }
        let new = match free {
            Some(i) => {
                self.entries[i].write(key, m);
                let at_least = if live == 0 {
                    CacheState::Monomorphic
                } else {
                    CacheState::Polymorphic
                };
                if (old as u32) < (at_least as u32) {
                    at_least
                } else {
                    old
                }
            }
            None => {
                // Full: go megamorphic and seed the global table with this answer.
                reg.mega_seed(key, self.sel, m);
                CacheState::Megamorphic
            }
        };
        // Recorded before unlocking, so transitions reach the counters in order.
        bound.site_moved(old, new);
        unlock(new);
        Some(m)
    }
}

#[cfg(test)]
mod tests;
