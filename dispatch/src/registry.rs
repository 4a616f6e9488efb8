//! The class table and method dictionaries, with the global invalidation epoch and the
//! megamorphic cache.
//!
//! # Locking and the epoch
//!
//! All tables sit behind one `RwLock`. Every change (define, re-define, superclass change,
//! removal, method change) happens under the write lock and, still under it, moves the epoch to
//! a new value. The cache-filling lookup reads the epoch under the read lock, so a cached
//! `(epoch, class, side, selector) → method` pair is always a consistent snapshot: for a given
//! selector, a key `(epoch, class, side)` determines the method uniquely.
//!
//! Epoch values come from one process-wide counter (starting at 1, skipping 0), so they strictly
//! increase for each registry and are never shared by two registries: a cache key built from one
//! registry's epoch can never match an entry filled from another registry. (The counter wraps
//! only after 2³² changes in one process.)
//!
//! Superclasses are stored by name and resolved at lookup time, so a subclass may be registered
//! before its superclass. Chain walks are cycle-safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::class::{ClassId, Method, Side, cache_key};
use crate::error::DispatchError;
use crate::mega::MegaCache;
use crate::selector::{Sel, is_issued, selector_name};
use crate::stats::{Counters, DispatchStats};

/// The process-wide source of epoch values (see the module docs).
static NEXT_EPOCH: AtomicU32 = AtomicU32::new(1);

fn fresh_epoch() -> u32 {
    loop {
        let e = NEXT_EPOCH.fetch_add(1, Ordering::Relaxed);
        if e != 0 {
            return e;
        }
    }
}

/// The epoch, alone on its cache line: read by every send, written only on changes (the
/// `RwLock` word, written by every read-lock, lives elsewhere).
#[repr(align(64))]
struct Hot {
    epoch: AtomicU32,
}

struct ClassEntry<M: 'static> {
    name: Arc<str>,
    /// As declared; `None` = root.
    superclass: Option<Arc<str>>,
    removed: bool,
    /// Indexed by [`Side::index`].
    methods: [FxHashMap<Sel, &'static Method<M>>; 2],
}

struct Tables<M: 'static> {
    classes: Vec<ClassEntry<M>>,
    /// Every name ever registered (removed ones too: a name keeps its id).
    ids: FxHashMap<Arc<str>, ClassId>,
}

impl<M: 'static> Tables<M> {
    fn live(&self, class: ClassId) -> Option<&ClassEntry<M>> {
        self.classes.get(class.0 as usize).filter(|c| !c.removed)
    }

    fn live_mut(&mut self, class: ClassId) -> Option<&mut ClassEntry<M>> {
        self.classes
            .get_mut(class.0 as usize)
            .filter(|c| !c.removed)
    }

    fn resolve(&self, name: &str) -> Option<ClassId> {
        let id = *self.ids.get(name)?;
        self.live(id).map(|_| id)
    }

    fn parent(&self, entry: &ClassEntry<M>) -> Option<ClassId> {
        entry.superclass.as_deref().and_then(|n| self.resolve(n))
    }

    /// The class, then its resolved superclasses; stops at an unresolved name or a repeat.
    fn chain(&self, class: ClassId) -> Vec<ClassId> {
        let mut out = Vec::new();
        let mut cur = Some(class);
        while let Some(c) = cur {
            let Some(e) = self.live(c) else { break };
            if out.contains(&c) {
                break;
            }
            out.push(c);
            cur = self.parent(e);
        }
        out
    }

    fn lookup(&self, class: ClassId, side: Side, sel: Sel) -> Option<&'static Method<M>> {
        let mut cur = class;
        // A chain without repeats visits each class at most once: more steps mean a cycle.
        for _ in 0..self.classes.len() {
            let e = self.live(cur)?;
            if let Some(&m) = e.methods[side.index()].get(&sel) {
                return Some(m);
            }
            cur = self.parent(e)?;
        }
        None
    }
}

