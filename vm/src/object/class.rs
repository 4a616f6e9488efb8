//! Vm-side class metadata. Method dictionaries live in the dispatch registry.

use std::sync::Arc;

use parking_lot::RwLock;
use tt_dispatch::ClassId;

use crate::value::Value;

/// What a caller supplies to register (or replace) a class.
#[derive(Debug, Clone, Default)]
pub struct ClassDef {
    /// Qualified name (`Counter`, `MyApp::Counter`).
    pub name: String,
    /// Superclass name; `None` or empty for a root class. May name a class registered later.
    pub superclass: Option<String>,
    /// Instance variables this class declares (inherited ones are added in front).
    pub ivars: Vec<String>,
    /// Default values for `ivars` (same length or shorter; missing = nil).
    pub ivar_defaults: Vec<Option<Value>>,
    /// Class-side instance variables.
    pub class_ivars: Vec<String>,
}

/// Registered class metadata (immutable; replaced as a whole on re-registration).
#[derive(Debug)]
pub struct ClassInfo {
    /// Dispatch id (stable across re-registration of the same name).
    pub id: ClassId,
    /// Qualified name.
    pub name: Arc<str>,
    /// Declared superclass name.
    pub superclass: Option<Arc<str>>,
    /// Own declared ivars, in order.
    pub own_ivars: Vec<Arc<str>>,
    /// Defaults of the own ivars.
    pub own_defaults: Vec<Option<Value>>,
    /// Class-side ivar names.
    pub class_ivar_names: Vec<Arc<str>>,
    /// Class-side ivar values.
    pub class_ivars: RwLock<Vec<Value>>,
}

impl ClassInfo {
    /// Builds class metadata from a definition.
    pub fn new(id: ClassId, def: &ClassDef) -> ClassInfo {
        ClassInfo {
            id,
            name: def.name.as_str().into(),
            superclass: def
                .superclass
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(Into::into),
            own_ivars: def.ivars.iter().map(|s| s.as_str().into()).collect(),
            own_defaults: def.ivar_defaults.clone(),
            class_ivar_names: def.class_ivars.iter().map(|s| s.as_str().into()).collect(),
            class_ivars: RwLock::new(vec![Value::NIL; def.class_ivars.len()]),
        }
    }

    /// Reads a class-side ivar by name.
    pub fn class_ivar(&self, name: &str) -> Option<Value> {
        let i = self.class_ivar_names.iter().position(|n| &**n == name)?;
        Some(self.class_ivars.read()[i].clone())
    }

    /// Writes a class-side ivar by name; false if the class has no such variable.
    pub fn set_class_ivar(&self, name: &str, v: Value) -> bool {
        match self.class_ivar_names.iter().position(|n| &**n == name) {
            Some(i) => {
                self.class_ivars.write()[i] = v;
                true
            }
            None => false,
        }
    }
}
