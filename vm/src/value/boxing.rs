//! NaN-boxed value representation: the only module of the vm with `unsafe` for values.
//!
//! # Encoding
//!
//! A [`Value`] is one `u64`:
//!
//! | bits 63..48 | meaning | payload (bits 47..0) |
//! |---|---|---|
//! | anything not below | a raw IEEE-754 `f64` (NaNs are canonicalised to [`CANONICAL_NAN`]) | — |
//! | `0xFFF9` | small integer | 48-bit two's complement (`-2^47 ..= 2^47-1`) |
//! | `0xFFFA` | special | `0` nil, `1` false, `2` true |
//! | `0xFFFB` | boxed integer (outside the 48-bit range) | `*const i64` from `Arc<i64>` |
//! | `0xFFFC` | string | `*const StrObj` from `Arc<StrObj>` |
//! | `0xFFFD` | JSON array/object | `*const serde_json::Value` from `Arc` |
//! | `0xFFFE` | instance reference | `*const Instance` from `Arc<Instance>` |
//! | `0xFFFF` | block reference | `*const Block` from `Arc<Block>` |
//!
//! The prefixes `0xFFF9..=0xFFFF` are negative quiet NaNs; since every NaN stored as a float is
//! rewritten to the positive canonical NaN, no float can collide with a tag.
//!
//! # Memory
//!
//! Heap payloads are reference counted (`Arc`). `Clone` increments, `Drop` decrements; a value
//! therefore owns one strong count of its payload. Pointers must fit in 48 bits (user-space
//! addresses on x86-64 and AArch64 with 4-level paging); `Value::from_arc` asserts it.
//!
//! # Invariants
//!
//! 1. A heap tag is only ever combined with a pointer obtained from `Arc::into_raw` of the
//!    matching type, and the value owns one strong count of it.
//! 2. A string value never holds a canonical decimal integer (those are stored as integers), so
//!    "a canonical integer string is indistinguishable from the integer" holds by construction.

use std::sync::Arc;

use crate::block::Block;
use crate::object::Instance;

/// The canonical quiet NaN every float NaN is rewritten to.
pub const CANONICAL_NAN: u64 = 0x7FF8_0000_0000_0000;
/// Tag shift: the tag lives in the top 16 bits.
pub const TAG_SHIFT: u32 = 48;
/// Mask of the 48-bit payload.
pub const PAYLOAD_MASK: u64 = (1 << TAG_SHIFT) - 1;
/// Tag of small integers.
pub const TAG_INT: u64 = 0xFFF9;
/// Tag of nil / false / true.
pub const TAG_SPECIAL: u64 = 0xFFFA;
/// Tag of boxed (wide) integers.
pub const TAG_BIGINT: u64 = 0xFFFB;
/// Tag of strings.
pub const TAG_STR: u64 = 0xFFFC;
/// Tag of JSON arrays/objects.
pub const TAG_JSON: u64 = 0xFFFD;
/// Tag of instance references.
pub const TAG_INSTANCE: u64 = 0xFFFE;
/// Tag of block references.
pub const TAG_BLOCK: u64 = 0xFFFF;

/// Bytes a string value is charged beyond its text (`crate::limits::charge`): the `Arc`'s
/// counts and the boxed text's pointer and length.
const STR_OVERHEAD: usize = 32;
/// Bytes a JSON collection value is charged for its top-level node.
const JSON_OVERHEAD: usize = 64;
/// Bytes a JSON collection value is charged per top-level entry.
const JSON_ENTRY: usize = 32;
/// Bits of nil.
pub const NIL_BITS: u64 = TAG_SPECIAL << TAG_SHIFT;
/// Bits of false.
pub const FALSE_BITS: u64 = NIL_BITS | 1;
/// Bits of true.
pub const TRUE_BITS: u64 = NIL_BITS | 2;
/// Smallest integer stored inline.
pub const SMALL_INT_MIN: i64 = -(1 << 47);
/// Largest integer stored inline.
pub const SMALL_INT_MAX: i64 = (1 << 47) - 1;

/// A heap string. Never holds a canonical decimal integer (see module invariants).
#[derive(Debug)]
pub struct StrObj {
    /// The UTF-8 text.
    pub text: Box<str>,
}

/// A runtime value in 8 bytes. See the module docs for the encoding.
#[repr(transparent)]
pub struct Value(u64);

