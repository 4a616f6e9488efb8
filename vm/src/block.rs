//! Blocks and the process-wide block registry (docs/spec/ttbc.md §7.4, §8, §9).
//!
//! There is exactly one registry per process, shared by blocks registered from outside and
//! blocks made by `MAKE_BLOCK`. Ids (`bytecode_block_<n>`) come from one process-wide counter
//! starting at 1 and are never reused. `MAKE_BLOCK` blocks get their id lazily, the first time
//! they become observable (their text is taken or they cross the C ABI / daemon), so blocks that
//! never escape the VM cost no registry entry and are freed with their last reference.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::interp::CodeUnit;
use crate::value::Value;

/// Prefix of bytecode block ids.
pub const BLOCK_ID_PREFIX: &str = "bytecode_block_";

/// Identity of an activation, used as the home of blocks for non-local return (§11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Home {
    /// The run (entry activation and everything nested in it) the activation belongs to.
    pub run: u64,
    /// The activation's unique frame number.
    pub frame: u64,
}

/// One capture cell (§8). Each read/write is atomic.
#[derive(Debug)]
pub enum Cell {
    /// A by-value cell.
    Value(Mutex<Value>),
    /// An ivar cell: reads and writes go through to ivar `name` of `target`.
    Ivar {
        /// The instance (an instance value).
        target: Value,
        /// Ivar name.
        name: Arc<str>,
    },
}

/// A block: code, capture cells, bound self and home.
#[derive(Debug)]
pub struct Block {
    id: OnceLock<u64>,
    pub(crate) code: Arc<CodeUnit>,
    pub(crate) cells: Box<[Cell]>,
    pub(crate) bound_self: Option<Value>,
    pub(crate) home: Option<Home>,
}

impl Block {
    pub(crate) fn new(
        code: Arc<CodeUnit>,
        cells: Box<[Cell]>,
        bound_self: Option<Value>,
        home: Option<Home>,
    ) -> Block {
        // Counted against the thread's memory budget (`crate::limits`; past it the call stops
        // at its next poll).
        crate::limits::charge(std::mem::size_of::<Block>() + 16 + cells.len() * 16);
        Block {
            id: OnceLock::new(),
            code,
            cells,
            bound_self,
            home,
        }
    }

    /// The block's code unit.
    pub fn code(&self) -> &Arc<CodeUnit> {
        &self.code
    }

    /// Number of parameters.
    pub fn param_count(&self) -> usize {
        self.code.param_count
    }

    /// The registry number if the block has been registered.
    pub fn number(&self) -> Option<u64> {
        self.id.get().copied()
    }

    /// The id text `bytecode_block_<n>`, registering the block if it has no id yet.
    pub fn id_text(self: &Arc<Self>) -> String {
        format!("{BLOCK_ID_PREFIX}{}", registry().ensure_registered(self))
    }

    /// Reads capture cell `i` (nil for a missing cell).
    pub fn cell(&self, i: usize) -> Value {
        match self.cells.get(i) {
            Some(Cell::Value(m)) => m.lock().clone(),
            Some(Cell::Ivar { target, name }) => target
                .as_instance()
                .and_then(|inst| inst.get(name).ok().flatten())
                .unwrap_or(Value::NIL),
            None => Value::NIL,
        }
    }

