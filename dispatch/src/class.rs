//! Class ids, the two method sides, and immutable method records.

use crate::selector::Sel;

/// A class's id in a [`crate::Registry`]: dense from 0, stable for a class name
/// (re-registering a name keeps its id, even after [`crate::Registry::remove_class`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(transparent)]
pub struct ClassId(pub u32);

/// Which method dictionary of a class: instance methods or class methods.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Side {
    /// Instance-side methods (receiver is an instance).
    Instance,
    /// Class-side methods (receiver is the class itself).
    Class,
}

impl Side {
    /// 0 for [`Side::Instance`], 1 for [`Side::Class`]: the low bit of a cache class key.
    #[inline]
    pub const fn bit(self) -> u32 {
        match self {
            Side::Instance => 0,
            Side::Class => 1,
        }
    }

    #[inline]
    pub(crate) const fn index(self) -> usize {
        self.bit() as usize
    }
}

/// An immutable method record. Records are never freed (leaked, `'static`) so caches may hold
/// plain references safely; replacing a method creates a new record.
#[derive(Debug)]
pub struct Method<M> {
    /// The (normalized, interned) selector.
    pub selector: Sel,
    /// The class whose dictionary holds this record.
    pub owner: ClassId,
    /// The dictionary (side) that holds it.
    pub side: Side,
    /// The payload supplied by the runtime (native fn, bytecode, Bash-fallback marker, ...).
    pub imp: M,
}

impl<M: Send + Sync + 'static> Method<M> {
    /// Leaks a new record. Called only when a method is defined, never on a send.
    pub(crate) fn leak(selector: Sel, owner: ClassId, side: Side, imp: M) -> &'static Method<M> {
        Box::leak(Box::new(Method {
            selector,
            owner,
            side,
            imp,
        }))
    }
}

/// The cache class key of a receiver: `class_id << 1 | side`.
#[inline(always)]
pub(crate) const fn class_key(class: ClassId, side: Side) -> u32 {
    (class.0 << 1) | side.bit()
}

/// An inline-cache key: `(epoch as u64) << 32 | class_id << 1 | side` (side 0 = instance,
/// 1 = class). Epochs are never 0, so 0 is never a valid key. See [`crate::cache`].
#[inline(always)]
pub const fn cache_key(epoch: u32, class: ClassId, side: Side) -> u64 {
    ((epoch as u64) << 32) | class_key(class, side) as u64
}
