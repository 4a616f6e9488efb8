//! Tool subcommands: `compile`, `eval`, `load`, `stats`.

use std::path::PathBuf;

use tt_compiler::load_classes;
use tt_dispatch::Side;
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};

use crate::cli::{CliError, JitPolicy};

fn compile_bytes(source: &str) -> Result<Vec<u8>, CliError> {
    tt_compiler::compile_to_bytes(source).map_err(|e| CliError::Input(e.to_string()))
}

/// `tt compile '<source>'`: the chunk as lower-case hex.
pub fn compile(source: &str) -> Result<String, CliError> {
    Ok(hex::encode(compile_bytes(source)?))
}

fn run_source(rt: &Runtime, source: &str, args: &[String]) -> Result<String, CliError> {
    let block = rt.register_block(&compile_bytes(source)?, Vec::new())?;
    let args: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
    Ok(rt.invoke_block(&block, &args)?.text().into_owned())
}

/// `tt eval '<source>' [ARG...] [--jit=…]`: the result's text.
pub fn eval(
    rt: &Runtime,
    source: &str,
    args: &[String],
    jit: JitPolicy,
) -> Result<String, CliError> {
    rt.set_tier_mode(match jit {
        JitPolicy::Always => TierMode::Always,
        JitPolicy::Never => TierMode::Never,
        JitPolicy::Auto => TierMode::Auto,
    });
    run_source(rt, source, args)
}

/// `tt load FILE.trash... [-e '<block source>']`: one line per method, native or fallback
/// with the reason; then the result of the block, if given.
pub fn load(rt: &Runtime, files: &[PathBuf], eval_src: Option<&str>) -> Result<String, CliError> {
    let mut sources = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| CliError::BadArgument {
            arg: f.display().to_string(),
            reason: e.to_string(),
        })?;
        sources.push((f.display().to_string(), text));
    }
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let report = load_classes(rt, &refs).map_err(|e| CliError::Input(e.to_string()))?;
    let mut out = Vec::new();
    let (mut native, mut fallback) = (0, 0);
    for class in &report.classes {
        for m in &class.methods {
            let side = if m.side == Side::Class { " class" } else { "" };
            match &m.reason {
                None if m.native => {
                    native += 1;
                    out.push(format!("{}{side}>>{}: native", class.name, m.selector));
                }
                reason => {
                    fallback += 1;
                    let why = reason.as_deref().unwrap_or("not native");
                    out.push(format!(
                        "{}{side}>>{}: fallback ({why})",
                        class.name, m.selector
                    ));
                }
            }
        }
    }
    out.push(format!(
        "{} classes, {native} native methods, {fallback} fallback",
        report.classes.len()
    ));
    if let Some(src) = eval_src {
        out.push(run_source(rt, src, &[])?);
    }
    Ok(out.join("\n"))
}

/// `tt stats`: runtime statistics as JSON (`TT_Stats`).
pub fn stats(rt: &Runtime) -> String {
    tt_host::reflect::stats_json(rt).to_string()
}