    /// Writes capture cell `i`.
    pub fn set_cell(&self, i: usize, v: Value) -> Result<()> {
        match self.cells.get(i) {
            Some(Cell::Value(m)) => {
                *m.lock() = v;
                Ok(())
            }
            Some(Cell::Ivar { target, name }) => {
                if let Some(inst) = target.as_instance() {
                    inst.set(name, v, true)?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Current cell values (for daemon `serialize`).
    pub fn cell_values(&self) -> Vec<Value> {
        (0..self.cells.len()).map(|i| self.cell(i)).collect()
    }
}

// ----- shared variable cells (TTBC v2) ----------------------------------------------------------

/// The code of every shared variable cell: the v1 chunk `[x]` (`LOAD_CAPTURE 0`, `RETURN`, one
/// by-value capture). A TTBC v2 cell (docs/spec/ttbc.md "TTBC v2") *is* a block of this code,
/// so it needs no value kind of its own: `MAKE_CAPTURE` makes one, `CELL_GET`/`CELL_SET` read
/// and write its capture cell, and a cell that escapes behaves as the block `[x]` would.
static CELL_UNIT: LazyLock<Arc<CodeUnit>> = LazyLock::new(|| {
    use crate::ttbc::{CaptureDesc, CaptureSource, Chunk, Op, chunk::FLAG_HAS_CAPTURES, verify};
    let chunk = Chunk {
        flags: FLAG_HAS_CAPTURES,
        code: vec![Op::LoadCapture.byte(), 0, Op::Return.byte()],
        captures: vec![CaptureDesc {
            name: String::new(),
            source: CaptureSource::Local,
            slot: 0,
        }],
        ..Chunk::default()
    };
    CodeUnit::decode(Arc::new(verify(chunk).expect("the cell chunk verifies")))
});

/// A new shared variable cell holding `v` (`MAKE_CAPTURE`, TTBC v2).
pub fn new_cell(v: Value) -> Value {
    let cells: Box<[Cell]> = Box::new([Cell::Value(Mutex::new(v))]);
    Value::block(Arc::new(Block::new(CELL_UNIT.clone(), cells, None, None)))
}

/// The cell block of a cell value, or the error `<op>: not a variable cell: <text>`.
fn as_cell<'a>(op: &str, cell: &'a Value) -> Result<&'a Block> {
    match cell.as_block() {
        Some(b) if Arc::ptr_eq(&b.code, &*CELL_UNIT) => Ok(b),
        _ => Err(Error::runtime(format!(
            "{op}: not a variable cell: {}",
            cell.text()
        ))),
    }
}

/// The value held by a shared variable cell (`CELL_GET`, TTBC v2).
pub fn cell_get(cell: &Value) -> Result<Value> {
    Ok(as_cell("CELL_GET", cell)?.cell(0))
}

/// Stores `v` into a shared variable cell (`CELL_SET`, TTBC v2).
pub fn cell_set(cell: &Value, v: Value) -> Result<()> {
    as_cell("CELL_SET", cell)?.set_cell(0, v)
}

/// The process-wide block registry.
pub struct BlockRegistry {
    next: AtomicU64,
    map: RwLock<HashMap<u64, Arc<Block>>>,
}

static REGISTRY: LazyLock<BlockRegistry> = LazyLock::new(|| BlockRegistry {
    next: AtomicU64::new(1),
    map: RwLock::new(HashMap::new()),
});

/// The process-wide registry.
pub fn registry() -> &'static BlockRegistry {
    &REGISTRY
}

/// Parses `bytecode_block_<n>`.
pub fn parse_block_id(s: &str) -> Option<u64> {
    s.strip_prefix(BLOCK_ID_PREFIX)?.parse().ok()
}

impl BlockRegistry {
    /// Registers a block (assigning its id on first use) and returns its number.
    pub fn ensure_registered(&self, b: &Arc<Block>) -> u64 {
        if let Some(n) = b.id.get() {
            return *n;
        }
        let mut map = self.map.write();
        let mut fresh = false;
        let n = *b.id.get_or_init(|| {
            fresh = true;
            self.next.fetch_add(1, Ordering::Relaxed)
        });
        if fresh {
            map.insert(n, b.clone());
        }
        n
    }

    /// Finds a registered block by id text.
    pub fn lookup(&self, id: &str) -> Option<Arc<Block>> {
        let n = parse_block_id(id)?;
        self.map.read().get(&n).cloned()
    }

    /// Finds a registered block by number.
    pub fn get(&self, n: u64) -> Option<Arc<Block>> {
        self.map.read().get(&n).cloned()
    }

    /// Unregisters a block; false if it was not registered.
    pub fn release(&self, id: &str) -> bool {
        match parse_block_id(id) {
            Some(n) => {
                let removed = self.map.write().remove(&n);
                // Calls that are still running on a raw handle keep it (crate::pin).
                removed.map(|b| crate::pin::retire(b)).is_some()
            }
            None => false,
        }
    }

    /// Drops every registered block (`TT_Close`). Ids keep counting up.
    pub fn clear(&self) {
        self.map.write().clear();
    }

    /// Number of registered blocks.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// True when no block is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Error for an unknown block id.
pub fn block_not_found(id: &str) -> Error {
    Error::not_found(format!("block not found: {id}"))
}
