//! Conversions between [`TTValue`] and the runtime's [`Value`] (docs/spec/c-abi.md §10), C strings, and
//! handles.
//!
//! # Handles
//!
//! A `*mut TTInstance` is the address of a vm [`Instance`]: the data pointer of the
//! `Arc<Instance>` held by the object space (the same pointer an instance [`Value`] carries).
//! A `*mut TTBlock` is likewise the data pointer of the `Arc<Block>` held by the block
//! registry. Turning a handle back into a value increments the `Arc`'s strong count, so a
//! call that is running keeps its receiver alive even if it is released meanwhile.
//!
//! # Ownership
//!
//! Every string handed to C comes from `malloc` ([`malloc_str`]); STRING/ERROR values returned
//! to C own their `stringVal`. Values *lent* to a C method ([`to_tt_borrowed`]) point into
//! buffers kept alive by the caller for the duration of the call.

use std::borrow::Cow;
use std::ffi::{CStr, CString, c_char, c_int};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use smallvec::SmallVec;
use tt_vm::block::registry;
use tt_vm::value::float_text;
use tt_vm::{Block, Instance, Value, ValueRef};

use crate::error::{CapiError, CapiResult};
use crate::types::*;

/// Argument vectors: inline for the common small counts.
pub type Args = SmallVec<[Value; 4]>;

/// A `malloc`ed NUL-terminated copy of `s`, cut at its first NUL (docs/spec/c-abi.md §7).
pub fn malloc_str(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    let n = memchr_nul(bytes).unwrap_or(bytes.len());
    // SAFETY: malloc of n + 1 bytes (never 0); on success we write exactly n bytes plus the NUL
    // inside the allocation. The source range is within `bytes`.
    unsafe {
        let p = libc::malloc(n + 1) as *mut u8;
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
        *p.add(n) = 0;
        p as *mut c_char
    }
}

fn memchr_nul(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == 0)
}

/// A `TT_TYPE_ERROR` value owning a `malloc`ed copy of `msg`.
pub fn error_value(msg: &str) -> TTValue {
    TTValue::with_ptr(TT_TYPE_ERROR, malloc_str(msg))
}

/// Borrows a C string as UTF-8 (invalid sequences replaced by U+FFFD); `None` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for `'a`.
pub unsafe fn c_str<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    Some(String::from_utf8_lossy(bytes))
}

/// [`c_str`] with NULL read as `""`.
///
/// # Safety
/// As [`c_str`].
pub unsafe fn c_str_or_empty<'a>(p: *const c_char) -> Cow<'a, str> {
    // SAFETY: forwarded contract.
    unsafe { c_str(p) }.unwrap_or(Cow::Borrowed(""))
}

/// The handle of an instance (see the module docs).
#[inline]
pub fn instance_handle(i: &Instance) -> *mut TTInstance {
    i as *const Instance as *mut TTInstance
}

/// The handle of a block (see the module docs).
#[inline]
pub fn block_handle(b: &Block) -> *mut TTBlock {
    b as *const Block as *mut TTBlock
}

/// A new strong reference to the instance behind a handle; `None` for NULL.
///
/// # Safety
/// `h` is NULL or a valid instance handle (docs/spec/c-abi.md §7: not released, no `TT_Close` since).
#[inline]
pub unsafe fn instance_arc(h: *mut TTInstance) -> Option<Arc<Instance>> {
    if h.is_null() {
        return None;
    }
    let p = h as *const Instance;
    // SAFETY: a valid handle is the data pointer of a live `Arc<Instance>` (module docs), so
    // adding one strong count and materialising it as an `Arc` is balanced.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// The `Arc<T>` whose data pointer is `p`, borrowed without touching its strong count (no
/// atomic read-modify-write); `None` for NULL. Clones of it are real strong references.
///
/// # Safety
/// `p` is NULL or the data pointer of a live `Arc<T>` that stays allocated while the result
/// lives.
#[inline]
unsafe fn arc_borrowed<T>(p: *const T) -> Option<ManuallyDrop<Arc<T>>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: forwarded contract; the `ManuallyDrop` never gives back the count it did not take.
    Some(ManuallyDrop::new(unsafe { Arc::from_raw(p) }))
}

