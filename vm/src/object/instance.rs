//! Instances: an id, a class, and variable slots behind a per-instance lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::RwLock;
use tt_dispatch::ClassId;

use crate::error::{Error, Result};
use crate::value::Value;

/// The mutable part of an instance.
#[derive(Debug, Clone, Default)]
pub struct InstanceState {
    /// Variable names in `_vars` order (inherited first for runtime-created instances).
    pub names: Vec<Arc<str>>,
    /// Values, parallel to `names`.
    pub values: Vec<Value>,
    /// Document keys that are not variables, preserved on rewrite.
    pub orphans: Vec<(String, serde_json::Value)>,
}

impl InstanceState {
    /// Position of a variable by name.
    #[inline]
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| &**n == name)
    }
}

/// The [`Instance::cache_class`] of an instance without a dispatch class, or a released one:
/// an odd class key (class side) of a class id no registry hands out (ids are dense from 0), so
/// an instance-side cache check against it always misses.
pub const NO_CACHE_CLASS: u32 = u32::MAX;

/// A live instance. Shared through `Arc`; see the module docs of [`crate::object`] for locking.
#[derive(Debug)]
pub struct Instance {
    /// The inline-cache class key of a send to this instance (`class_id << 1`, side 0), or
    /// [`NO_CACHE_CLASS`] when it has no dispatch class or has been released. Compiled code
    /// reads it at [`Instance::CACHE_CLASS_OFFSET`] to check a send site's cache without a call.
    cache_class: AtomicU32,
    id: Box<str>,
    class_name: Arc<str>,
    class_id: Option<ClassId>,
    created_at: Option<String>,
    state: RwLock<InstanceState>,
    released: AtomicBool,
    dirty: AtomicBool,
}

impl Instance {
    /// Byte offset of the `u32` cache class key ([`Instance::cache_class`]) from the address an
    /// instance value's payload points to (the `Instance` inside its `Arc`).
    pub const CACHE_CLASS_OFFSET: usize = std::mem::offset_of!(Instance, cache_class);

    /// A new instance with the given variables.
    pub fn new(
        id: String,
        class_name: Arc<str>,
        class_id: Option<ClassId>,
        created_at: Option<String>,
        state: InstanceState,
    ) -> Instance {
        // Counted against the thread's memory budget (`crate::limits`; past it the call stops
        // at its next poll).
        crate::limits::charge(std::mem::size_of::<Instance>() + 16 + id.len());
        Instance {
            cache_class: AtomicU32::new(class_id.map_or(NO_CACHE_CLASS, |c| c.0 << 1)),
            id: id.into_boxed_str(),
            class_name,
            class_id,
            created_at,
            state: RwLock::new(state),
            released: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
        }
    }

    /// The id.
    #[inline]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The class name.
    pub fn class_name(&self) -> &Arc<str> {
        &self.class_name
    }

    /// The dispatch class id, `None` when the class is not registered in this runtime.
    #[inline]
    pub fn class_id(&self) -> Option<ClassId> {
        self.class_id
    }

    /// `created_at` as stored (epoch seconds for runtime-created instances).
    pub fn created_at(&self) -> Option<&str> {
        self.created_at.as_deref()
    }

    /// True once released: every access fails.
    #[inline]
    pub fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// The inline-cache class key of an instance-side send to this instance: `class_id << 1`,
    /// or [`NO_CACHE_CLASS`] when it has no dispatch class or is released (compiled code's
    /// cache check then misses and takes the general path, which reports the error).
    #[inline]
    pub fn cache_class(&self) -> u32 {
        self.cache_class.load(Ordering::Acquire)
    }

    /// Marks the instance released (called by the object space).
    pub fn mark_released(&self) {
        self.cache_class.store(NO_CACHE_CLASS, Ordering::Release);
        self.released.store(true, Ordering::Release);
    }

    /// Fails with `instance not found: <id>` when released.
    #[inline]
    pub fn check_live(&self) -> Result<()> {
        if self.is_released() {
            Err(Error::not_found(format!("instance not found: {}", self.id)))
        } else {
            Ok(())
        }
    }

    /// True when modified since the last save/load.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Sets or clears the modified flag.
    pub fn set_dirty(&self, d: bool) {
        self.dirty.store(d, Ordering::Release);
    }

    /// Reads a variable by name (`None` when the instance has no such variable).
    pub fn get(&self, name: &str) -> Result<Option<Value>> {
        self.check_live()?;
        let st = self.state.read();
        Ok(st.position(name).map(|i| st.values[i].clone()))
    }

    /// Writes an existing variable by name; hands `v` back when the instance has no such
    /// variable (the caller decides whether it may be added: [`Instance::set`]).
    pub fn set_existing(&self, name: &str, v: Value) -> Result<std::result::Result<(), Value>> {
        self.check_live()?;
        let mut st = self.state.write();
        match st.position(name) {
            Some(i) => {
                let old = std::mem::replace(&mut st.values[i], v);
                drop(st);
                // Dropped outside the lock: releasing a value may run arbitrary destructors.
                drop(old);
                self.set_dirty(true);
                Ok(Ok(()))
            }
            None => Ok(Err(v)),
        }
    }

    /// Writes a variable by name; appends it when `allow_new` and absent. Returns false when
    /// the variable is absent and not allowed.
    pub fn set(&self, name: &str, v: Value, allow_new: bool) -> Result<bool> {
        self.check_live()?;
        let mut st = self.state.write();
        match st.position(name) {
            Some(i) => st.values[i] = v,
            None if allow_new => {
                st.names.push(name.into());
                st.values.push(v);
            }
            None => return Ok(false),
        }
        drop(st);
        self.set_dirty(true);
        Ok(true)
    }

    /// A snapshot of the state.
    pub fn snapshot(&self) -> Result<InstanceState> {
        self.check_live()?;
        Ok(self.state.read().clone())
    }

    /// Replaces the whole state (load/refresh).
    pub fn replace_state(&self, state: InstanceState) {
        *self.state.write() = state;
    }

    /// Runs `f` with shared access to the state.
    pub fn with_state<R>(&self, f: impl FnOnce(&InstanceState) -> R) -> Result<R> {
        self.check_live()?;
        Ok(f(&self.state.read()))
    }
}
