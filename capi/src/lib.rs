//! `libtrashtalk`: the C ABI of the Trashtalk runtime (`docs/spec/c-abi.md`).
//!
//! This crate builds `libtrashtalk.so` (a `cdylib`, SONAME `libtrashtalk.so.<major>`) and an `rlib` for
//! Rust hosts. The header is `include/libtrashtalk.h`. Every exported function runs its body in
//! [`error::guard`]: no panic crosses the ABI, failures are reported through the return value
//! and the calling thread's last error.
//!
//! | module | exports |
//! |---|---|
//! | [`lifecycle`] | `TT_Init`, `TT_Close`, `TT_SetSessionID`, the gate `require_init` and the host hooks; `TT_CurrentThread`, `TT_ReleaseThread`, `TT_Interrupt`, `TT_SetDeadline`, `TT_SetMemoryLimit` |
//! | [`classes`] | `TT_RegisterClass` (C methods wrapped as runtime methods) |
//! | [`instances`] | `TT_New`, `TT_Lookup`, ivars by name and index, `TT_GetIvar`/`TT_SetIvar`, ids, `TT_MakeInstance`, `TT_Release` |
//! | [`sends`] | `TT_Send`, `TT_SendDirect`, `TT_SendSel`, `TT_Intern` |
//! | [`blocks`] | `TT_RegisterBlock`, `TT_LookupBlock`, `TT_InvokeBlock`, `TT_InvokeBlockDirect` |
//! | [`values`] | `TT_Make*`, `TT_ValueAsString`, `TT_ValueAsInt`, `TT_ValueToJSON`, `TT_ReleaseValue`, `TT_Free` |
//! | [`persist`] | `TT_Persist`, `TT_Load`, `TT_Serialize`, `TT_Deserialize`, `TT_BashFallback` |
//! | [`reflect`] | `TT_Classes`, `TT_Methods`, `TT_IVars`, `TT_Superclass`, `TT_ClassOf`, `TT_RespondsTo`, `TT_Stats` |
//! | [`error`] | `TT_GetLastError` |
//! | `version` | `TT_Version`, `TT_VersionNumber` |
//! | [`plugin`] | `tt_private_load_plugin` (the loader itself is `tt_host::plugin`, re-exported) |
//! | [`send_cache`] | the `(epoch, class, selector) → C method` cache of `TT_SendSel` / `TT_SendDirect` |
//!
//! The safe Rust host layer under these wrappers (lifecycle, store, plugin loading,
//! reflection) is the `tt-host` crate (`capi/host/`), shared with the daemon.
//!
//! Handles (`TTInstance*`, `TTBlock*`) are the addresses of the vm objects; see [`convert`] and
//! `docs/capi.md`.
#![warn(missing_docs)]
#![allow(non_snake_case)]

pub mod blocks;
pub mod classes;
pub mod convert;
pub mod error;
pub mod instances;
pub mod lifecycle;
pub mod persist;
pub mod plugin;
pub mod reflect;
pub mod send_cache;
pub mod sends;
pub mod types;
pub mod values;
mod version;

pub use error::{CapiError, CapiResult};
pub use plugin::{PluginDir, PluginError, PluginReport, load_plugin};
pub use types::*;
pub use version::{TT_Version, TT_VersionNumber};

/// `char* TT_GetLastError()`: a fresh copy of the calling thread's last error (caller frees);
/// NULL if no call on this thread has failed yet.
#[unsafe(no_mangle)]
pub extern "C" fn TT_GetLastError() -> *mut std::ffi::c_char {
    // Not `guard`: a failure here must not overwrite the error being read.
    std::panic::catch_unwind(|| match error::last_error() {
        Some(m) => convert::malloc_str(&m),
        None => std::ptr::null_mut(),
    })
    .unwrap_or(std::ptr::null_mut())
}

#[cfg(test)]
mod signature_tests {
    //! The Rust definitions of the exports have the C signatures of docs/spec/c-abi.md §3 (checked by
    //! coercing each function to the function-pointer type the header declares).
    use std::ffi::{c_char, c_int, c_void};

    use super::*;
    use crate::blocks::*;
    use crate::classes::*;
    use crate::instances::*;
    use crate::lifecycle::*;
    use crate::persist::*;
    use crate::reflect::*;
    use crate::sends::*;
    use crate::values::*;

    type S = *mut c_char;
    type CS = *const c_char;
    type I = *mut TTInstance;
    type V = TTValue;

