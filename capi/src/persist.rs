//! Persistence and the Bash bridge (docs/spec/c-abi.md §5): `TT_Persist`, `TT_Load`, `TT_Serialize`,
//! `TT_Deserialize`, `TT_BashFallback`: `extern "C"` wrappers over [`tt_host::store`], which
//! also holds the bridge and session state `tt_host::lifecycle` and `TT_SetSessionID` use
//! (re-exported here).

use std::ffi::{c_char, c_int};

use tt_vm::Error;

pub use tt_host::store::{
    deserialize, document, install_bridge, load, open_store, save_instances, save_modified,
    set_session, shutdown_bridge,
};

use crate::convert::{c_str, c_str_or_empty, instance_handle, instance_ref, malloc_str};
use crate::error::{CapiError, guard};
use crate::lifecycle::require_init;
use crate::types::*;

fn not_found(id: &str) -> CapiError {
    tt_host::store::not_found(id).into()
}

/// `int TT_Persist(char* instanceID)`: saves the resident instance. 0, or -1.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Persist(instance_id: *const c_char) -> c_int {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(instance_id) };
        let inst = rt
            .resident_instance(&id)
            .filter(|i| !i.is_released())
            .ok_or_else(|| not_found(&id))?;
        let store = rt.store().ok_or_else(|| not_found(&id))?;
        store.save(rt, &inst)?;
        Ok(0)
    })
}

/// `TTInstance* TT_Load(char* instanceID)`: reads the row, creating or refreshing the resident
/// instance (unsaved changes are discarded). NULL + `instance not found: <id>` without a row.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Load(instance_id: *const c_char) -> *mut TTInstance {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(instance_id) };
        let inst = load(rt, &id)?;
        Ok(instance_handle(&inst))
    })
}

/// `char* TT_Serialize(TTInstance* inst)`: the instance's JSON document (caller frees).
///
/// # Safety
/// `inst` is NULL or a valid handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Serialize(inst: *mut TTInstance) -> *mut c_char {
    guard(|| {
        require_init()?;
        // SAFETY: NULL or a valid handle per the contract.
        let inst = unsafe { instance_ref(inst) }.ok_or(CapiError::NilInstance)?;
        Ok(malloc_str(&document(inst)?))
    })
}

/// `TTInstance* TT_Deserialize(char* jsonStr)`: see [`deserialize`]. NULL +
/// `invalid instance JSON: <detail>` on bad input.
///
/// # Safety
/// `json_str` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Deserialize(json_str: *const c_char) -> *mut TTInstance {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let text = unsafe { c_str_or_empty(json_str) };
        let inst = deserialize(rt, &text)?;
        Ok(instance_handle(&inst))
    })
}

/// `char* TT_BashFallback(char* receiver, char* selector, char** args, int numArgs)`: runs
/// `@ receiver selector args…` through the Bash bridge; stdout without one trailing newline.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `args` is NULL or holds `numArgs` string pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_BashFallback(
    receiver: *const c_char,
    selector: *const c_char,
    args: *const *mut c_char,
    num_args: c_int,
) -> *mut c_char {
    guard(|| {
        require_init()?;
        let bridge = tt_host::store::bridge().ok_or(CapiError::BridgeUnavailable)?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let recv = unsafe { c_str_or_empty(receiver) };
        // SAFETY: as above.
        let sel = unsafe { c_str(selector) }
            .filter(|s| !s.is_empty())
            .ok_or(CapiError::InvalidSelector)?;
        let mut argv = Vec::new();
        if !args.is_null() && num_args > 0 {
            // SAFETY: `numArgs` readable pointers per the contract.
            let ptrs = unsafe { std::slice::from_raw_parts(args, num_args as usize) };
            for &p in ptrs {
                // SAFETY: each is NULL or NUL-terminated.
                argv.push(unsafe { c_str_or_empty(p) }.into_owned());
            }
        }
        let out = bridge
            .call(&bridge.session(), &recv, &sel.replace(':', "_"), &argv)
            .map_err(Error::from)?;
        Ok(malloc_str(&out))
    })
}
