//! The command line (docs/spec/daemon-protocol.md §3) and the tool subcommands.
//!
//! Daemon flags are accepted as `--name value`, `--name=value` and `-name value` (single-dash
//! spellings are rewritten before clap sees them). Unknown flags and bad values print the usage
//! on stderr and exit 2. Without a subcommand `tt` is the daemon: socket mode with `--socket`,
//! stdin/stdout mode without it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tt_vm::{Runtime, Value};

use crate::engine::{Engine, EngineConfig, RequestLimits};
use crate::trace::LogSink;
use crate::{manage, server, stdio, tools};

/// Default `--request-timeout` in seconds: a little above the Bash client's 5 s timeout, so a
/// request the client gave up on does not keep running (docs/limits.md).
pub const DEFAULT_REQUEST_TIMEOUT: f64 = 6.0;
/// Default `--request-memory` in megabytes (docs/limits.md).
pub const DEFAULT_REQUEST_MEMORY_MB: u64 = 512;

/// Default socket of `--kill` / `--status` / `--restart` without `--socket`.
pub const DEFAULT_SOCKET: &str = "/tmp/tt.sock";

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
    #[command(flatten)]
    daemon: DaemonFlags,
}

/// The daemon flags of docs/spec/daemon-protocol.md §3.
#[derive(clap::Args, Debug, Default)]
pub struct DaemonFlags {
    /// Serve the socket at PATH (without it, serve stdin/stdout).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Plugin directory (default ~/.trashtalk/trash/.compiled).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Class sources to compile at start (default: the parent of --plugin-dir; `none` = off).
    #[arg(long = "trash-dir", value_name = "DIR|none")]
    pub trash_dir: Option<String>,
    /// Diagnostic lines on stderr.
    #[arg(long)]
    pub debug: bool,
    /// Socket mode: exit after N seconds without a new connection (0 = never).
    #[arg(
        long = "idle-timeout",
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub idle_timeout: u64,
    /// SQLite database (default: docs/spec/persistence.md §2).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Octal permission bits of the socket.
    #[arg(long = "socket-mode", value_name = "MODE", default_value = "0600", value_parser = parse_mode)]
    pub socket_mode: u32,
    /// Stop the daemon of --socket (default /tmp/tt.sock) and exit.
    #[arg(long)]
    pub kill: bool,
    /// Report the daemon of --socket (default /tmp/tt.sock) and exit.
    #[arg(long)]
    pub status: bool,
    /// Stop the running daemon, then start normally.
    #[arg(long)]
    pub restart: bool,
    /// `plugins`, `classes`, or an instance id: print and exit.
    #[arg(long, value_name = "TARGET")]
    pub inspect: Option<String>,
    /// Append one line per dispatch decision to FILE (or `stderr`).
    #[arg(long, value_name = "FILE|stderr")]
    pub trace: Option<String>,
    /// Append per-stage timings to FILE (or `stderr`).
    #[arg(long, value_name = "FILE|stderr")]
    pub profile: Option<String>,
    /// Stop a request that runs longer than SECS seconds with an error (0 = never; docs/limits.md).
    #[arg(long = "request-timeout", value_name = "SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT, value_parser = parse_secs)]
    pub request_timeout: f64,
    /// Stop a request whose values allocate more than MB megabytes with an error (0 = no cap).
    #[arg(long = "request-memory", value_name = "MB", default_value_t = DEFAULT_REQUEST_MEMORY_MB)]
    pub request_memory: u64,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(m),
        _ => Err(format!("invalid octal mode {s:?}")),
    }
}

