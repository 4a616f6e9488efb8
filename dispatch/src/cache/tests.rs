//! Tests of the inline caches: transitions, counters, invalidation, layout, concurrency.

use std::mem::offset_of;
use std::ptr;

use super::*;
use crate::intern;

type Reg = Registry<&'static str>;

fn class(reg: &Reg, name: &str, sup: Option<&str>) -> ClassId {
    reg.define_class(name, sup)
}

fn same<M>(a: Option<&'static Method<M>>, b: Option<&'static Method<M>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn layout_matches_the_docs() {
    type S = SendCache<u8>;
    assert_eq!(std::mem::size_of::<Entry<u8>>(), layout::ENTRY_SIZE);
    assert_eq!(offset_of!(Entry<u8>, key), layout::ENTRY_KEY);
    assert_eq!(offset_of!(Entry<u8>, method), layout::ENTRY_METHOD);
    assert_eq!(offset_of!(S, entries), 0);
    assert_eq!(offset_of!(S, sel), layout::SELECTOR);
    assert_eq!(offset_of!(S, state), layout::STATE);
    assert_eq!(offset_of!(S, hits), layout::HITS);
    assert_eq!(offset_of!(S, misses), layout::MISSES);
    assert_eq!(std::mem::align_of::<S>(), layout::ALIGN);
    // The layout does not depend on the payload type.
    assert_eq!(
        std::mem::size_of::<S>(),
        std::mem::size_of::<SendCache<[u64; 8]>>()
    );
    assert_eq!(layout::SELECTOR, 16 * POLY_CAPACITY);
}

#[test]
fn const_new_and_empty_state() {
    static SITE: SendCache<&'static str> = SendCache::new(Sel(1));
    assert_eq!(SITE.selector(), Sel(1));
    assert_eq!(SITE.state(), CacheState::Empty);
    assert_eq!((SITE.hits(), SITE.misses()), (0, 0));
}

#[test]
fn mono_hit_and_counters() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let sel = intern("cacheTest_mono");
    let m = reg.add_method(a, Side::Instance, sel, "A>>mono");
    let site = SendCache::new(sel);
    for i in 0..5u64 {
        let got = site.lookup(&reg, a, Side::Instance).expect("found");
        assert!(ptr::eq(got, m));
        assert_eq!(site.misses(), 1);
        assert_eq!(site.hits(), i);
        assert_eq!(site.state(), CacheState::Monomorphic);
    }
    let st = reg.stats();
    assert_eq!(
        (st.monomorphic, st.polymorphic, st.megamorphic, st.empty),
        (1, 0, 0, 0)
    );
    assert_eq!(st.misses, 1);
}

#[test]
fn every_transition_empty_mono_poly_mega_and_mega_stays() {
    let reg = Reg::new();
    let sel = intern("cacheTest_transitions");
    let n = POLY_CAPACITY + 3;
    let classes: Vec<ClassId> = (0..n)
        .map(|i| {
            let c = class(&reg, &format!("T{i}"), None);
            let name: &'static str = Box::leak(format!("T{i}>>m").into_boxed_str());
            reg.add_method(c, Side::Instance, sel, name);
            c
        })
        .collect();
    let site = SendCache::new(sel);
    assert_eq!(site.state(), CacheState::Empty);
    for (i, &c) in classes.iter().enumerate() {
        let got = site.lookup(&reg, c, Side::Instance).unwrap();
        assert_eq!(got.imp, format!("T{i}>>m"));
        let want = match i {
            0 => CacheState::Monomorphic,
            i if i < POLY_CAPACITY => CacheState::Polymorphic,
            _ => CacheState::Megamorphic,
        };
        assert_eq!(site.state(), want, "after {} classes", i + 1);
        let st = reg.stats();
        assert_eq!(
            (st.monomorphic, st.polymorphic, st.megamorphic),
            match want {
                CacheState::Monomorphic => (1, 0, 0),
                CacheState::Polymorphic => (0, 1, 0),
                _ => (0, 0, 1),
            }
        );
    }
    assert_eq!(site.misses(), n as u64);
    // Every class answers correctly from the caches now (inline or megamorphic table).
    for _ in 0..3 {
        for (i, &c) in classes.iter().enumerate() {
            assert_eq!(
                site.lookup(&reg, c, Side::Instance).unwrap().imp,
                format!("T{i}>>m")
            );
        }
    }
    assert_eq!(
        site.misses(),
        n as u64,
        "no more misses once everything is cached"
    );
    assert_eq!(site.hits(), 3 * n as u64);
    // Invalidation: still megamorphic, still correct.
    reg.add_method(classes[0], Side::Instance, sel, "T0>>m v2");
    assert_eq!(
        site.lookup(&reg, classes[0], Side::Instance).unwrap().imp,
        "T0>>m v2"
    );
    assert_eq!(site.state(), CacheState::Megamorphic);
    for (i, &c) in classes.iter().enumerate().skip(1) {
        assert_eq!(
            site.lookup(&reg, c, Side::Instance).unwrap().imp,
            format!("T{i}>>m")
        );
    }
    assert_eq!(site.state(), CacheState::Megamorphic);
}

