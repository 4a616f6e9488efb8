//! `tt`: the Trashtalk runtime's command-line tool and daemon (docs/spec/daemon-protocol.md).
//!
//! The executable (`src/main.rs`) calls [`main`]. The library exists so that the fuzz targets
//! (`tests/fuzz-targets`, docs/fuzzing.md) can run the daemon's request path in-process through
//! [`inprocess`]; everything else is private to the tool.

mod classes;
mod cli;
mod engine;
mod exports;
mod handler;
pub mod inprocess;
mod manage;
mod plugins;
mod protocol;
mod server;
mod stdio;
mod tools;
mod trace;
mod transaction;
mod typing;

/// Installs the Cranelift tier into `rt` unless `TT_JIT=0`.
pub fn install_jit(rt: &tt_vm::Runtime) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var("TT_JIT").as_deref() != Ok("0") {
        ONCE.call_once(|| {
            tt_jit::install(rt);
        });
    }
}

/// The `tt` tool: installs the JIT into the global runtime, runs the command line and answers the
/// process's exit code.
pub fn main() -> i32 {
    exports::keep();
    install_jit(tt_vm::Runtime::global());
    cli::main()
}
