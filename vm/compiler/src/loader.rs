//! Registers the classes of a set of class files in a runtime.

use std::collections::{HashMap, HashSet};

use tt_dispatch::Side;

use super::class_file::{ClassSpec, MethodBody, MethodSpec, parse_class_file};
use super::codegen::normalize_selector;
use super::error::CompileError;
use super::{MethodContext, compile_method_body};
use tt_vm::Runtime;
use tt_vm::method::MethodImpl;
use tt_vm::object::ClassDef;
use tt_vm::ttbc::{Chunk, Op, load_verified, serialize_canonical};
use tt_vm::value::Value;

/// What happened to one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodReport {
    /// Bash-normalized selector (`at_put_`), as registered.
    pub selector: String,
    /// Instance or class side.
    pub side: Side,
    /// True when the method runs as TTBC.
    pub native: bool,
    /// Why the method is a Bash fallback (`None` when native).
    pub reason: Option<String>,
}

/// The methods registered for one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassReport {
    /// Qualified class name.
    pub name: String,
    /// Methods in registration order (own, then traits', then generated accessors/aliases).
    pub methods: Vec<MethodReport>,
}

/// Result of [`load_classes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Classes in file order (traits are not listed; their methods appear in the classes
    /// that include them).
    pub classes: Vec<ClassReport>,
}

impl LoadReport {
    /// The report of a class by qualified name.
    pub fn class(&self, name: &str) -> Option<&ClassReport> {
        self.classes.iter().find(|c| c.name == name)
    }
}

impl ClassReport {
    /// The report of a method by selector (either spelling) and side.
    pub fn method(&self, selector: &str, side: Side) -> Option<&MethodReport> {
        let sel = normalize_selector(selector);
        self.methods
            .iter()
            .find(|m| m.selector == sel && m.side == side)
    }
}

fn registration(e: tt_vm::Error) -> CompileError {
    CompileError::Registration {
        message: e.to_string(),
    }
}

/// One parsed declaration with the file it came from.
struct Decl {
    file: usize,
    spec: ClassSpec,
}

/// Parses every file, then defines every class (so superclasses may appear in any file or
/// order), then compiles and registers the methods.
///
/// Each method becomes TTBC when it compiles faithfully; raw Bash methods, declared
/// primitives, methods with `bashOnly`/`stream`/`direct` or unknown pragmas, and bodies the
/// compiler rejects become [`MethodImpl::BashFallback`] with the reason recorded. Structural
/// errors of the files (bad headers, unknown directives, unknown traits, duplicate classes)
/// fail the whole load before anything is registered.
pub fn load_classes(rt: &Runtime, sources: &[(&str, &str)]) -> Result<LoadReport, CompileError> {
    let mut decls = Vec::new();
    for (i, (file, text)) in sources.iter().enumerate() {
        for spec in parse_class_file(file, text)? {
            decls.push(Decl { file: i, spec });
        }
    }
    let set = FileSet::index(&decls, sources)?;
    let mut plans = Vec::new();
    for (i, d) in decls.iter().enumerate() {
        if !d.spec.is_trait {
            plans.push(set.plan(i)?);
        }
    }
    for plan in &plans {
        rt.define_class(plan.def.clone()).map_err(registration)?;
    }
    for plan in &plans {
        if let Some(info) = rt
            .resolve_class(&plan.def.name)
            .and_then(|c| rt.class_info(c))
        {
            for (name, value) in &plan.class_ivar_defaults {
                info.set_class_ivar(name, value.clone());
            }
        }
    }
    let mut report = LoadReport::default();
    for plan in &plans {
        report.classes.push(set.register(rt, plan)?);
    }
    Ok(report)
}

/// Everything needed to register one class.
struct Plan<'d> {
    def: ClassDef,
    class_ivar_names: Vec<String>,
    class_ivar_defaults: Vec<(String, Value)>,
    /// (declaration index providing the method, method) in registration order.
    methods: Vec<(usize, &'d MethodSpec)>,
    decl: usize,
}

struct FileSet<'d> {
    decls: &'d [Decl],
    files: Vec<String>,
    /// Qualified name → declaration index (classes and traits).
    by_name: HashMap<String, usize>,
    /// Package → unqualified → qualified.
    packages: HashMap<String, HashMap<String, String>>,
}