    #[test]
    fn exports_have_the_spec_signatures() {
        let _: [usize; 50] = [
            TT_Init as unsafe extern "C" fn(CS, CS) -> c_int as usize,
            TT_Close as unsafe extern "C" fn() as usize,
            TT_RegisterClass as unsafe extern "C" fn(CS, CS, *const S, c_int, *const TTMethodTable)
                as usize,
            TT_New as unsafe extern "C" fn(CS) -> S as usize,
            TT_Lookup as unsafe extern "C" fn(CS) -> I as usize,
            TT_GetIVar as unsafe extern "C" fn(I, CS) -> V as usize,
            TT_SetIVar as unsafe extern "C" fn(I, CS, V) as usize,
            TT_GetIVarByIndex as unsafe extern "C" fn(I, c_int) -> V as usize,
            TT_SetIVarByIndex as unsafe extern "C" fn(I, c_int, V) as usize,
            TT_Send as unsafe extern "C" fn(CS, CS, *const V, c_int) -> V as usize,
            TT_SendDirect as unsafe extern "C" fn(I, CS, *const V, c_int) -> V as usize,
            TT_RegisterBlock as unsafe extern "C" fn(*const u8, usize, *const *mut V, c_int) -> S
                as usize,
            TT_LookupBlock as unsafe extern "C" fn(CS) -> *mut TTBlock as usize,
            TT_InvokeBlock as unsafe extern "C" fn(CS, *const V, c_int) -> V as usize,
            TT_InvokeBlockDirect as unsafe extern "C" fn(*mut TTBlock, *const V, c_int) -> V
                as usize,
            TT_Persist as unsafe extern "C" fn(CS) -> c_int as usize,
            TT_Load as unsafe extern "C" fn(CS) -> I as usize,
            TT_BashFallback as unsafe extern "C" fn(CS, CS, *const S, c_int) -> S as usize,
            TT_MakeNil as extern "C" fn() -> V as usize,
            TT_MakeInt as extern "C" fn(i64) -> V as usize,
            TT_MakeFloat as extern "C" fn(f64) -> V as usize,
            TT_MakeString as unsafe extern "C" fn(CS) -> V as usize,
            TT_MakeBool as extern "C" fn(c_int) -> V as usize,
            TT_ValueAsString as unsafe extern "C" fn(V) -> S as usize,
            TT_ValueAsInt as unsafe extern "C" fn(V) -> i64 as usize,
            TT_ValueToJSON as unsafe extern "C" fn(V) -> S as usize,
            TT_Serialize as unsafe extern "C" fn(I) -> S as usize,
            TT_Deserialize as unsafe extern "C" fn(CS) -> I as usize,
            TT_GetInstanceID as unsafe extern "C" fn(I) -> S as usize,
            TT_GetInstanceClass as unsafe extern "C" fn(I) -> S as usize,
            TT_MakeInstance as extern "C" fn(I) -> V as usize,
            TT_GetLastError as extern "C" fn() -> S as usize,
            TT_SetSessionID as unsafe extern "C" fn(CS) as usize,
            TT_GetIvar as unsafe extern "C" fn(I, c_int) -> V as usize,
            TT_SetIvar as unsafe extern "C" fn(I, c_int, V) as usize,
            TT_Intern as unsafe extern "C" fn(CS) -> TTSel as usize,
            TT_SendSel as unsafe extern "C" fn(I, TTSel, *const V, c_int) -> V as usize,
            TT_Release as unsafe extern "C" fn(CS) -> c_int as usize,
            TT_ReleaseValue as unsafe extern "C" fn(V) as usize,
            TT_Free as unsafe extern "C" fn(*mut c_void) as usize,
            TT_Classes as extern "C" fn() -> S as usize,
            TT_Methods as unsafe extern "C" fn(CS, c_int) -> S as usize,
            TT_IVars as unsafe extern "C" fn(CS) -> S as usize,
            TT_Superclass as unsafe extern "C" fn(CS) -> S as usize,
            TT_ClassOf as unsafe extern "C" fn(CS) -> S as usize,
            TT_RespondsTo as unsafe extern "C" fn(CS, CS) -> c_int as usize,
            TT_Stats as extern "C" fn() -> S as usize,
            version::TT_Version as extern "C" fn() -> CS as usize,
            version::TT_VersionNumber as extern "C" fn() -> c_int as usize,
            plugin::tt_private_load_plugin as unsafe extern "C" fn(CS) -> S as usize,
        ];
    }
}