#[test]
fn polymorphic_site_hits_for_all_its_classes() {
    let reg = Reg::new();
    let sel = intern("cacheTest_poly");
    let classes: Vec<ClassId> = (0..POLY_CAPACITY)
        .map(|i| {
            let c = class(&reg, &format!("P{i}"), None);
            reg.add_method(
                c,
                Side::Instance,
                sel,
                ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"][i],
            );
            c
        })
        .collect();
    let site = SendCache::new(sel);
    for _ in 0..10 {
        for &c in &classes {
            let m = site.lookup(&reg, c, Side::Instance).unwrap();
            assert_eq!(m.owner, c);
        }
    }
    assert_eq!(site.misses(), POLY_CAPACITY as u64);
    assert_eq!(
        site.hits(),
        10 * POLY_CAPACITY as u64 - POLY_CAPACITY as u64
    );
    assert_eq!(
        site.state(),
        if POLY_CAPACITY == 1 {
            CacheState::Monomorphic
        } else {
            CacheState::Polymorphic
        }
    );
}

#[test]
fn instance_and_class_side_are_separate_keys() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let sel = intern("cacheTest_sides");
    reg.add_method(a, Side::Instance, sel, "A>>x");
    reg.add_method(a, Side::Class, sel, "A class>>x");
    let site = SendCache::new(sel);
    for _ in 0..3 {
        assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "A>>x");
        assert_eq!(site.lookup(&reg, a, Side::Class).unwrap().imp, "A class>>x");
    }
    assert_eq!(site.state(), CacheState::Polymorphic);
    assert_eq!(site.misses(), 2);
}

#[test]
fn megamorphic_table_counts_hits_and_misses() {
    let reg = Reg::new();
    let sel = intern("cacheTest_mega_counts");
    let classes: Vec<ClassId> = (0..POLY_CAPACITY + 4)
        .map(|i| {
            let c = class(&reg, &format!("M{i}"), None);
            reg.add_method(c, Side::Instance, sel, "m");
            c
        })
        .collect();
    let site = SendCache::new(sel);
    for &c in &classes {
        site.lookup(&reg, c, Side::Instance).unwrap();
    }
    assert_eq!(site.state(), CacheState::Megamorphic);
    let before = reg.stats();
    // Classes past the inline capacity that arrived after the switch are answered by the table.
    for &c in &classes[POLY_CAPACITY + 1..] {
        let m = site.lookup(&reg, c, Side::Instance).unwrap();
        assert_eq!(m.owner, c);
    }
    let after = reg.stats();
    assert_eq!(after.mega_hits - before.mega_hits, 3);
    assert_eq!(after.mega_misses, before.mega_misses);
    // Direct use of the table: a miss fills, the next call hits.
    let other = intern("cacheTest_mega_direct");
    reg.add_method(classes[0], Side::Instance, other, "direct");
    let s0 = reg.stats();
    assert_eq!(
        reg.lookup_mega(classes[0], Side::Instance, other)
            .unwrap()
            .imp,
        "direct"
    );
    assert_eq!(
        reg.lookup_mega(classes[0], Side::Instance, other)
            .unwrap()
            .imp,
        "direct"
    );
    let s1 = reg.stats();
    assert_eq!(
        (s1.mega_misses - s0.mega_misses, s1.mega_hits - s0.mega_hits),
        (1, 1)
    );
    // Not understood: not cached in the table either.
    let nope = intern("cacheTest_mega_nope");
    assert!(reg.lookup_mega(classes[0], Side::Instance, nope).is_none());
    assert!(reg.lookup_mega(classes[0], Side::Instance, nope).is_none());
    assert_eq!(reg.stats().mega_misses - s1.mega_misses, 2);
}

