//! Value typing between runtime values and JSON (docs/spec/persistence.md §5.1, §5.2), and
//! property tests of typing and document round trips.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use tt_persist::{InstanceDoc, json_to_value, value_to_json};
use tt_vm::object::InstanceState;
use tt_vm::{Instance, Runtime, Value, ValueRef};

// ----- value typing -------------------------------------------------------------------------

fn to_text(v: &Value) -> String {
    serde_json::to_string(&value_to_json(v)).unwrap()
}

fn no_blocks(_: &str) -> Option<Value> {
    None
}

fn from_text(s: &str) -> Value {
    json_to_value(&serde_json::from_str(s).unwrap(), no_blocks)
}

const ADD_BLOCK: &str = "5454424300010000000000062200220150F000000201780179000000";

#[test]
fn typing_5_1_nil_and_booleans() {
    assert_eq!(to_text(&Value::NIL), "null");
    assert_eq!(to_text(&Value::bool(true)), "true");
    assert_eq!(to_text(&Value::bool(false)), "false");
}

#[test]
fn typing_5_1_integers_and_canonical_integer_strings() {
    assert_eq!(to_text(&Value::int(42)), "42");
    assert_eq!(to_text(&Value::int(-7)), "-7");
    assert_eq!(to_text(&Value::int(i64::MAX)), "9223372036854775807");
    assert_eq!(to_text(&Value::int(i64::MIN)), "-9223372036854775808");
    assert_eq!(to_text(&Value::string("42")), "42");
    assert_eq!(to_text(&Value::string("-7")), "-7");
}

#[test]
fn typing_5_1_finite_floats() {
    assert_eq!(to_text(&Value::float(2.5)), "2.5");
    assert_eq!(to_text(&Value::float(3.0)), "3.0");
    assert_eq!(to_text(&Value::float(-0.0)), "-0.0");
    assert_eq!(to_text(&Value::float(0.1)), "0.1");
    assert_eq!(to_text(&Value::float(1e21)), "1000000000000000000000.0");
    assert_eq!(to_text(&Value::float(1e-7)), "0.0000001");
}

#[test]
fn typing_5_1_non_finite_floats() {
    assert_eq!(to_text(&Value::float(f64::NAN)), "\"NaN\"");
    assert_eq!(to_text(&Value::float(f64::INFINITY)), "\"+Inf\"");
    assert_eq!(to_text(&Value::float(f64::NEG_INFINITY)), "\"-Inf\"");
}