/// The class table + method dictionaries. Generic over the method payload `M` (the vm supplies
/// an enum: native fn, bytecode, bash-fallback marker).
///
/// Every mutating operation takes `&self` (interior locking) and invalidates every dispatch
/// cache by moving the [epoch](Registry::epoch).
pub struct Registry<M: Send + Sync + 'static> {
    hot: Hot,
    tables: RwLock<Tables<M>>,
    mega: MegaCache<M>,
    counters: Arc<Counters>,
}

impl<M: Send + Sync + 'static> Default for Registry<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Send + Sync + 'static> std::fmt::Debug for Registry<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("epoch", &self.epoch())
            .field("classes", &self.tables.read().classes.len())
            .finish_non_exhaustive()
    }
}

impl<M: Send + Sync + 'static> Registry<M> {
    /// An empty registry with a fresh epoch.
    pub fn new() -> Self {
        Registry {
            hot: Hot {
                epoch: AtomicU32::new(fresh_epoch()),
            },
            tables: RwLock::new(Tables {
                classes: Vec::new(),
                ids: FxHashMap::default(),
            }),
            mega: MegaCache::new(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// Moves the epoch; call with the write lock held (after the change).
    fn invalidate(&self) {
        self.hot.epoch.store(fresh_epoch(), Ordering::Release);
    }

    /// Registers or replaces class `name` (superclass by NAME, resolved at lookup time; it may
    /// be registered later; `None`/`""` = root). Replacing keeps the [`ClassId`] and CLEARS
    /// both method dictionaries. Invalidates caches.
    ///
    /// # Panics
    ///
    /// If `name` is empty ([`Registry::try_define_class`] reports that as an error instead).
    pub fn define_class(&self, name: &str, superclass: Option<&str>) -> ClassId {
        match self.try_define_class(name, superclass) {
            Ok(id) => id,
            Err(e) => panic!("define_class: {e}"),
        }
    }

    /// [`Registry::define_class`], reporting an empty name as [`DispatchError::EmptyClassName`].
    pub fn try_define_class(
        &self,
        name: &str,
        superclass: Option<&str>,
    ) -> Result<ClassId, DispatchError> {
        if name.is_empty() {
            return Err(DispatchError::EmptyClassName);
        }
        let sup: Option<Arc<str>> = superclass.filter(|s| !s.is_empty()).map(Arc::from);
        let mut t = self.tables.write();
        let id = match t.ids.get(name).copied() {
            Some(id) => {
                let e = &mut t.classes[id.0 as usize];
                e.superclass = sup;
                e.removed = false;
                e.methods = Default::default();
                id
            }
            None => {
                let n = u32::try_from(t.classes.len()).ok().filter(|&n| n < 1 << 31);
                let id = ClassId(n.expect("class id space exhausted"));
                let name: Arc<str> = Arc::from(name);
                t.classes.push(ClassEntry {
                    name: name.clone(),
                    superclass: sup,
                    removed: false,
                    methods: Default::default(),
                });
                t.ids.insert(name, id);
                id
            }
        };
        self.invalidate();
        Ok(id)
    }

    /// Changes a class's declared superclass (`None`/`""` = root); invalidates. Unknown or
    /// removed classes are ignored.
    pub fn set_superclass(&self, class: ClassId, superclass: Option<&str>) {
        let _ = self.try_set_superclass(class, superclass);
    }

    /// [`Registry::set_superclass`], reporting an unknown or removed class.
    pub fn try_set_superclass(
        &self,
        class: ClassId,
        superclass: Option<&str>,
    ) -> Result<(), DispatchError> {
        let sup: Option<Arc<str>> = superclass.filter(|s| !s.is_empty()).map(Arc::from);
        let mut t = self.tables.write();
        let e = t
            .live_mut(class)
            .ok_or(DispatchError::UnknownClass(class))?;
        e.superclass = sup;
        self.invalidate();
        Ok(())
    }

    /// The id of a registered (not removed) class.
    pub fn class_id(&self, name: &str) -> Option<ClassId> {
        self.tables.read().resolve(name)
    }

    /// The name of a registered (not removed) class.
    pub fn class_name(&self, class: ClassId) -> Option<Arc<str>> {
        self.tables.read().live(class).map(|e| e.name.clone())
    }

    /// The superclass name as declared (`None` for a root, or an unknown/removed class).
    pub fn superclass_name(&self, class: ClassId) -> Option<Arc<str>> {
        self.tables
            .read()
            .live(class)
            .and_then(|e| e.superclass.clone())
    }

    /// The superclass as resolved now (`None` for a root, an unregistered superclass name,
    /// or an unknown/removed class).
    pub fn superclass(&self, class: ClassId) -> Option<ClassId> {
        let t = self.tables.read();
        t.live(class).and_then(|e| t.parent(e))
    }

    /// The class itself, then its resolved superclasses. Cycle-safe: stops before a repeat.
    /// Empty for an unknown or removed class.
    pub fn superclass_chain(&self, class: ClassId) -> Vec<ClassId> {
        self.tables.read().chain(class)
    }

    /// The registered (not removed) classes, by id.
    pub fn classes(&self) -> Vec<(ClassId, Arc<str>)> {
        let t = self.tables.read();
        (0u32..)
            .zip(&t.classes)
            .filter(|(_, e)| !e.removed)
            .map(|(i, e)| (ClassId(i), e.name.clone()))
            .collect()
    }

    /// Unregisters a class: its name no longer resolves (subclasses naming it lose that part of
    /// their chain) and its dictionaries are dropped. Defining the name again reuses the id.
    /// Invalidates. Unknown or already removed classes are ignored.
    pub fn remove_class(&self, class: ClassId) {
        let mut t = self.tables.write();
        if let Some(e) = t.live_mut(class) {
            e.removed = true;
            e.methods = Default::default();
            self.invalidate();
        }
    }

    /// Replaces one side's whole dictionary; invalidates. On a duplicate selector the last one
    /// wins. Unknown/removed classes are ignored, as are invalid selectors
    /// ([`Registry::try_set_methods`] reports both).
    pub fn set_methods(&self, class: ClassId, side: Side, methods: Vec<(Sel, M)>) {
        let _ = self.try_set_methods(class, side, methods);
    }

    /// [`Registry::set_methods`], refusing (changing nothing) on an unknown/removed class or an
    /// invalid selector.
    pub fn try_set_methods(
        &self,
        class: ClassId,
        side: Side,
        methods: Vec<(Sel, M)>,
    ) -> Result<(), DispatchError> {
        if let Some(&(bad, _)) = methods.iter().find(|(s, _)| !is_issued(*s)) {
            return Err(DispatchError::InvalidSelector(bad));
        }
        let mut t = self.tables.write();
        let e = t
            .live_mut(class)
            .ok_or(DispatchError::UnknownClass(class))?;
        let mut dict = FxHashMap::default();
        for (sel, imp) in methods {
            dict.insert(sel, Method::leak(sel, class, side, imp));
        }
        e.methods[side.index()] = dict;
        self.invalidate();
        Ok(())
    }

    /// Adds or replaces one method; invalidates. Returns the new record. For an unknown/removed
    /// class or an invalid selector nothing is registered and the returned record is reachable
    /// by no lookup ([`Registry::try_add_method`] reports those cases).
    pub fn add_method(&self, class: ClassId, side: Side, sel: Sel, imp: M) -> &'static Method<M> {
        match self.try_add_method(class, side, sel, imp) {
            Ok(m) => m,
            Err((_, imp)) => Method::leak(sel, class, side, imp),
        }
    }

    /// [`Registry::add_method`], handing the payload back with the error when it is refused.
    pub fn try_add_method(
        &self,
        class: ClassId,
        side: Side,
        sel: Sel,
        imp: M,
    ) -> Result<&'static Method<M>, (DispatchError, M)> {
        if !is_issued(sel) {
            return Err((DispatchError::InvalidSelector(sel), imp));
        }
        let mut t = self.tables.write();
        let Some(e) = t.live_mut(class) else {
            return Err((DispatchError::UnknownClass(class), imp));
        };
        let m = Method::leak(sel, class, side, imp);
        e.methods[side.index()].insert(sel, m);
        self.invalidate();
        Ok(m)
    }

    /// Full lookup along the superclass chain (uncached). Cycle-safe.
    pub fn lookup(&self, class: ClassId, side: Side, sel: Sel) -> Option<&'static Method<M>> {
        self.tables.read().lookup(class, side, sel)
    }

    /// Full lookup plus the epoch it is valid for (read under the same lock: a consistent
    /// snapshot, safe to cache under that epoch).
    pub(crate) fn lookup_at_epoch(
        &self,
        class: ClassId,
        side: Side,
        sel: Sel,
    ) -> (u32, Option<&'static Method<M>>) {
        let t = self.tables.read();
        let epoch = self.hot.epoch.load(Ordering::Relaxed);
        (epoch, t.lookup(class, side, sel))
    }

    /// Own + inherited methods of one side; an overridden selector appears once (the version
    /// lookup finds). Sorted by selector name.
    pub fn methods(&self, class: ClassId, side: Side) -> Vec<&'static Method<M>> {
        let mut found: FxHashMap<Sel, &'static Method<M>> = FxHashMap::default();
        {
            let t = self.tables.read();
            for c in t.chain(class) {
                for (&sel, &m) in &t.classes[c.0 as usize].methods[side.index()] {
                    found.entry(sel).or_insert(m);
                }
            }
        }
        sort_by_name(found.into_values().collect())
    }

    /// The methods a class defines itself on one side, sorted by selector name.
    pub fn own_methods(&self, class: ClassId, side: Side) -> Vec<&'static Method<M>> {
        let v = match self.tables.read().live(class) {
            Some(e) => e.methods[side.index()].values().copied().collect(),
            None => Vec::new(),
        };
        sort_by_name(v)
    }

    /// Global invalidation epoch (moved by every change above). Never 0; strictly increasing
    /// for a registry, and never shared by two registries of one process.
    #[inline]
    pub fn epoch(&self) -> u32 {
        self.hot.epoch.load(Ordering::Acquire)
    }

    /// The address of the epoch cell, for generated code that builds cache keys itself
    /// (read it as a 32-bit atomic load; the registry must outlive the code).
    pub fn epoch_ptr(&self) -> *const AtomicU32 {
        &self.hot.epoch
    }

    /// The epoch as the hot path reads it (relaxed: see [`crate::cache`]).
    #[inline(always)]
    pub(crate) fn epoch_relaxed(&self) -> u32 {
        self.hot.epoch.load(Ordering::Relaxed)
    }

    /// Megamorphic global (class, side, selector) cache lookup-or-fill, objc style
    /// (see [`crate::mega`]). `None` (not understood) is not cached.
    #[inline]
    pub fn lookup_mega(&self, class: ClassId, side: Side, sel: Sel) -> Option<&'static Method<M>> {
        self.mega_lookup(class, side, sel).0
    }

    /// [`Registry::lookup_mega`], also telling whether the table hit.
    #[inline]
    pub(crate) fn mega_lookup(
        &self,
        class: ClassId,
        side: Side,
        sel: Sel,
    ) -> (Option<&'static Method<M>>, bool) {
        let key = cache_key(self.epoch_relaxed(), class, side);
        if let Some(m) = self.mega.probe(key, sel) {
            self.counters.mega_hit();
            return (Some(m), true);
        }
        (self.mega_fill(class, side, sel), false)
    }

    #[cold]
    #[inline(never)]
    fn mega_fill(&self, class: ClassId, side: Side, sel: Sel) -> Option<&'static Method<M>> {
        self.counters.mega_miss();
        let (epoch, m) = self.lookup_at_epoch(class, side, sel);
        if let Some(m) = m {
            self.mega.insert(cache_key(epoch, class, side), sel, m);
        }
        m
    }

    /// Stores a consistent `(key, sel) → m` answer in the megamorphic table.
    pub(crate) fn mega_seed(&self, key: u64, sel: Sel, m: &'static Method<M>) {
        self.mega.insert(key, sel, m);
    }

    /// Aggregated counters (see [`crate::stats`]).
    pub fn stats(&self) -> DispatchStats {
        self.counters.snapshot()
    }

    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

fn sort_by_name<M>(mut v: Vec<&'static Method<M>>) -> Vec<&'static Method<M>> {
    v.sort_by_cached_key(|m| (selector_name(m.selector), m.selector));
    v
}