/// The `Arc<Instance>` behind a handle, borrowed without touching its strong count.
///
/// # Safety
/// `h` is NULL or a valid instance handle (the data pointer of an `Arc<Instance>`, module
/// docs), and the instance stays allocated while the result lives: the caller is pinned
/// (`tt_vm::pin`, which keeps released objects for running calls) or holds a strong reference.
#[inline]
pub unsafe fn instance_borrowed(h: *mut TTInstance) -> Option<ManuallyDrop<Arc<Instance>>> {
    // SAFETY: forwarded contract.
    unsafe { arc_borrowed(h as *const Instance) }
}

/// [`instance_borrowed`] for block handles.
///
/// # Safety
/// As [`instance_borrowed`], for a block handle (the block registry's `Arc<Block>`).
#[inline]
pub unsafe fn block_borrowed(h: *mut TTBlock) -> Option<ManuallyDrop<Arc<Block>>> {
    // SAFETY: forwarded contract.
    unsafe { arc_borrowed(h as *const Block) }
}

/// A new strong reference to the block behind a handle; `None` for NULL.
///
/// # Safety
/// `h` is NULL or a valid block handle (not released, no `TT_Close` since).
#[inline]
pub unsafe fn block_arc(h: *mut TTBlock) -> Option<Arc<Block>> {
    if h.is_null() {
        return None;
    }
    let p = h as *const Block;
    // SAFETY: as in `instance_arc`, for the block registry's `Arc<Block>`.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// Borrows the instance behind a handle.
///
/// # Safety
/// `h` is NULL or a valid instance handle that stays valid for `'a`.
#[inline]
pub unsafe fn instance_ref<'a>(h: *mut TTInstance) -> Option<&'a Instance> {
    // SAFETY: forwarded contract: a valid handle points to a live `Instance`.
    unsafe { (h as *const Instance).as_ref() }
}

/// A caller-owned `TTValue` for a runtime value (docs/spec/c-abi.md §10, runtime → C).
#[inline(always)]
pub fn to_tt(v: &Value) -> TTValue {
    if let Some(i) = v.as_small_int() {
        return TTValue::int(i);
    }
    to_tt_other(v)
}

/// [`to_tt`] of everything but an inline integer.
#[inline(never)]
fn to_tt_other(v: &Value) -> TTValue {
    match v.view() {
        ValueRef::Nil => TTValue::NIL,
        ValueRef::Bool(b) => TTValue::bool(b),
        ValueRef::Int(i) => TTValue::int(i),
        ValueRef::Float(f) => TTValue::float(f),
        ValueRef::Str(s) => TTValue::with_ptr(TT_TYPE_STRING, malloc_str(s)),
        ValueRef::Json(_) => TTValue::with_ptr(TT_TYPE_STRING, malloc_str(&v.text())),
        ValueRef::Instance(i) => TTValue::instance(instance_handle(i)),
        ValueRef::Block(b) => {
            if let Some(arc) = v.block_arc() {
                registry().ensure_registered(&arc);
            }
            TTValue::block(block_handle(b))
        }
    }
}

/// Strings lent to a C method for the duration of one call.
pub type Keep = SmallVec<[CString; 2]>;

fn cstring_cut(s: &str) -> CString {
    let b = s.as_bytes();
    let b = &b[..memchr_nul(b).unwrap_or(b.len())];
    CString::new(b).unwrap_or_default()
}

/// A `TTValue` lent to a C method: STRING payloads point into `keep`, which the caller keeps
/// alive until the call returns.
pub fn to_tt_borrowed(v: &Value, keep: &mut Keep) -> TTValue {
    match v.view() {
        ValueRef::Str(s) => {
            let c = cstring_cut(s);
            let p = c.as_ptr();
            keep.push(c);
            TTValue::with_ptr(TT_TYPE_STRING, p)
        }
        ValueRef::Json(_) => {
            let c = cstring_cut(&v.text());
            let p = c.as_ptr();
            keep.push(c);
            TTValue::with_ptr(TT_TYPE_STRING, p)
        }
        ValueRef::Block(b) => {
            if let Some(arc) = v.block_arc() {
                registry().ensure_registered(&arc);
            }
            TTValue::block(block_handle(b))
        }
        ValueRef::Instance(i) => TTValue::instance(instance_handle(i)),
        _ => to_tt(v),
    }
}

/// Checks a tag (docs/spec/c-abi.md §2.1: unknown tags fail with `invalid TTValue type <n>`).
#[inline]
pub fn check_tag(t: TTValueType) -> CapiResult<()> {
    if (TT_TYPE_NIL..=TT_TYPE_ERROR).contains(&t) {
        Ok(())
    } else {
        Err(CapiError::InvalidType(t))
    }
}

/// A runtime value for a `TTValue` received from C (docs/spec/c-abi.md §10, C → runtime). An ERROR
/// fails with its message (§4 rule 5).
///
/// # Safety
/// STRING/ERROR payloads are NULL or NUL-terminated strings; INSTANCE/BLOCK payloads are NULL
/// or valid handles.
#[inline(always)]
pub unsafe fn from_tt(v: &TTValue) -> CapiResult<Value> {
    match v.type_ {
        TT_TYPE_NIL => Ok(Value::NIL),
        TT_TYPE_INT => Ok(Value::int(v.int_val())),
        TT_TYPE_FLOAT => Ok(Value::float(v.float_val())),
        TT_TYPE_BOOL => Ok(Value::bool(v.int_val() != 0)),
        // SAFETY: forwarded contract.
        _ => unsafe { from_tt_slow(v) },
    }
}

#[inline(never)]
unsafe fn from_tt_slow(v: &TTValue) -> CapiResult<Value> {
    Ok(match v.type_ {
        // SAFETY: STRING payload contract.
        TT_TYPE_STRING => Value::string(&unsafe { c_str_or_empty(v.ptr_val()) }),
        // SAFETY: INSTANCE payload contract.
        TT_TYPE_INSTANCE => match unsafe { instance_arc(v.ptr_val()) } {
            Some(i) => Value::instance(i),
            None => Value::NIL,
        },
        // SAFETY: BLOCK payload contract.
        TT_TYPE_BLOCK => match unsafe { block_arc(v.ptr_val()) } {
            Some(b) => Value::block(b),
            None => Value::NIL,
        },
        TT_TYPE_ARRAY if v.ptr_val::<TTArray>().is_null() => {
            Value::json(serde_json::Value::Array(Vec::new()))
        }
        TT_TYPE_ERROR => {
            // SAFETY: ERROR payload contract.
            let msg = unsafe { c_str_or_empty(v.ptr_val()) };
            return Err(CapiError::ErrorValue(msg.into_owned()));
        }
        t => return Err(CapiError::InvalidType(t)),
    })
}

/// Converts an argument array (`numArgs` ≤ 0 or NULL `args` = none).
///
/// # Safety
/// `args` is NULL or points to `n` readable `TTValue`s, each satisfying [`from_tt`]'s contract.
#[inline]
pub unsafe fn args_from(args: *const TTValue, n: c_int) -> CapiResult<Args> {
    let mut out = Args::new();
    if args.is_null() || n <= 0 {
        return Ok(out);
    }
    // SAFETY: the caller guarantees `n` readable values at `args`.
    let slice = unsafe { std::slice::from_raw_parts(args, n as usize) };
    for a in slice {
        // SAFETY: per-element contract forwarded.
        out.push(unsafe { from_tt(a) }?);
    }
    Ok(out)
}

/// Converts C arguments and lends them to `f` as a slice: up to four on the stack (no
/// vector to build and drop on the hot paths of `TT_InvokeBlockDirect` and friends).
///
/// # Safety
/// As for [`args_from`].
#[inline]
pub unsafe fn with_args<R>(
    args: *const TTValue,
    n: c_int,
    f: impl FnOnce(&[Value]) -> R,
) -> CapiResult<R> {
    if args.is_null() || n <= 0 {
        return Ok(f(&[]));
    }
    let n = n as usize;
    if n > 4 {
        // SAFETY: forwarded contract.
        let v = unsafe { args_from(args, n as c_int) }?;
        return Ok(f(&v));
    }
    // SAFETY: the caller guarantees `n` readable values at `args`.
    let a = unsafe { std::slice::from_raw_parts(args, n) };
    // Each `from_tt` below: the per-element contract is forwarded. Arrays of exactly `n`
    // values: nothing but the converted arguments is initialised or dropped.
    Ok(match n {
        // SAFETY: element 0 of `n` readable values (see above).
        1 => f(&[unsafe { from_tt(&a[0]) }?]),
        // SAFETY: elements 0 and 1 of `n` readable values (see above).
        2 => f(&[unsafe { from_tt(&a[0]) }?, unsafe { from_tt(&a[1]) }?]),
        3 => f(&[
            // SAFETY: element 0 of `n` readable values (see above).
            unsafe { from_tt(&a[0]) }?,
            // SAFETY: element 1, as above.
            unsafe { from_tt(&a[1]) }?,
            // SAFETY: element 2, as above.
            unsafe { from_tt(&a[2]) }?,
        ]),
        _ => f(&[
            // SAFETY: element 0 of `n` readable values (see above).
            unsafe { from_tt(&a[0]) }?,
            // SAFETY: element 1, as above.
            unsafe { from_tt(&a[1]) }?,
            // SAFETY: element 2, as above.
            unsafe { from_tt(&a[2]) }?,
            // SAFETY: element 3, as above.
            unsafe { from_tt(&a[3]) }?,
        ]),
    })
}

/// Takes ownership of a value returned by a `TTMethodFunc` (docs/spec/c-abi.md §7): converts it and
/// frees its string with `free()`. An ERROR result fails with its message.
///
/// # Safety
/// STRING/ERROR payloads are NULL or `malloc`ed strings owned by the caller from now on;
/// INSTANCE/BLOCK payloads are NULL or valid handles.
pub unsafe fn take_result(v: TTValue) -> CapiResult<Value> {
    match v.type_ {
        TT_TYPE_STRING | TT_TYPE_ERROR => {
            let p: *mut c_char = v.ptr_val();
            // SAFETY: the method returned a NUL-terminated string or NULL.
            let r = unsafe { from_tt(&v) };
            // SAFETY: ownership of the malloc'ed string moved to us; freed exactly once.
            unsafe { libc::free(p.cast()) };
            r
        }
        // SAFETY: forwarded contract for the other types.
        _ => unsafe { from_tt(&v) },
    }
}

/// Takes ownership of a value returned by a `TTMethodFunc` and hands it on to a C caller
/// without a round trip through runtime values: the same result as `to_tt(&take_result(v)?)`
/// (canonical integer strings become INT, invalid UTF-8 is replaced, BOOL is 0/1, an ERROR
/// fails with its message), but a STRING's buffer is passed through when it can be.
///
/// # Safety
/// As [`take_result`].
#[inline(always)]
pub unsafe fn take_result_tt(v: TTValue) -> CapiResult<TTValue> {
    match v.type_ {
        TT_TYPE_NIL | TT_TYPE_INT | TT_TYPE_FLOAT => Ok(TTValue { pad: 0, ..v }),
        // SAFETY: forwarded ownership contract.
        _ => unsafe { take_result_tt_other(v) },
    }
}

/// [`take_result_tt`] of the types that need a look at the payload.
///
/// # Safety
/// As [`take_result_tt`].
#[inline(never)]
unsafe fn take_result_tt_other(v: TTValue) -> CapiResult<TTValue> {
    match v.type_ {
        TT_TYPE_BOOL => Ok(TTValue::bool(v.int_val() != 0)),
        TT_TYPE_INSTANCE | TT_TYPE_BLOCK if v.ptr_val::<u8>().is_null() => Ok(TTValue::NIL),
        TT_TYPE_INSTANCE | TT_TYPE_BLOCK => Ok(TTValue { pad: 0, ..v }),
        TT_TYPE_STRING if !v.ptr_val::<c_char>().is_null() => {
            let p: *mut c_char = v.ptr_val();
            // SAFETY: a non-NULL NUL-terminated string, owned by us now.
            let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
            match std::str::from_utf8(bytes) {
                Ok(s) => match tt_vm::value::parse_canonical_int(s) {
                    Some(i) => {
                        // SAFETY: ours, freed once; not used afterwards.
                        unsafe { libc::free(p.cast()) };
                        Ok(TTValue::int(i))
                    }
                    None => Ok(TTValue::with_ptr(TT_TYPE_STRING, p)),
                },
                // SAFETY: forwarded ownership contract.
                Err(_) => Ok(to_tt(&unsafe { take_result(v) }?)),
            }
        }
        // SAFETY: forwarded ownership contract (NULL strings, ERROR, ARRAY, bad tags).
        _ => Ok(to_tt(&unsafe { take_result(v) }?)),
    }
}

/// `TT_ValueAsString` text of a value (docs/spec/c-abi.md §5.2), or `None` for an unknown tag.
///
/// # Safety
/// As [`from_tt`] (only NULL-or-valid pointers are read).
pub unsafe fn text_of(v: &TTValue) -> CapiResult<Cow<'_, str>> {
    Ok(match v.type_ {
        TT_TYPE_NIL => Cow::Borrowed(""),
        TT_TYPE_INT => Cow::Owned(v.int_val().to_string()),
        TT_TYPE_FLOAT => Cow::Owned(float_text(v.float_val())),
        // SAFETY: STRING payload contract.
        TT_TYPE_STRING => unsafe { c_str_or_empty(v.ptr_val()) },
        TT_TYPE_BOOL => Cow::Borrowed(if v.int_val() != 0 { "true" } else { "false" }),
        // SAFETY: INSTANCE payload contract.
        TT_TYPE_INSTANCE => match unsafe { instance_ref(v.ptr_val()) } {
            Some(i) => Cow::Owned(i.id().to_owned()),
            None => Cow::Borrowed(""),
        },
        // SAFETY: BLOCK payload contract.
        TT_TYPE_BLOCK => match unsafe { block_arc(v.ptr_val()) } {
            Some(b) => Cow::Owned(b.id_text()),
            None => Cow::Borrowed(""),
        },
        TT_TYPE_ARRAY if v.ptr_val::<TTArray>().is_null() => Cow::Borrowed("[]"),
        TT_TYPE_ERROR => {
            // SAFETY: ERROR payload contract.
            let m = unsafe { c_str_or_empty(v.ptr_val()) };
            Cow::Owned(format!("Error: {m}"))
        }
        t => return Err(CapiError::InvalidType(t)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned_text(v: TTValue) -> String {
        // SAFETY: values built by `to_tt` own malloc'ed strings; freed once below.
        unsafe {
            let s = text_of(&v).unwrap().into_owned();
            if v.type_ == TT_TYPE_STRING || v.type_ == TT_TYPE_ERROR {
                libc::free(v.ptr_val());
            }
            s
        }
    }

    #[test]
    fn canonical_integer_strings_cross_as_int_and_json_as_string() {
        let v = to_tt(&Value::string("42"));
        assert_eq!(v.type_, TT_TYPE_INT);
        assert_eq!(v.int_val(), 42);
        let v = to_tt(&Value::string("007"));
        assert_eq!(v.type_, TT_TYPE_STRING);
        assert_eq!(owned_text(v), "007");
        let j = Value::json(serde_json::json!({"a": [1, "x"]}));
        let v = to_tt(&j);
        assert_eq!(v.type_, TT_TYPE_STRING);
        assert_eq!(owned_text(v), r#"{"a":[1,"x"]}"#);
        assert_eq!(to_tt(&Value::bool(true)).int_val(), 1);
        assert_eq!(owned_text(to_tt(&Value::float(3.0))), "3");
    }

    #[test]
    fn strings_are_cut_at_nul_and_invalid_utf8_is_replaced() {
        let p = malloc_str("ab\0cd");
        // SAFETY: `p` is a fresh NUL-terminated malloc'ed string, freed once.
        unsafe {
            assert_eq!(CStr::from_ptr(p).to_bytes(), b"ab");
            libc::free(p.cast());
        }
        let raw = b"a\xffb\0";
        let v = TTValue::with_ptr(TT_TYPE_STRING, raw.as_ptr().cast());
        // SAFETY: `raw` is NUL-terminated and outlives the call.
        let val = unsafe { from_tt(&v) }.unwrap();
        assert_eq!(val.text(), "a\u{fffd}b");
    }

    #[test]
    fn input_rules() {
        // SAFETY: no pointers are involved in these values except NULL.
        unsafe {
            assert!(from_tt(&TTValue::bool(true)).unwrap().as_bool().unwrap());
            let b = TTValue {
                type_: TT_TYPE_BOOL,
                pad: 7,
                payload: TTValuePayload { int_val: 5 },
            };
            assert_eq!(from_tt(&b).unwrap().as_bool(), Some(true));
            let bad = TTValue {
                type_: 9,
                ..TTValue::NIL
            };
            assert_eq!(
                from_tt(&bad).unwrap_err().to_string(),
                "invalid TTValue type 9"
            );
            let arr = TTValue::with_ptr(TT_TYPE_ARRAY, std::ptr::null());
            assert_eq!(from_tt(&arr).unwrap().text(), "[]");
            let arr = TTValue::with_ptr(TT_TYPE_ARRAY, 8 as *const c_char);
            assert_eq!(
                from_tt(&arr).unwrap_err().to_string(),
                "invalid TTValue type 7"
            );
            let s = TTValue::with_ptr(TT_TYPE_STRING, std::ptr::null());
            assert_eq!(from_tt(&s).unwrap().as_str(), Some(""));
            let e = error_value("boom");
            assert_eq!(from_tt(&e).unwrap_err().to_string(), "boom");
            assert_eq!(text_of(&e).unwrap(), "Error: boom");
            libc::free(e.ptr_val());
            assert!(
                from_tt(&TTValue::instance(std::ptr::null_mut()))
                    .unwrap()
                    .is_nil()
            );
        }
    }
}