/// A borrowed, decoded view of a [`Value`].
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    /// nil
    Nil,
    /// boolean
    Bool(bool),
    /// integer (small or boxed)
    Int(i64),
    /// float
    Float(f64),
    /// string (never a canonical integer)
    Str(&'a str),
    /// JSON array or object
    Json(&'a serde_json::Value),
    /// instance reference
    Instance(&'a Instance),
    /// block reference
    Block(&'a Block),
}

impl Value {
    /// nil.
    pub const NIL: Value = Value(NIL_BITS);
    /// false.
    pub const FALSE: Value = Value(FALSE_BITS);
    /// true.
    pub const TRUE: Value = Value(TRUE_BITS);

    /// The raw bits (for the JIT and for identity checks). Does not transfer ownership.
    #[inline(always)]
    pub fn bits(&self) -> u64 {
        self.0
    }

    /// The tag (top 16 bits); floats have tags below [`TAG_INT`].
    #[inline(always)]
    pub fn tag(&self) -> u64 {
        self.0 >> TAG_SHIFT
    }

    /// Consumes the value and returns its bits; the strong count it owned now belongs to the
    /// caller, who must eventually pass the bits to [`Value::from_raw_bits`].
    #[inline(always)]
    pub fn into_raw_bits(self) -> u64 {
        let b = self.0;
        std::mem::forget(self);
        b
    }

    /// Rebuilds a value from bits produced by [`Value::into_raw_bits`].
    ///
    /// # Safety
    /// `bits` must come from `into_raw_bits` (or be an immediate: float, small int, special),
    /// and each such owned bit pattern may be turned back into a value only once.
    #[inline(always)]
    pub unsafe fn from_raw_bits(bits: u64) -> Value {
        Value(bits)
    }

    /// Clones the value denoted by borrowed bits (the bits stay owned by someone else).
    ///
    /// # Safety
    /// `bits` must be the bits of a live value owned elsewhere for the duration of this call.
    #[inline]
    pub unsafe fn clone_from_bits(bits: u64) -> Value {
        let v = std::mem::ManuallyDrop::new(Value(bits));
        (*v).clone()
    }

    /// A boolean.
    #[inline(always)]
    pub fn bool(b: bool) -> Value {
        if b { Value::TRUE } else { Value::FALSE }
    }

    /// An integer (inline when it fits 48 bits, boxed otherwise).
    #[inline(always)]
    pub fn int(i: i64) -> Value {
        if (SMALL_INT_MIN..=SMALL_INT_MAX).contains(&i) {
            Value((TAG_INT << TAG_SHIFT) | (i as u64 & PAYLOAD_MASK))
        } else {
            // SAFETY: TAG_BIGINT is the tag of an `Arc<i64>`.
            unsafe { Self::from_arc(TAG_BIGINT, Arc::new(i)) }
        }
    }

    /// A float; NaNs are canonicalised.
    #[inline(always)]
    pub fn float(f: f64) -> Value {
        if f.is_nan() {
            Value(CANONICAL_NAN)
        } else {
            Value(f.to_bits())
        }
    }

    /// A string value that is known NOT to be a canonical integer. Callers must use
    /// [`Value::string`] unless they checked that themselves.
    pub(crate) fn str_obj(text: Box<str>) -> Value {
        // Counted against the thread's memory budget (`crate::limits`); past it the text is
        // dropped (the call stops at its next poll, so the value is never used).
        let text = if crate::limits::charge(text.len() + STR_OVERHEAD) {
            text
        } else {
            Box::default()
        };
        // SAFETY: TAG_STR is the tag of an `Arc<StrObj>`.
        unsafe { Self::from_arc(TAG_STR, Arc::new(StrObj { text })) }
    }

    /// A JSON array/object value. Other JSON kinds are the caller's job to convert.
    pub fn json(v: serde_json::Value) -> Value {
        debug_assert!(v.is_array() || v.is_object());
        // The top-level node is counted against the thread's memory budget (`crate::limits`);
        // nested values were counted when they were made.
        let entries = v
            .as_array()
            .map_or_else(|| v.as_object().map_or(0, |o| o.len()), Vec::len);
        crate::limits::charge(JSON_OVERHEAD + entries * JSON_ENTRY);
        // SAFETY: TAG_JSON is the tag of an `Arc<serde_json::Value>`.
        unsafe { Self::from_arc(TAG_JSON, Arc::new(v)) }
    }

    /// A JSON array/object value from a shared node.
    pub fn json_arc(v: Arc<serde_json::Value>) -> Value {
        debug_assert!(v.is_array() || v.is_object());
        // SAFETY: TAG_JSON is the tag of an `Arc<serde_json::Value>`.
        unsafe { Self::from_arc(TAG_JSON, v) }
    }

    /// An instance reference.
    pub fn instance(i: Arc<Instance>) -> Value {
        // SAFETY: TAG_INSTANCE is the tag of an `Arc<Instance>`.
        unsafe { Self::from_arc(TAG_INSTANCE, i) }
    }

    /// A block reference.
    pub fn block(b: Arc<Block>) -> Value {
        // SAFETY: TAG_BLOCK is the tag of an `Arc<Block>`.
        unsafe { Self::from_arc(TAG_BLOCK, b) }
    }

    /// The value owning `a`'s strong count, under heap tag `tag`.
    ///
    /// # Safety
    /// `tag` is the heap tag of `T` (invariant 1): `TAG_BIGINT` for `i64`, `TAG_STR` for
    /// `StrObj`, `TAG_JSON` for `serde_json::Value`, `TAG_INSTANCE` for `Instance`, `TAG_BLOCK`
    /// for `Block`.
    #[inline]
    unsafe fn from_arc<T>(tag: u64, a: Arc<T>) -> Value {
        let p = Arc::into_raw(a) as u64;
        assert!(
            p & !PAYLOAD_MASK == 0,
            "heap pointer does not fit in 48 bits"
        );
        Value((tag << TAG_SHIFT) | p)
    }

    #[inline(always)]
    fn ptr<T>(&self) -> *const T {
        (self.0 & PAYLOAD_MASK) as *const T
    }

    /// True for nil.
    #[inline(always)]
    pub fn is_nil(&self) -> bool {
        self.0 == NIL_BITS
    }

    /// True for floats.
    #[inline(always)]
    pub fn is_float(&self) -> bool {
        self.tag() < TAG_INT
    }

    /// The small-integer payload, if this is an inline integer.
    #[inline(always)]
    pub fn as_small_int(&self) -> Option<i64> {
        if self.tag() == TAG_INT {
            Some(((self.0 << 16) as i64) >> 16)
        } else {
            None
        }
    }

    /// The integer, if this is an integer (inline or boxed).
    #[inline(always)]
    pub fn as_int(&self) -> Option<i64> {
        match self.tag() {
            TAG_INT => Some(((self.0 << 16) as i64) >> 16),
            // SAFETY: a TAG_BIGINT value owns a strong count of an `Arc<i64>` (invariant 1).
            TAG_BIGINT => Some(unsafe { *self.ptr::<i64>() }),
            _ => None,
        }
    }

    /// The float, if this is a float.
    #[inline(always)]
    pub fn as_float(&self) -> Option<f64> {
        if self.is_float() {
            Some(f64::from_bits(self.0))
        } else {
            None
        }
    }

    /// The boolean, if this is a boolean.
    #[inline(always)]
    pub fn as_bool(&self) -> Option<bool> {
        match self.0 {
            TRUE_BITS => Some(true),
            FALSE_BITS => Some(false),
            _ => None,
        }
    }

    /// The string text, if this is a (non-integer) string.
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        if self.tag() == TAG_STR {
            // SAFETY: invariant 1: the pointer is a live `Arc<StrObj>` we hold a count of;
            // the borrow is tied to `&self`, which keeps that count alive.
            Some(unsafe { &(*self.ptr::<StrObj>()).text })
        } else {
            None
        }
    }

    /// The JSON node, if this is an array/object.
    #[inline]
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        if self.tag() == TAG_JSON {
            // SAFETY: invariant 1 for `Arc<serde_json::Value>`; borrow tied to `&self`.
            Some(unsafe { &*self.ptr::<serde_json::Value>() })
        } else {
            None
        }
    }

    /// The instance, if this is an instance reference.
    #[inline]
    pub fn as_instance(&self) -> Option<&Instance> {
        if self.tag() == TAG_INSTANCE {
            // SAFETY: invariant 1 for `Arc<Instance>`; borrow tied to `&self`.
            Some(unsafe { &*self.ptr::<Instance>() })
        } else {
            None
        }
    }

    /// The block, if this is a block reference.
    #[inline]
    pub fn as_block(&self) -> Option<&Block> {
        if self.tag() == TAG_BLOCK {
            // SAFETY: invariant 1 for `Arc<Block>`; borrow tied to `&self`.
            Some(unsafe { &*self.ptr::<Block>() })
        } else {
            None
        }
    }

    /// A new strong reference to the instance, if this is an instance reference.
    pub fn instance_arc(&self) -> Option<Arc<Instance>> {
        if self.tag() == TAG_INSTANCE {
            let p = self.ptr::<Instance>();
            // SAFETY: `p` came from `Arc::into_raw` and we hold a count, so incrementing and
            // re-materialising one more `Arc` is balanced.
            unsafe {
                Arc::increment_strong_count(p);
                Some(Arc::from_raw(p))
            }
        } else {
            None
        }
    }

    /// A new strong reference to the block, if this is a block reference.
    pub fn block_arc(&self) -> Option<Arc<Block>> {
        if self.tag() == TAG_BLOCK {
            let p = self.ptr::<Block>();
            // SAFETY: as in `instance_arc`.
            unsafe {
                Arc::increment_strong_count(p);
                Some(Arc::from_raw(p))
            }
        } else {
            None
        }
    }

    /// A new strong reference to the JSON node, if this is an array/object.
    pub fn json_node(&self) -> Option<Arc<serde_json::Value>> {
        if self.tag() == TAG_JSON {
            let p = self.ptr::<serde_json::Value>();
            // SAFETY: as in `instance_arc`.
            unsafe {
                Arc::increment_strong_count(p);
                Some(Arc::from_raw(p))
            }
        } else {
            None
        }
    }

    /// Decodes into a borrowed view.
    #[inline]
    pub fn view(&self) -> ValueRef<'_> {
        match self.tag() {
            TAG_INT => ValueRef::Int(((self.0 << 16) as i64) >> 16),
            TAG_SPECIAL => match self.0 {
                TRUE_BITS => ValueRef::Bool(true),
                FALSE_BITS => ValueRef::Bool(false),
                _ => ValueRef::Nil,
            },
            TAG_BIGINT => ValueRef::Int(self.as_int().unwrap_or(0)),
            TAG_STR => ValueRef::Str(self.as_str().unwrap_or("")),
            TAG_JSON => match self.as_json() {
                Some(j) => ValueRef::Json(j),
                None => ValueRef::Nil,
            },
            TAG_INSTANCE => match self.as_instance() {
                Some(i) => ValueRef::Instance(i),
                None => ValueRef::Nil,
            },
            TAG_BLOCK => match self.as_block() {
                Some(b) => ValueRef::Block(b),
                None => ValueRef::Nil,
            },
            _ => ValueRef::Float(f64::from_bits(self.0)),
        }
    }
}

