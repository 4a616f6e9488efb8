//! Reflection as JSON (docs/spec/c-abi.md §3.3): the method list of `TT_Methods` and the
//! counters of `TT_Stats` / `tt stats`, and the `TT_METHOD_*` flags they report.

use serde_json::{Value as Json, json};
use tt_dispatch::{Side, selector_name};
use tt_vm::block::registry;
use tt_vm::{ClassId, Error, MethodImpl, Runtime};

/// `TT_METHOD_NATIVE`.
pub const TT_METHOD_NATIVE: u32 = 1;
/// `TT_METHOD_BASH_FALLBACK`: a Bash-only method (lookup skips it natively).
pub const TT_METHOD_BASH_FALLBACK: u32 = 2;
/// `TT_METHOD_CLASS_METHOD` (informational; the table an entry is in decides).
pub const TT_METHOD_CLASS_METHOD: u32 = 4;

/// The class named `name`, or `unknown class: <name>`.
pub fn class_id(rt: &Runtime, name: &str) -> Result<ClassId, Error> {
    rt.resolve_class(name)
        .ok_or_else(|| Error::not_found(format!("unknown class: {name}")))
}

/// The `TT_Methods` JSON of one side of a class: `{"selector","flags","owner","kind"}`, own and
/// inherited.
pub fn methods_json(rt: &Runtime, class: &str, side: Side) -> Result<Json, Error> {
    let cid = class_id(rt, class)?;
    let list: Vec<Json> = rt
        .dispatch()
        .methods(cid, side)
        .into_iter()
        .map(|m| {
            let (kind, mut flags) = match &m.imp {
                MethodImpl::Native(_) => ("native", TT_METHOD_NATIVE),
                MethodImpl::Bytecode(_) => ("bytecode", 0),
                MethodImpl::BashFallback { .. } => ("bash", TT_METHOD_BASH_FALLBACK),
            };
            if side == Side::Class {
                flags |= TT_METHOD_CLASS_METHOD;
            }
            json!({
                "selector": selector_name(m.selector).as_deref().unwrap_or(""),
                "flags": flags,
                "owner": rt.dispatch().class_name(m.owner).as_deref().unwrap_or(""),
                "kind": kind,
            })
        })
        .collect();
    Ok(Json::Array(list))
}

/// The `TT_Stats` JSON (keys documented in `docs/capi.md`).
pub fn stats_json(rt: &Runtime) -> Json {
    let d = rt.dispatch().stats();
    let j = tt_jit::stats();
    json!({
        "classes": rt.class_names().len(),
        "instances": rt.resident_instances().len(),
        "blocks": registry().len(),
        // Released objects still kept for calls that were running (tt_vm::pin).
        "retired_waiting": tt_vm::pin::waiting(),
        "dispatch": {
            "monomorphic": d.monomorphic,
            "polymorphic": d.polymorphic,
            "megamorphic": d.megamorphic,
            "empty": d.empty,
            "hits": d.hits,
            "misses": d.misses,
            "mega_hits": d.mega_hits,
            "mega_misses": d.mega_misses,
        },
        "jit": {
            "mode": format!("{:?}", rt.tier_mode()).to_lowercase(),
            "installed": rt.compiler().is_some(),
            "threshold": rt.tier_threshold(),
            "compiled_blocks": j.compiled_units,
            "compile_time_us": j.compile_time_us,
            "code_bytes": j.code_bytes,
            "failures": j.failures,
        },
        "plugins": crate::plugin::loaded_count(),
    })
}
