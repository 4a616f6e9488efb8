//! Dispatch benchmarks (tt-dispatch): inline-cache hits in each state, the miss+fill path, and a
//! plain `HashMap` lookup with the same keys as a baseline.
//!
//! * `dispatch/mono_hit`: one site, one receiver class.
//! * `dispatch/poly4`: one site over 4 classes, receivers cycling 0,1,2,3.
//! * `dispatch/poly6`, `dispatch/poly8`: 6 and 8 classes (polymorphic or megamorphic depending
//!   on `POLY_CAPACITY`; used to choose it).
//! * `dispatch/mega16`: one megamorphic site over 16 classes.
//! * `dispatch/miss_fill`: a site whose entry was invalidated (epoch moved): miss, full lookup,
//!   refill.
//! * `dispatch/hashmap_baseline`: `HashMap<(u32, u32), usize>` (std SipHash) with the mono key.
//! * `dispatch/hashmap_baseline16`: the same map, keys cycling over the 16 classes.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tt_dispatch::{ClassId, POLY_CAPACITY, Registry, SendCache, Side, intern};

struct World {
    reg: Registry<usize>,
    classes: Vec<ClassId>,
    sel: tt_dispatch::Sel,
}

fn world() -> World {
    let reg = Registry::new();
    let sel = intern("bench:with:");
    reg.define_class("Object", None);
    let classes: Vec<ClassId> = (0..16)
        .map(|i| {
            let c = reg.define_class(&format!("Bench{i}"), Some("Object"));
            reg.add_method(c, Side::Instance, sel, i);
            c
        })
        .collect();
    World { reg, classes, sel }
}

/// A site over the first `n` classes, warmed up (every class cached or the site megamorphic).
fn site_over(w: &World, n: usize) -> SendCache<usize> {
    let site = SendCache::new(w.sel);
    for _ in 0..2 {
        for &c in &w.classes[..n] {
            assert!(site.lookup(&w.reg, c, Side::Instance).is_some());
        }
    }
    site
}

/// Cycles through `n` (a power of two) receivers.
fn bench_cycle(c: &mut Criterion, id: &str, w: &World, n: usize) {
    let site = site_over(w, n);
    let classes: Vec<ClassId> = w.classes[..n].to_vec();
    let mask = n - 1;
    let mut i = 0usize;
    c.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) & mask;
            site.lookup(black_box(&w.reg), black_box(classes[i]), Side::Instance)
        })
    });
}

fn dispatch(c: &mut Criterion) {
    let w = world();
    println!("POLY_CAPACITY = {POLY_CAPACITY}");

    let mono = site_over(&w, 1);
    let c0 = w.classes[0];
    c.bench_function("dispatch/mono_hit", |b| {
        b.iter(|| mono.lookup(black_box(&w.reg), black_box(c0), black_box(Side::Instance)))
    });

    bench_cycle(c, "dispatch/poly4", &w, 4);

    // 6 receivers, cycling without a power-of-two mask.
    for n in [6usize, 8] {
        let site = site_over(&w, n);
        let classes: Vec<ClassId> = w.classes[..n].to_vec();
        let mut i = 0usize;
        c.bench_function(&format!("dispatch/poly{n}"), |b| {
            b.iter(|| {
                i += 1;
                if i == n {
                    i = 0;
                }
                site.lookup(black_box(&w.reg), black_box(classes[i]), Side::Instance)
            })
        });
    }

    bench_cycle(c, "dispatch/mega16", &w, 16);

    // Miss + fill on invalidated sites: each timed pass looks up CHUNK sites whose entries an
    // (untimed) unrelated redefinition has just made stale.
    const CHUNK: usize = 1024;
    let sites: Vec<SendCache<usize>> = (0..CHUNK).map(|_| site_over(&w, 1)).collect();
    let other = intern("bench_invalidate");
    let mut version = 0usize;
    c.bench_function("dispatch/miss_fill", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(CHUNK);
                version += 1;
                w.reg.add_method(w.classes[15], Side::Class, other, version);
                let start = Instant::now();
                for s in &sites[..n] {
                    black_box(s.lookup(black_box(&w.reg), black_box(c0), Side::Instance));
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });
    assert!(sites[0].misses() > 1, "miss_fill really missed");

    let sel = w.sel.0;
    let map: HashMap<(u32, u32), usize> = w
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.0, sel), i))
        .collect();
    c.bench_function("dispatch/hashmap_baseline", |b| {
        b.iter(|| map.get(&(black_box(c0.0), black_box(sel))).copied())
    });
    let keys: Vec<u32> = w.classes.iter().map(|c| c.0).collect();
    let mut i = 0usize;
    c.bench_function("dispatch/hashmap_baseline16", |b| {
        b.iter(|| {
            i = (i + 1) & 15;
            map.get(&(black_box(keys[i]), black_box(sel))).copied()
        })
    });

    let st = w.reg.stats();
    println!(
        "stats: mono {} poly {} mega {} hits {} misses {} mega_hits {} mega_misses {}",
        st.monomorphic,
        st.polymorphic,
        st.megamorphic,
        st.hits,
        st.misses,
        st.mega_hits,
        st.mega_misses
    );
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
