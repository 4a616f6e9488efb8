//! The store and the Bash bridge of a host: opening the persistence store (docs/spec/persistence.md §2),
//! batched saves, `load` / `deserialize` semantics, instance documents, and the process-wide
//! Bash bridge with its session (docs/spec/c-abi.md §5). The SQLite store and the instance documents are
//! [`tt_persist`]'s; the bridge is [`tt_vm::bridge::BashBridge`].

use std::path::Path;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tt_persist::instance_store::registered_ivars;
use tt_persist::{InstanceDoc, Store, document_json_of, instance_from_doc, resolve_db_path};
use tt_vm::bridge::{BashBridge, BridgeConfig};
use tt_vm::object::{is_valid_id, new_instance_id};
use tt_vm::runtime::InstanceStore;
use tt_vm::{Error, Instance, Runtime};

/// The bridge installed by `TT_Init` (kept to apply `TT_SetSessionID` and to stop the child
/// on `TT_Close`).
static BRIDGE: Mutex<Option<Arc<BashBridge>>> = Mutex::new(None);
/// The session set with `TT_SetSessionID` (possibly before `TT_Init`).
static SESSION: Mutex<Option<String>> = Mutex::new(None);
/// The [`Store`] opened by [`open_store`], as its concrete type (the runtime holds it as
/// `dyn InstanceStore`), for batched saves. Weak: the runtime's reference decides its lifetime.
static STORE: Mutex<Option<Weak<Store>>> = Mutex::new(None);

/// `instance not found: <id>`.
pub fn not_found(id: &str) -> Error {
    Error::not_found(format!("instance not found: {id}"))
}

/// Opens the store for `TT_Init` (docs/spec/persistence.md §2 resolution when `db` is `None`).
pub fn open_store(db: Option<&str>) -> Result<Option<Arc<dyn InstanceStore>>, Error> {
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

/// Reopens the runtime's [`Store`] when its database file was deleted or replaced since it
/// was opened (the Bash runtime's `rm -f instances.db`; docs/spec/persistence.md §3.5).
/// Returns whether it reopened; one `stat` when nothing changed. A store that is not the one
/// [`open_store`] opened is left alone.
pub fn reopen_if_replaced(rt: &Runtime) -> Result<bool, Error> {
    match runtime_store(rt) {
        Some(store) => Ok(store.reopen_if_replaced()?),
        None => Ok(false),
    }
}

/// Starts (`true`) or stops recording the ids the runtime's [`Store`] loads and saves one by
/// one ([`Store::track`]); no-op without such a store.
pub fn track(rt: &Runtime, on: bool) {
    if let Some(store) = runtime_store(rt) {
        store.track(on);
    }
}

/// What the runtime's [`Store`] recorded since [`track`]`(rt, true)`.
pub fn tracked(rt: &Runtime) -> tt_persist::Tracked {
    runtime_store(rt).map(|s| s.tracked()).unwrap_or_default()
}

/// Deletes the stored row of `id` from the runtime's [`Store`] (the daemon's rollback of an
/// instance created during a request, docs/spec/daemon-protocol.md §15). Returns whether a
/// row existed; `false` without such a store.
pub fn delete_row(rt: &Runtime, id: &str) -> Result<bool, Error> {
    match runtime_store(rt) {
        Some(store) => Ok(store.delete(id)?),
        None => Ok(false),
    }
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

/// The Bash bridge installed by [`install_bridge`], if any (`TT_BashFallback`).
pub fn bridge() -> Option<Arc<BashBridge>> {
    BRIDGE.lock().clone()
}

/// Stops the bridge's child process (`TT_Close`).
pub fn shutdown_bridge() {
    if let Some(b) = BRIDGE.lock().take() {
        b.shutdown();
    }
}

/// Saves every resident instance modified since it was loaded or saved (`TT_Close`), in one
/// transaction when possible ([`save_instances`]); reports the first failure.
pub fn save_modified(rt: &Runtime) -> Result<(), Error> {
    let dirty: Vec<Arc<Instance>> = rt
        .resident_instances()
        .into_iter()
        .filter(|i| i.is_dirty() && !i.is_released())
        .collect();
    save_instances(rt, &dirty)
}

/// Sets the process-wide session of the Bash bridge (`None` = the default).
pub fn set_session(s: Option<&str>) {
    *SESSION.lock() = s.map(str::to_owned);
    if let Some(b) = &*BRIDGE.lock() {
        b.set_session(s);
    }
}

/// The instance JSON document (docs/spec/persistence.md §4) of a live instance.
pub fn document(inst: &Instance) -> Result<String, Error> {
    Ok(document_json_of(inst)?)
}

/// `TT_Load` semantics: reads the row and refreshes the resident instance in place (its handle
/// stays valid) or makes a new one resident.
pub fn load(rt: &Runtime, id: &str) -> Result<Arc<Instance>, Error> {
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
pub fn deserialize(rt: &Runtime, text: &str) -> Result<Arc<Instance>, Error> {
    let doc = InstanceDoc::parse_with(text, |class| registered_ivars(rt, class))?;
    let id = match doc.id.as_deref() {
        Some(id) if is_valid_id(id) => id.to_owned(),
        _ => new_instance_id(&doc.class),
    };
    let inst = adopt_or_refresh(rt, instance_from_doc(rt, id, doc));
    inst.set_dirty(true);
    Ok(inst)
}
