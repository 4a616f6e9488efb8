//! `tt_private_load_plugin`: the C entry point of the plugin loader, which is
//! [`tt_host::plugin`] (re-exported here for Rust hosts of the `rlib`).

use std::ffi::c_char;
use std::path::Path;

pub use tt_host::plugin::{
    JsonDispatch, JsonDispatchFn, PLUGIN_EXT, PluginDir, PluginError, PluginReport,
    find_json_dispatch, load_plugin, loaded_count,
};

use crate::convert::{c_str, malloc_str};
use crate::error::guard;

/// `char* tt_private_load_plugin(const char* path)`: loads a plugin with the runtime's loader
/// and returns its report as JSON (caller frees), or NULL with the reason as the last error.
/// Internal entry point for hosts and tests; not part of the public ABI.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; the plugin is trusted code.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tt_private_load_plugin(path: *const c_char) -> *mut c_char {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let p = unsafe { c_str(path) }.unwrap_or_default();
        let report = load_plugin(Path::new(&*p))?;
        Ok(malloc_str(&report.to_json().to_string()))
    })
}
