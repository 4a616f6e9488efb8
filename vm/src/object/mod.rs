//! The object space: class metadata kept by the vm (ivars, class-side ivars) and instances.
//!
//! # Locking
//!
//! * The instance table is a `parking_lot::RwLock<HashMap>`: lookups take shared access and
//!   never block each other; creation and release take exclusive access briefly.
//! * Each [`Instance`] has its own `RwLock` around its variables. A single ivar get or set is
//!   atomic; there is no method-level atomicity (concurrent sends to one instance interleave at
//!   ivar-access granularity, docs/spec/c-abi.md §9). No lock is held while user code runs.
//! * A released instance stays valid memory for every value still referring to it (values hold
//!   an `Arc`), but every access through it fails with `instance not found: <id>`.

mod class;
mod id;
mod instance;

pub use class::{ClassDef, ClassInfo};
pub use id::{id_prefix, is_valid_id, new_instance_id};
pub use instance::{Instance, InstanceState, NO_CACHE_CLASS};
