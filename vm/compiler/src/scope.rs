//! Per-chunk compilation state: code buffer, constant pool, variables, scopes and captures.

use std::collections::{HashMap, HashSet};

use super::error::{CompileError, Pos};
use tt_vm::ttbc::chunk::{FLAG_HAS_CAPTURES, FLAG_HAS_NON_LOCAL_RETURN, VERSION, VERSION_2};
use tt_vm::ttbc::{CaptureDesc, Chunk, Op};

/// Index of a variable in [`ChunkState::vars`].
pub(crate) type VarId = usize;

/// Where a variable of a chunk lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VarKind {
    /// Parameter index.
    Param(u8),
    /// Local slot.
    Local(u8),
}

/// An event (assignment or capture) with the inlined loops active when it happened.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub pos: Pos,
    /// Code offset of the chunk when it happened: the order in which the code runs (a block
    /// literal's capture is recorded before its `MAKE_BLOCK`, an assignment after its value,
    /// so `f := [... f ...]` assigns after the capture).
    pub at: usize,
    pub loops: Vec<usize>,
}

/// One named variable of a chunk.
#[derive(Clone, Debug)]
pub(crate) struct VarInfo {
    pub name: String,
    pub kind: VarKind,
    /// Inlined loops enclosing the declaration.
    pub decl_loops: Vec<usize>,
    /// Explicit assignments (`:=`) in this chunk.
    pub assigns: Vec<Event>,
    /// Block literals (positions) that copied this variable into a capture cell.
    pub captured: Vec<Event>,
    /// Written directly by inlined code (the parameter of an inlined `to:do:` or `ifNotNil:`):
    /// never made a shared cell.
    pub fixed: bool,
}

/// Compilation state of one chunk (the top-level block/method or one nested block literal).
pub(crate) struct ChunkState {
    pub code: Vec<u8>,
    pub constants: Vec<Vec<u8>>,
    const_map: HashMap<Vec<u8>, u16>,
    pub params: Vec<String>,
    pub local_count: usize,
    pub captures: Vec<CaptureDesc>,
    pub vars: Vec<VarInfo>,
    /// Variables held in shared cells (TTBC v2 `MAKE_CAPTURE`, docs/spec/ttbc.md "TTBC v2"):
    /// decided by the code generator before the chunk is compiled.
    pub cells: HashSet<VarId>,
    /// Capture indexes whose cell holds a shared cell (captured from a cell variable).
    pub capture_cells: HashSet<u8>,
    /// Lexical scopes (innermost last): the block itself, then inlined blocks.
    pub scopes: Vec<Vec<(String, VarId)>>,
    /// Ids of the inlined loops being compiled (innermost last).
    pub active_loops: Vec<usize>,
    next_loop: usize,
    pub has_nlr: bool,
    /// The chunk contains a TTBC v2 instruction or a v2 nested chunk: it is written as version 2
    /// (docs/spec/ttbc.md, "TTBC v2"); otherwise as version 1, exactly as before v2 existed.
    pub needs_v2: bool,
    last_op: Option<Op>,
    /// Position of the block literal (or body) this chunk is compiled from.
    pub pos: Pos,
}

impl ChunkState {
    pub fn new(pos: Pos) -> ChunkState {
        ChunkState {
            code: Vec::new(),
            constants: Vec::new(),
            const_map: HashMap::new(),
            params: Vec::new(),
            local_count: 0,
            captures: Vec::new(),
            vars: Vec::new(),
            cells: HashSet::new(),
            capture_cells: HashSet::new(),
            scopes: vec![Vec::new()],
            active_loops: Vec::new(),
            next_loop: 0,
            has_nlr: false,
            needs_v2: false,
            last_op: None,
            pos,
        }
    }

    // ----- variables -----------------------------------------------------------------------

    pub fn declare_param(&mut self, name: &str, pos: Pos) -> Result<(), CompileError> {
        let idx = u8::try_from(self.params.len())
            .map_err(|_| CompileError::limit(pos, "more than 255 parameters"))?;
        self.params.push(name.to_string());
        self.bind(name, VarKind::Param(idx));
        Ok(())
    }

    fn bind(&mut self, name: &str, kind: VarKind) -> VarId {
        let id = self.vars.len();
        self.vars.push(VarInfo {
            name: name.to_string(),
            kind,
            decl_loops: self.active_loops.clone(),
            assigns: Vec::new(),
            captured: Vec::new(),
            fixed: false,
        });
        self.scopes
            .last_mut()
            .expect("scope")
            .push((name.to_string(), id));
        id
    }

