//! `tt-host`: the safe Rust host layer of the Trashtalk runtime, used by both the C exports
//! (crate `trashtalk`, `capi/`) and the daemon (`tt`, `daemon/`).
//!
//! | module | holds |
//! |---|---|
//! | [`lifecycle`] | `init` / `close` of the process-wide runtime (store, lazy plugin loading, Bash bridge, JIT), the "initialized" gate and the published epoch cell |
//! | [`store`] | the persistence store (opening, batched saves, load, documents) and the Bash bridge session |
//! | [`plugin`] | the plugin loader: `dlopen`, `TT_PluginInit`, the registry of loaded files, lazy loading by class ([`plugin::PluginDir`]), JSON-dispatch entry points |
//! | [`reflect`] | reflection as JSON (`TT_Methods`, `TT_Stats` / `tt stats`) and the `TT_METHOD_*` flags |
#![warn(missing_docs)]

pub mod lifecycle;
pub mod plugin;
pub mod reflect;
pub mod store;
