//! Tool subcommands: `compile`, `eval`, `load`, `stats`.
//!
//! Source arguments (the source of `compile` and `eval`, `load -e`) may name where the source
//! is instead of being it: `-` reads standard input, `@path` reads a file (as curl's `-d @file`).
//! `@` followed by whitespace, or by text containing whitespace, is Trashtalk's send marker
//! (`@ Counter new`, `@Counter new`), so such arguments stay source. `load` reads a class file
//! from standard input when one of its files is `-`.

use std::io::Read;
use std::path::{Path, PathBuf};

use tt_compiler::load_classes;
use tt_dispatch::Side;
use tt_vm::tier::TierMode;
use tt_vm::{Runtime, Value};

use crate::cli::{CliError, JitPolicy};

/// Standard input as text; `what` names the argument in errors.
fn read_stdin(what: &str) -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::Input(format!("{what}: standard input: {e}")))?;
    Ok(text)
}

/// The source an argument stands for: standard input for `-`, a file's text for `@path`
/// (a path without whitespace), else the argument itself.
pub fn read_source(arg: &str) -> Result<String, CliError> {
    if arg == "-" {
        return read_stdin("source");
    }
    match arg.strip_prefix('@') {
        Some(path) if !path.is_empty() && !path.contains(char::is_whitespace) => {
            std::fs::read_to_string(path).map_err(|e| CliError::Input(format!("{path}: {e}")))
        }
        _ => Ok(arg.to_owned()),
    }
}

fn compile_bytes(source: &str) -> Result<Vec<u8>, CliError> {
    tt_compiler::compile_to_bytes(source).map_err(|e| CliError::Input(e.to_string()))
}

/// `tt compile '<source>'`: the chunk as lower-case hex.
pub fn compile(source: &str) -> Result<String, CliError> {
    Ok(hex::encode(compile_bytes(&read_source(source)?)?))
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
    run_source(rt, &read_source(source)?, args)
}

/// `tt load FILE.trash... [-e '<block source>']`: one line per method, native or fallback
/// with the reason; then the result of the block, if given.
pub fn load(rt: &Runtime, files: &[PathBuf], eval_src: Option<&str>) -> Result<String, CliError> {
    let stdin_files = files
        .iter()
        .filter(|f| f.as_path() == Path::new("-"))
        .count();
    if stdin_files + usize::from(eval_src == Some("-")) > 1 {
        return Err(CliError::Input(
            "standard input ('-') can be read only once".into(),
        ));
    }
    let eval_src = eval_src.map(read_source).transpose()?;
    let mut sources = Vec::new();
    for f in files {
        let text = if f.as_path() == Path::new("-") {
            read_stdin("class file")?
        } else {
            std::fs::read_to_string(f).map_err(|e| CliError::BadArgument {
                arg: f.display().to_string(),
                reason: e.to_string(),
            })?
        };
        let name = if f.as_path() == Path::new("-") {
            "<stdin>".to_string()
        } else {
            f.display().to_string()
        };
        sources.push((name, text));
    }
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let report = load_classes(rt, &refs).map_err(|e| CliError::Input(e.to_string()))?;
    let mut out = Vec::new();
    let (mut native, mut fallback, mut bash_bodies) = (0, 0, 0);
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
                    if reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("raw bash method"))
                    {
                        bash_bodies += 1;
                    }
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
        "{} classes, {native} native methods, {fallback} fallback \
         ({bash_bodies} written in Bash, {} in Trashtalk)",
        report.classes.len(),
        fallback - bash_bodies
    ));
    if let Some(src) = eval_src {
        out.push(run_source(rt, &src, &[])?);
    }
    Ok(out.join("\n"))
}

/// `tt stats`: runtime statistics as JSON (`TT_Stats`).
pub fn stats(rt: &Runtime) -> String {
    tt_host::reflect::stats_json(rt).to_string()
}
