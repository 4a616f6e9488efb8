//! Values (docs/spec/c-abi.md §5.2): constructors, text/integer/JSON views, `TT_ReleaseValue`, `TT_Free`.
//! All of them work before `TT_Init`.

use std::ffi::{c_char, c_int, c_void};

use tt_vm::value::{atoi, float_text};

use crate::convert::{block_arc, c_str_or_empty, check_tag, instance_ref, malloc_str, text_of};
use crate::error::{CapiResult, guard};
use crate::types::*;

/// `TTValue TT_MakeNil()`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_MakeNil() -> TTValue {
    TTValue::NIL
}

/// `TTValue TT_MakeInt(int64_t n)`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_MakeInt(n: i64) -> TTValue {
    TTValue::int(n)
}

/// `TTValue TT_MakeFloat(double f)`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_MakeFloat(f: f64) -> TTValue {
    TTValue::float(f)
}

/// `TTValue TT_MakeBool(int b)`: `intVal` = (b ≠ 0).
#[unsafe(no_mangle)]
pub extern "C" fn TT_MakeBool(b: c_int) -> TTValue {
    TTValue::bool(b != 0)
}

/// `TTValue TT_MakeString(char* s)`: a STRING owning a `malloc`ed copy (NULL → `""`).
///
/// # Safety
/// `s` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_MakeString(s: *const c_char) -> TTValue {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let text = unsafe { c_str_or_empty(s) };
        Ok(TTValue::with_ptr(TT_TYPE_STRING, malloc_str(&text)))
    })
}

/// `char* TT_ValueAsString(TTValue val)`: fresh text (caller frees); NULL for an unknown tag.
///
/// # Safety
/// `val` follows the `TTValue` input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ValueAsString(val: TTValue) -> *mut c_char {
    guard(|| {
        // SAFETY: input value contract.
        let t = unsafe { text_of(&val) }?;
        Ok(malloc_str(&t))
    })
}

/// `int64_t TT_ValueAsInt(TTValue val)`: INT; FLOAT truncated (saturating, NaN → 0); BOOL
/// 0/1; STRING by the Atoi rule; others 0.
///
/// # Safety
/// `val` follows the `TTValue` input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ValueAsInt(val: TTValue) -> i64 {
    guard(|| {
        check_tag(val.type_)?;
        Ok(match val.type_ {
            TT_TYPE_INT => val.int_val(),
            // `as` truncates toward zero, saturates, and maps NaN to 0.
            TT_TYPE_FLOAT => val.float_val() as i64,
            TT_TYPE_BOOL => (val.int_val() != 0) as i64,
            // SAFETY: STRING payload contract.
            TT_TYPE_STRING => atoi(&unsafe { c_str_or_empty(val.ptr_val()) }),
            _ => 0,
        })
    })
}

/// JSON text of a float (docs/spec/persistence.md §5.1): `.0` appended when needed; non-finite → string.
pub fn float_json(f: f64) -> String {
    if f.is_finite() {
        let t = float_text(f);
        if t.contains('.') { t } else { format!("{t}.0") }
    } else {
        json_string(&float_text(f))
    }
}

/// A JSON string literal with the spec's escaping (docs/spec/ttbc.md §12.3).
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `TT_ValueToJSON` text (docs/spec/c-abi.md §5.2).
///
/// # Safety
/// `val` follows the `TTValue` input rules.
pub unsafe fn value_json(val: &TTValue) -> CapiResult<String> {
    check_tag(val.type_)?;
    Ok(match val.type_ {
        TT_TYPE_NIL => "null".into(),
        TT_TYPE_INT => val.int_val().to_string(),
        TT_TYPE_FLOAT => float_json(val.float_val()),
        // SAFETY: STRING payload contract.
        TT_TYPE_STRING => json_string(&unsafe { c_str_or_empty(val.ptr_val()) }),
        TT_TYPE_BOOL => if val.int_val() != 0 { "true" } else { "false" }.into(),
        // SAFETY: INSTANCE payload contract.
        TT_TYPE_INSTANCE => match unsafe { instance_ref(val.ptr_val()) } {
            Some(inst) => crate::persist::document(inst)?,
            None => "null".into(),
        },
        // SAFETY: BLOCK payload contract.
        TT_TYPE_BLOCK => match unsafe { block_arc(val.ptr_val()) } {
            Some(b) => format!("{{\"_block_id\":{}}}", json_string(&b.id_text())),
            None => "null".into(),
        },
        TT_TYPE_ERROR => {
            // SAFETY: ERROR payload contract.
            let m = unsafe { c_str_or_empty(val.ptr_val()) };
            format!("{{\"_error\":{}}}", json_string(&m))
        }
        // ARRAY: NULL is the empty array; anything else is refused like on input.
        // SAFETY: only the payload bits are read.
        _ => unsafe { text_of(val) }?.into_owned(),
    })
}

/// `char* TT_ValueToJSON(TTValue val)`: fresh JSON text (caller frees); NULL for an unknown tag.
///
/// # Safety
/// `val` follows the `TTValue` input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ValueToJSON(val: TTValue) -> *mut c_char {
    guard(|| {
        // SAFETY: input value contract.
        let j = unsafe { value_json(&val) }?;
        Ok(malloc_str(&j))
    })
}

/// `void TT_ReleaseValue(TTValue val)`: STRING/ERROR → `free(stringVal)`; others nothing.
///
/// # Safety
/// `val` is a caller-owned value not released before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ReleaseValue(val: TTValue) {
    if val.type_ == TT_TYPE_STRING || val.type_ == TT_TYPE_ERROR {
        // SAFETY: a caller-owned STRING/ERROR owns a malloc'ed string (or NULL); freed once.
        unsafe { libc::free(val.ptr_val::<c_void>()) };
    }
}

/// `void TT_Free(void* ptr)`: `free(ptr)`; NULL is allowed.
///
/// # Safety
/// `ptr` is NULL or was returned by `malloc` (e.g. by this library) and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Free(ptr: *mut c_void) {
    // SAFETY: per the contract.
    unsafe { libc::free(ptr) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_json_follows_persistence_5_1() {
        assert_eq!(float_json(3.0), "3.0");
        assert_eq!(float_json(2.5), "2.5");
        assert_eq!(float_json(-0.0), "-0.0");
        assert_eq!(float_json(f64::NAN), "\"NaN\"");
        assert_eq!(float_json(f64::NEG_INFINITY), "\"-Inf\"");
        assert_eq!(json_string("a\"\u{1}/é"), "\"a\\\"\\u0001/é\"");
    }

    #[test]
    fn as_int_rules() {
        // SAFETY: no pointers are involved except static NUL-terminated strings.
        unsafe {
            assert_eq!(TT_ValueAsInt(TTValue::float(-2.9)), -2);
            assert_eq!(TT_ValueAsInt(TTValue::float(f64::NAN)), 0);
            assert_eq!(TT_ValueAsInt(TTValue::float(1e300)), i64::MAX);
            let s = TTValue::with_ptr(TT_TYPE_STRING, c"007".as_ptr());
            assert_eq!(TT_ValueAsInt(s), 7);
            let s = TTValue::with_ptr(TT_TYPE_STRING, c"-99999999999999999999".as_ptr());
            assert_eq!(TT_ValueAsInt(s), i64::MIN);
        }
    }
}
