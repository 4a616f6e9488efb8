//! `tt-vm`: the core of the Trashtalk shared runtime.
//!
//! One process holds one [`Runtime`] (see [`Runtime::global`]); tests may create private ones.
//! Values are NaN-boxed ([`Value`], 8 bytes); classes and method dictionaries live in the
//! `tt-dispatch` registry; instances live in the [`object`] space; blocks are TTBC chunks
//! ([`ttbc`]) run by the [`interp`] interpreter or, when hot, by a compiled tier plugged in
//! through [`tier::Compiler`].
#![warn(missing_docs)]

pub mod block;
pub mod bridge;
pub mod error;
pub mod interp;
pub mod limits;
pub mod method;
pub mod object;
pub mod pin;
pub mod runtime;
pub mod tier;
pub mod ttbc;
pub mod value;

pub use block::Block;
pub use error::{Error, ErrorKind, Result};
pub use method::{MethodImpl, NativeFn};
pub use object::{ClassDef, Instance};
pub use runtime::Runtime;
pub use tt_dispatch::{ClassId, Sel, Side};
pub use value::{Value, ValueRef};
