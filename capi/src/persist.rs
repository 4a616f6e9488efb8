//! Persistence and the Bash bridge (c-abi.md §5): `TT_Persist`, `TT_Load`, `TT_Serialize`,
//! `TT_Deserialize`, `TT_BashFallback`, and the hooks `TT_Init` / `TT_Close` /
//! `TT_SetSessionID` use. The SQLite store and the instance documents are
//! [`tt_persist`]'s; the bridge is [`tt_vm::bridge::BashBridge`].

use std::ffi::{c_char, c_int};
use std::path::Path;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tt_persist::instance_store::registered_ivars;
use tt_persist::{InstanceDoc, Store, document_json_of, instance_from_doc, resolve_db_path};
use tt_vm::bridge::{BashBridge, BridgeConfig};
use tt_vm::object::{is_valid_id, new_instance_id};
use tt_vm::runtime::InstanceStore;
use tt_vm::{Error, Instance, Runtime};

use crate::convert::{c_str, c_str_or_empty, instance_handle, instance_ref, malloc_str};
use crate::error::{CapiError, CapiResult, guard};
use crate::lifecycle::require_init;
use crate::types::*;

/// The bridge installed by `TT_Init` (kept to apply `TT_SetSessionID` and to stop the child
/// on `TT_Close`).
static BRIDGE: Mutex<Option<Arc<BashBridge>>> = Mutex::new(None);
/// The session set with `TT_SetSessionID` (possibly before `TT_Init`).
static SESSION: Mutex<Option<String>> = Mutex::new(None);
/// The [`Store`] opened by [`open_store`], as its concrete type (the runtime holds it as
/// `dyn InstanceStore`), for batched saves. Weak: the runtime's reference decides its lifetime.
static STORE: Mutex<Option<Weak<Store>>> = Mutex::new(None);

fn not_found(id: &str) -> CapiError {
    Error::not_found(format!("instance not found: {id}")).into()
}

/// Opens the store for `TT_Init` (persistence.md §2 resolution when `db` is `None`).
pub fn open_store(db: Option<&str>) -> CapiResult<Option<Arc<dyn InstanceStore>>> {
    let path = resolve_db_path(db.filter(|d| !d.is_empty()).map(Path::new));
    let store = Arc::new(Store::open(&path).map_err(Error::from)?);
    *STORE.lock() = Some(Arc::downgrade(&store));
    Ok(Some(store))
}

/// The runtime's store as a [`Store`], when it is the one [`open_store`] opened.
fn runtime_store(rt: &Runtime) -> Option<Arc<Store>> {
    let current = rt.store()?;
    let store = STORE.lock().as_ref()?.upgrade()?;
    let same = std::ptr::addr_eq(Arc::as_ptr(&current), Arc::as_ptr(&store));
    same.then_some(store)
}

/// Saves `insts` (TT_Close, the daemon's end of request): with the runtime's own [`Store`] in
/// one transaction ([`Store::save_instances`]); if that batch fails for another reason than a
/// busy database, each instance is saved on its own so that one bad instance does not keep
/// the others from being saved. Returns the first error.
pub fn save_instances(rt: &Runtime, insts: &[Arc<Instance>]) -> Result<(), Error> {
    let Some(store) = rt.store() else {
        return Ok(());
    };
    if insts.is_empty() {
        return Ok(());
    }
    if let Some(typed) = runtime_store(rt) {
        match typed.save_instances(insts) {
            Ok(_) => return Ok(()),
            // Every instance would wait for the same lock again.
            Err(e) if e.is_busy() => return Err(e.into()),
            Err(_) => {}
        }
    }
    let mut first = Ok(());
    for inst in insts {
        match store.save(rt, inst) {
            Ok(()) => inst.set_dirty(false),
            Err(e) if first.is_ok() => first = Err(e),
            Err(_) => {}
        }
    }
    first
}

