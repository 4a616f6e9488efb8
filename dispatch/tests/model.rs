//! Property test: random sequences of changes and cached lookups agree with the uncached
//! `Registry::lookup` (the model of record), through inline caches in every state and the
//! megamorphic table.

use proptest::prelude::*;
use tt_dispatch::{ClassId, Registry, SendCache, Side, intern};

const CLASSES: usize = 8;
const SELS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Define {
        class: usize,
        sup: Option<usize>,
    },
    Add {
        class: usize,
        side: bool,
        sel: usize,
        tag: u32,
    },
    SetMethods {
        class: usize,
        side: bool,
        sels: Vec<usize>,
        tag: u32,
    },
    SetSuper {
        class: usize,
        sup: Option<usize>,
    },
    Remove {
        class: usize,
    },
    Lookup {
        class: usize,
        side: bool,
        sel: usize,
        site: usize,
    },
    Mega {
        class: usize,
        side: bool,
        sel: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CLASSES;
    let s = 0..SELS;
    let sup = proptest::option::of(0..CLASSES);
    prop_oneof![
        2 => (c.clone(), sup.clone()).prop_map(|(class, sup)| Op::Define { class, sup }),
        3 => (c.clone(), any::<bool>(), s.clone(), any::<u32>())
            .prop_map(|(class, side, sel, tag)| Op::Add { class, side, sel, tag }),
        1 => (c.clone(), any::<bool>(), proptest::collection::vec(s.clone(), 0..3), any::<u32>())
            .prop_map(|(class, side, sels, tag)| Op::SetMethods { class, side, sels, tag }),
        1 => (c.clone(), sup).prop_map(|(class, sup)| Op::SetSuper { class, sup }),
        1 => c.clone().prop_map(|class| Op::Remove { class }),
        12 => (c.clone(), any::<bool>(), s.clone(), 0..4usize)
            .prop_map(|(class, side, sel, site)| Op::Lookup { class, side, sel, site }),
        3 => (c, any::<bool>(), s).prop_map(|(class, side, sel)| Op::Mega { class, side, sel }),
    ]
}

fn name(i: usize) -> String {
    format!("Prop{i}")
}

fn side(b: bool) -> Side {
    if b { Side::Class } else { Side::Instance }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cached_lookups_agree_with_uncached(ops in proptest::collection::vec(op(), 1..120)) {
        let reg: Registry<u32> = Registry::new();
        let sels: Vec<_> = (0..SELS).map(|i| intern(&format!("propTest_sel{i}:"))).collect();
        // Several sites per selector, so sites reach every state.
        let sites: Vec<Vec<SendCache<u32>>> =
            sels.iter().map(|&s| (0..4).map(|_| SendCache::new(s)).collect()).collect();
        let id = |reg: &Registry<u32>, i: usize| reg.class_id(&name(i));
        for op in ops {
            match op {
                Op::Define { class, sup } => {
                    let sup = sup.map(name);
                    reg.define_class(&name(class), sup.as_deref());
                }
                Op::Add { class, side: sd, sel, tag } => {
                    if let Some(c) = id(&reg, class) {
                        let m = reg.add_method(c, side(sd), sels[sel], tag);
                        prop_assert_eq!(m.imp, tag);
                    }
                }
                Op::SetMethods { class, side: sd, sels: list, tag } => {
                    if let Some(c) = id(&reg, class) {
                        let v = list.iter().enumerate().map(|(k, &s)| (sels[s], tag ^ k as u32)).collect();
                        reg.set_methods(c, side(sd), v);
                    }
                }
                Op::SetSuper { class, sup } => {
                    if let Some(c) = id(&reg, class) {
                        let sup = sup.map(name);
                        reg.set_superclass(c, sup.as_deref());
                    }
                }
                Op::Remove { class } => {
                    if let Some(c) = id(&reg, class) {
                        reg.remove_class(c);
                    }
                }
                Op::Lookup { class, side: sd, sel, site } => {
                    // Also look up ids that are not (or no longer) registered.
                    let c = id(&reg, class).unwrap_or(ClassId(class as u32));
                    let want = reg.lookup(c, side(sd), sels[sel]);
                    let got = sites[sel][site].lookup(&reg, c, side(sd));
                    prop_assert_eq!(got.map(|m| m as *const _), want.map(|m| m as *const _));
                    if let Some(m) = got {
                        prop_assert_eq!(m.selector, sels[sel]);
                        prop_assert_eq!(m.side, side(sd));
                    }
                }
                Op::Mega { class, side: sd, sel } => {
                    let c = id(&reg, class).unwrap_or(ClassId(class as u32));
                    let want = reg.lookup(c, side(sd), sels[sel]);
                    let got = reg.lookup_mega(c, side(sd), sels[sel]);
                    prop_assert_eq!(got.map(|m| m as *const _), want.map(|m| m as *const _));
                }
            }
        }
        // Stats add up: every site that missed is bound and counted in exactly one state.
        let st = reg.stats();
        let bound = sites.iter().flatten().filter(|s| s.misses() > 0).count() as u64;
        prop_assert_eq!(st.empty + st.monomorphic + st.polymorphic + st.megamorphic, bound);
        let misses: u64 = sites.iter().flatten().map(|s| s.misses()).sum();
        prop_assert_eq!(st.misses, misses);
    }
}
