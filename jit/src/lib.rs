//! `tt-jit`: the Cranelift tier for hot TTBC code units.
//!
//! [`Jit`] implements [`tt_vm::tier::Compiler`]; [`install`] plugs a JIT into a runtime. The
//! runtime decides *when* to compile (invocation and back-edge counts against a threshold, see
//! [`tt_vm::tier`]); this crate decides *how*:
//!
//! * `translate` turns a decoded [`CodeUnit`] into Cranelift IR: straight runs of integer
//!   work speculated inline with one check per run, booleans and nil inline, locals/operand
//!   stack in SSA variables, exact reference counting with inline tag checks;
//! * `helpers` holds the `extern "C"` functions compiled code calls for everything else, and
//!   `resume` the slow path of the speculative runs (the run re-executed with the interpreter's
//!   value operations);
//! * `engine` owns the (never freed) JIT module.
//!
//! Compiled code is observably identical to the interpreter: every non-inline case calls the
//! vm's own value operations or interpreter methods (`tt_vm::interp::compiled`). The design, the
//! calling convention and the measured figures are in `docs/jit.md`.
#![warn(missing_docs)]

mod engine;
mod helpers;
mod resume;
mod translate;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tt_vm::Runtime;
use tt_vm::interp::CodeUnit;
use tt_vm::tier::{Compiled, Compiler};

use engine::Engine;

static UNITS: AtomicU64 = AtomicU64::new(0);
static COMPILE_MICROS: AtomicU64 = AtomicU64::new(0);
static CODE_BYTES: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Process-wide JIT counters (all [`Jit`] instances together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Code units compiled.
    pub compiled_units: u64,
    /// Total compile time in microseconds.
    pub compile_time_us: u64,
    /// Total size of the generated machine code in bytes.
    pub code_bytes: u64,
    /// Compilations that failed (those units stay interpreted, with the reason recorded).
    pub failures: u64,
}

/// A snapshot of the process-wide JIT counters.
pub fn stats() -> Stats {
    Stats {
        compiled_units: UNITS.load(Ordering::Relaxed),
        compile_time_us: COMPILE_MICROS.load(Ordering::Relaxed),
        code_bytes: CODE_BYTES.load(Ordering::Relaxed),
        failures: FAILURES.load(Ordering::Relaxed),
    }
}

/// The Cranelift compiler. Cheap to clone; clones share one JIT module.
#[derive(Clone)]
pub struct Jit {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit").finish_non_exhaustive()
    }
}

impl Jit {
    /// A JIT for the host machine.
    pub fn new() -> Result<Jit, String> {
        Ok(Jit {
            engine: Engine::new()?,
        })
    }

    /// The Cranelift IR a unit translates to (before Cranelift's optimisations), as text. Used by
    /// the golden tests and for debugging; compiles nothing.
    pub fn clif(&self, unit: &CodeUnit) -> Result<String, String> {
        self.engine.clif(unit)
    }

    /// The machine code a unit compiles to, as Cranelift's disassembly text (after
    /// optimisation and register allocation). For debugging and code-quality tests; installs
    /// nothing.
    pub fn asm(&self, unit: &CodeUnit) -> Result<String, String> {
        self.engine.asm(unit)
    }
}

/// The loop heads (instruction indexes into [`CodeUnit::ins`]) that the translation gives an
/// integer-specialised version (docs/jit.md, "Integer-specialised loops"), ascending; compiles
/// nothing. For tests and tools that check a loop takes the fast version.
pub fn fast_loop_heads(unit: &CodeUnit) -> Result<Vec<usize>, String> {
    translate::fast_loop_heads(unit)
}

// SAFETY: `Engine::compile` returns the entry of a Cranelift function translated from `unit`
// by `translate` (the calling convention of `tt_vm::tier`: params read in place, `ctx` passed
// only to the helpers of `helpers.rs` and native thin entries, owned result bits or UNWIND),
// with `keep_alive` holding its JIT module and the constants its code embeds.
unsafe impl Compiler for Jit {
    fn compile(&self, unit: &CodeUnit) -> Result<Compiled, String> {
        match self.engine.compile(unit) {
            Ok(c) => {
                UNITS.fetch_add(1, Ordering::Relaxed);
                COMPILE_MICROS.fetch_add(c.compile_time.as_micros() as u64, Ordering::Relaxed);
                CODE_BYTES.fetch_add(c.code_bytes as u64, Ordering::Relaxed);
                Ok(c)
            }
            Err(e) => {
                FAILURES.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// Installs a new [`Jit`] as `rt`'s compiled tier. Returns false (and leaves `rt` interpreted)
/// when the host ISA is not supported.
pub fn install(rt: &Runtime) -> bool {
    match Jit::new() {
        Ok(jit) => {
            rt.set_compiler(Some(Arc::new(jit)));
            true
        }
        Err(_) => false,
    }
}