/// Installs the Bash bridge when `$TRASHTALK_ROOT/lib/trash.bash` (default
/// `~/.trashtalk/lib/trash.bash`) exists; removes it otherwise.
pub fn install_bridge(rt: &Runtime) {
    let config = BridgeConfig::from_env();
    let mut slot = BRIDGE.lock();
    if config.available() {
        let b = Arc::new(BashBridge::new(config));
        b.set_session(SESSION.lock().as_deref());
        rt.set_bash_fallback(Some(b.clone()));
        *slot = Some(b);
    } else {
        rt.set_bash_fallback(None);
        *slot = None;
    }
}

/// Stops the bridge's child process (`TT_Close`).
pub fn shutdown_bridge() {
    if let Some(b) = BRIDGE.lock().take() {
        b.shutdown();
    }
}

/// Saves every resident instance modified since it was loaded or saved (`TT_Close`), in one
/// transaction when possible ([`save_instances`]); reports the first failure.
pub fn save_modified(rt: &Runtime) -> CapiResult<()> {
    let dirty: Vec<Arc<Instance>> = rt
        .resident_instances()
        .into_iter()
        .filter(|i| i.is_dirty() && !i.is_released())
        .collect();
    Ok(save_instances(rt, &dirty)?)
}

/// Sets the process-wide session of the Bash bridge (`None` = the default).
pub fn set_session(s: Option<&str>) {
    *SESSION.lock() = s.map(str::to_owned);
    if let Some(b) = &*BRIDGE.lock() {
        b.set_session(s);
    }
}

/// The instance JSON document (persistence.md §4) of a live instance.
pub fn document(inst: &Instance) -> CapiResult<String> {
    Ok(document_json_of(inst).map_err(Error::from)?)
}

/// `TT_Load` semantics: reads the row and refreshes the resident instance in place (its handle
/// stays valid) or makes a new one resident.
pub fn load(rt: &Runtime, id: &str) -> CapiResult<Arc<Instance>> {
    if !is_valid_id(id) {
        return Err(not_found(id));
    }
    let store = rt.store().ok_or_else(|| not_found(id))?;
    let fresh = store.load(rt, id)?.ok_or_else(|| not_found(id))?;
    Ok(adopt_or_refresh(rt, fresh))
}

fn adopt_or_refresh(rt: &Runtime, fresh: Instance) -> Arc<Instance> {
    if let Some(resident) = rt.resident_instance(fresh.id())
        && resident.class_name() == fresh.class_name()
        && !resident.is_released()
    {
        if let Ok(state) = fresh.snapshot() {
            resident.replace_state(state);
        }
        return resident;
    }
    rt.adopt_instance(Arc::new(fresh))
}

/// `TT_Deserialize` semantics: parses a document, creates or updates the instance named by a
/// valid string `id` (else a fresh id), makes it resident, does not save it.
pub fn deserialize(rt: &Runtime, text: &str) -> CapiResult<Arc<Instance>> {
    let doc =
        InstanceDoc::parse_with(text, |class| registered_ivars(rt, class)).map_err(Error::from)?;
    let id = match doc.id.as_deref() {
        Some(id) if is_valid_id(id) => id.to_owned(),
        _ => new_instance_id(&doc.class),
    };
    let inst = adopt_or_refresh(rt, instance_from_doc(rt, id, doc));
    inst.set_dirty(true);
    Ok(inst)
}

/// `int TT_Persist(char* instanceID)`: saves the resident instance. 0, or -1.
///
/// # Safety
/// `instance_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Persist(instance_id: *mut c_char) -> c_int {
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
pub unsafe extern "C" fn TT_Load(instance_id: *mut c_char) -> *mut TTInstance {
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
pub unsafe extern "C" fn TT_Deserialize(json_str: *mut c_char) -> *mut TTInstance {
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
    receiver: *mut c_char,
    selector: *mut c_char,
    args: *mut *mut c_char,
    num_args: c_int,
) -> *mut c_char {
    guard(|| {
        require_init()?;
        let bridge = BRIDGE.lock().clone().ok_or(CapiError::BridgeUnavailable)?;
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
