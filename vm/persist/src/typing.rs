//! Value typing between runtime values and JSON (docs/spec/persistence.md §5).
//!
//! * [`value_to_json`] (§5.1) is used when persisting, by `TT_Serialize` and for the daemon's
//!   `instance` reply.
//! * [`json_to_value`] (§5.2) is used when loading, by `TT_Deserialize` and for daemon state.
//!
//! Round trip: `json_to_value(value_to_json(v))` has the same text as `v`, except that a string
//! holding a JSON array/object comes back as that JSON value (compact). Integers and finite floats
//! keep their kind; instance/block references come back as their id strings and non-finite
//! floats as the strings `NaN`, `+Inf`, `-Inf`.

use serde_json::{Number, Value as Json};

use tt_vm::value::{Value, ValueRef, float_text};

/// Key of the original's block-reference object `{"_block_id":"<id>"}`.
pub const BLOCK_ID_KEY: &str = "_block_id";

/// A runtime value as JSON (§5.1).
pub fn value_to_json(v: &Value) -> Json {
    match v.view() {
        ValueRef::Nil => Json::Null,
        ValueRef::Bool(b) => Json::Bool(b),
        ValueRef::Int(i) => Json::Number(Number::from(i)),
        ValueRef::Float(f) => float_to_json(f),
        ValueRef::Str(s) => string_to_json(s),
        ValueRef::Json(j) => j.clone(),
        ValueRef::Instance(i) => Json::String(i.id().to_owned()),
        ValueRef::Block(_) => Json::String(v.text().into_owned()),
    }
}

/// A float as JSON: finite → a number whose text reads back as a float (docs/spec/ttbc.md §14.2 text with
/// `.0` appended when it has no `.`); NaN/±∞ → the strings `NaN`, `+Inf`, `-Inf`.
pub fn float_to_json(f: f64) -> Json {
    let mut text = float_text(f);
    if !f.is_finite() {
        return Json::String(text);
    }
    if !text.contains('.') {
        text.push_str(".0");
    }
    match serde_json::from_str::<Number>(&text) {
        Ok(n) => Json::Number(n),
        // Unreachable for finite floats (the text is a plain decimal); keep a number anyway.
        Err(_) => Number::from_f64(f).map_or(Json::Null, Json::Number),
    }
}

/// A string as JSON: a text that is a whole JSON array/object becomes that JSON value (as the
/// Bash runtime does on assignment); anything else is a JSON string.
pub fn string_to_json(s: &str) -> Json {
    if s.trim_start().starts_with(['[', '{'])
        && let Ok(j @ (Json::Array(_) | Json::Object(_))) = serde_json::from_str::<Json>(s)
    {
        return j;
    }
    Json::String(s.to_owned())
}

/// A JSON value as a runtime value (§5.2). `block_lookup` resolves the id of an original-style
/// `{"_block_id":"<id>"}` object to a block value; when it answers `None` the id string is used.
pub fn json_to_value(j: &Json, block_lookup: impl Fn(&str) -> Option<Value>) -> Value {
    match j {
        Json::Null => Value::NIL,
        Json::Bool(b) => Value::bool(*b),
        Json::Number(n) => number_to_value(n),
        Json::String(s) => Value::string(s),
        Json::Object(map) if map.len() == 1 => match map.get(BLOCK_ID_KEY) {
            Some(Json::String(id)) => block_lookup(id).unwrap_or_else(|| Value::string(id)),
            _ => Value::json(j.clone()),
        },
        Json::Array(_) | Json::Object(_) => Value::json(j.clone()),
    }
}

/// A JSON number: a token without `.`, `e`, `E` that fits i64 is an integer; any other number
/// is a float.
pub fn number_to_value(n: &Number) -> Value {
    // With `arbitrary_precision` the number keeps its source token.
    let token = n.to_string();
    if !token.contains(['.', 'e', 'E'])
        && let Ok(i) = token.parse::<i64>()
    {
        return Value::int(i);
    }
    Value::float(
        n.as_f64()
            .or_else(|| token.parse::<f64>().ok())
            .unwrap_or(f64::NAN),
    )
}
