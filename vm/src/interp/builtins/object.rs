//! The object protocol of instances (docs/spec/ttbc.md §10.4). Answers follow the Bash
//! runtime's `Object` class where it has the method (`class`, `id`, `printString`,
//! `isKindOf:`, `perform:` …, `asJson`, `delete`) and Smalltalk where it has not (`yourself`,
//! `respondsTo:`, `isNil`, `notNil`).

use serde_json::{Map, Value as Json};

use super::{Table, arg};
use crate::error::{Error, Result};
use crate::method::NativeFn;
use crate::object::Instance;
use crate::runtime::Runtime;
use crate::value::{Value, ValueRef};

/// The receiver as an instance (built-ins of this table are only called on instances).
fn this(recv: &Value) -> Result<&Instance> {
    recv.as_instance()
        .ok_or_else(|| Error::runtime("object protocol sent to a non-instance"))
}

/// `perform:` with `n` extra arguments: sends the selector named by the first argument.
fn perform(n: usize) -> NativeFn {
    NativeFn::new(move |rt: &Runtime, recv: &Value, args: &[Value]| {
        let sel = arg(args, 0, "perform:")?.text().into_owned();
        let rest = args.get(1..=n).unwrap_or(&[]);
        rt.send(recv, &sel, rest)
    })
}

/// The class names `recv` is a kind of: its class, the registered superclasses, and a declared
/// superclass that is not registered (e.g. `Object` when the Bash `Object.trash` is not loaded).
fn kind_names(rt: &Runtime, inst: &Instance) -> Vec<String> {
    let mut names = vec![inst.class_name().to_string()];
    let Some(cid) = inst.class_id() else {
        return names;
    };
    let chain = rt.dispatch().superclass_chain(cid);
    for c in chain.iter().skip(1) {
        if let Some(n) = rt.dispatch().class_name(*c) {
            names.push(n.to_string());
        }
    }
    if let Some(last) = chain.last()
        && let Some(declared) = rt.dispatch().superclass_name(*last)
        && !names.iter().any(|n| **n == *declared)
    {
        names.push(declared.to_string());
    }
    names
}

/// A value as a document value when no store is installed (numbers and booleans typed, nil
/// null, JSON as itself, everything else its text).
fn json_of(v: &Value) -> Json {
    match v.view() {
        ValueRef::Nil => Json::Null,
        ValueRef::Bool(b) => Json::Bool(b),
        ValueRef::Int(i) => Json::from(i),
        ValueRef::Float(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        ValueRef::Json(j) => j.clone(),
        _ => Json::String(v.text().into_owned()),
    }
}

/// `asJson`: the instance's persisted document (the store's encoding when one is installed).
fn as_json(rt: &Runtime, inst: &Instance) -> Result<Value> {
    if let Some(store) = rt.store()
        && let Some(doc) = store.document(rt, inst)?
    {
        return Ok(Value::string_owned(doc));
    }
    let st = inst.snapshot()?;
    let mut map = Map::new();
    map.insert("class".into(), Json::String(inst.class_name().to_string()));
    if let Some(c) = inst.created_at() {
        map.insert("created_at".into(), Json::String(c.to_owned()));
    }
    let names = st
        .names
        .iter()
        .map(|n| Json::String(n.to_string()))
        .collect();
    map.insert("_vars".into(), Json::Array(names));
    for (n, v) in st.names.iter().zip(st.values.iter()) {
        map.insert(n.to_string(), json_of(v));
    }
    Ok(Value::string_owned(crate::value::text::json_compact(
        &Json::Object(map),
    )))
}

/// The object-protocol table.
pub(super) fn table() -> Table {
    let f = |c: fn(&Runtime, &Value, &[Value]) -> Result<Value>| NativeFn::new(c);
    super::table(vec![
        (
            "class",
            f(|_, r, _| Ok(Value::string(this(r)?.class_name()))),
        ),
        ("id", f(|_, r, _| Ok(Value::string(this(r)?.id())))),
        (
            "printString",
            f(|_, r, _| {
                let i = this(r)?;
                Ok(Value::string_owned(format!(
                    "<{} {}>",
                    i.class_name(),
                    i.id()
                )))
            }),
        ),
        ("yourself", f(|_, r, _| Ok(r.clone()))),
        ("isNil", f(|_, _, _| Ok(Value::FALSE))),
        ("notNil", f(|_, _, _| Ok(Value::TRUE))),
        (
            "respondsTo:",
            f(|rt, r, a| {
                let sel = arg(a, 0, "respondsTo:")?.text().into_owned();
                let own = rt.responds_to(r, &sel)?;
                Ok(Value::bool(own || super::answers(None, &sel)))
            }),
        ),
        (
            "isKindOf:",
            f(|rt, r, a| {
                let name = arg(a, 0, "isKindOf:")?.text().into_owned();
                Ok(Value::bool(kind_names(rt, this(r)?).contains(&name)))
            }),
        ),
        ("perform:", perform(0)),
        ("perform:with:", perform(1)),
        ("perform:with:with:", perform(2)),
        ("perform:with:with:with:", perform(3)),
        ("asJson", f(|rt, r, _| as_json(rt, this(r)?))),
        (
            "delete",
            f(|rt, r, _| {
                let id = this(r)?.id().to_owned();
                if let Some(store) = rt.store() {
                    store.delete(&id)?;
                }
                rt.release(&id);
                Ok(Value::NIL)
            }),
        ),
    ])
}
