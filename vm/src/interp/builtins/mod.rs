//! Built-in protocol: the answers the runtime gives without a method dictionary entry
//! (docs/spec/ttbc.md §10.4, decisions in docs/builtins.md).
//!
//! * [`object_method`]: the object protocol every instance answers (`class`, `id`,
//!   `printString`, `yourself`, `respondsTo:`, `isKindOf:`, `perform:` …, `asJson`, `delete`),
//!   consulted when the class chain has no method for the selector, or only the Bash runtime's
//!   own `Object` raw method (whose answer the built-in reproduces).
//! * [`primitive_method`]: the protocol of integers, floats, strings, booleans, nil and blocks.
//!
//! Each table is a map from interned selector to a [`NativeFn`], the same record a native
//! method of a class has, so a built-in call is an ordinary native call in both tiers.

mod object;
mod primitive;

use std::collections::HashMap;
use std::sync::LazyLock;

use tt_dispatch::{Method, Sel, SendCache, intern};

use crate::block::{BLOCK_ID_PREFIX, registry};
use crate::error::{Error, Result};
use crate::interp::{Args, Flow, Run, Unwind};
use crate::method::{MethodImpl, NativeFn};
use crate::runtime::Runtime;
use crate::value::{Value, ValueRef};

/// A built-in method table.
type Table = HashMap<Sel, NativeFn>;

/// Builds a table from `(selector, closure)` pairs.
fn table(entries: Vec<(&str, NativeFn)>) -> Table {
    entries.into_iter().map(|(s, f)| (intern(s), f)).collect()
}

/// The class name a primitive receiver reports (`class`, error messages); `None` for instances.
pub(crate) fn primitive_class(v: &Value) -> Option<&'static str> {
    Some(match v.view() {
        ValueRef::Nil => "UndefinedObject",
        ValueRef::Bool(_) => "Boolean",
        ValueRef::Int(_) => "Integer",
        ValueRef::Float(_) => "Float",
        ValueRef::Str(_) => "String",
        ValueRef::Json(j) if j.is_array() => "Array",
        ValueRef::Json(_) => "Dictionary",
        ValueRef::Block(_) => "Block",
        ValueRef::Instance(_) => return None,
    })
}

/// The built-in object-protocol method for `sel`, if there is one.
pub(crate) fn object_method(sel: Sel) -> Option<&'static NativeFn> {
    static OBJECT: LazyLock<Table> = LazyLock::new(object::table);
    OBJECT.get(&sel)
}

/// The built-in method of primitive class `class` (a [`primitive_class`] name) for `sel`.
pub(crate) fn primitive_method(class: &str, sel: Sel) -> Option<&'static NativeFn> {
    static TABLES: LazyLock<HashMap<&'static str, Table>> = LazyLock::new(primitive::tables);
    TABLES.get(class)?.get(&sel)
}

/// Whether `class` (a primitive class name) or the object protocol answers `selector`.
pub(crate) fn answers(class: Option<&str>, selector: &str) -> bool {
    let sel = intern(selector);
    match class {
        Some(c) => primitive_method(c, sel).is_some(),
        None => object_method(sel).is_some(),
    }
}

/// The `i`-th argument, or an error naming the selector (natives are called with the
/// arguments of the send; a short list is a caller bug reported, never a panic).
pub(crate) fn arg<'a>(args: &'a [Value], i: usize, sel: &str) -> Result<&'a Value> {
    args.get(i)
        .ok_or_else(|| Error::runtime(format!("{sel}: missing argument {}", i + 1)))
}

/// Evaluates a block argument with `args` (`value`, `value:` …); a value that is not a block
/// (or a block id) answers itself, as `aBoolean and: 3` does in Smalltalk.
pub(crate) fn value_of(rt: &Runtime, v: &Value, args: &[Value]) -> Result<Value> {
    if let Some(b) = v.block_arc() {
        return rt.invoke_block(&b, args);
    }
    if let ValueRef::Str(s) = v.view()
        && s.starts_with(BLOCK_ID_PREFIX)
        && let Some(b) = registry().lookup(s)
    {
        return rt.invoke_block(&b, args);
    }
    Ok(v.clone())
}

/// The error of a send no one answered (no instance, no built-in, no Bash bridge): typed
/// primitives name their class and the selector (`unknown method: Integer foo`). A string is
/// first an instance id (§10.3): one that has the shape of an id (id characters and a `_`,
/// as `<class>_<uuid>`) keeps `instance not found: <id>`; any other string is a `String`.
pub(crate) fn not_understood(recv: &Value, sel: Sel, lookup: Error) -> Error {
    let name = tt_dispatch::selector_name(sel).unwrap_or_default();
    match recv.view() {
        ValueRef::Str(s) if s.contains('_') && crate::object::is_valid_id(s) => lookup,
        ValueRef::Json(_) => lookup,
        _ => Error::not_found(format!(
            "unknown method: {} {name}",
            primitive_class(recv).unwrap_or("Object")
        )),
    }
}

/// The send paths' entries into the tables (called from `exec.rs`).
impl Run<'_> {
    /// Whether `m` is a Bash-only method of the class `Object` (the Bash runtime's own raw
    /// `Object` methods, whose answers the built-in protocol gives natively, §10.4).
    pub(crate) fn is_object_raw(&self, m: Option<&'static Method<MethodImpl>>) -> bool {
        m.is_some_and(|m| {
            matches!(m.imp, MethodImpl::BashFallback { .. })
                && self.rt.dispatch().class_name(m.owner).as_deref() == Some("Object")
        })
    }

    /// The built-in protocol of a primitive receiver (§10.4), if it answers the selector.
    pub(crate) fn send_primitive(
        &mut self,
        recv: &Value,
        site: &SendCache<MethodImpl>,
        args: &Args,
    ) -> Option<Flow> {
        let class = primitive_class(recv)?;
        let f = primitive_method(class, site.selector())?;
        self.publish_depth();
        Some(f(self.rt, recv, args).map_err(Unwind::from))
    }
}
