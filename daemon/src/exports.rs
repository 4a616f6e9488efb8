//! Keeps every C ABI function of the statically linked `trashtalk` crate in the executable.
//!
//! The linker only pulls in the parts of an rlib that something references, and the export list
//! (`build.rs`) only exports what was pulled in. Plugins loaded into `tt` resolve `TT_*` against
//! the executable (one runtime per process, docs/spec/c-abi.md §1), so every function is referenced here.
//!
//! This is the only file of the daemon that uses the `trashtalk` crate (the test
//! `tests/tests/daemon_layering.rs` enforces it): everything else goes through `tt_host`.

use trashtalk::{
    TT_GetLastError, TT_Version, TT_VersionNumber, blocks, classes, instances, lifecycle, persist,
    plugin, reflect, sends, values,
};

/// Addresses of all exported functions (docs/spec/c-abi.md §3 plus `tt_private_load_plugin`).
fn addresses() -> [*const (); 50] {
    [
        blocks::TT_RegisterBlock as *const (),
        blocks::TT_LookupBlock as *const (),
        blocks::TT_InvokeBlock as *const (),
        blocks::TT_InvokeBlockDirect as *const (),
        classes::TT_RegisterClass as *const (),
        instances::TT_New as *const (),
        instances::TT_Lookup as *const (),
        instances::TT_GetIVar as *const (),
        instances::TT_SetIVar as *const (),
        instances::TT_GetIVarByIndex as *const (),
        instances::TT_SetIVarByIndex as *const (),
        instances::TT_GetIvar as *const (),
        instances::TT_SetIvar as *const (),
        instances::TT_GetInstanceID as *const (),
        instances::TT_GetInstanceClass as *const (),
        instances::TT_MakeInstance as *const (),
        instances::TT_Release as *const (),
        TT_GetLastError as *const (),
        lifecycle::TT_Init as *const (),
        lifecycle::TT_Close as *const (),
        lifecycle::TT_SetSessionID as *const (),
        persist::TT_Persist as *const (),
        persist::TT_Load as *const (),
        persist::TT_Serialize as *const (),
        persist::TT_Deserialize as *const (),
        persist::TT_BashFallback as *const (),
        plugin::tt_private_load_plugin as *const (),
        reflect::TT_Classes as *const (),
        reflect::TT_Methods as *const (),
        reflect::TT_IVars as *const (),
        reflect::TT_Superclass as *const (),
        reflect::TT_ClassOf as *const (),
        reflect::TT_RespondsTo as *const (),
        reflect::TT_Stats as *const (),
        sends::TT_SendSel as *const (),
        sends::TT_SendDirect as *const (),
        sends::TT_Send as *const (),
        sends::TT_Intern as *const (),
        values::TT_MakeNil as *const (),
        values::TT_MakeInt as *const (),
        values::TT_MakeFloat as *const (),
        values::TT_MakeBool as *const (),
        values::TT_MakeString as *const (),
        values::TT_ValueAsString as *const (),
        values::TT_ValueAsInt as *const (),
        values::TT_ValueToJSON as *const (),
        values::TT_ReleaseValue as *const (),
        values::TT_Free as *const (),
        TT_Version as *const (),
        TT_VersionNumber as *const (),
    ]
}

/// Called once at startup, before the runtime is initialized: keeps the references (the
/// optimizer cannot drop them) and connects the host layer to the C ABI's per-thread state, as
/// `TT_Init` does (`trashtalk::lifecycle::install_host_hooks`).
pub fn keep() {
    std::hint::black_box(addresses());
    lifecycle::install_host_hooks();
}