#[test]
fn redefinition_on_the_same_class_invalidates() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let sel = intern("cacheTest_redefine");
    reg.add_method(a, Side::Instance, sel, "v1");
    let site = SendCache::new(sel);
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "v1");
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "v1");
    let e = reg.epoch();
    let m2 = reg.add_method(a, Side::Instance, sel, "v2");
    assert_ne!(reg.epoch(), e);
    assert!(ptr::eq(site.lookup(&reg, a, Side::Instance).unwrap(), m2));
    assert_eq!(site.misses(), 2);
    assert_eq!(site.state(), CacheState::Monomorphic, "refilled in place");
    // set_methods replaces the whole dictionary.
    reg.set_methods(a, Side::Instance, vec![(sel, "v3")]);
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "v3");
    reg.set_methods(a, Side::Instance, vec![]);
    assert!(site.lookup(&reg, a, Side::Instance).is_none());
}

#[test]
fn superclass_method_change_invalidates() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let b = class(&reg, "B", Some("A"));
    let sel = intern("cacheTest_super_change");
    reg.add_method(a, Side::Instance, sel, "A v1");
    let site = SendCache::new(sel);
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "A v1");
    reg.add_method(a, Side::Instance, sel, "A v2");
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "A v2");
    // An override in the subclass wins from now on.
    reg.add_method(b, Side::Instance, sel, "B");
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "B");
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "A v2");
}

#[test]
fn set_superclass_invalidates() {
    let reg = Reg::new();
    let a1 = class(&reg, "A1", None);
    let a2 = class(&reg, "A2", None);
    let b = class(&reg, "B", Some("A1"));
    let sel = intern("cacheTest_set_super");
    reg.add_method(a1, Side::Instance, sel, "A1");
    reg.add_method(a2, Side::Instance, sel, "A2");
    let site = SendCache::new(sel);
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "A1");
    reg.set_superclass(b, Some("A2"));
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "A2");
    reg.set_superclass(b, None);
    assert!(site.lookup(&reg, b, Side::Instance).is_none());
}

#[test]
fn define_class_again_invalidates_and_clears() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let sel = intern("cacheTest_redefine_class");
    reg.add_method(a, Side::Instance, sel, "old");
    let site = SendCache::new(sel);
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "old");
    assert_eq!(
        reg.define_class("A", None),
        a,
        "re-registering keeps the id"
    );
    assert!(
        site.lookup(&reg, a, Side::Instance).is_none(),
        "dictionaries were cleared"
    );
    reg.add_method(a, Side::Instance, sel, "new");
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "new");
    // Removal invalidates too.
    reg.remove_class(a);
    assert!(site.lookup(&reg, a, Side::Instance).is_none());
}

#[test]
fn not_understood_is_not_cached() {
    let reg = Reg::new();
    let a = class(&reg, "A", None);
    let sel = intern("cacheTest_unknown");
    let site = SendCache::new(sel);
    for i in 1..=3 {
        assert!(site.lookup(&reg, a, Side::Instance).is_none());
        assert_eq!(site.misses(), i);
        assert_eq!(site.hits(), 0);
        assert_eq!(site.state(), CacheState::Empty);
    }
    assert_eq!(reg.stats().empty, 1, "the site is bound but empty");
    assert_eq!(reg.stats().misses, 3);
    // Understood later (no stale negative entry).
    reg.add_method(a, Side::Instance, sel, "now");
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "now");
    assert_eq!(site.state(), CacheState::Monomorphic);
    // A not-understood class on a filled site is not cached either.
    let b = class(&reg, "B", None);
    assert!(site.lookup(&reg, b, Side::Instance).is_none());
    assert!(site.lookup(&reg, b, Side::Instance).is_none());
    assert_eq!(site.state(), CacheState::Monomorphic);
    assert_eq!(site.lookup(&reg, a, Side::Instance).unwrap().imp, "now");
}