#[test]
fn typing_5_1_json_text_strings() {
    assert_eq!(to_text(&Value::string("[1, 2,3]")), "[1,2,3]");
    assert_eq!(
        to_text(&Value::string("{ \"b\": 1, \"a\": [true] }")),
        r#"{"b":1,"a":[true]}"#
    );
    assert_eq!(to_text(&Value::string("[]")), "[]");
    assert_eq!(to_text(&Value::string("{}")), "{}");
    // Not a whole JSON array/object: stays a string.
    assert_eq!(to_text(&Value::string("[1,2")), r#""[1,2""#);
    assert_eq!(to_text(&Value::string("[1] x")), r#""[1] x""#);
}

#[test]
fn typing_5_1_other_strings() {
    for s in [
        "007", "1.5", "true", "null", "", "hello", "-0", "+1", " 1", "\"q\"",
    ] {
        assert_eq!(
            value_to_json(&Value::string(s)),
            Json::String(s.into()),
            "{s:?}"
        );
    }
}

#[test]
fn typing_5_1_json_values() {
    let v = Value::json(json!({"k": [1, 2.5, "x", null]}));
    assert_eq!(to_text(&v), r#"{"k":[1,2.5,"x",null]}"#);
    assert_eq!(to_text(&Value::json(json!([]))), "[]");
}

#[test]
fn typing_5_1_instance_and_block_references() {
    let inst = Instance::new(
        "counter_abc".into(),
        "Counter".into(),
        None,
        None,
        InstanceState::default(),
    );
    assert_eq!(
        value_to_json(&Value::instance(Arc::new(inst))),
        json!("counter_abc")
    );
    let rt = Runtime::new();
    let b = rt
        .register_block(&hex::decode(ADD_BLOCK).unwrap(), Vec::new())
        .unwrap();
    let id = b.id_text();
    assert!(id.starts_with("bytecode_block_"));
    assert_eq!(value_to_json(&Value::block(b)), Json::String(id));
}

#[test]
fn typing_5_2_null_and_booleans() {
    assert!(from_text("null").is_nil());
    assert_eq!(from_text("true").as_bool(), Some(true));
    assert_eq!(from_text("false").as_bool(), Some(false));
}

#[test]
fn typing_5_2_integer_tokens() {
    for (t, want) in [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("-0", 0),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ] {
        assert_eq!(from_text(t).as_int(), Some(want), "{t}");
    }
}

#[test]
fn typing_5_2_other_numbers_are_floats() {
    for (t, want) in [
        ("3.0", 3.0),
        ("2.5", 2.5),
        ("-0.0", -0.0),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2.5e-1", 0.25),
        ("9223372036854775808", 9223372036854775808.0),
        ("-9223372036854775809", -9223372036854775809.0),
    ] {
        let v = from_text(t);
        assert!(v.is_float(), "{t}");
        assert_eq!(v.as_float().unwrap().to_bits(), f64::to_bits(want), "{t}");
    }
}

#[test]
fn typing_5_2_strings() {
    assert_eq!(from_text(r#""hello""#).as_str(), Some("hello"));
    assert_eq!(from_text(r#""007""#).as_str(), Some("007"));
    assert_eq!(from_text(r#""[1,2]""#).as_str(), Some("[1,2]"));
    assert_eq!(from_text(r#""NaN""#).as_str(), Some("NaN"));
    // A canonical integer string is indistinguishable from the integer.
    assert_eq!(from_text(r#""42""#).as_int(), Some(42));
}

#[test]
fn typing_5_2_block_id_objects() {
    let rt = Runtime::new();
    let b = rt
        .register_block(&hex::decode(ADD_BLOCK).unwrap(), Vec::new())
        .unwrap();
    let id = b.id_text();
    let lookup = |s: &str| tt_vm::block::registry().lookup(s).map(Value::block);
    let v = json_to_value(&json!({ "_block_id": id }), lookup);
    let got = v.block_arc().expect("a block value");
    assert!(Arc::ptr_eq(&got, &b));
    // Unknown id → the id string.
    let v = json_to_value(&json!({"_block_id": "bytecode_block_999999999"}), lookup);
    assert_eq!(v.as_str(), Some("bytecode_block_999999999"));
    // Not the only member, or not a string → plain JSON.
    let v = json_to_value(&json!({"_block_id": "x", "other": 1}), lookup);
    assert!(matches!(v.view(), ValueRef::Json(_)));
    let v = json_to_value(&json!({"_block_id": 5}), lookup);
    assert!(matches!(v.view(), ValueRef::Json(_)));
}

#[test]
fn typing_5_2_arrays_and_objects() {
    let v = from_text(r#"[1,"a",{"k":null}]"#);
    assert_eq!(v.as_json(), Some(&json!([1, "a", {"k": null}])));
    let v = from_text(r#"{"b":1,"a":2}"#);
    assert_eq!(v.text(), r#"{"b":1,"a":2}"#);
    assert!(from_text("{}").as_json().is_some());
}

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[a-z0-9 ]{0,6}".prop_map(Json::String),
    ];
    let tree = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    });
    prop_oneof![
        prop::collection::vec(tree.clone(), 0..4).prop_map(Json::Array),
        prop::collection::vec(("[a-z_]{1,4}", tree), 0..4)
            .prop_map(|kv| Json::Object(kv.into_iter().collect())),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::NIL),
        any::<bool>().prop_map(Value::bool),
        any::<i64>().prop_map(Value::int),
        any::<f64>().prop_map(Value::float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0)
        ]
        .prop_map(Value::float),
        any::<String>().prop_map(|s| Value::string(&s)),
        "[\\[\\]{}\":,0-9a-z .-]{0,12}".prop_map(|s| Value::string(&s)),
        arb_json().prop_map(|j| Value::string(&j.to_string())),
        arb_json().prop_map(|j| Value::string(&serde_json::to_string_pretty(&j).unwrap())),
        arb_json().prop_map(Value::json),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// §5 round trip: same text, except JSON-text strings come back as compact JSON values;
    /// integers and finite floats keep their kind.
    #[test]
    fn round_trip_keeps_text_and_kind(v in arb_value()) {
        let j = value_to_json(&v);
        // Through the stored text as well, as a load would see it.
        let text = serde_json::to_string(&j).unwrap();
        let reparsed: Json = serde_json::from_str(&text).unwrap();
        let back = json_to_value(&reparsed, no_blocks);
        match v.view() {
            ValueRef::Str(s) if matches!(
                serde_json::from_str::<Json>(s),
                Ok(Json::Array(_) | Json::Object(_))
            ) => {
                let want: Json = serde_json::from_str(s).unwrap();
                prop_assert_eq!(back.as_json(), Some(&want));
                prop_assert_eq!(back.text().into_owned(), serde_json::to_string(&want).unwrap());
            }
            _ => prop_assert_eq!(back.text(), v.text()),
        }
        match v.view() {
            ValueRef::Int(i) => prop_assert_eq!(back.as_int(), Some(i)),
            ValueRef::Float(f) if f.is_finite() => {
                prop_assert_eq!(back.as_float().map(f64::to_bits), Some(f.to_bits()));
            }
            ValueRef::Float(_) => prop_assert!(back.as_str().is_some()),
            ValueRef::Nil => prop_assert!(back.is_nil()),
            ValueRef::Bool(b) => prop_assert_eq!(back.as_bool(), Some(b)),
            _ => {}
        }
    }

    /// Documents survive parse → to_json → parse unchanged.
    #[test]
    fn document_round_trip(vars in prop::collection::vec(("[a-z]{1,5}", arb_json()), 0..5),
                           orphans in prop::collection::vec(("[A-Z]{1,5}", arb_json()), 0..3)) {
        let mut seen = std::collections::HashSet::new();
        let vars: Vec<(String, Json)> =
            vars.into_iter()
                .filter(|(k, _)| k != "class" && k != "id" && seen.insert(k.clone()))
                .collect();
        let mut seen = std::collections::HashSet::new();
        let orphans: Vec<(String, Json)> =
            orphans.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let doc = InstanceDoc::new("C", Some("1".into()), vars, orphans);
        let text = doc.to_json();
        let back = InstanceDoc::parse(&text, None).unwrap();
        prop_assert_eq!(&back, &doc);
        prop_assert_eq!(back.to_json(), text);
    }
}
