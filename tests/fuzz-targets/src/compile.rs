//! Target `compile`: arbitrary text through the Trashtalk source compiler.
//!
//! The first byte picks the entry (block, method, class file); the rest, as UTF-8 (lossily), is
//! the source. The compiler never panics: bad source is a typed [`tt_compiler::CompileError`].
//! A compiled block or method must serialize and pass the TTBC verifier (docs/spec/ttbc.md §7),
//! since the loader refuses anything else. A class file is loaded into a fresh runtime
//! ([`load_classes`]: parse, compile every method, define the classes).

use tt_compiler::{compile_block, compile_method, load_classes};
use tt_vm::Runtime;
use tt_vm::ttbc::{Chunk, load_verified, serialize};

/// Compiled chunks must serialize and verify.
fn check(chunk: &Chunk, source: &str) {
    let bytes = serialize(chunk).expect("a compiled chunk serializes");
    if let Err(e) = load_verified(&bytes) {
        panic!("compiled chunk fails verification ({e}) for source {source:?}");
    }
}

/// Runs one input.
pub fn fuzz_compile(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let source = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => {
            if let Ok(chunk) = compile_block(&source) {
                check(&chunk, &source);
            }
        }
        1 => {
            let params = ["a".to_string(), "b".to_string()];
            let ivars = ["x".to_string(), "y".to_string()];
            if let Ok(chunk) = compile_method(&source, &params, &ivars) {
                check(&chunk, &source);
            }
        }
        _ => {
            let rt = Runtime::new();
            let _ = load_classes(&rt, &[("fuzz.trash", &source)]);
        }
    }
}
