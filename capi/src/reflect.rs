//! Reflection (docs/spec/c-abi.md §3.3): `TT_Classes`, `TT_Methods`, `TT_IVars`, `TT_Superclass`,
//! `TT_ClassOf`, `TT_RespondsTo`, `TT_Stats`: `extern "C"` wrappers over [`tt_host::reflect`].
//! Every `char*` result is `malloc`ed (caller frees).

use std::ffi::{c_char, c_int};

use serde_json::{Value as Json, json};
use tt_dispatch::Side;
use tt_vm::Value;

pub use tt_host::reflect::{methods_json, stats_json};

use crate::convert::{c_str_or_empty, malloc_str};
use crate::error::guard;
use crate::lifecycle::require_init;

fn class_id(rt: &tt_vm::Runtime, name: &str) -> crate::CapiResult<tt_vm::ClassId> {
    Ok(tt_host::reflect::class_id(rt, name)?)
}

fn out(j: &Json) -> *mut c_char {
    malloc_str(&j.to_string())
}

/// `char* TT_Classes(void)`: JSON array of the registered class names (sorted).
#[unsafe(no_mangle)]
pub extern "C" fn TT_Classes() -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        Ok(out(&json!(rt.class_names())))
    })
}

/// `char* TT_Methods(const char* className, int classSide)`: JSON array of
/// `{"selector","flags","owner","kind"}`, own and inherited.
///
/// # Safety
/// `class_name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Methods(class_name: *const c_char, class_side: c_int) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str_or_empty(class_name) };
        let side = if class_side != 0 {
            Side::Class
        } else {
            Side::Instance
        };
        Ok(out(&methods_json(rt, &name, side)?))
    })
}

/// `char* TT_IVars(const char* className)`: JSON array of the full ivar list.
///
/// # Safety
/// `class_name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_IVars(class_name: *const c_char) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str_or_empty(class_name) };
        let cid = class_id(rt, &name)?;
        let list = rt.ivar_names(cid);
        let names: Vec<&str> = list.iter().map(|n| &**n).collect();
        Ok(out(&json!(names)))
    })
}

/// `char* TT_Superclass(const char* className)`: the declared superclass name, `""` for a
/// root class; NULL with `unknown class: <C>` if unknown.
///
/// # Safety
/// `class_name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Superclass(class_name: *const c_char) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str_or_empty(class_name) };
        let cid = class_id(rt, &name)?;
        let sup = rt.dispatch().superclass_name(cid);
        Ok(malloc_str(sup.as_deref().unwrap_or("")))
    })
}

/// `char* TT_ClassOf(const char* receiver)`: the class of an instance id (`Block` for a
/// block id).
///
/// # Safety
/// `receiver` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_ClassOf(receiver: *const c_char) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let r = unsafe { c_str_or_empty(receiver) };
        Ok(malloc_str(&rt.class_of(&Value::string(&r))?))
    })
}

/// `int TT_RespondsTo(const char* receiver, const char* selector)`: 1 / 0, or -1 on error.
///
/// # Safety
/// Both arguments are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_RespondsTo(receiver: *const c_char, selector: *const c_char) -> c_int {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let r = unsafe { c_str_or_empty(receiver) };
        // SAFETY: as above.
        let s = unsafe { crate::convert::c_str(selector) }
            .filter(|s| !s.is_empty())
            .ok_or(crate::error::CapiError::InvalidSelector)?;
        Ok(rt.responds_to(&Value::string(&r), &s)? as c_int)
    })
}

/// `char* TT_Stats(void)`: a JSON snapshot of counters (see `docs/capi.md`).
#[unsafe(no_mangle)]
pub extern "C" fn TT_Stats() -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        Ok(out(&stats_json(rt)))
    })
}
