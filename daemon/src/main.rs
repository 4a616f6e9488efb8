//! `tt`: the Trashtalk runtime's command-line tool and daemon (docs/spec/daemon-protocol.md).

mod classes;
mod cli;
mod engine;
mod exports;
mod handler;
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
pub(crate) fn install_jit(rt: &tt_vm::Runtime) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var("TT_JIT").as_deref() != Ok("0") {
        ONCE.call_once(|| {
            tt_jit::install(rt);
        });
    }
}

fn main() {
    exports::keep();
    install_jit(tt_vm::Runtime::global());
    std::process::exit(cli::main());
}
