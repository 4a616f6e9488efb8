//! Glue between the [`Store`] and the runtime's object space: documents of live instances,
//! instances from documents, and `impl InstanceStore for Store`.

use std::sync::Arc;

use super::document::InstanceDoc;
use super::store::Store;
use super::typing::{json_to_value, value_to_json};
use tt_vm::error::Result;
use tt_vm::object::{Instance, InstanceState};
use tt_vm::runtime::{InstanceStore, Runtime};
use tt_vm::value::Value;

/// The §4 document of a live instance (values typed by §5.1; `_vars` always written).
/// Fails with `instance not found: <id>` for a released instance.
pub fn document_of(inst: &Instance) -> Result<InstanceDoc> {
    let st = inst.snapshot()?;
    let vars = st
        .names
        .iter()
        .zip(st.values.iter())
        .map(|(n, v)| (n.to_string(), value_to_json(v)))
        .collect();
    Ok(InstanceDoc::new(
        inst.class_name().to_string(),
        inst.created_at().map(str::to_owned),
        vars,
        st.orphans,
    ))
}

/// The class's registered full ivar list, if `class` is known to `rt` (loading it lazily).
pub fn registered_ivars(rt: &Runtime, class: &str) -> Option<Vec<String>> {
    let cid = rt.resolve_class(class)?;
    Some(rt.ivar_names(cid).iter().map(|n| n.to_string()).collect())
}

/// A (not yet resident) instance with id `id` from a document (values typed by §5.2; block
/// references resolved through the process-wide block registry). The class need not be
/// registered (§10).
pub fn instance_from_doc(rt: &Runtime, id: String, doc: InstanceDoc) -> Instance {
    let lookup = |bid: &str| tt_vm::block::registry().lookup(bid).map(Value::block);
    let (names, values): (Vec<Arc<str>>, Vec<Value>) = doc
        .vars
        .iter()
        .map(|(n, v)| (Arc::<str>::from(n.as_str()), json_to_value(v, lookup)))
        .unzip();
    let cid = rt.resolve_class(&doc.class);
    Instance::new(
        id,
        doc.class.into(),
        cid,
        doc.created_at,
        InstanceState {
            names,
            values,
            orphans: doc.orphans,
        },
    )
}

impl InstanceStore for Store {
    /// Saves the instance's document ([`Store::save_instance`]: the direct writer, one
    /// autocommit statement) and clears its modified flag.
    fn save(&self, _rt: &Runtime, inst: &Instance) -> Result<()> {
        Ok(self.save_instance(inst)?)
    }

    /// Loads the row of `id` as a fresh instance; `Ok(None)` when there is no row.
    fn load(&self, rt: &Runtime, id: &str) -> Result<Option<Instance>> {
        let Some(text) = Store::load(self, id)? else {
            return Ok(None);
        };
        let doc = InstanceDoc::parse_with(&text, |class| registered_ivars(rt, class))?;
        Ok(Some(instance_from_doc(rt, id.to_owned(), doc)))
    }

    /// The §4 document of the live instance (what `@ Runtime dataFor:` answers in Bash).
    fn document(&self, _rt: &Runtime, inst: &Instance) -> Result<Option<String>> {
        Ok(Some(document_of(inst)?.to_json()))
    }

    /// Deletes the row of `id` ([`Store::delete`]).
    fn delete(&self, id: &str) -> Result<()> {
        Store::delete(self, id)?;
        Ok(())
    }
}
