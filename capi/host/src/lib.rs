//! `tt-host`: the safe Rust host layer of the Trashtalk runtime, used by both the C exports
//! (crate `trashtalk`, `capi/`) and the daemon (`tt`, `daemon/`).
//!
//! | module | holds |
//! |---|---|
//! | [`store`] | the persistence store (opening, batched saves, load, documents) and the Bash bridge session |
#![warn(missing_docs)]

pub mod store;