impl<'d> FileSet<'d> {
    fn index(decls: &'d [Decl], sources: &[(&str, &str)]) -> Result<FileSet<'d>, CompileError> {
        let files = sources.iter().map(|(f, _)| f.to_string()).collect();
        let mut set = FileSet {
            decls,
            files,
            by_name: HashMap::new(),
            packages: HashMap::new(),
        };
        for (i, d) in decls.iter().enumerate() {
            let q = d.spec.qualified_name();
            if set.by_name.insert(q.clone(), i).is_some() {
                return Err(
                    CompileError::semantic(d.spec.pos, format!("'{q}' is defined twice"))
                        .in_file(&set.files[d.file]),
                );
            }
            if let Some(p) = &d.spec.package {
                set.packages
                    .entry(p.clone())
                    .or_default()
                    .insert(d.spec.name.clone(), q);
            }
        }
        Ok(set)
    }

    fn file(&self, decl: usize) -> &str {
        &self.files[self.decls[decl].file]
    }

    /// Resolves a class/trait name written inside declaration `decl`.
    fn qualify(&self, decl: usize, name: &str) -> String {
        if name.contains("::") {
            return name.to_string();
        }
        self.decls[decl]
            .spec
            .package
            .as_ref()
            .and_then(|p| self.packages.get(p))
            .and_then(|m| m.get(name))
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    fn class_names(&self, decl: usize) -> HashMap<String, String> {
        self.decls[decl]
            .spec
            .package
            .as_ref()
            .and_then(|p| self.packages.get(p))
            .cloned()
            .unwrap_or_default()
    }

    fn traits_of(&self, decl: usize) -> Result<Vec<usize>, CompileError> {
        let spec = &self.decls[decl].spec;
        let mut out = Vec::new();
        for (name, pos) in &spec.includes {
            let q = self.qualify(decl, name);
            match self.by_name.get(&q) {
                Some(&t) if self.decls[t].spec.is_trait => out.push(t),
                _ => {
                    return Err(
                        CompileError::semantic(*pos, format!("unknown trait '{name}'"))
                            .in_file(self.file(decl)),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Class-instance variables declared by the superclasses found in this file set.
    fn inherited_class_ivars(&self, decl: usize) -> Vec<(String, Option<Value>)> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = decl;
        while let Some(sup) = &self.decls[cur].spec.superclass {
            let q = self.qualify(cur, sup);
            match self.by_name.get(&q) {
                Some(&s) if seen.insert(s) && s != decl => {
                    chain.push(s);
                    cur = s;
                }
                _ => break,
            }
        }
        chain
            .iter()
            .rev()
            .flat_map(|&s| self.decls[s].spec.class_ivars.clone())
            .collect()
    }

    fn plan(&self, decl: usize) -> Result<Plan<'d>, CompileError> {
        let spec = &self.decls[decl].spec;
        let traits = self.traits_of(decl)?;
        let mut ivars: Vec<(String, Option<Value>)> = spec.ivars.clone();
        let mut class_ivars = self.inherited_class_ivars(decl);
        class_ivars.extend(spec.class_ivars.iter().cloned());
        for &t in &traits {
            let ts = &self.decls[t].spec;
            for (n, d) in &ts.ivars {
                if !ivars.iter().any(|(x, _)| x == n) {
                    ivars.push((n.clone(), d.clone()));
                }
            }
            class_ivars.extend(ts.class_ivars.iter().cloned());
        }
        let mut cnames: Vec<String> = Vec::new();
        let mut cdefaults: HashMap<String, Value> = HashMap::new();
        for (n, d) in class_ivars {
            if !cnames.contains(&n) {
                cnames.push(n.clone());
            }
            if let Some(d) = d {
                cdefaults.insert(n, d);
            }
        }
        let methods = self.collect_methods(decl, &traits)?;
        let def = ClassDef {
            name: spec.qualified_name(),
            superclass: spec.superclass.as_ref().map(|s| self.qualify(decl, s)),
            ivars: ivars.iter().map(|(n, _)| n.clone()).collect(),
            ivar_defaults: ivars.iter().map(|(_, d)| d.clone()).collect(),
            class_ivars: cnames.clone(),
        };
        let class_ivar_defaults = cnames
            .iter()
            .filter_map(|n| cdefaults.get(n).map(|v| (n.clone(), v.clone())))
            .collect();
        Ok(Plan {
            def,
            class_ivar_names: cnames,
            class_ivar_defaults,
            methods,
            decl,
        })
    }

    /// Own methods, then trait methods the class does not define itself. Two traits
    /// providing the same selector is an error unless the class defines it.
    fn collect_methods(
        &self,
        decl: usize,
        traits: &[usize],
    ) -> Result<Vec<(usize, &'d MethodSpec)>, CompileError> {
        let spec = &self.decls[decl].spec;
        let key = |m: &MethodSpec| (normalize_selector(&m.selector), m.side);
        let mut out: Vec<(usize, &MethodSpec)> = Vec::new();
        let mut seen: HashMap<(String, Side), usize> = HashMap::new();
        for m in &spec.methods {
            if let Some(&i) = seen.get(&key(m)) {
                out[i] = (decl, m);
            } else {
                seen.insert(key(m), out.len());
                out.push((decl, m));
            }
        }
        let own: HashSet<(String, Side)> = seen.keys().cloned().collect();
        let mut from_trait: HashMap<(String, Side), usize> = HashMap::new();
        for &t in traits {
            for m in &self.decls[t].spec.methods {
                let k = key(m);
                if own.contains(&k) {
                    continue;
                }
                if let Some(&other) = from_trait.get(&k) {
                    if other != t {
                        return Err(CompileError::semantic(
                            m.pos,
                            format!(
                                "'{}' is provided by traits '{}' and '{}'; define it in '{}'",
                                m.selector,
                                self.decls[other].spec.name,
                                self.decls[t].spec.name,
                                spec.name
                            ),
                        )
                        .in_file(self.file(decl)));
                    }
                    continue;
                }
                from_trait.insert(k, t);
                out.push((t, m));
            }
        }
        Ok(out)
    }

    fn register(&self, rt: &Runtime, plan: &Plan<'_>) -> Result<ClassReport, CompileError> {
        let class = plan.def.name.clone();
        let ivars: Vec<String> = match rt.resolve_class(&class) {
            Some(cid) => rt.ivar_names(cid).iter().map(|s| s.to_string()).collect(),
            None => plan.def.ivars.clone(),
        };
        let mut report = ClassReport {
            name: class.clone(),
            methods: Vec::new(),
        };
        let mut impls: HashMap<(String, Side), MethodImpl> = HashMap::new();
        for &(owner, m) in &plan.methods {
            let ctx = MethodContext {
                params: m.params.clone(),
                ivars: if m.side == Side::Class {
                    plan.class_ivar_names.clone()
                } else {
                    ivars.clone()
                },
                class_side: m.side == Side::Class,
                class_names: self.class_names(owner),
            };
            let imp = self.method_impl(owner, m, &ctx);
            let sel = normalize_selector(&m.selector);
            rt.add_method(&class, m.side, &sel, imp.clone())
                .map_err(registration)?;
            if !m.pragmas.is_empty() {
                rt.set_method_pragmas(&class, m.side, &sel, m.pragmas.clone())
                    .map_err(registration)?;
            }
            report.methods.push(method_report(&sel, m.side, &imp));
            impls.insert((sel, m.side), imp);
        }
        for name in &plan.def.ivars {
            for (sel, chunk) in accessors(name) {
                if impls.contains_key(&(sel.clone(), Side::Instance)) {
                    continue;
                }
                let imp = verified_impl(&chunk)
                    .unwrap_or_else(|reason| MethodImpl::BashFallback { reason });
                rt.add_method(&class, Side::Instance, &sel, imp.clone())
                    .map_err(registration)?;
                report
                    .methods
                    .push(method_report(&sel, Side::Instance, &imp));
                impls.insert((sel, Side::Instance), imp);
            }
        }
        let spec = &self.decls[plan.decl].spec;
        for (new, old, pos) in &spec.aliases {
            let old_sel = normalize_selector(old);
            let Some(imp) = impls.get(&(old_sel, Side::Instance)).cloned() else {
                return Err(CompileError::semantic(
                    *pos,
                    format!("alias target '{old}' is not defined in '{}'", spec.name),
                )
                .in_file(self.file(plan.decl)));
            };
            let sel = normalize_selector(new);
            rt.add_method(&class, Side::Instance, &sel, imp.clone())
                .map_err(registration)?;
            report
                .methods
                .push(method_report(&sel, Side::Instance, &imp));
        }
        Ok(report)
    }

    fn method_impl(&self, owner: usize, m: &MethodSpec, ctx: &MethodContext) -> MethodImpl {
        let fallback = |reason: String| MethodImpl::BashFallback { reason };
        match &m.body {
            MethodBody::Raw if m.pragmas.first().is_some_and(|p| p == "primitive") => {
                fallback("raw bash method (pragma primitive)".into())
            }
            MethodBody::Raw => fallback("raw bash method".into()),
            MethodBody::Primitive(f) => fallback(format!("bash primitive '{f}'")),
            MethodBody::Invalid(e) => fallback(e.clone().in_file(self.file(owner)).to_string()),
            MethodBody::Dsl(body) => {
                if let Some(reason) = pragma_fallback(&m.pragmas) {
                    return fallback(reason);
                }
                match compile_method_body(body, ctx) {
                    Ok(chunk) => verified_impl(&chunk).unwrap_or_else(fallback),
                    Err(e) => fallback(e.in_file(self.file(owner)).to_string()),
                }
            }
        }
    }
}

/// Pragmas that keep a compiled method in Bash, with the reason (every pragma does: the known
/// ones change how Bash runs the method, unknown ones cannot be assumed harmless).
///
/// `procyonOnly` is the exception: it asks for a native body, so it never keeps a compiled
/// method in Bash (one that does not compile answers the Bash runtime's error for it,
/// docs/spec/daemon-protocol.md §14).
fn pragma_fallback(pragmas: &[String]) -> Option<String> {
    pragmas
        .iter()
        .find(|p| p.as_str() != "procyonOnly")
        .map(|p| match p.as_str() {
            "bashOnly" => "pragma bashOnly".to_string(),
            "stream" => "pragma stream: every statement's output is part of the result".to_string(),
            "direct" => "pragma direct: the method runs in the caller's shell".to_string(),
            other => format!("unknown pragma '{other}'"),
        })
}

/// Serializes, loads and verifies a compiled chunk; a verifier rejection (a compiler bug)
/// is reported as the fallback reason instead of running unverified code.
fn verified_impl(chunk: &Chunk) -> Result<MethodImpl, String> {
    let bytes = serialize_canonical(chunk)
        .map_err(|e| format!("internal: cannot serialize compiled method: {e}"))?;
    let verified = load_verified(&bytes)
        .map_err(|e| format!("internal: verifier rejected compiled method: {e}"))?;
    Ok(MethodImpl::bytecode(verified))
}

fn method_report(selector: &str, side: Side, imp: &MethodImpl) -> MethodReport {
    let reason = match imp {
        MethodImpl::BashFallback { reason } => Some(reason.clone()),
        _ => None,
    };
    MethodReport {
        selector: selector.to_string(),
        side,
        native: reason.is_none(),
        reason,
    }
}

/// Generated `getX` / `setX:` accessors of an ivar (Trashtalk generates them for every
/// instance variable); a class's own method of the same selector wins.
fn accessors(ivar: &str) -> Vec<(String, Chunk)> {
    let mut cap = ivar.to_string();
    if let Some(first) = cap.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let getter = Chunk {
        version: 1,
        code: vec![Op::LoadIvar.byte(), 0, 0, Op::Return.byte()],
        constants: vec![ivar.as_bytes().to_vec()],
        ..Default::default()
    };
    let setter = Chunk {
        version: 1,
        code: vec![
            Op::LoadParam.byte(),
            0,
            Op::StoreIvar.byte(),
            0,
            0,
            Op::ReturnNil.byte(),
        ],
        constants: vec![ivar.as_bytes().to_vec()],
        params: vec!["value".to_string()],
        ..Default::default()
    };
    vec![
        (format!("get{cap}"), getter),
        (format!("set{cap}_"), setter),
    ]
}