/// JIT policy of `tt eval`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitPolicy {
    /// Compile before the first run.
    Always,
    /// Interpret only.
    Never,
    /// Compile when hot.
    Auto,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a TTBC chunk (hex, or @file with raw bytes or hex) with string arguments; print the result's text.
    Run {
        /// Hex text of the chunk, or `@path`.
        chunk: String,
        /// Arguments (strings; `-7` is an argument, not a flag; `-- -x` passes `-x`).
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Stop with an error after SECS seconds (docs/limits.md).
        #[arg(long, value_name = "SECS", value_parser = parse_secs)]
        timeout: Option<f64>,
    },
    /// Print the disassembly of a TTBC chunk (hex, or @file).
    Disasm {
        /// Hex text of the chunk, or `@path`.
        chunk: String,
    },
    /// Demonstrate the runtime: register blocks, run them, show results and tiers.
    Demo,
    /// Compile Trashtalk block source to TTBC; print the chunk as hex.
    Compile {
        /// Block source, e.g. `[:x :y | x + y]`; `@path` reads it from a file, `-` from stdin.
        source: String,
    },
    /// Compile and run Trashtalk block source with string arguments; print the result's text.
    Eval {
        /// Block source; `@path` reads it from a file, `-` from stdin.
        source: String,
        /// Arguments (strings; `-7` is an argument, not a flag; `-- -x` passes `-x`).
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Tier policy for this run.
        #[arg(long, value_enum, default_value = "auto")]
        jit: JitPolicy,
        /// Stop with an error after SECS seconds (docs/limits.md).
        #[arg(long, value_name = "SECS", value_parser = parse_secs)]
        timeout: Option<f64>,
    },
    /// Load `.trash` class files; report each method as native or fallback (with the reason).
    Load {
        /// Class files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Block source to evaluate after loading (`@path`: from a file, `-`: from stdin).
        #[arg(short = 'e', value_name = "BLOCK SOURCE", allow_hyphen_values = true)]
        eval: Option<String>,
        /// Stop with an error after SECS seconds (docs/limits.md).
        #[arg(long, value_name = "SECS", value_parser = parse_secs)]
        timeout: Option<f64>,
    },
    /// Print runtime statistics as JSON.
    Stats,
}

/// Errors of the command line, printed as `tt: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Input could not be read or decoded.
    #[error("{0}")]
    Input(String),
    /// A command-line argument is unusable (exit 2): names the argument.
    #[error("{arg}: {reason}")]
    BadArgument {
        /// The argument as given (or its name).
        arg: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The runtime refused or failed.
    #[error("{0}")]
    Runtime(#[from] tt_vm::Error),
    /// Runtime initialization failed.
    #[error("{0}")]
    Engine(#[from] crate::engine::EngineError),
    /// Socket mode failed to start.
    #[error("{0}")]
    Server(#[from] server::ServerError),
    /// I/O on stdin/stdout.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads a chunk argument: hex text, or `@file` holding raw TTBC bytes or hex text.
pub fn read_chunk(arg: &str) -> Result<Vec<u8>, CliError> {
    let bad = |reason: String| CliError::BadArgument {
        arg: format!("chunk {}", shorten(arg)),
        reason,
    };
    let data = match arg.strip_prefix('@') {
        Some(path) => {
            let raw = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            if raw.starts_with(b"TTBC") {
                return Ok(raw);
            }
            String::from_utf8_lossy(&raw).into_owned()
        }
        None => arg.to_owned(),
    };
    let hex: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&hex).map_err(|e| bad(format!("invalid hex bytecode: {e}")))
}

/// An argument as shown in an error line: at most 40 characters.
fn shorten(arg: &str) -> String {
    match arg.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &arg[..i]),
        None => arg.to_owned(),
    }
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
    Ok(tt_vm::ttbc::disassemble(v.chunk()))
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
        } else if block.code().trivial.is_some() {
            "interpreter (trivial entry)"
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

/// Flag names that may be spelled with one dash.
const LONG_FLAGS: &[&str] = &[
    "socket",
    "plugin-dir",
    "trash-dir",
    "debug",
    "idle-timeout",
    "db",
    "socket-mode",
    "kill",
    "status",
    "restart",
    "inspect",
    "trace",
    "profile",
    "jit",
    "help",
    "version",
];

/// Subcommand names: after one of them only the subcommand's own flags are rewritten.
const SUBCOMMANDS: &[&str] = &[
    "run", "disasm", "demo", "compile", "eval", "load", "stats", "help",
];

/// Daemon flags that take a value (the word after them is never a subcommand name).
const VALUE_FLAGS: &[&str] = &[
    "socket",
    "plugin-dir",
    "idle-timeout",
    "db",
    "socket-mode",
    "inspect",
    "trace",
    "profile",
];

/// Rewrites `-name` / `-name=value` of a known long flag to `--name…` (stops at `--`). After a
/// subcommand name only `-jit` is rewritten, so a string argument such as `-debug` stays an
/// argument.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut literal = false;
    let mut in_sub = false;
    for (i, a) in args.into_iter().enumerate() {
        if i == 0 || literal {
            out.push(a);
            continue;
        }
        if a == "--" {
            literal = true;
            out.push(a);
            continue;
        }
        let after_value_flag = out.last().is_some_and(|prev| {
            let name = prev.trim_start_matches('-');
            prev.starts_with('-') && !prev.contains('=') && VALUE_FLAGS.contains(&name)
        });
        if !in_sub && !after_value_flag && SUBCOMMANDS.contains(&a.as_str()) {
            in_sub = true;
            out.push(a);
            continue;
        }
        let single = a.starts_with('-') && !a.starts_with("--");
        let name = a.get(1..).unwrap_or("").split('=').next().unwrap_or("");
        let known = if in_sub {
            name == "jit"
        } else {
            LONG_FLAGS.contains(&name)
        };
        if single && known {
            out.push(format!("-{a}"));
        } else {
            out.push(a);
        }
    }
    out
}

fn default_plugin_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".trashtalk/trash/.compiled"))
}

