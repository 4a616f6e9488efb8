//! Command-line subcommands: `run`, `disasm`, `demo` (the daemon is issue 7).

use std::io::Write;

use clap::{Parser, Subcommand};
use tt_vm::{Runtime, Value};

/// The Trashtalk runtime.
#[derive(Parser, Debug)]
#[command(
    name = "tt",
    version,
    about = "Trashtalk shared runtime: daemon and tools"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a TTBC chunk (hex, or @file with raw bytes or hex) with string arguments; print the result's text.
    Run {
        /// Hex text of the chunk, or `@path`.
        chunk: String,
        /// Arguments (strings).
        args: Vec<String>,
    },
    /// Print the disassembly of a TTBC chunk (hex, or @file).
    Disasm {
        /// Hex text of the chunk, or `@path`.
        chunk: String,
    },
    /// Demonstrate the runtime: register blocks, run them, show results and tiers.
    Demo,
}

/// Errors of the command line, printed as `tt: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Input could not be read or decoded.
    #[error("{0}")]
    Input(String),
    /// The runtime refused or failed.
    #[error("{0}")]
    Runtime(#[from] tt_vm::Error),
}

/// Reads a chunk argument: hex text, or `@file` holding raw TTBC bytes or hex text.
pub fn read_chunk(arg: &str) -> Result<Vec<u8>, CliError> {
    let data = match arg.strip_prefix('@') {
        Some(path) => {
            let raw = std::fs::read(path).map_err(|e| CliError::Input(format!("{path}: {e}")))?;
            if raw.starts_with(b"TTBC") {
                return Ok(raw);
            }
            String::from_utf8_lossy(&raw).into_owned()
        }
        None => arg.to_owned(),
    };
    let hex: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&hex).map_err(|e| CliError::Input(format!("invalid hex bytecode: {e}")))
}

fn run(chunk: &str, args: &[String]) -> Result<String, CliError> {
    let bytes = read_chunk(chunk)?;
    let rt = Runtime::global();
    let block = rt.register_block(&bytes, Vec::new())?;
    let args: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
    Ok(rt.invoke_block(&block, &args)?.text().into_owned())
}

fn disasm(chunk: &str) -> Result<String, CliError> {
    let bytes = read_chunk(chunk)?;
    let v = tt_vm::ttbc::load_verified(&bytes).map_err(tt_vm::Error::from)?;
    Ok(tt_vm::ttbc::disassemble(&v.chunk))
}

const DEMO: &[(&str, &str, &[&str])] = &[
    (
        "[:x :y | x + y]",
        "5454424300010000000000062200220150F000000201780179000000",
        &["10", "32"],
    ),
    (
        "sum of 0..n-1 (loop)",
        "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000",
        &["100000"],
    ),
    (
        "[:a | (a == 'yes') ifTrue: ['Y'] ifFalse: ['N']]",
        "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000",
        &["yes"],
    ),
    (
        "[:x | | adder | adder := [:y | x + y]. adder value: 10]",
        "5454424300010000000000102200A000000121002000100001A101F00002001E5454424300010002000000063000220050F000000101790001017803000000023130010178010000",
        &["5"],
    ),
];

fn demo() -> Result<String, CliError> {
    let rt = Runtime::global();
    let mut out =
        String::from("Trashtalk runtime demo: blocks registered from TTBC and invoked\n\n");
    for (src, hex, args) in DEMO {
        let bytes = hex::decode(hex).map_err(|e| CliError::Input(e.to_string()))?;
        let block = rt.register_block(&bytes, Vec::new())?;
        let argv: Vec<Value> = args.iter().map(|a| Value::string(a)).collect();
        let start = std::time::Instant::now();
        let mut result = Value::NIL;
        for _ in 0..50 {
            result = rt.invoke_block(&block, &argv)?;
        }
        let per = start.elapsed() / 50;
        let tier = if block.code().compiled().is_some() {
            "compiled"
        } else {
            "interpreter"
        };
        out.push_str(&format!(
            "{:<58} args {:?}\n    id {}  result {}  tier {}  ({:?} per call)\n",
            src,
            args,
            block.id_text(),
            result.text(),
            tier,
            per
        ));
    }
    Ok(out)
}

/// Entry point; returns the process exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run { chunk, args }) => run(&chunk, &args),
        Some(Command::Disasm { chunk }) => disasm(&chunk),
        Some(Command::Demo) | None => demo(),
    };
    match result {
        Ok(text) => {
            let mut so = std::io::stdout();
            let _ = writeln!(so, "{text}");
            0
        }
        Err(e) => {
            eprintln!("tt: {e}");
            1
        }
    }
}
