//! `tt-dispatch`: selector interning, class table and method dictionaries, superclass lookup,
//! and the inline caches used by every send (docs/spec/c-abi.md §6, §3.3).
//!
//! This crate is a leaf: it knows classes, selectors and method entries, not runtime values.
//! The method payload is a type parameter `M` supplied by the runtime.
//!
//! * [`selector`]: [`intern`], [`Sel`] — process-wide dense selector ids (`:` → `_`).
//! * [`class`]: [`ClassId`], [`Side`], [`Method`] — immutable, leaked (`'static`) records.
//! * [`registry`]: [`Registry`] — classes, dictionaries, lookup, the invalidation epoch.
//! * [`cache`]: [`SendCache`] — per-site monomorphic/polymorphic inline caches.
//! * [`mega`]: the registry's global megamorphic table ([`Registry::lookup_mega`]).
//! * [`stats`]: [`DispatchStats`] — cache states, hits, misses.
//!
//! ```
//! use tt_dispatch::{intern, CacheState, Registry, SendCache, Side};
//!
//! let reg: Registry<&'static str> = Registry::new();
//! let object = reg.define_class("Object", None);
//! let counter = reg.define_class("Counter", Some("Object"));
//! let print = intern("printOn:");
//! reg.add_method(object, Side::Instance, print, "Object>>printOn:");
//!
//! let site = SendCache::new(print);
//! assert_eq!(site.lookup(&reg, counter, Side::Instance).unwrap().imp, "Object>>printOn:");
//! assert_eq!(site.state(), CacheState::Monomorphic);
//! reg.add_method(counter, Side::Instance, print, "Counter>>printOn:");
//! assert_eq!(site.lookup(&reg, counter, Side::Instance).unwrap().imp, "Counter>>printOn:");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod class;
pub mod error;
pub mod mega;
pub mod registry;
pub mod selector;
pub mod stats;

pub use cache::{CacheState, POLY_CAPACITY, SendCache, layout};
pub use class::{ClassId, Method, Side, cache_key};
pub use error::DispatchError;
pub use mega::MEGA_ENTRIES;
pub use registry::Registry;
pub use selector::{Sel, intern, lookup_selector, normalize_selector, selector_name};
pub use stats::DispatchStats;