fn open_sink(target: Option<&str>, what: &str) -> Result<LogSink, CliError> {
    LogSink::open(target).map_err(|e| CliError::BadArgument {
        arg: format!("--{what} {}", target.unwrap_or("")),
        reason: e.to_string(),
    })
}

/// A number of seconds `>= 0` (`--request-timeout`, `--timeout`).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.0..1e9).contains(&t) => Ok(t),
        _ => Err(format!("{s} is not a number of seconds >= 0")),
    }
}

/// `--request-timeout` / `--request-memory` as [`RequestLimits`] (0 = unbounded).
fn request_limits(flags: &DaemonFlags) -> Result<RequestLimits, CliError> {
    let t = flags.request_timeout;
    Ok(RequestLimits {
        timeout: (t > 0.0).then(|| Duration::from_secs_f64(t)),
        memory: (flags.request_memory > 0).then(|| flags.request_memory.saturating_mul(1 << 20)),
    })
}

/// The daemon path: management commands, or initialize and serve.
fn daemon(flags: DaemonFlags) -> Result<Option<String>, CliError> {
    let socket = flags
        .socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    if flags.status {
        return Ok(Some(manage::status(&socket)));
    }
    if flags.kill {
        return Ok(Some(manage::kill(&socket)));
    }
    let plugin_dir = flags.plugin_dir.clone().or_else(default_plugin_dir);
    if let Some(target) = flags.inspect.as_deref() {
        let plugins = crate::plugins::Plugins::new(plugin_dir.clone());
        return Ok(Some(match target {
            "plugins" => manage::inspect_plugins(&plugins),
            "classes" => manage::inspect_classes(&plugins),
            id => {
                let engine = Engine::start(EngineConfig {
                    db: flags.db.clone(),
                    plugin_dir,
                    ..Default::default()
                })?;
                let out = manage::inspect_instance(engine.rt(), id);
                engine.close();
                out
            }
        }));
    }
    if flags.restart {
        manage::stop_for_restart(&socket);
    }
    let trash_dir = flags
        .trash_dir
        .as_deref()
        .map(crate::classes::TrashDir::parse)
        .unwrap_or_default()
        .resolve(plugin_dir.as_deref());
    let cfg = EngineConfig {
        db: flags.db.clone(),
        plugin_dir,
        trash_dir,
        debug: flags.debug,
        trace: open_sink(flags.trace.as_deref(), "trace")?,
        profile: open_sink(flags.profile.as_deref(), "profile")?,
        limits: request_limits(&flags)?,
    };
    let engine = Engine::start(cfg)?;
    match flags.socket {
        Some(socket) => {
            let cfg = server::ServerConfig {
                socket,
                mode: flags.socket_mode,
                idle_timeout: (flags.idle_timeout > 0)
                    .then(|| Duration::from_secs(flags.idle_timeout)),
            };
            server::run(engine, &cfg)?;
        }
        None => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            stdio::run(&engine, stdin, std::io::BufWriter::new(stdout))?;
        }
    }
    Ok(None)
}

/// Prints a parse error: help/version on stdout (exit 0); otherwise one line `tt: <error naming
/// the argument>` and the usage line on stderr (exit 2).
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    let (line, usage) = error_lines(&e.to_string());
    let usage = usage.unwrap_or_else(|| {
        <Cli as clap::CommandFactory>::command()
            .render_usage()
            .to_string()
    });
    let mut err = std::io::stderr();
    let _ = writeln!(err, "tt: {line}\n{}", usage.trim_end());
    2
}

/// Splits clap's rendered error into one line (the message with its indented continuation
/// lines, e.g. the names of missing arguments; tips dropped) and its `Usage:` line, if any.
fn error_lines(text: &str) -> (String, Option<String>) {
    let mut lines = text.lines();
    let mut msg = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .trim()
        .to_owned();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        msg.push(' ');
        msg.push_str(l.trim());
    }
    let usage = text
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .map(str::to_owned);
    (msg, usage)
}

