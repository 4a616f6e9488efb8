//! The runtime: one object space, one dispatch registry, the block registry and the tiers.
//!
//! A process normally has exactly one runtime ([`Runtime::global`]); tests may create private
//! ones with [`Runtime::new`] (the block registry is process-wide either way, docs/spec/ttbc.md §7.4).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use parking_lot::RwLock;
use tt_dispatch::{ClassId, Registry, Sel, SendCache, Side, intern, selector_name};

use crate::block::{Block, Cell, registry};
use crate::error::{Error, ErrorKind, Result};
use crate::interp::{Args, CodeUnit, DEFAULT_DEPTH_LIMIT, Run};
use crate::method::MethodImpl;
use crate::object::{ClassDef, ClassInfo, Instance, InstanceState, new_instance_id};
use crate::tier::{Compiler, TierMode};
use crate::ttbc::load_verified;
use crate::value::{Value, ValueRef};

/// The Bash bridge as seen by the runtime: runs `@ receiver selector args…`.
pub trait BashFallback: Send + Sync {
    /// Runs the send in Bash; `Ok(stdout)` on exit 0.
    fn call(&self, receiver: &str, selector: &str, args: &[String]) -> Result<String>;
}

/// Persistence as seen by the runtime.
pub trait InstanceStore: Send + Sync {
    /// Saves one instance.
    fn save(&self, rt: &Runtime, inst: &Instance) -> Result<()>;
    /// Loads the document of `id` as a fresh instance (not registered yet), if a row exists.
    fn load(&self, rt: &Runtime, id: &str) -> Result<Option<Instance>>;
    /// The instance's persisted document as JSON text (`asJson`); `None`: the runtime builds
    /// one itself.
    fn document(&self, _rt: &Runtime, _inst: &Instance) -> Result<Option<String>> {
        Ok(None)
    }
    /// Deletes the row of `id` (`delete`); a missing row is not an error.
    fn delete(&self, _id: &str) -> Result<()> {
        Ok(())
    }
}

/// A class's full ivar list, shared.
pub type IvarList = Arc<[Arc<str>]>;

/// Lazily loads a class (e.g. from a plugin file); returns true if it is now registered.
pub type ClassLoader = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Lock-free table of API send sites indexed by selector id (used by `send`/`send_sel`).
/// One chunk of lazily created sites.
type SiteChunk = Box<[OnceLock<SendCache<MethodImpl>>]>;

struct SiteTable {
    chunks: Box<[OnceLock<SiteChunk>]>,
}

const SITE_CHUNK: usize = 1024;

impl SiteTable {
    fn new() -> SiteTable {
        SiteTable {
            chunks: (0..4096).map(|_| OnceLock::new()).collect(),
        }
    }

    #[inline]
    fn get(&self, sel: Sel) -> Option<&SendCache<MethodImpl>> {
        let i = sel.0 as usize;
        let chunk = self
            .chunks
            .get(i / SITE_CHUNK)?
            .get_or_init(|| (0..SITE_CHUNK).map(|_| OnceLock::new()).collect());
        Some(chunk[i % SITE_CHUNK].get_or_init(|| SendCache::new(sel)))
    }
}

/// The runtime. See the module docs.
pub struct Runtime {
    dispatch: Registry<MethodImpl>,
    classes: RwLock<HashMap<ClassId, Arc<ClassInfo>>>,
    ivar_cache: RwLock<HashMap<ClassId, (u32, IvarList)>>,
    instances: RwLock<HashMap<Box<str>, Arc<Instance>>>,
    pragmas: RwLock<HashMap<(ClassId, bool, Sel), Vec<String>>>,
    api_sites: SiteTable,
    depth_limit: AtomicUsize,
    fallback: RwLock<Option<Arc<dyn BashFallback>>>,
    class_loader: RwLock<Option<ClassLoader>>,
    store: RwLock<Option<Arc<dyn InstanceStore>>>,
    compiler: RwLock<Option<Arc<dyn Compiler>>>,
    has_compiler: AtomicBool,
    tier_mode: AtomicU8,
    tier_threshold: AtomicU32,
}

static GLOBAL: LazyLock<Runtime> = LazyLock::new(Runtime::new);

