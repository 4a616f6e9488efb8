//! `tt`: the Trashtalk runtime's command-line tool and daemon (docs/spec/daemon-protocol.md).
//! Everything lives in the `tt_daemon` library (`src/lib.rs`).

fn main() {
    std::process::exit(tt_daemon::main());
}
