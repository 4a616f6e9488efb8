//! `tt`: the Trashtalk runtime's command-line tool and daemon.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
