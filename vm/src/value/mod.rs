//! Runtime values (docs/spec/ttbc.md §14): the NaN-boxed [`Value`], its text form and its semantics.
//!
//! * [`boxing`] holds the representation (and all of its `unsafe`).
//! * [`text`] holds `text(v)`, the Atoi rule and the canonical-integer test.
//! * [`ops`] holds arithmetic, comparison and truthiness, shared by the interpreter and the JIT
//!   helpers so both tiers are observably identical.

pub mod boxing;
pub mod ops;
pub mod text;

pub use boxing::{StrObj, Value, ValueRef};
pub use text::{atoi, float_text, parse_canonical_int};

use std::borrow::Cow;

impl Value {
    /// A string value. A canonical decimal integer (§14.1 rule 2) becomes an integer, so such a
    /// string is indistinguishable from the integer everywhere.
    pub fn string(s: &str) -> Value {
        match parse_canonical_int(s) {
            Some(i) => Value::int(i),
            None => Value::str_obj(s.into()),
        }
    }

    /// Like [`Value::string`], reusing an owned buffer.
    pub fn string_owned(s: String) -> Value {
        match parse_canonical_int(&s) {
            Some(i) => Value::int(i),
            None => Value::str_obj(s.into_boxed_str()),
        }
    }

    /// The empty string (same text as nil, but a string).
    pub fn empty_string() -> Value {
        Value::str_obj("".into())
    }

    /// The observable text `text(v)` (§14.2). Taking the text of a block assigns its registry id.
    pub fn text(&self) -> Cow<'_, str> {
        match self.view() {
            ValueRef::Nil => Cow::Borrowed(""),
            ValueRef::Bool(true) => Cow::Borrowed("true"),
            ValueRef::Bool(false) => Cow::Borrowed("false"),
            ValueRef::Int(i) => Cow::Owned(i.to_string()),
            ValueRef::Float(f) => Cow::Owned(float_text(f)),
            ValueRef::Str(s) => Cow::Borrowed(s),
            ValueRef::Json(j) => Cow::Owned(text::json_compact(j)),
            ValueRef::Instance(i) => Cow::Borrowed(i.id()),
            ValueRef::Block(_) => {
                Cow::Owned(self.block_arc().map(|b| b.id_text()).unwrap_or_default())
            }
        }
    }

    /// A short name of the value's kind, for diagnostics.
    pub fn kind_name(&self) -> &'static str {
        match self.view() {
            ValueRef::Nil => "nil",
            ValueRef::Bool(_) => "boolean",
            ValueRef::Int(_) => "integer",
            ValueRef::Float(_) => "float",
            ValueRef::Str(_) => "string",
            ValueRef::Json(j) if j.is_array() => "array",
            ValueRef::Json(_) => "object",
            ValueRef::Instance(_) => "instance",
            ValueRef::Block(_) => "block",
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.view() {
            ValueRef::Str(s) => write!(f, "{s:?}"),
            ValueRef::Nil => f.write_str("nil"),
            _ => write!(f, "{}({})", self.kind_name(), self.text()),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Default for Value {
    fn default() -> Value {
        Value::NIL
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::string(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::float(f)
    }
}
