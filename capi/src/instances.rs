//! Instances: `TT_New`, `TT_Lookup`, ivar access by name and index (and the plan's
//! `TT_GetIvar`/`TT_SetIvar` aliases), ids, classes, `TT_MakeInstance`, `TT_Release`.

use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::sync::Arc;

use tt_vm::{ClassId, Instance, Runtime, Value};

use crate::convert::{c_str_or_empty, from_tt, instance_handle, instance_ref, malloc_str, to_tt};
use crate::error::{CapiError, CapiResult, guard, guard_with};
use crate::lifecycle::require_init;
use crate::types::*;

/// The instance behind a handle, or `nil instance`; released ones fail with
/// `instance not found: <id>`.
///
/// # Safety
/// `h` is NULL or a valid handle that stays valid for `'a`.
#[inline]
pub unsafe fn live<'a>(h: *mut TTInstance) -> CapiResult<&'a Instance> {
    // SAFETY: forwarded contract.
    let Some(inst) = (unsafe { instance_ref(h) }) else {
        return Err(CapiError::NilInstance);
    };
    inst.check_live()?;
    Ok(inst)
}

/// A class's full ivar list as of a dispatch epoch.
type IvarList = (ClassId, u32, Arc<[Arc<str>]>);

thread_local! {
    /// The last class ivar list used on this thread: (class, epoch) → names.
    static IVARS: RefCell<Option<IvarList>> = const { RefCell::new(None) };
}

/// The full ivar list that indexes address: the class's list, or for an instance of a class
/// unknown to this runtime, the instance's own variable names.
fn indexed_names(rt: &Runtime, inst: &Instance) -> CapiResult<Arc<[Arc<str>]>> {
    let Some(cid) = inst.class_id() else {
        return Ok(inst.with_state(|st| st.names.clone().into())?);
    };
    let epoch = rt.dispatch().epoch();
    if let Some(hit) = IVARS.with(|c| match &*c.borrow() {
        Some((c, e, names)) if *c == cid && *e == epoch => Some(names.clone()),
        _ => None,
    }) {
        return Ok(hit);
    }
    let names = rt.ivar_names(cid);
    IVARS.with(|c| *c.borrow_mut() = Some((cid, epoch, names.clone())));
    Ok(names)
}

fn out_of_range(inst: &Instance, index: c_int) -> CapiError {
    CapiError::IvarIndex {
        index,
        class: inst.class_name().to_string(),
    }
}

/// Reads ivar `index` of the class's full list.
pub fn get_by_index(rt: &Runtime, inst: &Instance, index: c_int) -> CapiResult<Value> {
    // Fast path: the class's list is this thread's cached one (no reference-count traffic).
    if let Some(cid) = inst.class_id() {
        let epoch = rt.dispatch().epoch();
        let hit = IVARS.with(|c| match &*c.borrow() {
            Some((c, e, names)) if *c == cid && *e == epoch => Some(read_slot(inst, names, index)),
            _ => None,
        });
        if let Some(r) = hit {
            return r;
        }
    }
    let names = indexed_names(rt, inst)?;
    read_slot(inst, &names, index)
}

fn read_slot(inst: &Instance, names: &[Arc<str>], index: c_int) -> CapiResult<Value> {
    let name = usize::try_from(index)
        .ok()
        .and_then(|i| names.get(i))
        .ok_or_else(|| out_of_range(inst, index))?;
    let i = index as usize;
    Ok(inst.with_state(|st| {
        // Runtime-created instances hold the class's list in order: check that slot first.
        match st.names.get(i) {
            Some(n) if Arc::ptr_eq(n, name) || **n == **name => st.values[i].clone(),
            _ => st
                .position(name)
                .map(|p| st.values[p].clone())
                .unwrap_or(Value::NIL),
        }
    })?)
}

/// Writes ivar `index` of the class's full list.
pub fn set_by_index(rt: &Runtime, inst: &Instance, index: c_int, v: Value) -> CapiResult<()> {
    let names = indexed_names(rt, inst)?;
    let name = usize::try_from(index)
        .ok()
        .and_then(|i| names.get(i))
        .ok_or_else(|| out_of_range(inst, index))?;
    inst.set(name, v, true)?;
    Ok(())
}

/// Writes a named ivar: a name of the class's full list or of the instance's variables.
pub fn set_by_name(rt: &Runtime, inst: &Instance, name: &str, v: Value) -> CapiResult<()> {
    let known = inst
        .class_id()
        .is_some_and(|c| rt.ivar_names(c).iter().any(|n| &**n == name));
    if inst.set(name, v, known)? {
        Ok(())
    } else {
        Err(CapiError::UnknownIvar {
            name: name.to_owned(),
            class: inst.class_name().to_string(),
        })
    }
}

/// `char* TT_New(char* className)`: a new instance's id (caller frees), or NULL.
///
/// # Safety
/// `class_name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_New(class_name: *const c_char) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str_or_empty(class_name) };
        let inst = rt.new_instance(&name)?;
        Ok(malloc_str(inst.id()))
    })
}

