//! Selector interning: process-wide, thread-safe, dense ids from 1.
//!
//! Selectors are normalized before interning (every `:` becomes `_`, docs/spec/c-abi.md §6), so
//! `at:put:` and `at_put_` are the same selector. Ids are never reused or freed: a [`Sel`] is
//! stable for the life of the process (it survives `TT_Close` and every registry).
//!
//! Interning an already-known name takes only the read side of an `RwLock` (no write lock, no
//! allocation); only the first interning of a name takes the write lock.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use parking_lot::RwLock;

use rustc_hash::FxHashMap;

/// Interned selector id; 0 = invalid. Dense ids from 1, stable for the process life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Sel(pub u32);

impl Sel {
    /// The invalid selector (id 0): what [`intern`] returns for an empty name.
    pub const INVALID: Sel = Sel(0);

    /// True unless this is [`Sel::INVALID`]. (It does not check that the id was ever issued;
    /// [`selector_name`] does.)
    #[inline]
    pub fn is_valid(self) -> bool {
        self.0 != 0
    }
}

#[derive(Default)]
struct Interner {
    ids: FxHashMap<Arc<str>, Sel>,
    /// `names[i]` is the name of `Sel(i + 1)`.
    names: Vec<Arc<str>>,
}

static INTERNER: LazyLock<RwLock<Interner>> = LazyLock::new(|| RwLock::new(Interner::default()));

/// Normalizes a selector: every `:` becomes `_`. Borrows when there is nothing to change.
pub fn normalize_selector(s: &str) -> Cow<'_, str> {
    if s.contains(':') {
        Cow::Owned(s.replace(':', "_"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Interns a selector (normalized first) and returns its process-wide id.
///
/// The same text (after normalization) always yields the same id; `""` yields
/// [`Sel::INVALID`]. Thread-safe; names already interned are found under a read lock.
pub fn intern(s: &str) -> Sel {
    let name = normalize_selector(s);
    if name.is_empty() {
        return Sel::INVALID;
    }
    if let Some(&sel) = INTERNER.read().ids.get(&*name) {
        return sel;
    }
    let mut t = INTERNER.write();
    if let Some(&sel) = t.ids.get(&*name) {
        return sel;
    }
    let id = u32::try_from(t.names.len() + 1).expect("selector id space exhausted");
    let sel = Sel(id);
    let name: Arc<str> = Arc::from(&*name);
    t.names.push(name.clone());
    t.ids.insert(name, sel);
    sel
}

/// The id of an already-interned selector (normalized first), without interning it.
pub fn lookup_selector(s: &str) -> Option<Sel> {
    let name = normalize_selector(s);
    if name.is_empty() {
        return None;
    }
    INTERNER.read().ids.get(&*name).copied()
}

/// The normalized name of an issued selector; `None` for [`Sel::INVALID`] and ids never issued.
pub fn selector_name(sel: Sel) -> Option<Arc<str>> {
    let i = (sel.0 as usize).checked_sub(1)?;
    INTERNER.read().names.get(i).cloned()
}

/// True if `sel` was issued by [`intern`].
pub(crate) fn is_issued(sel: Sel) -> bool {
    sel.is_valid() && (sel.0 as usize) <= INTERNER.read().names.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_every_colon() {
        assert_eq!(normalize_selector("at:put:"), "at_put_");
        assert!(matches!(normalize_selector("size"), Cow::Borrowed("size")));
    }

    #[test]
    fn same_text_same_id_and_colon_normalization() {
        let a = intern("selTest_at:put:");
        assert!(a.is_valid());
        assert_eq!(intern("selTest_at:put:"), a);
        assert_eq!(intern("selTest_at_put_"), a);
        assert_eq!(lookup_selector("selTest_at:put:"), Some(a));
        assert_eq!(selector_name(a).as_deref(), Some("selTest_at_put_"));
        assert_ne!(intern("selTest_other"), a);
    }

    #[test]
    fn empty_and_unknown() {
        assert_eq!(intern(""), Sel::INVALID);
        assert!(!Sel::INVALID.is_valid());
        assert_eq!(lookup_selector(""), None);
        assert_eq!(lookup_selector("selTest_never_interned_zzz"), None);
        assert_eq!(selector_name(Sel::INVALID), None);
        assert_eq!(selector_name(Sel(u32::MAX)), None);
        assert!(!is_issued(Sel(u32::MAX)));
    }

    #[test]
    fn ids_are_dense_from_one() {
        let s = intern("selTest_dense_probe");
        // Every id up to `s` has a name: the id space has no holes.
        for id in 1..=s.0 {
            assert!(selector_name(Sel(id)).is_some(), "hole at {id}");
        }
    }

    #[test]
    fn concurrent_interning_of_overlapping_names() {
        let names: Vec<String> = (0..200).map(|i| format!("selTest_conc_{i}:")).collect();
        let results: Vec<Vec<Sel>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let names = &names;
                    s.spawn(move || {
                        // Each thread walks the names in a different order (strides coprime to 200).
                        let mut out = vec![Sel::INVALID; names.len()];
                        for k in 0..names.len() {
                            let i = (k * [1, 3, 7, 9][t] + t * 37) % names.len();
                            out[i] = intern(&names[i]);
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
        let mut ids: Vec<u32> = results[0].iter().map(|s| s.0).collect();
        assert!(ids.iter().all(|&i| i != 0));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), names.len(), "distinct names got distinct ids");
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                selector_name(results[0][i]).as_deref(),
                Some(&*n.replace(':', "_"))
            );
        }
    }
}
