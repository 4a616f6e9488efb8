//! The daemon's use of the persistence rules: value typing (docs/spec/persistence.md §5, from
//! `tt_persist::typing`) and the state JSON of a transient receiver (docs/spec/daemon-protocol.md §8.3,
//! docs/spec/persistence.md §4, through `tt_persist::InstanceDoc`).

use std::sync::Arc;

use serde_json::Value as Json;
use tt_persist::{InstanceDoc, PersistError};
use tt_vm::Value;
use tt_vm::block::registry;
use tt_vm::object::InstanceState;

pub use tt_persist::value_to_json;

/// JSON → runtime value (docs/spec/persistence.md §5.2), resolving `{"_block_id":…}` through the block
/// registry.
pub fn json_to_value(j: &Json) -> Value {
    tt_persist::json_to_value(j, |id| registry().lookup(id).map(Value::block))
}

/// The state JSON of a native-table instance call, parsed.
#[derive(Debug, Clone)]
pub struct StateDoc {
    doc: InstanceDoc,
    /// The request's state had no `class` key (it is then not written back either).
    class_absent: bool,
}

impl StateDoc {
    /// Parses a state JSON for `class`; `ivars` (the class's registered list) gives the
    /// variables when `_vars` is absent. Errors read `invalid instance JSON: <detail>`.
    pub fn parse(text: &str, class: &str, ivars: &[Arc<str>]) -> Result<StateDoc, PersistError> {
        let registered = || Some(ivars.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        match InstanceDoc::parse_with(text, |_| registered()) {
            Ok(doc) => Ok(StateDoc {
                doc,
                class_absent: false,
            }),
            Err(e) => {
                // A state without `class` is accepted: the request names the class.
                let Ok(Json::Object(mut map)) = serde_json::from_str::<Json>(text) else {
                    return Err(e);
                };
                if map.contains_key("class") {
                    return Err(e);
                }
                map.shift_insert(0, "class".into(), Json::String(class.to_owned()));
                let doc =
                    InstanceDoc::parse_with(&Json::Object(map).to_string(), |_| registered())?;
                Ok(StateDoc {
                    doc,
                    class_absent: true,
                })
            }
        }
    }

    /// `created_at` of the state, if present.
    pub fn created_at(&self) -> Option<String> {
        self.doc.created_at.clone()
    }

    /// The receiver's variables and orphans as runtime state.
    pub fn state(&self) -> InstanceState {
        let (names, values) = self
            .doc
            .vars
            .iter()
            .map(|(n, v)| (Arc::<str>::from(n.as_str()), json_to_value(v)))
            .unzip();
        InstanceState {
            names,
            values,
            orphans: self.doc.orphans.clone(),
        }
    }

    /// The new state JSON (§8.3): `class` and `created_at` only if present in the request,
    /// `_vars`, the variables, then the orphans.
    pub fn to_json(&self, state: &InstanceState) -> String {
        let mut doc = self.doc.clone();
        doc.has_vars_key = true;
        doc.vars = state
            .names
            .iter()
            .zip(&state.values)
            .map(|(n, v)| (n.to_string(), value_to_json(v)))
            .collect();
        doc.orphans = state.orphans.clone();
        if !self.class_absent {
            return doc.to_json();
        }
        let mut v = doc.to_value();
        if let Json::Object(m) = &mut v {
            m.shift_remove("class");
        }
        tt_vm::value::text::json_compact(&v)
    }
}

/// The variables of a state as (name, JSON text) pairs, to detect changes.
pub fn state_fingerprint(state: &InstanceState) -> Vec<(String, String)> {
    state
        .names
        .iter()
        .zip(&state.values)
        .map(|(n, v)| (n.to_string(), value_to_json(v).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivars() -> Vec<Arc<str>> {
        vec![Arc::from("value"), Arc::from("step")]
    }

    #[test]
    fn state_round_trips_in_the_spec_key_order() {
        let text = r#"{"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":0,"step":1,"x":[1]}"#;
        let d = StateDoc::parse(text, "Counter", &ivars()).unwrap();
        assert_eq!(d.to_json(&d.state()), text);
        let d = StateDoc::parse(
            r#"{"class":"Counter","step":2,"value":1,"note":"n"}"#,
            "Counter",
            &ivars(),
        )
        .unwrap();
        assert_eq!(
            d.to_json(&d.state()),
            r#"{"class":"Counter","_vars":["value","step"],"value":1,"step":2,"note":"n"}"#
        );
        let d = StateDoc::parse(r#"{"value":3}"#, "Counter", &ivars()).unwrap();
        assert_eq!(
            d.to_json(&d.state()),
            r#"{"_vars":["value","step"],"value":3,"step":null}"#
        );
        assert!(
            StateDoc::parse("[1]", "Counter", &ivars())
                .unwrap_err()
                .to_string()
                .starts_with("invalid instance JSON: ")
        );
    }
}
