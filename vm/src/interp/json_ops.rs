//! The JSON array/object opcodes (docs/spec/ttbc.md §12): a real JSON model, top level only.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::ttbc::Op;
use crate::value::{Value, ValueRef, atoi};

/// The container opcodes that take operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonOp {
    /// ARRAY_PUSH
    ArrayPush,
    /// ARRAY_AT
    ArrayAt,
    /// ARRAY_AT_PUT
    ArrayAtPut,
    /// ARRAY_LEN
    ArrayLen,
    /// ARRAY_FIRST
    ArrayFirst,
    /// ARRAY_LAST
    ArrayLast,
    /// ARRAY_REMOVE
    ArrayRemove,
    /// OBJECT_AT
    ObjectAt,
    /// OBJECT_AT_PUT
    ObjectAtPut,
    /// OBJECT_HAS_KEY
    ObjectHasKey,
    /// OBJECT_KEYS
    ObjectKeys,
    /// OBJECT_VALUES
    ObjectValues,
    /// OBJECT_REMOVE
    ObjectRemove,
    /// OBJECT_LEN
    ObjectLen,
}

impl JsonOp {
    /// The opcode of this operation (its name and stack effect come from the table).
    pub const fn op(self) -> Op {
        match self {
            JsonOp::ArrayPush => Op::ArrayPush,
            JsonOp::ArrayAt => Op::ArrayAt,
            JsonOp::ArrayAtPut => Op::ArrayAtPut,
            JsonOp::ArrayLen => Op::ArrayLen,
            JsonOp::ArrayFirst => Op::ArrayFirst,
            JsonOp::ArrayLast => Op::ArrayLast,
            JsonOp::ArrayRemove => Op::ArrayRemove,
            JsonOp::ObjectAt => Op::ObjectAt,
            JsonOp::ObjectAtPut => Op::ObjectAtPut,
            JsonOp::ObjectHasKey => Op::ObjectHasKey,
            JsonOp::ObjectKeys => Op::ObjectKeys,
            JsonOp::ObjectValues => Op::ObjectValues,
            JsonOp::ObjectRemove => Op::ObjectRemove,
            JsonOp::ObjectLen => Op::ObjectLen,
        }
    }

    fn name(self) -> &'static str {
        self.op().name()
    }

    /// Number of operands popped (from the table).
    #[inline]
    pub const fn arity(self) -> usize {
        self.op().stack_effect(0).0
    }

    fn is_array_op(self) -> bool {
        matches!(
            self,
            JsonOp::ArrayPush
                | JsonOp::ArrayAt
                | JsonOp::ArrayAtPut
                | JsonOp::ArrayLen
                | JsonOp::ArrayFirst
                | JsonOp::ArrayLast
                | JsonOp::ArrayRemove
        )
    }
}

