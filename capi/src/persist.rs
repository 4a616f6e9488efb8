//! Persistence and Bash bridge functions: `TT_Persist`, `TT_Load`, `TT_Serialize`,
//! `TT_Deserialize`, `TT_BashFallback`, and the hooks `TT_Init`/`TT_Close`/`TT_SetSessionID` use.
//! (Placeholder until `tt_vm::persist` lands.)

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use tt_vm::runtime::InstanceStore;
use tt_vm::{Instance, Runtime};

use crate::error::{CapiError, CapiResult, guard};
use crate::types::*;

/// Opens the store for `TT_Init`.
pub fn open_store(_db: Option<&str>) -> CapiResult<Option<Arc<dyn InstanceStore>>> {
    Ok(None)
}

/// Installs the Bash bridge when available.
pub fn install_bridge(_rt: &Runtime) {}

/// Saves instances modified since load/save (`TT_Close`).
pub fn save_modified(_rt: &Runtime) -> CapiResult<()> {
    Ok(())
}

/// Sets the process-wide session of the Bash bridge.
pub fn set_session(_s: Option<&str>) {}

/// The instance JSON document (persistence.md §4).
pub fn document(_inst: &Instance) -> CapiResult<String> {
    Err(CapiError::Internal("persistence not available".into()))
}

/// `int TT_Persist(char* instanceID)`.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Persist(_instance_id: *mut c_char) -> c_int {
    guard(|| Err(CapiError::Internal("persistence not available".into())))
}

/// `TTInstance* TT_Load(char* instanceID)`.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Load(_instance_id: *mut c_char) -> *mut TTInstance {
    guard(|| Err(CapiError::Internal("persistence not available".into())))
}

/// `char* TT_Serialize(TTInstance* inst)`.
///
/// # Safety
/// `inst` is NULL or a valid handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Serialize(_inst: *mut TTInstance) -> *mut c_char {
    guard(|| Err(CapiError::Internal("persistence not available".into())))
}

/// `TTInstance* TT_Deserialize(char* jsonStr)`.
///
/// # Safety
/// `json_str` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Deserialize(_json_str: *mut c_char) -> *mut TTInstance {
    guard(|| Err(CapiError::Internal("persistence not available".into())))
}

/// `char* TT_BashFallback(char* receiver, char* selector, char** args, int numArgs)`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `args` is NULL or holds `numArgs` string pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_BashFallback(
    _receiver: *mut c_char,
    _selector: *mut c_char,
    _args: *mut *mut c_char,
    _num_args: c_int,
) -> *mut c_char {
    guard(|| Err(CapiError::BridgeUnavailable))
}
