//! `libtrashtalk`: the C ABI of the Trashtalk runtime (`/work/shared/spec/c-abi.md`).
//!
//! This crate builds `libtrashtalk.so` (a `cdylib`, SONAME `libtrashtalk.so`) and an `rlib` for
//! Rust hosts. The header is `include/libtrashtalk.h`. Every exported function runs its body in
//! [`error::guard`]: no panic crosses the ABI, failures are reported through the return value
//! and the calling thread's last error.
//!
//! | module | exports |
//! |---|---|
//! | [`lifecycle`] | `TT_Init`, `TT_Close`, `TT_SetSessionID` |
//! | [`classes`] | `TT_RegisterClass` (C methods wrapped as runtime methods) |
//! | [`instances`] | `TT_New`, `TT_Lookup`, ivars by name and index, `TT_GetIvar`/`TT_SetIvar`, ids, `TT_MakeInstance`, `TT_Release` |
//! | [`sends`] | `TT_Send`, `TT_SendDirect`, `TT_SendSel`, `TT_Intern` |
//! | [`blocks`] | `TT_RegisterBlock`, `TT_LookupBlock`, `TT_InvokeBlock`, `TT_InvokeBlockDirect` |
//! | [`values`] | `TT_Make*`, `TT_ValueAsString`, `TT_ValueAsInt`, `TT_ValueToJSON`, `TT_ReleaseValue`, `TT_Free` |
//! | [`persist`] | `TT_Persist`, `TT_Load`, `TT_Serialize`, `TT_Deserialize`, `TT_BashFallback` |
//! | [`reflect`] | `TT_Classes`, `TT_Methods`, `TT_IVars`, `TT_Superclass`, `TT_ClassOf`, `TT_RespondsTo`, `TT_Stats` |
//! | [`error`] | `TT_GetLastError` |
//! | [`plugin`] | the loader ([`plugin::load_plugin`], [`plugin::PluginDir`]) and `tt_private_load_plugin` |
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
pub mod sends;
pub mod types;
pub mod values;

pub use error::{CapiError, CapiResult};
pub use plugin::{PluginDir, PluginError, PluginReport, load_plugin};
pub use types::*;

/// `char* TT_GetLastError()`: a fresh copy of the calling thread's last error (caller frees);
/// NULL if no call on this thread has failed yet.
#[unsafe(no_mangle)]
pub extern "C" fn TT_GetLastError() -> *mut std::ffi::c_char {
    match error::last_error() {
        Some(m) => convert::malloc_str(&m),
        None => std::ptr::null_mut(),
    }
}