fn kind_of(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Converts a container operand (§12.1) into a JSON node of the kind the opcode needs.
fn container(op: JsonOp, v: &Value) -> Result<Arc<Json>> {
    let want_array = op.is_array_op();
    let node = match v.view() {
        ValueRef::Json(_) => v.json_node().expect("json value"),
        ValueRef::Nil => Arc::new(empty(want_array)),
        _ => {
            let text = v.text();
            if text.trim().is_empty() {
                Arc::new(empty(want_array))
            } else {
                let parsed: Json = serde_json::from_str(&text)
                    .map_err(|e| Error::runtime(format!("{}: invalid JSON: {e}", op.name())))?;
                Arc::new(parsed)
            }
        }
    };
    let ok = if want_array {
        node.is_array()
    } else {
        node.is_object()
    };
    if ok {
        Ok(node)
    } else {
        Err(Error::runtime(format!(
            "{}: expected a JSON {}, got {}",
            op.name(),
            if want_array { "array" } else { "object" },
            kind_of(&node)
        )))
    }
}

fn empty(array: bool) -> Json {
    if array {
        Json::Array(Vec::new())
    } else {
        Json::Object(Map::new())
    }
}

/// An element as a runtime value (§12.3).
pub fn element(j: &Json) -> Value {
    match j {
        Json::String(s) => Value::string(s),
        Json::Number(n) => Value::string(&n.to_string()),
        Json::Bool(b) => Value::string(if *b { "true" } else { "false" }),
        Json::Null => Value::string("null"),
        Json::Array(_) | Json::Object(_) => Value::json(j.clone()),
    }
}

fn stored(v: &Value) -> Json {
    Json::String(v.text().into_owned())
}

fn index(v: &Value, len: usize) -> Option<usize> {
    let i = match v.as_int() {
        Some(i) => i,
        None => atoi(&v.text()),
    };
    (i >= 0 && (i as u64) < len as u64).then_some(i as usize)
}

fn arr(node: &Json) -> &Vec<Json> {
    node.as_array().expect("checked array")
}

fn obj(node: &Json) -> &Map<String, Json> {
    node.as_object().expect("checked object")
}

/// Takes the node for modification (copying only when shared).
fn owned(node: Arc<Json>) -> Json {
    Arc::try_unwrap(node).unwrap_or_else(|a| (*a).clone())
}

/// Applies a container opcode to its operands (in push order: container first).
pub fn apply(op: JsonOp, ops: &[Value]) -> Result<Value> {
    let c = &ops[0];
    let node = container(op, c)?;
    Ok(match op {
        JsonOp::ArrayPush => {
            let mut a = owned(node);
            a.as_array_mut().expect("array").push(stored(&ops[1]));
            Value::json(a)
        }
        JsonOp::ArrayAt => match index(&ops[1], arr(&node).len()) {
            Some(i) => element(&arr(&node)[i]),
            None => Value::NIL,
        },
        JsonOp::ArrayAtPut => {
            let len = arr(&node).len();
            match index(&ops[1], len) {
                Some(i) => {
                    let mut a = owned(node);
                    a.as_array_mut().expect("array")[i] = stored(&ops[2]);
                    Value::json(a)
                }
                None if len == 0 && atoi(&ops[1].text()) == 0 => {
                    Value::json(Json::Array(vec![stored(&ops[2])]))
                }
                None => c.clone(),
            }
        }
        JsonOp::ArrayLen => Value::int(arr(&node).len() as i64),
        JsonOp::ArrayFirst => arr(&node).first().map(element).unwrap_or(Value::NIL),
        JsonOp::ArrayLast => arr(&node).last().map(element).unwrap_or(Value::NIL),
        JsonOp::ArrayRemove => match index(&ops[1], arr(&node).len()) {
            Some(i) => {
                let mut a = owned(node);
                a.as_array_mut().expect("array").remove(i);
                Value::json(a)
            }
            None => c.clone(),
        },
        JsonOp::ObjectAt => obj(&node)
            .get(&*ops[1].text())
            .map(element)
            .unwrap_or(Value::NIL),
        JsonOp::ObjectAtPut => {
            let mut o = owned(node);
            o.as_object_mut()
                .expect("object")
                .insert(ops[1].text().into_owned(), stored(&ops[2]));
            Value::json(o)
        }
        JsonOp::ObjectHasKey => Value::bool(obj(&node).contains_key(&*ops[1].text())),
        JsonOp::ObjectKeys => Value::json(Json::Array(
            obj(&node).keys().map(|k| Json::String(k.clone())).collect(),
        )),
        JsonOp::ObjectValues => Value::json(Json::Array(obj(&node).values().cloned().collect())),
        JsonOp::ObjectRemove => {
            let key = ops[1].text();
            if obj(&node).contains_key(&*key) {
                let mut o = owned(node);
                o.as_object_mut().expect("object").shift_remove(&*key);
                Value::json(o)
            } else {
                c.clone()
            }
        }
        JsonOp::ObjectLen => Value::int(obj(&node).len() as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    fn run(op: JsonOp, ops: &[Value]) -> String {
        match apply(op, ops) {
            Ok(v) => v.text().into_owned(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn arrays() {
        assert_eq!(
            run(JsonOp::ArrayPush, &[Value::NIL, Value::int(5)]),
            r#"["5"]"#
        );
        assert_eq!(run(JsonOp::ArrayPush, &[s("[1]"), s("x")]), r#"[1,"x"]"#);
        assert_eq!(
            run(
                JsonOp::ArrayAt,
                &[s(r#"[1.50,"a\nb",true,null,[1]]"#), s("0")]
            ),
            "1.50"
        );
        assert_eq!(run(JsonOp::ArrayAt, &[s(r#"["a\nb"]"#), s("0")]), "a\nb");
        assert_eq!(run(JsonOp::ArrayAt, &[s("[1,[2, 3]]"), s("1")]), "[2,3]");
        assert_eq!(run(JsonOp::ArrayAt, &[s("[1]"), s("5")]), "");
        assert_eq!(run(JsonOp::ArrayAt, &[s("[1]"), s("-1")]), "");
        assert_eq!(
            run(JsonOp::ArrayAtPut, &[s("[1,2]"), s("1"), s("x")]),
            r#"[1,"x"]"#
        );
        assert_eq!(
            run(JsonOp::ArrayAtPut, &[s("[1,2]"), s("9"), s("x")]),
            "[1,2]"
        );
        assert_eq!(
            run(JsonOp::ArrayAtPut, &[Value::NIL, s("0"), s("x")]),
            r#"["x"]"#
        );
        assert_eq!(run(JsonOp::ArrayAtPut, &[Value::NIL, s("1"), s("x")]), "");
        assert_eq!(run(JsonOp::ArrayLen, &[s(" [1,2,3] ")]), "3");
        assert_eq!(run(JsonOp::ArrayFirst, &[s("[]")]), "");
        assert_eq!(run(JsonOp::ArrayLast, &[s("[1,2]")]), "2");
        assert_eq!(run(JsonOp::ArrayRemove, &[s("[1,2]"), s("0")]), "[2]");
        assert!(run(JsonOp::ArrayLen, &[s("abc")]).starts_with("ERR ARRAY_LEN: invalid JSON: "));
        assert_eq!(
            run(JsonOp::ArrayLen, &[s("{}")]),
            "ERR ARRAY_LEN: expected a JSON array, got object"
        );
        assert_eq!(
            run(JsonOp::ArrayLen, &[Value::int(5)]),
            "ERR ARRAY_LEN: expected a JSON array, got number"
        );
    }

    #[test]
    fn objects() {
        let o = s(r#"{"a":1,"b":{"c":2}}"#);
        assert_eq!(run(JsonOp::ObjectAt, &[o.clone(), s("b")]), r#"{"c":2}"#);
        assert_eq!(run(JsonOp::ObjectAt, &[o.clone(), s("c")]), "");
        assert_eq!(run(JsonOp::ObjectHasKey, &[o.clone(), s("c")]), "false");
        assert_eq!(
            run(JsonOp::ObjectAtPut, &[o.clone(), s("a"), s("z")]),
            r#"{"a":"z","b":{"c":2}}"#
        );
        assert_eq!(
            run(JsonOp::ObjectAtPut, &[Value::NIL, s("k"), Value::int(1)]),
            r#"{"k":"1"}"#
        );
        assert_eq!(
            run(JsonOp::ObjectKeys, std::slice::from_ref(&o)),
            r#"["a","b"]"#
        );
        assert_eq!(
            run(JsonOp::ObjectValues, std::slice::from_ref(&o)),
            r#"[1,{"c":2}]"#
        );
        assert_eq!(
            run(JsonOp::ObjectRemove, &[o.clone(), s("a")]),
            r#"{"b":{"c":2}}"#
        );
        assert_eq!(
            run(JsonOp::ObjectRemove, &[s("x"), s("a")]).get(..4),
            Some("ERR ")
        );
        assert_eq!(run(JsonOp::ObjectLen, &[s(r#"{"a":1,"a":2}"#)]), "1");
        assert_eq!(
            run(JsonOp::ObjectAt, &[s(r#"{"a":1,"b":0,"a":2}"#), s("a")]),
            "2"
        );
        assert_eq!(
            run(JsonOp::ObjectKeys, &[s(r#"{"a":1,"b":0,"a":2}"#)]),
            r#"["a","b"]"#
        );
    }
}