    /// A fresh local slot with no name.
    pub fn hidden_local(&mut self, pos: Pos) -> Result<u8, CompileError> {
        let slot = u8::try_from(self.local_count)
            .map_err(|_| CompileError::limit(pos, "more than 255 local variables"))?;
        self.local_count += 1;
        Ok(slot)
    }

    /// Declares a named local in the innermost scope.
    pub fn declare_local(&mut self, name: &str, pos: Pos) -> Result<(u8, VarId), CompileError> {
        let slot = self.hidden_local(pos)?;
        Ok((slot, self.bind(name, VarKind::Local(slot))))
    }

    /// Declares a named local in the chunk's outermost scope (implicit declaration by
    /// assignment).
    pub fn declare_local_outermost(
        &mut self,
        name: &str,
        pos: Pos,
    ) -> Result<(u8, VarId), CompileError> {
        let slot = self.hidden_local(pos)?;
        let id = self.vars.len();
        self.vars.push(VarInfo {
            name: name.to_string(),
            kind: VarKind::Local(slot),
            decl_loops: Vec::new(),
            assigns: Vec::new(),
            captured: Vec::new(),
            fixed: false,
        });
        self.scopes[0].push((name.to_string(), id));
        Ok((slot, id))
    }

    /// The innermost visible variable of this chunk named `name`.
    pub fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(n, _)| n == name).map(|(_, id)| *id))
    }

    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    pub fn begin_loop(&mut self) {
        self.active_loops.push(self.next_loop);
        self.next_loop += 1;
    }

    pub fn end_loop(&mut self) {
        self.active_loops.pop();
    }

    pub fn record_assign(&mut self, var: VarId, pos: Pos) {
        let loops = self.active_loops.clone();
        let at = self.code.len();
        self.vars[var].assigns.push(Event { pos, at, loops });
    }

    pub fn record_capture(&mut self, var: VarId, pos: Pos) {
        let loops = self.active_loops.clone();
        let at = self.code.len();
        self.vars[var].captured.push(Event { pos, at, loops });
    }

    /// True when variable `id` lives in a shared cell.
    pub fn is_cell(&self, id: VarId) -> bool {
        self.cells.contains(&id)
    }

    /// The variable that owns local slot `slot`.
    pub fn var_of_slot(&self, slot: u8) -> Option<VarId> {
        self.vars
            .iter()
            .position(|v| v.kind == VarKind::Local(slot))
    }

    /// Capture cells are copies (docs/spec/ttbc.md §8): a variable copied into a block must not change
    /// afterwards, or the block would see a stale value. Finds assignments that run after
    /// a capture, and assignments sharing an inlined loop with a capture when the variable
    /// is declared outside that loop (the next iteration would change it). Such a variable
    /// must be a shared cell (TTBC v2): returns them (`Ok`) for the code generator to
    /// recompile with, or the TTBC v1 refusal for a variable that cannot be a cell.
    pub fn check_captured_assignments(&self) -> Result<Vec<VarId>, CompileError> {
        let mut need = Vec::new();
        for (id, v) in self.vars.iter().enumerate() {
            if self.is_cell(id) {
                continue;
            }
            for a in &v.assigns {
                for c in &v.captured {
                    let later = a.at > c.at;
                    let same_loop = a
                        .loops
                        .iter()
                        .any(|l| c.loops.contains(l) && !v.decl_loops.contains(l));
                    if (later || same_loop) && !v.fixed {
                        if !need.contains(&id) {
                            need.push(id);
                        }
                    } else if later || same_loop {
                        return Err(CompileError::unsupported(
                            a.pos,
                            format!(
                                "assignment to captured variable '{}': the block at {} holds a \
                                 copy (TTBC captures by value, docs/spec/ttbc.md §8) and would not see it",
                                v.name, c.pos
                            ),
                        ));
                    }
                }
            }
        }
        Ok(need)
    }

    // ----- constants -----------------------------------------------------------------------

    /// Index of a constant, adding it on first use (deduplicated by bytes).
    pub fn constant(&mut self, bytes: &[u8], pos: Pos) -> Result<u16, CompileError> {
        if let Some(&k) = self.const_map.get(bytes) {
            return Ok(k);
        }
        if bytes.len() > u16::MAX as usize {
            return Err(CompileError::limit(pos, "constant longer than 65535 bytes"));
        }
        let k = u16::try_from(self.constants.len())
            .ok()
            .filter(|k| *k < u16::MAX)
            .ok_or_else(|| CompileError::limit(pos, "more than 65535 constants"))?;
        self.constants.push(bytes.to_vec());
        self.const_map.insert(bytes.to_vec(), k);
        Ok(k)
    }

    // ----- emission ------------------------------------------------------------------------

    pub fn emit(&mut self, op: Op) {
        self.code.push(op.byte());
        self.last_op = Some(op);
        if op == Op::NonLocalRet {
            self.has_nlr = true;
        }
        if op.is_v2() {
            self.needs_v2 = true;
        }
    }

    pub fn emit_u8(&mut self, op: Op, v: u8) {
        self.emit(op);
        self.code.push(v);
    }

    pub fn emit_u16(&mut self, op: Op, v: u16) {
        self.emit(op);
        self.code.extend_from_slice(&v.to_be_bytes());
    }

    pub fn emit_u16_u8(&mut self, op: Op, k: u16, n: u8) {
        self.emit_u16(op, k);
        self.code.push(n);
    }

    pub fn emit_send_class(&mut self, class: u16, sel: u16, n: u8) {
        self.emit_u16(Op::SendClass, class);
        self.code.extend_from_slice(&sel.to_be_bytes());
        self.code.push(n);
    }

    /// Emits a text constant push (`CONST k`).
    pub fn emit_const_text(&mut self, text: &str, pos: Pos) -> Result<(), CompileError> {
        let k = self.constant(text.as_bytes(), pos)?;
        self.emit_u16(Op::Const, k);
        Ok(())
    }

    /// Emits a forward jump; returns the operand offset to patch.
    pub fn emit_jump(&mut self, op: Op) -> usize {
        self.emit(op);
        self.code.extend_from_slice(&[0, 0]);
        self.code.len() - 2
    }

    /// Points the forward jump whose operand is at `at` to the current offset (a label).
    pub fn patch(&mut self, at: usize, pos: Pos) -> Result<(), CompileError> {
        let d = self.code.len() as i64 - (at as i64 + 2);
        let d = i16::try_from(d)
            .map_err(|_| CompileError::limit(pos, "jump distance exceeds 32767 bytes"))?;
        self.code[at..at + 2].copy_from_slice(&d.to_be_bytes());
        self.last_op = None;
        Ok(())
    }

    /// Current code offset (a label for backward jumps).
    pub fn here(&mut self) -> usize {
        self.last_op = None;
        self.code.len()
    }

    /// Emits a jump back to `target`.
    pub fn emit_jump_back(&mut self, op: Op, target: usize, pos: Pos) -> Result<(), CompileError> {
        let d = target as i64 - (self.code.len() as i64 + 3);
        let d = i16::try_from(d)
            .map_err(|_| CompileError::limit(pos, "jump distance exceeds 32768 bytes"))?;
        self.emit(op);
        self.code.extend_from_slice(&d.to_be_bytes());
        Ok(())
    }

    /// True when control cannot fall through past the last emitted instruction.
    pub fn terminated(&self) -> bool {
        matches!(
            self.last_op,
            Some(Op::Return | Op::ReturnNil | Op::NonLocalRet | Op::Jump)
        )
    }

    /// The finished chunk, with canonical flags (§2.5).
    pub fn finish(self) -> Result<Chunk, CompileError> {
        let local_count = u8::try_from(self.local_count)
            .map_err(|_| CompileError::limit(self.pos, "more than 255 local variables"))?;
        if self.captures.len() > 255 {
            return Err(CompileError::limit(
                self.pos,
                "more than 255 captured variables",
            ));
        }
        let mut flags = 0;
        if !self.captures.is_empty() {
            flags |= FLAG_HAS_CAPTURES;
        }
        if self.has_nlr {
            flags |= FLAG_HAS_NON_LOCAL_RETURN;
        }
        Ok(Chunk {
            version: if self.needs_v2 { VERSION_2 } else { VERSION },
            flags,
            code: self.code,
            constants: self.constants,
            params: self.params,
            local_count,
            captures: self.captures,
            debug: None,
        })
    }
}
