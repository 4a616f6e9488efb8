//! Dispatch counters: per-registry aggregates that sites update without any list of sites.
//!
//! * Site states: a [`crate::SendCache`] binds to a registry on its first miss (counted as
//!   `empty`), then moves its count from state to state on every transition, and removes it
//!   when dropped. So the state counts describe live, bound sites.
//! * Hits: a site counts its own hits (a plain relaxed load + store, no atomic RMW on the hot
//!   path) and flushes them into the registry on every miss and every [`HIT_FLUSH`] hits, so
//!   [`DispatchStats::hits`] lags a site by fewer than [`HIT_FLUSH`] hits.
//! * Misses: counted exactly (the miss path is slow anyway).
//! * Megamorphic table hits/misses: counted by [`crate::Registry::lookup_mega`] with relaxed
//!   load + store; approximate when several threads race on them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cache::CacheState;

/// A site flushes its hit count into the registry every `HIT_FLUSH` hits (and on every miss).
pub const HIT_FLUSH: u64 = 256;

/// A snapshot of a registry's dispatch counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DispatchStats {
    /// Live sites in the monomorphic state.
    pub monomorphic: u64,
    /// Live sites in the polymorphic state.
    pub polymorphic: u64,
    /// Live sites in the megamorphic state.
    pub megamorphic: u64,
    /// Live sites that were used (missed at least once) but hold no entry yet
    /// (e.g. every lookup so far found nothing).
    pub empty: u64,
    /// Site lookups answered without a full lookup (inline entry or megamorphic table hit);
    /// see the module docs for how it lags.
    pub hits: u64,
    /// Site lookups that needed a full (uncached) lookup.
    pub misses: u64,
    /// Megamorphic table lookups that hit.
    pub mega_hits: u64,
    /// Megamorphic table lookups that missed.
    pub mega_misses: u64,
}

/// Written on slow paths (transitions, misses, batched hit flushes).
#[repr(align(64))]
#[derive(Default)]
struct SiteCounters {
    states: [AtomicU64; 4],
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Written on every megamorphic lookup: on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct MegaCounters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The shared counters of one registry (held by the registry and by every bound site).
#[derive(Default)]
pub(crate) struct Counters {
    sites: SiteCounters,
    mega: MegaCounters,
}

/// Approximate increment: no lock prefix; a racing increment may be lost.
#[inline(always)]
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

impl Counters {
    pub(crate) fn site_bound(&self) {
        self.sites.states[CacheState::Empty as usize].fetch_add(1, Relaxed);
    }

    pub(crate) fn site_moved(&self, from: CacheState, to: CacheState) {
        if from != to {
            self.sites.states[to as usize].fetch_add(1, Relaxed);
            self.sites.states[from as usize].fetch_sub(1, Relaxed);
        }
    }

    pub(crate) fn site_dropped(&self, state: CacheState) {
        self.sites.states[state as usize].fetch_sub(1, Relaxed);
    }

    #[inline]
    pub(crate) fn add_hits(&self, n: u64) {
        if n != 0 {
            self.sites.hits.fetch_add(n, Relaxed);
        }
    }

    pub(crate) fn add_miss(&self) {
        self.sites.misses.fetch_add(1, Relaxed);
    }

    #[inline(always)]
    pub(crate) fn mega_hit(&self) {
        bump(&self.mega.hits);
    }

    pub(crate) fn mega_miss(&self) {
        bump(&self.mega.misses);
    }

    pub(crate) fn snapshot(&self) -> DispatchStats {
        let s = |st: CacheState| self.sites.states[st as usize].load(Relaxed);
        DispatchStats {
            monomorphic: s(CacheState::Monomorphic),
            polymorphic: s(CacheState::Polymorphic),
            megamorphic: s(CacheState::Megamorphic),
            empty: s(CacheState::Empty),
            hits: self.sites.hits.load(Relaxed),
            misses: self.sites.misses.load(Relaxed),
            mega_hits: self.mega.hits.load(Relaxed),
            mega_misses: self.mega.misses.load(Relaxed),
        }
    }
}