impl Clone for Value {
    #[inline(always)]
    fn clone(&self) -> Value {
        let tag = self.tag();
        if tag >= TAG_BIGINT {
            let p = self.0 & PAYLOAD_MASK;
            // SAFETY: invariant 1: `p` is a live `Arc<T>` pointer of the tag's type; we hold a
            // count, so incrementing it is sound and the new value owns the extra count.
            unsafe {
                match tag {
                    TAG_BIGINT => Arc::increment_strong_count(p as *const i64),
                    TAG_STR => Arc::increment_strong_count(p as *const StrObj),
                    TAG_JSON => Arc::increment_strong_count(p as *const serde_json::Value),
                    TAG_INSTANCE => Arc::increment_strong_count(p as *const Instance),
                    _ => Arc::increment_strong_count(p as *const Block),
                }
            }
        }
        Value(self.0)
    }
}

impl Drop for Value {
    #[inline(always)]
    fn drop(&mut self) {
        if self.tag() >= TAG_BIGINT {
            self.release_heap();
        }
    }
}

impl Value {
    /// Releases the heap payload's count (out of line, so that dropping an immediate stays a
    /// compare in the interpreter loop).
    #[inline(never)]
    fn release_heap(&mut self) {
        let tag = self.tag();
        let p = self.0 & PAYLOAD_MASK;
        // SAFETY: invariant 1: this value owns exactly one strong count of the `Arc<T>`
        // behind `p` (the caller checked the tag is a heap tag); dropping the value releases
        // it exactly once, and the value is not used again (it is being dropped).
        unsafe {
            match tag {
                TAG_BIGINT => drop(Arc::from_raw(p as *const i64)),
                TAG_STR => drop(Arc::from_raw(p as *const StrObj)),
                TAG_JSON => drop(Arc::from_raw(p as *const serde_json::Value)),
                TAG_INSTANCE => drop(Arc::from_raw(p as *const Instance)),
                _ => drop(Arc::from_raw(p as *const Block)),
            }
        }
    }

