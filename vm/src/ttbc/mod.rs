//! TTBC v1: chunk model, loader, serializer, verifier and disassembler (docs/spec/ttbc.md §2–§5).
//!
//! The bytes are the contract; everything here either reads them exactly, writes them exactly,
//! or refuses them with the spec's message before anything runs.

pub mod chunk;
pub mod disasm;
pub mod load;
pub mod opcode;
pub mod verify;
pub mod write;

pub use chunk::{CaptureDesc, CaptureSource, Chunk, DebugInfo, SrcLoc};
pub use disasm::disassemble;
pub use load::load;
pub use opcode::{Op, Operands};
pub use verify::{TtbcError, Verified, load_verified, verify};
pub use write::{WriteError, serialize, serialize_canonical};
