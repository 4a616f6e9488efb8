//! The instance JSON document (docs/spec/persistence.md §4).
//!
//! ```json
//! {"class":"Counter","created_at":"1700000000","_vars":["value","step"],"value":0,"step":1}
//! ```
//!
//! [`InstanceDoc::parse`] accepts any formatting, a missing `_vars`, a missing `created_at` and
//! (for `TT_Deserialize`) an `id` key; [`InstanceDoc::to_json`] writes compact text in the key
//! order `class`, `created_at`, `_vars`, the variables in `_vars` order, then the orphans in
//! their original order. Values stay JSON here; [`super::typing`] converts them.

use serde_json::{Map, Value as Json};

use super::PersistError;

/// Key of the class name.
pub const KEY_CLASS: &str = "class";
/// Key of the creation time.
pub const KEY_CREATED_AT: &str = "created_at";
/// Key of the variable-name list.
pub const KEY_VARS: &str = "_vars";
/// Key of the (normally absent) instance id.
pub const KEY_ID: &str = "id";

/// A parsed instance document.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceDoc {
    /// The `id` key, when the document carries a string one (only `TT_Deserialize` uses it; it
    /// is never written back). `None` when `id` is one of the variables.
    pub id: Option<String>,
    /// The qualified class name.
    pub class: String,
    /// `created_at` verbatim (a number is kept as its text); `None` when absent.
    pub created_at: Option<String>,
    /// The variables in `_vars` order with their JSON values (`null` for a listed name whose key
    /// is absent).
    pub vars: Vec<(String, Json)>,
    /// Whether the input had a `_vars` key; [`InstanceDoc::to_json`] writes `_vars` only then,
    /// so a rewrite does not invent it.
    pub has_vars_key: bool,
    /// Keys that are not variables (nor `class`, `created_at`, `_vars`, `id`), in input order.
    pub orphans: Vec<(String, Json)>,
}

impl InstanceDoc {
    /// A document for an instance the runtime holds: `_vars` is written.
    pub fn new(
        class: impl Into<String>,
        created_at: Option<String>,
        vars: Vec<(String, Json)>,
        orphans: Vec<(String, Json)>,
    ) -> InstanceDoc {
        InstanceDoc {
            id: None,
            class: class.into(),
            created_at,
            vars,
            has_vars_key: true,
            orphans,
        }
    }

    /// Parses a document (§4).
    ///
    /// * `class` must be a string.
    /// * `created_at` may be absent, a string, or (leniently) a number or `null`.
    /// * With `_vars` (an array of strings), the variables are those names in that order.
    /// * Without `_vars`, the variables are `registered_ivars` when the class is known to the
    ///   runtime (names absent from the document get `null`, present keys that are not
    ///   registered become orphans), else every key other than `class`, `created_at` and `id`.
    ///
    /// Errors display as `invalid instance JSON: <detail>`.
    pub fn parse(
        text: &str,
        registered_ivars: Option<&[String]>,
    ) -> Result<InstanceDoc, PersistError> {
        Self::parse_with(text, |_| registered_ivars.map(<[String]>::to_vec))
    }

    /// Like [`InstanceDoc::parse`], asking `registered_ivars(class)` for the class's registered
    /// ivar list only when the document has no `_vars`.
    pub fn parse_with(
        text: &str,
        registered_ivars: impl FnOnce(&str) -> Option<Vec<String>>,
    ) -> Result<InstanceDoc, PersistError> {
        let root: Json = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let Json::Object(mut map) = root else {
            return Err(invalid("not a JSON object"));
        };
        let class = match map.shift_remove(KEY_CLASS) {
            Some(Json::String(s)) => s,
            Some(_) => return Err(invalid("\"class\" is not a string")),
            None => return Err(invalid("missing \"class\"")),
        };
        let created_at = match map.shift_remove(KEY_CREATED_AT) {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s),
            Some(Json::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(invalid("\"created_at\" is not a string")),
        };
        let listed: Option<Vec<String>> = match map.shift_remove(KEY_VARS) {
            None => None,
            Some(Json::Array(items)) => {
                let mut names: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let Json::String(name) = item else {
                        return Err(invalid("\"_vars\" is not an array of strings"));
                    };
                    if !is_reserved(&name) && !names.contains(&name) {
                        names.push(name);
                    }
                }
                Some(names)
            }
            Some(_) => return Err(invalid("\"_vars\" is not an array of strings")),
        };
        let has_vars_key = listed.is_some();
        let registered = match &listed {
            Some(_) => None,
            None => registered_ivars(&class),
        };
        let names: Vec<String> = match (listed, registered) {
            (Some(names), _) => names,
            (None, Some(reg)) => {
                let mut names: Vec<String> = Vec::with_capacity(reg.len());
                for n in reg {
                    if !is_reserved(&n) && !names.contains(&n) {
                        names.push(n);
                    }
                }
                names
            }
            (None, None) => map.keys().filter(|k| *k != KEY_ID).cloned().collect(),
        };
        let id = if names.iter().any(|n| n == KEY_ID) {
            None
        } else {
            match map.shift_remove(KEY_ID) {
                Some(Json::String(s)) => Some(s),
                _ => None,
            }
        };
        let vars = names
            .into_iter()
            .map(|n| {
                let v = map.shift_remove(&n).unwrap_or(Json::Null);
                (n, v)
            })
            .collect();
        Ok(InstanceDoc {
            id,
            class,
            created_at,
            vars,
            has_vars_key,
            orphans: map.into_iter().collect(),
        })
    }

    /// The value of variable `name`, if it is one.
    pub fn var(&self, name: &str) -> Option<&Json> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The document as a JSON object in the §4 key order (no `id` key).
    pub fn to_value(&self) -> Json {
        let mut map = Map::with_capacity(3 + self.vars.len() + self.orphans.len());
        map.insert(KEY_CLASS.into(), Json::String(self.class.clone()));
        if let Some(c) = &self.created_at {
            map.insert(KEY_CREATED_AT.into(), Json::String(c.clone()));
        }
        if self.has_vars_key {
            let names = self.vars.iter().map(|(n, _)| Json::String(n.clone()));
            map.insert(KEY_VARS.into(), Json::Array(names.collect()));
        }
        for (n, v) in &self.vars {
            if !is_reserved(n) {
                map.insert(n.clone(), v.clone());
            }
        }
        for (n, v) in &self.orphans {
            if !is_reserved(n) && !map.contains_key(n) {
                map.insert(n.clone(), v.clone());
            }
        }
        Json::Object(map)
    }

    /// Compact JSON text of the document (§4 key order, no insignificant whitespace).
    pub fn to_json(&self) -> String {
        tt_vm::value::text::json_compact(&self.to_value())
    }
}

/// Keys with a fixed meaning that can never be variables.
fn is_reserved(name: &str) -> bool {
    matches!(name, KEY_CLASS | KEY_CREATED_AT | KEY_VARS)
}

fn invalid(detail: impl Into<String>) -> PersistError {
    PersistError::InvalidJson(detail.into())
}