    /// Both payloads when `a` and `b` are inline integers: one combined tag test, for the
    /// interpreter's integer fast paths.
    #[inline(always)]
    pub fn small_int_pair(a: &Value, b: &Value) -> Option<(i64, i64)> {
        const INT_BITS: u64 = TAG_INT << TAG_SHIFT;
        if ((a.0 ^ INT_BITS) | (b.0 ^ INT_BITS)) >> TAG_SHIFT == 0 {
            Some((((a.0 << 16) as i64) >> 16, ((b.0 << 16) as i64) >> 16))
        } else {
            None
        }
    }
}

// SAFETY: every payload is `Arc<T>` with `T: Send + Sync` (i64, StrObj, serde_json::Value,
// Instance and Block are all Send + Sync), so sharing or moving the handle across threads is as
// safe as sharing or moving those `Arc`s.
unsafe impl Send for Value {}
// SAFETY: see `Send`; `&Value` only gives shared access to the payloads.
unsafe impl Sync for Value {}

const _: () = assert!(std::mem::size_of::<Value>() == 8);

#[cfg(test)]
mod tests {
    //! Run under Miri with `cargo +nightly miri test -p tt-vm value::` (see docs/memory.md).
    use super::*;

    #[test]
    fn small_int_pair_only_for_two_inline_integers() {
        let big = Value::int(SMALL_INT_MAX + 1);
        assert_eq!(
            Value::small_int_pair(&Value::int(-5), &Value::int(SMALL_INT_MAX)),
            Some((-5, SMALL_INT_MAX))
        );
        assert_eq!(
            Value::small_int_pair(&Value::int(SMALL_INT_MIN), &Value::int(0)),
            Some((SMALL_INT_MIN, 0))
        );
        for other in [Value::NIL, Value::float(1.0), Value::string("x"), big] {
            assert_eq!(Value::small_int_pair(&Value::int(1), &other), None);
            assert_eq!(Value::small_int_pair(&other, &Value::int(1)), None);
        }
    }