/// `TTInstance* TT_Lookup(char* instanceID)`: a borrowed handle (resident, else loaded), or
/// NULL with `instance not found: <id>`.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Lookup(instance_id: *const c_char) -> *mut TTInstance {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(instance_id) };
        if !tt_vm::object::is_valid_id(&id) {
            return Err(tt_vm::Error::not_found(format!("instance not found: {id}")).into());
        }
        let inst = rt.lookup_instance(&id)?;
        Ok(instance_handle(&inst))
    })
}

/// `TTValue TT_GetIVar(TTInstance* inst, char* name)`: a copy of the named ivar (NIL when the
/// instance has no such variable; NIL + last error on failure).
///
/// # Safety
/// `inst` is NULL or a valid handle; `name` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_GetIVar(inst: *mut TTInstance, name: *const c_char) -> TTValue {
    guard_with(
        |_| TTValue::NIL,
        || {
            require_init()?;
            // SAFETY: NULL or a valid handle per the contract.
            let inst = unsafe { live(inst) }?;
            // SAFETY: NULL or NUL-terminated per the contract.
            let name = unsafe { c_str_or_empty(name) };
            Ok(inst.get(&name)?.as_ref().map_or(TTValue::NIL, to_tt))
        },
    )
}

/// `void TT_SetIVar(TTInstance* inst, char* name, TTValue val)`: stores a copy.
///
/// # Safety
/// `inst` is NULL or a valid handle; `name` is NULL or NUL-terminated; `val` follows the
/// `TTValue` input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SetIVar(inst: *mut TTInstance, name: *const c_char, val: TTValue) {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or a valid handle per the contract.
        let inst = unsafe { live(inst) }?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str_or_empty(name) };
        // SAFETY: input value contract.
        let v = unsafe { from_tt(&val) }?;
        set_by_name(rt, inst, &name, v)
    })
}

/// `TTValue TT_GetIVarByIndex(TTInstance* inst, int index)`: ivar `index` of the class's full
/// list (superclass variables first); NIL when out of range.
///
/// # Safety
/// `inst` is NULL or a valid handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_GetIVarByIndex(inst: *mut TTInstance, index: c_int) -> TTValue {
    guard_with(
        |_| TTValue::NIL,
        || {
            let rt = require_init()?;
            // SAFETY: NULL or a valid handle per the contract.
            let inst = unsafe { live(inst) }?;
            Ok(to_tt(&get_by_index(rt, inst, index)?))
        },
    )
}

/// `void TT_SetIVarByIndex(TTInstance* inst, int index, TTValue val)`.
///
/// # Safety
/// `inst` is NULL or a valid handle; `val` follows the `TTValue` input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SetIVarByIndex(inst: *mut TTInstance, index: c_int, val: TTValue) {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or a valid handle per the contract.
        let inst = unsafe { live(inst) }?;
        // SAFETY: input value contract.
        let v = unsafe { from_tt(&val) }?;
        set_by_index(rt, inst, index, v)
    })
}

/// `TTValue TT_GetIvar(TTInstance* inst, int index)`: the plan's spelling, an alias of
/// `TT_GetIVarByIndex` (docs/spec/c-abi.md §3.2).
///
/// # Safety
/// As `TT_GetIVarByIndex`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_GetIvar(inst: *mut TTInstance, index: c_int) -> TTValue {
    // SAFETY: same contract.
    unsafe { TT_GetIVarByIndex(inst, index) }
}

/// `void TT_SetIvar(TTInstance* inst, int index, TTValue val)`: alias of `TT_SetIVarByIndex`.
///
/// # Safety
/// As `TT_SetIVarByIndex`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SetIvar(inst: *mut TTInstance, index: c_int, val: TTValue) {
    // SAFETY: same contract.
    unsafe { TT_SetIVarByIndex(inst, index, val) }
}

/// `char* TT_GetInstanceID(TTInstance* inst)`: a fresh copy of the id; NULL for NULL.
///
/// # Safety
/// `inst` is NULL or a valid handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_GetInstanceID(inst: *mut TTInstance) -> *mut c_char {
    guard(|| {
        require_init()?;
        // SAFETY: NULL or a valid handle per the contract.
        let inst = unsafe { instance_ref(inst) }.ok_or(CapiError::NilInstance)?;
        Ok(malloc_str(inst.id()))
    })
}

/// `char* TT_GetInstanceClass(TTInstance* inst)`: a fresh copy of the class name.
///
/// # Safety
/// `inst` is NULL or a valid handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_GetInstanceClass(inst: *mut TTInstance) -> *mut c_char {
    guard(|| {
        require_init()?;
        // SAFETY: NULL or a valid handle per the contract.
        let inst = unsafe { instance_ref(inst) }.ok_or(CapiError::NilInstance)?;
        Ok(malloc_str(inst.class_name()))
    })
}

/// `TTValue TT_MakeInstance(TTInstance* inst)`: an INSTANCE wrapping the borrowed handle; NIL
/// for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn TT_MakeInstance(inst: *mut TTInstance) -> TTValue {
    if inst.is_null() {
        TTValue::NIL
    } else {
        TTValue::instance(inst)
    }
}

/// `int TT_Release(const char* id)`: forgets an instance id or a block id. 0, or -1 with
/// `not found: <id>`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string. Handles for that id become invalid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Release(id: *const c_char) -> c_int {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(id) };
        if rt.release(&id) {
            Ok(0)
        } else {
            Err(CapiError::NotFound(id.into_owned()))
        }
    })
}
