//! Target `load`: arbitrary bytes through the TTBC loader, verifier and disassembler.
//!
//! None of them may panic on any input (docs/spec/ttbc.md §7.5); a loaded chunk must
//! re-serialize to exactly the bytes it was loaded from (§2.5); a verified chunk has
//! `max_stack <= 1024` (§3.4).

use tt_vm::ttbc::{disassemble, load, load_verified, serialize};

/// Runs one input.
pub fn fuzz_load(data: &[u8]) {
    if let Ok(chunk) = load(data) {
        let _ = disassemble(&chunk);
        let bytes = serialize(&chunk).expect("a loaded chunk is encodable");
        assert_eq!(bytes, data, "loaded chunks re-serialize byte-exactly");
    }
    if let Ok(verified) = load_verified(data) {
        assert!(verified.max_stack() <= 1024);
        let _ = disassemble(verified.chunk());
    }
}