    #[test]
    fn layout_is_one_word() {
        assert_eq!(std::mem::size_of::<Value>(), 8);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 16);
    }

    #[test]
    fn immediates_round_trip() {
        for i in [0, 1, -1, SMALL_INT_MAX, SMALL_INT_MIN, 42, -42] {
            assert_eq!(Value::int(i).as_small_int(), Some(i));
            assert_eq!(Value::int(i).as_int(), Some(i));
        }
        assert!(Value::NIL.is_nil());
        assert_eq!(Value::bool(true).as_bool(), Some(true));
        assert_eq!(Value::bool(false).as_bool(), Some(false));
        assert_eq!(Value::float(2.5).as_float(), Some(2.5));
        assert!(Value::float(f64::NAN).as_float().unwrap().is_nan());
        assert_eq!(Value::float(-f64::NAN).bits(), CANONICAL_NAN);
        assert_eq!(Value::float(f64::INFINITY).as_float(), Some(f64::INFINITY));
        assert_eq!(
            Value::float(-0.0).as_float().unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn whole_i64_range_round_trips_boxed() {
        for i in [
            i64::MAX,
            i64::MIN,
            SMALL_INT_MAX + 1,
            SMALL_INT_MIN - 1,
            1 << 60,
        ] {
            let v = Value::int(i);
            assert_eq!(v.as_small_int(), None);
            assert_eq!(v.as_int(), Some(i));
            let c = v.clone();
            drop(v);
            assert_eq!(c.as_int(), Some(i));
        }
    }

    #[test]
    fn heap_values_count_references() {
        let v = Value::str_obj("hello".into());
        let w = v.clone();
        assert_eq!(w.as_str(), Some("hello"));
        drop(v);
        assert_eq!(w.as_str(), Some("hello"));
        let j = Value::json(serde_json::json!([1, 2]));
        let node = j.json_node().unwrap();
        drop(j);
        assert_eq!(node.as_array().unwrap().len(), 2);
        assert_eq!(Arc::strong_count(&node), 1);
    }

    #[test]
    fn raw_bits_transfer_ownership() {
        let v = Value::str_obj("x".into());
        let bits = v.into_raw_bits();
        // SAFETY: bits came from into_raw_bits and are used once.
        let back = unsafe { Value::from_raw_bits(bits) };
        // SAFETY: `back` is alive during the call.
        let copy = unsafe { Value::clone_from_bits(back.bits()) };
        assert_eq!(back.as_str(), Some("x"));
        drop(back);
        assert_eq!(copy.as_str(), Some("x"));
    }
}