#[test]
fn superclass_registered_after_subclass() {
    let reg = Reg::new();
    let b = class(&reg, "B", Some("A"));
    let sel = intern("cacheTest_late_super");
    let site = SendCache::new(sel);
    assert!(site.lookup(&reg, b, Side::Instance).is_none());
    let a = class(&reg, "A", None);
    reg.add_method(a, Side::Instance, sel, "A");
    assert_eq!(site.lookup(&reg, b, Side::Instance).unwrap().imp, "A");
}

#[test]
fn stats_aggregate_states_hits_and_dropped_sites() {
    let reg = Reg::new();
    let sel = intern("cacheTest_stats");
    let cs: Vec<ClassId> = (0..POLY_CAPACITY + 1)
        .map(|i| {
            let c = class(&reg, &format!("S{i}"), None);
            reg.add_method(c, Side::Instance, sel, "s");
            c
        })
        .collect();
    let mono = SendCache::new(sel);
    let poly = SendCache::new(sel);
    let mega = SendCache::new(sel);
    let empty = SendCache::new(intern("cacheTest_stats_nothing"));
    let never_used: SendCache<&'static str> = SendCache::new(sel);
    mono.lookup(&reg, cs[0], Side::Instance);
    poly.lookup(&reg, cs[0], Side::Instance);
    poly.lookup(&reg, cs[1], Side::Instance);
    for &c in &cs {
        mega.lookup(&reg, c, Side::Instance);
    }
    empty.lookup(&reg, cs[0], Side::Instance);
    let st = reg.stats();
    assert_eq!(
        (st.empty, st.monomorphic, st.polymorphic, st.megamorphic),
        (1, 1, 1, 1)
    );
    assert_eq!(st.misses, 1 + 2 + cs.len() as u64 + 1);
    assert_eq!(st.hits, 0);
    // Hits are flushed in batches of HIT_FLUSH and on every miss.
    for _ in 0..HIT_FLUSH + 10 {
        mono.lookup(&reg, cs[0], Side::Instance);
    }
    assert_eq!(reg.stats().hits, HIT_FLUSH);
    mono.lookup(&reg, cs[1], Side::Instance); // a miss flushes the rest
    assert_eq!(reg.stats().hits, HIT_FLUSH + 10);
    assert_eq!(mono.hits(), HIT_FLUSH + 10);
    // Dropping sites removes them from the state counts (and flushes their hits).
    drop(mega);
    drop(never_used);
    drop(empty);
    let st = reg.stats();
    assert_eq!(
        (st.empty, st.monomorphic, st.polymorphic, st.megamorphic),
        (0, 0, 2, 0)
    );
}

#[test]
fn a_site_used_with_another_registry_stays_correct() {
    let r1 = Reg::new();
    let r2 = Reg::new();
    let sel = intern("cacheTest_two_registries");
    // Same class ids and (possibly) the same shape in both registries, different methods.
    let a1 = class(&r1, "A", None);
    let a2 = class(&r2, "A", None);
    assert_eq!(a1, a2);
    r1.add_method(a1, Side::Instance, sel, "r1");
    r2.add_method(a2, Side::Instance, sel, "r2");
    assert_ne!(
        r1.epoch(),
        r2.epoch(),
        "epochs are unique across registries"
    );
    let site = SendCache::new(sel);
    for _ in 0..3 {
        assert_eq!(site.lookup(&r1, a1, Side::Instance).unwrap().imp, "r1");
        assert_eq!(site.lookup(&r2, a2, Side::Instance).unwrap().imp, "r2");
    }
    assert_eq!(r1.stats().monomorphic, 1);
    assert_eq!(
        r2.stats().monomorphic + r2.stats().empty,
        0,
        "r2 never owns the site"
    );
}