/// True when a receiver text names a class (docs/spec/ttbc.md §10.3): starts with `A`–`Z` or contains `::`.
pub fn is_class_name(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_uppercase()) || s.contains("::")
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    /// A fresh, private runtime.
    pub fn new() -> Runtime {
        let mode = match std::env::var("TT_JIT").as_deref() {
            Ok("0") | Ok("never") => TierMode::Never,
            Ok("always") => TierMode::Always,
            _ => TierMode::Auto,
        };
        let threshold = std::env::var("TT_JIT_THRESHOLD")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(crate::tier::DEFAULT_THRESHOLD);
        Runtime {
            dispatch: Registry::new(),
            classes: RwLock::new(HashMap::new()),
            ivar_cache: RwLock::new(HashMap::new()),
            instances: RwLock::new(HashMap::new()),
            pragmas: RwLock::new(HashMap::new()),
            api_sites: SiteTable::new(),
            depth_limit: AtomicUsize::new(DEFAULT_DEPTH_LIMIT),
            fallback: RwLock::new(None),
            class_loader: RwLock::new(None),
            store: RwLock::new(None),
            compiler: RwLock::new(None),
            has_compiler: AtomicBool::new(false),
            tier_mode: AtomicU8::new(mode as u8),
            tier_threshold: AtomicU32::new(threshold),
        }
    }

    /// The process-wide runtime.
    pub fn global() -> &'static Runtime {
        &GLOBAL
    }

    /// The dispatch registry (classes and method dictionaries).
    pub fn dispatch(&self) -> &Registry<MethodImpl> {
        &self.dispatch
    }

    // ----- configuration -------------------------------------------------------------------

    /// Current activation depth limit.
    pub fn depth_limit(&self) -> usize {
        self.depth_limit.load(Ordering::Relaxed)
    }

    /// Sets the activation depth limit (at least 200).
    pub fn set_depth_limit(&self, n: usize) {
        self.depth_limit.store(n.max(200), Ordering::Relaxed);
    }

    /// Installs (or removes) the Bash bridge.
    pub fn set_bash_fallback(&self, b: Option<Arc<dyn BashFallback>>) {
        *self.fallback.write() = b;
    }

    /// True when a Bash bridge is installed.
    pub fn has_bash_fallback(&self) -> bool {
        self.fallback.read().is_some()
    }

    /// Installs (or removes) the lazy class loader.
    pub fn set_class_loader(&self, l: Option<ClassLoader>) {
        *self.class_loader.write() = l;
    }

    /// Installs (or removes) the persistence store.
    pub fn set_store(&self, s: Option<Arc<dyn InstanceStore>>) {
        *self.store.write() = s;
    }

    /// The persistence store, if any.
    pub fn store(&self) -> Option<Arc<dyn InstanceStore>> {
        self.store.read().clone()
    }

    /// Installs (or removes) the compiled tier.
    pub fn set_compiler(&self, c: Option<Arc<dyn Compiler>>) {
        self.has_compiler.store(c.is_some(), Ordering::Relaxed);
        *self.compiler.write() = c;
    }

    /// The compiled tier, if installed.
    pub fn compiler(&self) -> Option<Arc<dyn Compiler>> {
        self.compiler.read().clone()
    }

    /// Sets the tier mode.
    pub fn set_tier_mode(&self, m: TierMode) {
        self.tier_mode.store(m as u8, Ordering::Relaxed);
    }

    /// The tier mode.
    pub fn tier_mode(&self) -> TierMode {
        self.tier_mode_fast()
    }

    #[inline(always)]
    pub(crate) fn tier_mode_fast(&self) -> TierMode {
        match self.tier_mode.load(Ordering::Relaxed) {
            0 => TierMode::Never,
            1 => TierMode::Always,
            _ => TierMode::Auto,
        }
    }

    /// Sets the tier-up threshold (invocations + back-edges).
    pub fn set_tier_threshold(&self, n: u32) {
        self.tier_threshold.store(n, Ordering::Relaxed);
    }

    /// The tier-up threshold.
    pub fn tier_threshold(&self) -> u32 {
        self.tier_threshold.load(Ordering::Relaxed)
    }

    /// Counts one invocation of `unit` and compiles it when it is hot (or always, in
    /// [`TierMode::Always`]). A failure is recorded on the unit, which stays interpreted.
    #[inline]
    pub(crate) fn maybe_tier_up(&self, unit: &CodeUnit) {
        let hot = match self.tier_mode_fast() {
            TierMode::Never => return,
            TierMode::Always => true,
            // A trivial unit's own entry is cheaper than a compiled one: never worth compiling.
            TierMode::Auto if unit.trivial.is_some() => return,
            TierMode::Auto => unit.warm(1) >= self.tier_threshold(),
        };
        if hot && unit.compile_error().is_none() && self.has_compiler.load(Ordering::Relaxed) {
            self.compile_unit(unit);
        }
    }

    /// Compiles `unit` now if a compiler is installed; returns true when it is compiled.
    pub fn compile_unit(&self, unit: &CodeUnit) -> bool {
        if unit.compiled().is_some() {
            return true;
        }
        let Some(c) = self.compiler() else {
            return false;
        };
        unit.record_compiled(c.compile(unit))
    }

    // ----- classes ---------------------------------------------------------------------------

    /// Registers or replaces a class (methods of a replaced class are cleared; caches are
    /// invalidated).
    pub fn define_class(&self, def: ClassDef) -> Result<ClassId> {
        if def.name.is_empty() {
            return Err(Error::invalid("empty class name"));
        }
        let sup = def.superclass.as_deref().filter(|s| !s.is_empty());
        let cid = self.dispatch.define_class(&def.name, sup);
        self.classes
            .write()
            .insert(cid, Arc::new(ClassInfo::new(cid, &def)));
        self.ivar_cache.write().clear();
        Ok(cid)
    }

    /// The id of a registered class, loading it lazily through the class loader if needed.
    pub fn resolve_class(&self, name: &str) -> Option<ClassId> {
        if let Some(c) = self.dispatch.class_id(name) {
            return Some(c);
        }
        let loader = self.class_loader.read().clone()?;
        if loader(name) {
            self.dispatch.class_id(name)
        } else {
            None
        }
    }

    /// Vm-side metadata of a class.
    pub fn class_info(&self, cid: ClassId) -> Option<Arc<ClassInfo>> {
        self.classes.read().get(&cid).cloned()
    }

    fn class_id_or_err(&self, name: &str) -> Result<ClassId> {
        self.resolve_class(name)
            .ok_or_else(|| Error::not_found(format!("unknown class: {name}")))
    }

    /// Adds or replaces one method.
    pub fn add_method(&self, class: &str, side: Side, selector: &str, m: MethodImpl) -> Result<()> {
        let cid = self.class_id_or_err(class)?;
        let sel = intern(selector);
        if !sel.is_valid() {
            return Err(Error::invalid("invalid selector"));
        }
        self.dispatch.add_method(cid, side, sel, m);
        Ok(())
    }

    /// Replaces one side's whole method dictionary.
    pub fn set_methods(
        &self,
        class: &str,
        side: Side,
        methods: Vec<(String, MethodImpl)>,
    ) -> Result<()> {
        let cid = self.class_id_or_err(class)?;
        let ms = methods
            .into_iter()
            .map(|(s, m)| (intern(&s), m))
            .filter(|(s, _)| s.is_valid())
            .collect();
        self.dispatch.set_methods(cid, side, ms);
        Ok(())
    }

    /// Records pragma lines (e.g. `bashOnly`) of a method, for reflection.
    pub fn set_method_pragmas(
        &self,
        class: &str,
        side: Side,
        selector: &str,
        pragmas: Vec<String>,
    ) -> Result<()> {
        let cid = self.class_id_or_err(class)?;
        self.pragmas
            .write()
            .insert((cid, side == Side::Class, intern(selector)), pragmas);
        Ok(())
    }

    /// Pragmas recorded for a method.
    pub fn method_pragmas(&self, cid: ClassId, side: Side, sel: Sel) -> Vec<String> {
        self.pragmas
            .read()
            .get(&(cid, side == Side::Class, sel))
            .cloned()
            .unwrap_or_default()
    }

    /// The full ivar list of a class: the superclass's list, then own names not already present.
    pub fn ivar_names(&self, cid: ClassId) -> Arc<[Arc<str>]> {
        let epoch = self.dispatch.epoch();
        if let Some((e, list)) = self.ivar_cache.read().get(&cid)
            && *e == epoch
        {
            return list.clone();
        }
        let mut names: Vec<Arc<str>> = Vec::new();
        let classes = self.classes.read();
        for c in self.dispatch.superclass_chain(cid).into_iter().rev() {
            if let Some(info) = classes.get(&c) {
                for n in &info.own_ivars {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
        drop(classes);
        let list: Arc<[Arc<str>]> = names.into();
        self.ivar_cache.write().insert(cid, (epoch, list.clone()));
        list
    }

    fn ivar_defaults(&self, cid: ClassId) -> HashMap<Arc<str>, Value> {
        let mut out = HashMap::new();
        let classes = self.classes.read();
        for c in self.dispatch.superclass_chain(cid).into_iter().rev() {
            if let Some(info) = classes.get(&c) {
                for (n, d) in info.own_ivars.iter().zip(info.own_defaults.iter()) {
                    if let Some(d) = d {
                        out.insert(n.clone(), d.clone());
                    }
                }
            }
        }
        out
    }

    // ----- instances -------------------------------------------------------------------------

    /// Creates an instance of a registered class (ivars nil or their defaults) without sending
    /// `initialize`, makes it resident and saves it when a store is installed.
    pub fn new_instance_of(&self, cid: ClassId) -> Result<Arc<Instance>> {
        let name = self
            .dispatch
            .class_name(cid)
            .ok_or_else(|| Error::not_found(format!("unknown class: {cid:?}")))?;
        let names: Vec<Arc<str>> = self.ivar_names(cid).to_vec();
        let defaults = self.ivar_defaults(cid);
        let values = names
            .iter()
            .map(|n| defaults.get(n).cloned().unwrap_or(Value::NIL))
            .collect();
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let inst = Arc::new(Instance::new(
            new_instance_id(&name),
            name,
            Some(cid),
            Some(created.to_string()),
            InstanceState {
                names,
                values,
                orphans: Vec::new(),
            },
        ));
        self.instances
            .write()
            .insert(inst.id().into(), inst.clone());
        if let Some(store) = self.store() {
            store.save(self, &inst)?;
        }
        Ok(inst)
    }

    /// `TT_New`: creates an instance, sends `initialize` if defined, saves it.
    pub fn new_instance(&self, class: &str) -> Result<Arc<Instance>> {
        let cid = self.class_id_or_err(class)?;
        let inst = self.new_instance_of(cid)?;
        let v = Value::instance(inst.clone());
        let mut run = Run::new(self);
        let flow = run.initialize(&v).map(|_| Value::NIL);
        run.finish(flow)?;
        if inst.is_dirty()
            && let Some(store) = self.store()
        {
            store.save(self, &inst)?;
            inst.set_dirty(false);
        }
        Ok(inst)
    }

    /// Makes an instance resident (replacing a resident one with the same id).
    pub fn adopt_instance(&self, inst: Arc<Instance>) -> Arc<Instance> {
        let old = self
            .instances
            .write()
            .insert(inst.id().into(), inst.clone());
        if let Some(old) = old.filter(|o| !Arc::ptr_eq(o, &inst)) {
            old.mark_released();
        }
        inst
    }

    /// A resident instance, else one loaded from the store; `instance not found: <id>`.
    pub fn lookup_instance(&self, id: &str) -> Result<Arc<Instance>> {
        if let Some(i) = self.instances.read().get(id) {
            return Ok(i.clone());
        }
        if let Some(store) = self.store()
            && let Some(inst) = store.load(self, id)?
        {
            let mut map = self.instances.write();
            let entry = map.entry(id.into()).or_insert_with(|| Arc::new(inst));
            return Ok(entry.clone());
        }
        Err(Error::not_found(format!("instance not found: {id}")))
    }

    /// A resident instance only.
    pub fn resident_instance(&self, id: &str) -> Option<Arc<Instance>> {
        self.instances.read().get(id).cloned()
    }

    /// All resident instances.
    pub fn resident_instances(&self) -> Vec<Arc<Instance>> {
        self.instances.read().values().cloned().collect()
    }

    /// Forgets an instance or a block id (`TT_Release`). False if nothing was released.
    pub fn release(&self, id: &str) -> bool {
        let removed = self.instances.write().remove(id);
        if let Some(inst) = removed {
            inst.mark_released();
            // Calls that are still running on a raw handle keep it (crate::pin).
            crate::pin::retire(inst);
            return true;
        }
        registry().release(id)
    }

    /// Drops every instance and block (`TT_Close` after saving).
    pub fn drop_all(&self) {
        let all: Vec<_> = self.instances.write().drain().collect();
        for (_, inst) in all {
            inst.mark_released();
        }
        registry().clear();
        crate::pin::drain();
    }

    /// Number of live (resident) instances of a class.
    pub fn live_instances(&self, class: &str) -> usize {
        self.instances
            .read()
            .values()
            .filter(|i| &**i.class_name() == class)
            .count()
    }

    pub(crate) fn load_ivar(&self, this: Option<&Value>, name: &str) -> Result<Value> {
        match this.map(|t| t.view()) {
            Some(ValueRef::Instance(inst)) => Ok(inst.get(name)?.unwrap_or(Value::NIL)),
            Some(ValueRef::Str(class)) => Ok(self
                .resolve_class(class)
                .and_then(|c| self.class_info(c))
                .and_then(|i| i.class_ivar(name))
                .unwrap_or(Value::NIL)),
            _ => Ok(Value::NIL),
        }
    }

    pub(crate) fn store_ivar(&self, this: Option<&Value>, name: &str, v: Value) -> Result<()> {
        match this.map(|t| t.view()) {
            Some(ValueRef::Instance(inst)) => {
                // The common case first: the instance has the variable.
                let Err(v) = inst.set_existing(name, v)? else {
                    return Ok(());
                };
                let known = inst
                    .class_id()
                    .is_some_and(|c| self.ivar_names(c).iter().any(|n| &**n == name));
                if inst.set(name, v, known)? {
                    Ok(())
                } else {
                    Err(Error::runtime(format!(
                        "unknown instance variable '{name}' for {}",
                        inst.class_name()
                    )))
                }
            }
            Some(ValueRef::Str(class)) => {
                let info = self.resolve_class(class).and_then(|c| self.class_info(c));
                match info {
                    Some(i) if i.set_class_ivar(name, v) => Ok(()),
                    _ => Err(Error::runtime(format!(
                        "unknown instance variable '{name}' for {class}"
                    ))),
                }
            }
            _ => Ok(()),
        }
    }

    // ----- blocks ----------------------------------------------------------------------------

    /// Loads, verifies and registers a chunk with by-value capture cells (`None` = empty cell).
    pub fn register_block(&self, bytes: &[u8], captures: Vec<Option<Value>>) -> Result<Arc<Block>> {
        let verified = load_verified(bytes)?;
        let declared = verified.chunk().captures.len();
        if captures.len() > declared {
            return Err(Error::invalid(format!(
                "too many captures: got {}, block declares {declared}",
                captures.len()
            )));
        }
        let unit = CodeUnit::decode(verified);
        let mut cells: Vec<Cell> = captures
            .into_iter()
            .map(|c| Cell::Value(parking_lot::Mutex::new(c.unwrap_or(Value::NIL))))
            .collect();
        cells.resize_with(declared, || {
            Cell::Value(parking_lot::Mutex::new(Value::NIL))
        });
        let b = Arc::new(Block::new(unit, cells.into(), None, None));
        registry().ensure_registered(&b);
        Ok(b)
    }

    /// Invokes a block as an entry activation.
    pub fn invoke_block(&self, b: &Arc<Block>, args: &[Value]) -> Result<Value> {
        match Run::invoke_leaf(self, b, args) {
            Some(r) => r,
            None => self.invoke_block_in_run(b, args),
        }
    }

    /// [`Runtime::invoke_block`] of a block that is not a leaf: a run of its own. Out of line
    /// so that the leaf path keeps a small frame.
    #[inline(never)]
    fn invoke_block_in_run(&self, b: &Arc<Block>, args: &[Value]) -> Result<Value> {
        let mut run = Run::new(self);
        let flow = run.invoke_block(b, args, None);
        run.finish(flow)
    }

    /// Invokes a block by id (`TT_InvokeBlock`).
    pub fn invoke_block_id(&self, id: &str, args: &[Value]) -> Result<Value> {
        let b = registry()
            .lookup(id)
            .ok_or_else(|| crate::block::block_not_found(id))?;
        self.invoke_block(&b, args)
    }

    // ----- sends -----------------------------------------------------------------------------

    /// Sends `selector` (either spelling) to a receiver: an instance value, an instance id, a
    /// class name, or a block.
    pub fn send(&self, receiver: &Value, selector: &str, args: &[Value]) -> Result<Value> {
        let sel = intern(selector);
        if !sel.is_valid() {
            return Err(Error::invalid("invalid selector"));
        }
        self.send_sel(receiver, sel, args)
    }

    /// The per-selector inline cache that [`Runtime::send_sel`] uses (for API fast paths that
    /// look a method up themselves); `None` only for selector ids beyond the table.
    #[inline]
    pub fn api_site(&self, sel: Sel) -> Option<&SendCache<MethodImpl>> {
        self.api_sites.get(sel)
    }

    /// Sends an interned selector, through a per-selector inline cache.
    pub fn send_sel(&self, receiver: &Value, sel: Sel, args: &[Value]) -> Result<Value> {
        let fresh;
        let site = match self.api_sites.get(sel) {
            Some(s) => s,
            None => {
                fresh = SendCache::new(sel);
                &fresh
            }
        };
        let mut run = Run::new(self);
        let flow = run.send(receiver, site, args.iter().cloned().collect::<Args>(), None);
        run.finish(flow)
    }

    /// Runs a native-to-Bash fallback if a bridge is installed (`None` when there is none).
    pub fn bash_fallback(&self, receiver: &str, sel: Sel, args: &[Value]) -> Option<Result<Value>> {
        let bridge = self.fallback.read().clone()?;
        let name = selector_name(sel).unwrap_or_default();
        let args: Vec<String> = args.iter().map(|a| a.text().into_owned()).collect();
        Some(bridge.call(receiver, &name, &args).map(Value::string_owned))
    }

    // ----- reflection ------------------------------------------------------------------------

    /// Names of all registered classes, sorted.
    pub fn class_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .dispatch
            .classes()
            .into_iter()
            .map(|(_, n)| n.to_string())
            .collect();
        v.sort();
        v
    }

    /// The class name of a receiver (instance value or id, block, class name → `Class`).
    pub fn class_of(&self, receiver: &Value) -> Result<String> {
        match receiver.view() {
            ValueRef::Instance(i) => Ok(i.class_name().to_string()),
            ValueRef::Block(_) => Ok("Block".into()),
            _ => {
                let t = receiver.text();
                if registry().lookup(&t).is_some() {
                    return Ok("Block".into());
                }
                Ok(self.lookup_instance(&t)?.class_name().to_string())
            }
        }
    }

    /// Whether a receiver responds to a selector (a Bash-fallback entry counts).
    pub fn responds_to(&self, receiver: &Value, selector: &str) -> Result<bool> {
        let sel = intern(selector);
        let (cid, side) = match receiver.view() {
            ValueRef::Instance(i) => (i.class_id(), Side::Instance),
            ValueRef::Block(_) => {
                return Ok(matches!(
                    &*tt_dispatch::normalize_selector(selector),
                    "value" | "valueWith_" | "valueWith_and_" | "numArgs"
                ));
            }
            _ => {
                let t = receiver.text();
                if crate::runtime::is_class_name(&t) {
                    let c = self.class_id_or_err(&t)?;
                    if &*tt_dispatch::normalize_selector(selector) == "new" {
                        return Ok(true);
                    }
                    (Some(c), Side::Class)
                } else {
                    (self.lookup_instance(&t)?.class_id(), Side::Instance)
                }
            }
        };
        Ok(cid.is_some_and(|c| self.dispatch.lookup(c, side, sel).is_some()))
    }

    /// Superclass chain names of a class, starting with the class itself.
    pub fn superclass_chain(&self, class: &str) -> Result<Vec<String>> {
        let cid = self.class_id_or_err(class)?;
        Ok(self
            .dispatch
            .superclass_chain(cid)
            .into_iter()
            .filter_map(|c| self.dispatch.class_name(c).map(|n| n.to_string()))
            .collect())
    }

    /// Errors of the not-found kind carry this kind; helper for callers.
    pub fn is_not_found(e: &Error) -> bool {
        e.kind() == ErrorKind::NotFound
    }
}