/// Entry point; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(normalize_args(std::env::args())) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let rt = Runtime::global();
    // `--timeout SECS` of run / eval / load: the deadline of this thread (docs/limits.md).
    let timeout = match &cli.command {
        Some(Command::Run { timeout, .. })
        | Some(Command::Eval { timeout, .. })
        | Some(Command::Load { timeout, .. }) => timeout.filter(|t| *t > 0.0),
        _ => None,
    };
    let _limits = timeout.map(|t| {
        tt_vm::limits::Scope::new(
            Some(std::time::Instant::now() + Duration::from_secs_f64(t)),
            None,
        )
    });
    let result = match cli.command {
        Some(Command::Run { chunk, args, .. }) => run(&chunk, &args).map(Some),
        Some(Command::Disasm { chunk }) => disasm(&chunk).map(Some),
        Some(Command::Demo) => demo().map(Some),
        Some(Command::Compile { source }) => tools::compile(&source).map(Some),
        Some(Command::Eval {
            source, args, jit, ..
        }) => tools::eval(rt, &source, &args, jit).map(Some),
        Some(Command::Load { files, eval, .. }) => {
            tools::load(rt, &files, eval.as_deref()).map(Some)
        }
        Some(Command::Stats) => Ok(Some(tools::stats(rt))),
        None => daemon(cli.daemon),
    };
    match result {
        Ok(Some(text)) => {
            let mut so = std::io::stdout();
            let _ = writeln!(so, "{text}");
            0
        }
        Ok(None) => 0,
        Err(e @ CliError::BadArgument { .. }) => {
            eprintln!("tt: {e}");
            2
        }
        Err(e) => {
            eprintln!("tt: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn single_dash_flags_are_normalized() {
        assert_eq!(
            normalize_args(s(&[
                "tt",
                "-socket",
                "/x",
                "-debug",
                "-socket-mode=0660",
                "-e",
                "x",
                "--",
                "-db"
            ])),
            s(&[
                "tt",
                "--socket",
                "/x",
                "--debug",
                "--socket-mode=0660",
                "-e",
                "x",
                "--",
                "-db"
            ])
        );
    }

    #[test]
    fn single_dash_words_after_a_subcommand_are_arguments() {
        assert_eq!(
            normalize_args(s(&["tt", "eval", "[:x | x]", "-debug", "-jit=never"])),
            s(&["tt", "eval", "[:x | x]", "-debug", "--jit=never"])
        );
        // A flag value that happens to be a subcommand name is not one.
        assert_eq!(
            normalize_args(s(&["tt", "-socket", "run", "-debug"])),
            s(&["tt", "--socket", "run", "--debug"])
        );
        let cli = Cli::try_parse_from(normalize_args(s(&[
            "tt", "run", "00", "--", "-debug", "-7",
        ])))
        .unwrap();
        match cli.command {
            Some(Command::Run { args, .. }) => assert_eq!(args, ["-debug", "-7"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_parse_in_every_spelling() {
        for argv in [
            s(&[
                "tt",
                "--socket",
                "/s",
                "--idle-timeout",
                "5",
                "--socket-mode",
                "0660",
            ]),
            s(&[
                "tt",
                "--socket=/s",
                "--idle-timeout=5",
                "--socket-mode=0660",
            ]),
            s(&[
                "tt",
                "-socket",
                "/s",
                "-idle-timeout",
                "5",
                "-socket-mode",
                "660",
            ]),
        ] {
            let cli = Cli::try_parse_from(normalize_args(argv)).unwrap();
            assert_eq!(
                cli.daemon.socket.as_deref(),
                Some(std::path::Path::new("/s"))
            );
            assert_eq!(cli.daemon.idle_timeout, 5);
            assert_eq!(cli.daemon.socket_mode, 0o660);
        }
        assert!(Cli::try_parse_from(s(&["tt", "--bogus"])).is_err());
        assert!(Cli::try_parse_from(s(&["tt", "--socket-mode", "999"])).is_err());
        assert!(Cli::try_parse_from(s(&["tt", "--idle-timeout", "x"])).is_err());
        let cli = Cli::try_parse_from(s(&["tt"])).unwrap();
        assert!(cli.command.is_none() && cli.daemon.socket.is_none());
        assert_eq!(cli.daemon.socket_mode, 0o600);
    }
}