#[test]
fn hit_path_agrees_with_uncached_lookup() {
    let reg = Reg::new();
    let sel = intern("cacheTest_agree");
    let root = class(&reg, "Root", None);
    reg.add_method(root, Side::Instance, sel, "root");
    let kids: Vec<ClassId> = (0..10)
        .map(|i| class(&reg, &format!("K{i}"), Some("Root")))
        .collect();
    reg.add_method(kids[3], Side::Instance, sel, "k3");
    let site = SendCache::new(sel);
    for round in 0..4 {
        for &k in &kids {
            assert!(same(
                site.lookup(&reg, k, Side::Instance),
                reg.lookup(k, Side::Instance, sel)
            ));
        }
        if round == 1 {
            reg.add_method(kids[7], Side::Instance, sel, "k7");
        }
    }
}

/// Payload for the concurrency test: (class index, version).
type Tag = (usize, u32);

#[test]
fn concurrent_lookups_during_redefinition() {
    const CLASSES: usize = POLY_CAPACITY + 2;
    const MIN_READS: usize = 20_000;
    const VERSIONS: u32 = 400;
    let reg: Registry<Tag> = Registry::new();
    let sel = intern("cacheTest_concurrent");
    let ids: Vec<ClassId> = (0..CLASSES)
        .map(|i| {
            let c = reg.define_class(&format!("C{i}"), Some("Base"));
            reg.add_method(c, Side::Instance, sel, (i, 0));
            c
        })
        .collect();
    reg.define_class("Base", None);
    let wide: SendCache<Tag> = SendCache::new(sel); // over capacity + 2 classes: megamorphic
    let narrow: SendCache<Tag> = SendCache::new(sel); // over 2 classes: polymorphic
    let done = std::sync::atomic::AtomicBool::new(false);
    let seen_versions = std::thread::scope(|s| {
        let (reg, ids, wide, narrow, done) = (&reg, &ids, &wide, &narrow, &done);
        let readers: Vec<_> = (0..3)
            .map(|t| {
                s.spawn(move || {
                    let mut last = [0u32; CLASSES];
                    let mut n = 0;
                    // Read until the writer is finished (so reads overlap every redefinition).
                    while n < MIN_READS || !done.load(Ordering::Acquire) {
                        let i = (n * 7 + t) % CLASSES;
                        let (site, i) = if n % 5 == 0 {
                            (narrow, i % 2)
                        } else {
                            (wide, i)
                        };
                        let m = site
                            .lookup(reg, ids[i], Side::Instance)
                            .expect("always defined");
                        assert_eq!(m.imp.0, i, "method of another class returned");
                        assert_eq!(m.owner, ids[i]);
                        assert!(m.imp.1 >= last[i], "version went backwards for class {i}");
                        last[i] = m.imp.1;
                        n += 1;
                    }
                    // `done` was seen (acquire) after the last redefinition: a send now must
                    // see the last version, through either site.
                    for (i, &c) in ids.iter().enumerate() {
                        let site = if i < 2 && t == 0 { narrow } else { wide };
                        let m = site.lookup(reg, c, Side::Instance).unwrap();
                        assert_eq!(m.imp, (i, VERSIONS), "stale method after synchronization");
                        last[i] = m.imp.1;
                    }
                    last
                })
            })
            .collect();
        for v in 1..=VERSIONS {
            for (i, &c) in ids.iter().enumerate() {
                reg.add_method(c, Side::Instance, sel, (i, v));
            }
            std::thread::yield_now();
        }
        done.store(true, Ordering::Release);
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    for last in &seen_versions {
        assert!(last.iter().all(|&v| v == VERSIONS), "{last:?}");
    }
    assert_eq!(wide.state(), CacheState::Megamorphic);
    assert_ne!(narrow.state(), CacheState::Megamorphic);
    for (i, &c) in ids.iter().enumerate() {
        let want = reg.lookup(c, Side::Instance, sel).unwrap();
        assert!(
            ptr::eq(wide.lookup(&reg, c, Side::Instance).unwrap(), want),
            "class {i}"
        );
    }
}
