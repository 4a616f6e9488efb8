//! Code generation: AST → TTBC chunks (docs/spec/ttbc.md §4–§11).
//!
//! One [`ChunkState`] per block being compiled; `chunks[0]` is the top-level block or method.
//! Block literals that are not inlined become nested chunks (serialized into a constant of
//! the enclosing chunk) created with `MAKE_BLOCK`; their free variables become captures.

use std::collections::HashMap;

use super::ast::{BlockNode, Expr, Literal, Message, Stmt};
use super::error::{CompileError, Pos};
use super::scope::{ChunkState, VarId, VarKind};
use tt_vm::ttbc::{CaptureDesc, CaptureSource, Chunk, Op};

/// Settings shared by every chunk of one compilation.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// Instance variables visible to the method (empty for free-standing blocks).
    pub ivars: &'a [String],
    /// Class-side method: ivars are class-instance variables, read through `LOAD_IVAR`
    /// even inside nested blocks (source-1 capture cells only go through for instances).
    pub class_side: bool,
    /// Method semantics: `self` as a value is the receiver (TTBC v2 `PUSH_SELF`) and a trailing
    /// assignment answers nil.
    pub method: bool,
    /// Unqualified → qualified class names (package-local classes).
    pub class_names: Option<&'a HashMap<String, String>>,
}

/// Whether an expression must leave a value on the stack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Want {
    /// Leave exactly one value.
    Value,
    /// Leave nothing.
    Effect,
}

/// Where a name resolved to, seen from the current chunk.
#[derive(Clone, Debug)]
pub(crate) enum Place {
    Param(u8),
    Local(u8, VarId),
    /// Capture index; true for an ivar (write-through) cell.
    Capture(u8, bool),
    Ivar(String),
}

/// Trashtalk string/file intrinsics: on an implicit receiver (no `@`) they compile to Bash
/// parameter expansions, not sends, so a TTBC send would change their meaning.
const INTRINSICS: &[&str] = &[
    "startsWith:",
    "endsWith:",
    "includes:",
    "withoutPrefix:",
    "withoutSuffix:",
    "upTo:",
    "after:",
    "upToLast:",
    "afterLast:",
    "replaceAll:with:",
    "replaceFirst:with:",
    "copyFrom:to:",
    "first:",
    "last:",
    "size",
    "asUppercase",
    "asLowercase",
    "firstLine",
    "trimmed",
    "lines",
    "isEmpty",
    "notEmpty",
    "fileExists",
    "isFile",
    "isDirectory",
    "isReadable",
    "isWritable",
    "isExecutable",
    "isFifo",
    "isSymlink",
    "matches:",
    "=~",
];

/// Trashtalk constructs with no TTBC equivalent, rejected on any receiver.
const NO_EQUIVALENT: &[&str] = &["ifFailed:", "linesDo:", "caseOf:", "caseOf:otherwise:"];

/// The bash-normalized form of a selector (`at:put:` → `at_put_`, docs/spec/ttbc.md §10.1).
pub fn normalize_selector(sel: &str) -> String {
    sel.replace(':', "_")
}

fn binary_op(sel: &str) -> Option<Op> {
    Some(match sel {
        "+" => Op::Add,
        "-" => Op::Sub,
        "*" => Op::Mul,
        "/" => Op::Div,
        "%" => Op::Mod,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "=" | "==" => Op::Eq,
        "~=" | "~~" | "!=" => Op::Ne,
        "," => Op::Concat,
        "&" => Op::And,
        "|" => Op::Or,
        _ => return None,
    })
}

/// Trashtalk JSON primitives → opcodes (receiver first, then the arguments).
fn json_ops(sel: &str) -> Option<&'static [Op]> {
    Some(match sel {
        "arrayPush:" => &[Op::ArrayPush],
        "arrayAt:" => &[Op::ArrayAt],
        "arrayAt:put:" => &[Op::ArrayAtPut],
        "arrayLength" => &[Op::ArrayLen],
        "arrayFirst" => &[Op::ArrayFirst],
        "arrayLast" => &[Op::ArrayLast],
        "arrayRemoveAt:" => &[Op::ArrayRemove],
        "arrayIsEmpty" => &[Op::ArrayLen, Op::ConstZero, Op::Eq],
        "objectAt:" => &[Op::ObjectAt],
        "objectAt:put:" => &[Op::ObjectAtPut],
        "objectHasKey:" => &[Op::ObjectHasKey],
        "objectKeys" => &[Op::ObjectKeys],
        "objectValues" => &[Op::ObjectValues],
        "objectRemoveKey:" => &[Op::ObjectRemove],
        "objectLength" => &[Op::ObjectLen],
        "objectIsEmpty" => &[Op::ObjectLen, Op::ConstZero, Op::Eq],
        "not" => &[Op::Not],
        "negated" => &[Op::Neg],
        _ => return None,
    })
}

/// Selectors compiled to `INVOKE_BLOCK n` / `BLOCK_VALUE` (docs/spec/ttbc.md §9.3, example §13.6).
fn is_block_invocation(sel: &str) -> bool {
    matches!(
        sel,
        "value"
            | "value:"
            | "value:value:"
            | "value:value:value:"
            | "value:value:value:value:"
            | "valueWith:"
            | "valueWith:and:"
    )
}

/// A variable of one chunk of a compilation: (nesting level, position of the chunk's block,
/// variable id in the chunk). Stable between the passes of [`Codegen::compile_top`], which
/// compile the same source the same way.
type CellKey = (usize, usize, VarId);

/// The code generator.
pub(crate) struct Codegen<'a> {
    pub ctx: Ctx<'a>,
    pub chunks: Vec<ChunkState>,
    /// Variables held in shared cells (TTBC v2), with their local slot.
    cells: HashMap<CellKey, u8>,
    /// Variables found to need a cell during this pass (see [`Codegen::compile_top`]).
    pending: Vec<(CellKey, u8)>,
}

impl<'a> Codegen<'a> {
    /// Compiles a top-level block (or method body) into a chunk. `params` are the chunk's
    /// parameters (the block's own, or the method's arguments).
    pub fn compile_top(
        ctx: Ctx<'a>,
        block: &BlockNode,
        params: &[(String, Pos)],
    ) -> Result<Chunk, CompileError> {
        // A variable needs a shared cell (TTBC v2) when a block captures it and it is
        // assigned after the capture or inside a block; that is only known once the chunk is
        // compiled, so compilation repeats with the cells found until none is missing (each
        // pass adds at least one; a source without such variables compiles once, to TTBC v1
        // exactly as before v2).
        let mut cells = HashMap::new();
        loop {
            let mut g = Codegen {
                ctx,
                chunks: Vec::new(),
                cells: cells.clone(),
                pending: Vec::new(),
            };
            let result = g.compile_chunk(block, params);
            let before = cells.len();
            cells.extend(g.pending);
            if cells.len() == before {
                return result;
            }
        }
    }

    fn compile_chunk(
        &mut self,
        block: &BlockNode,
        params: &[(String, Pos)],
    ) -> Result<Chunk, CompileError> {
        let level = self.chunks.len();
        let mut state = ChunkState::new(block.pos);
        state.cells = self
            .cells
            .keys()
            .filter(|(l, p, _)| *l == level && *p == block.pos.offset)
            .map(|(_, _, id)| *id)
            .collect();
        self.chunks.push(state);
        let result = self.chunk_body(block, params);
        let state = self.chunks.pop().expect("pushed");
        result?;
        for id in state.check_captured_assignments()? {
            if let VarKind::Local(slot) = state.vars[id].kind {
                self.pending.push(((level, block.pos.offset, id), slot));
            }
        }
        state.finish()
    }

    fn chunk_body(
        &mut self,
        block: &BlockNode,
        params: &[(String, Pos)],
    ) -> Result<(), CompileError> {
        for (name, pos) in params {
            self.check_duplicate(name, *pos)?;
            self.cur().declare_param(name, *pos)?;
        }
        for (name, pos) in &block.temps {
            self.check_duplicate(name, *pos)?;
            self.cur().declare_local(name, *pos)?;
        }
        // Every cell variable of the chunk gets its cell on entry (slots of variables declared
        // later are known from the previous pass).
        let level = self.level();
        let at = block.pos.offset;
        let mut slots: Vec<u8> = self
            .cells
            .iter()
            .filter(|((l, p, _), _)| *l == level && *p == at)
            .map(|(_, slot)| *slot)
            .collect();
        slots.sort_unstable();
        for slot in slots {
            self.emit_new_cell(slot);
        }
        self.body_return(&block.body)
    }

    fn check_duplicate(&mut self, name: &str, pos: Pos) -> Result<(), CompileError> {
        let scope = self.cur().scopes.last().expect("scope");
        if scope.iter().any(|(n, _)| n == name) {
            return Err(CompileError::semantic(
                pos,
                format!("duplicate variable name '{name}'"),
            ));
        }
        Ok(())
    }

    /// `local slot := a new cell holding nil` (TTBC v2).
    pub(crate) fn emit_new_cell(&mut self, slot: u8) {
        self.cur().emit(Op::ConstNil);
        self.cur().emit(Op::MakeCapture);
        self.cur().emit_u8(Op::StoreLocal, slot);
    }

    /// True when the current chunk's variable `id` lives in a shared cell.
    pub(crate) fn is_cell(&mut self, id: VarId) -> bool {
        self.cur().is_cell(id)
    }

    pub(crate) fn cur(&mut self) -> &mut ChunkState {
        self.chunks.last_mut().expect("chunk")
    }

    fn level(&self) -> usize {
        self.chunks.len() - 1
    }

    // ----- statements ----------------------------------------------------------------------

    /// A chunk's statements: all but the last for effect, the last one returned.
    fn body_return(&mut self, stmts: &[Stmt]) -> Result<(), CompileError> {
        let Some((last, init)) = stmts.split_last() else {
            self.cur().emit(Op::ReturnNil);
            return Ok(());
        };
        for s in init {
            self.stmt_effect(s)?;
        }
        match last {
            Stmt::Return(e, _) => {
                self.expr(e, Want::Value)?;
                self.emit_return();
            }
            Stmt::Expr(Expr::Assign { name, pos, value })
                if self.ctx.method && self.level() == 0 =>
            {
                self.assign(name, *pos, value, Want::Effect)?;
                self.cur().emit(Op::ReturnNil);
            }
            Stmt::Expr(e) => {
                self.expr(e, Want::Value)?;
                self.cur().emit(Op::Return);
            }
        }
        Ok(())
    }

    /// `^`: `RETURN` in the top-level chunk, `NON_LOCAL_RET` inside a nested block.
    fn emit_return(&mut self) {
        let op = if self.level() == 0 {
            Op::Return
        } else {
            Op::NonLocalRet
        };
        self.cur().emit(op);
    }

    fn stmt_effect(&mut self, s: &Stmt) -> Result<(), CompileError> {
        match s {
            Stmt::Return(e, _) => {
                self.expr(e, Want::Value)?;
                self.emit_return();
                Ok(())
            }
            Stmt::Expr(e) => self.expr(e, Want::Effect),
        }
    }

    /// Statements of an inlined block: the last one leaves the block's value if wanted.
    pub(crate) fn stmts(&mut self, stmts: &[Stmt], want: Want) -> Result<(), CompileError> {
        let Some((last, init)) = stmts.split_last() else {
            if want == Want::Value {
                self.cur().emit(Op::ConstNil);
            }
            return Ok(());
        };
        for s in init {
            self.stmt_effect(s)?;
        }
        match (last, want) {
            (Stmt::Return(..), _) | (_, Want::Effect) => self.stmt_effect(last),
            (Stmt::Expr(Expr::Assign { name, pos, value }), Want::Value)
                if self.ctx.method && self.level() == 0 =>
            {
                self.assign(name, *pos, value, Want::Effect)?;
                self.cur().emit(Op::ConstNil);
                Ok(())
            }
            (Stmt::Expr(e), Want::Value) => self.expr(e, Want::Value),
        }
    }

    // ----- expressions ---------------------------------------------------------------------

    pub(crate) fn expr(&mut self, e: &Expr, want: Want) -> Result<(), CompileError> {
        match e {
            Expr::Assign { name, pos, value } => return self.assign(name, *pos, value, want),
            Expr::Send { recv, msg } => return self.send(recv, msg, want),
            Expr::Cascade { recv, msgs } => return self.cascade(recv, msgs, want),
            Expr::Lit(lit, pos) => self.literal(lit, *pos)?,
            Expr::Var(name, pos) => self.load_var(name, *pos)?,
            Expr::SelfRef(pos) => self.self_value(*pos)?,
            Expr::Super(pos) => {
                return Err(CompileError::semantic(
                    *pos,
                    "'super' can only be used as a message receiver",
                ));
            }
            Expr::ThisContext(pos) => {
                return Err(CompileError::unsupported(
                    *pos,
                    "'thisContext' is not supported by TTBC",
                ));
            }
            Expr::Block(b) => self.make_block(b)?,
            Expr::Array(items, _) => {
                self.cur().emit(Op::ArrayNew);
                for item in items {
                    self.expr(item, Want::Value)?;
                    self.cur().emit(Op::ArrayPush);
                }
            }
            Expr::Object(entries, pos) => {
                self.cur().emit(Op::ObjectNew);
                for (key, value) in entries {
                    self.literal(&Literal::Str(key.clone()), *pos)?;
                    self.expr(value, Want::Value)?;
                    self.cur().emit(Op::ObjectAtPut);
                }
            }
        }
        if want == Want::Effect {
            self.cur().emit(Op::Pop);
        }
        Ok(())
    }

    fn literal(&mut self, lit: &Literal, pos: Pos) -> Result<(), CompileError> {
        match lit {
            Literal::Int(s) if s == "0" => self.cur().emit(Op::ConstZero),
            Literal::Int(s) if s == "1" => self.cur().emit(Op::ConstOne),
            Literal::Str(s) if s.is_empty() => self.cur().emit(Op::ConstEmpty),
            Literal::Int(s) | Literal::Float(s) | Literal::Str(s) => {
                self.cur().emit_const_text(s, pos)?
            }
            Literal::True => self.cur().emit(Op::ConstTrue),
            Literal::False => self.cur().emit(Op::ConstFalse),
            Literal::Nil => self.cur().emit(Op::ConstNil),
        }
        Ok(())
    }

    /// `self` as a plain value. In a method (and the blocks in it) it is the receiver:
    /// TTBC v2 `PUSH_SELF`. In a free-standing block it stays `CONST "self"`, the literal
    /// string of TTBC v1 (docs/spec/ttbc.md §6.8), so such blocks compile as before.
    fn self_value(&mut self, pos: Pos) -> Result<(), CompileError> {
        if self.ctx.method {
            self.cur().emit(Op::PushSelf);
            return Ok(());
        }
        self.cur().emit_const_text("self", pos)
    }

    /// The qualified class name for a capitalized or `::`-qualified identifier.
    fn class_ref(&self, name: &str) -> Option<String> {
        let classy = name.starts_with(|c: char| c.is_ascii_uppercase()) || name.contains("::");
        if !classy {
            return None;
        }
        let mapped = self.ctx.class_names.and_then(|m| m.get(name)).cloned();
        Some(mapped.unwrap_or_else(|| name.to_string()))
    }

    /// Resolves `name` as seen from chunk `level`, creating captures in nested chunks.
    fn resolve(
        &mut self,
        level: usize,
        name: &str,
        pos: Pos,
    ) -> Result<Option<Place>, CompileError> {
        let ch = &self.chunks[level];
        if let Some(id) = ch.lookup(name) {
            return Ok(Some(match ch.vars[id].kind {
                VarKind::Param(p) => Place::Param(p),
                VarKind::Local(s) => Place::Local(s, id),
            }));
        }
        if let Some(i) = ch.captures.iter().position(|c| c.name == name) {
            let ivar = ch.captures[i].source == CaptureSource::Ivar;
            return Ok(Some(Place::Capture(i as u8, ivar)));
        }
        let outer_cell = |g: &Self, outer: &Place| match outer {
            Place::Local(_, id) => g.chunks[level - 1].is_cell(*id),
            Place::Capture(c, _) => g.chunks[level - 1].capture_cells.contains(c),
            _ => false,
        };
        if level == 0 {
            return Ok(self
                .ctx
                .ivars
                .iter()
                .any(|v| v == name)
                .then(|| Place::Ivar(name.to_string())));
        }
        let Some(outer) = self.resolve(level - 1, name, pos)? else {
            return Ok(None);
        };
        let literal_pos = self.chunks[level].pos;
        let cell = outer_cell(self, &outer);
        let (source, slot) = match outer {
            Place::Ivar(n) if self.ctx.class_side => return Ok(Some(Place::Ivar(n))),
            Place::Ivar(n) => {
                let idx = self.ctx.ivars.iter().position(|v| *v == n).unwrap_or(0);
                (CaptureSource::Ivar, u8::try_from(idx).unwrap_or(u8::MAX))
            }
            Place::Param(p) => (CaptureSource::Param, p),
            Place::Local(s, id) => {
                self.chunks[level - 1].record_capture(id, literal_pos);
                (CaptureSource::Local, s)
            }
            Place::Capture(c, _) => (CaptureSource::Capture, c),
        };
        let ch = &mut self.chunks[level];
        let idx = u8::try_from(ch.captures.len())
            .map_err(|_| CompileError::limit(pos, "more than 255 captured variables"))?;
        ch.captures.push(CaptureDesc {
            name: name.to_string(),
            source,
            slot,
        });
        if cell {
            ch.capture_cells.insert(idx);
        }
        Ok(Some(Place::Capture(idx, source == CaptureSource::Ivar)))
    }

    fn load_var(&mut self, name: &str, pos: Pos) -> Result<(), CompileError> {
        let level = self.level();
        match self.resolve(level, name, pos)? {
            Some(Place::Param(p)) => self.cur().emit_u8(Op::LoadParam, p),
            Some(Place::Local(s, id)) => {
                self.cur().emit_u8(Op::LoadLocal, s);
                if self.is_cell(id) {
                    self.cur().emit(Op::CellGet);
                }
            }
            Some(Place::Capture(c, _)) => {
                self.cur().emit_u8(Op::LoadCapture, c);
                if self.cur().capture_cells.contains(&c) {
                    self.cur().emit(Op::CellGet);
                }
            }
            Some(Place::Ivar(n)) => {
                let k = self.cur().constant(n.as_bytes(), pos)?;
                self.cur().emit_u16(Op::LoadIvar, k);
            }
            None => match self.class_ref(name) {
                Some(class) => self.cur().emit_const_text(&class, pos)?,
                None => {
                    return Err(CompileError::semantic(
                        pos,
                        format!("undefined variable '{name}'"),
                    ));
                }
            },
        }
        Ok(())
    }

    fn assign(
        &mut self,
        name: &str,
        pos: Pos,
        value: &Expr,
        want: Want,
    ) -> Result<(), CompileError> {
        self.expr(value, Want::Value)?;
        if want == Want::Value {
            self.cur().emit(Op::Dup);
        }
        self.store(name, pos)
    }

    /// Pops TOS into variable `name`.
    pub(crate) fn store(&mut self, name: &str, pos: Pos) -> Result<(), CompileError> {
        let level = self.level();
        match self.resolve(level, name, pos)? {
            Some(Place::Param(_)) => Err(CompileError::semantic(
                pos,
                format!("cannot assign to argument '{name}'"),
            )),
            Some(Place::Local(s, id)) => {
                self.cur().record_assign(id, pos);
                self.store_local(s, id);
                Ok(())
            }
            Some(Place::Capture(c, true)) => {
                self.cur().emit_u8(Op::StoreCapture, c);
                Ok(())
            }
            Some(Place::Capture(c, false)) if self.cur().capture_cells.contains(&c) => {
                self.cur().emit_u8(Op::LoadCapture, c);
                self.cur().emit(Op::Swap);
                self.cur().emit(Op::CellSet);
                Ok(())
            }
            Some(Place::Capture(c, false)) => match self.captured_origin(level, c) {
                Some(key) => {
                    // The variable becomes a shared cell in the next pass.
                    self.pending.push(key);
                    self.cur().emit(Op::Pop);
                    Ok(())
                }
                None => Err(CompileError::unsupported(
                    pos,
                    format!(
                        "assignment to captured variable '{name}' inside a block: TTBC capture \
                         cells are copies (docs/spec/ttbc.md §8), the outer variable would not change"
                    ),
                )),
            },
            Some(Place::Ivar(n)) => {
                let k = self.cur().constant(n.as_bytes(), pos)?;
                self.cur().emit_u16(Op::StoreIvar, k);
                Ok(())
            }
            None if self.class_ref(name).is_some() => Err(CompileError::semantic(
                pos,
                format!("cannot assign to class name '{name}'"),
            )),
            None => {
                let (slot, id) = self.cur().declare_local_outermost(name, pos)?;
                self.cur().record_assign(id, pos);
                self.store_local(slot, id);
                Ok(())
            }
        }
    }

    /// Pops TOS into local variable `id` (slot `s`), through its cell if it has one.
    fn store_local(&mut self, s: u8, id: VarId) {
        if self.is_cell(id) {
            self.cur().emit_u8(Op::LoadLocal, s);
            self.cur().emit(Op::Swap);
            self.cur().emit(Op::CellSet);
        } else {
            self.cur().emit_u8(Op::StoreLocal, s);
        }
    }

    /// The variable (as a cell key with its slot) that capture `c` of the chunk at `level`
    /// was copied from, following capture-of-capture chains; `None` when it is a parameter or
    /// a variable that cannot be a cell.
    fn captured_origin(&self, mut level: usize, mut c: u8) -> Option<(CellKey, u8)> {
        loop {
            let desc = self.chunks.get(level)?.captures.get(c as usize)?;
            match desc.source {
                CaptureSource::Capture if level > 0 => {
                    c = desc.slot;
                    level -= 1;
                }
                CaptureSource::Local if level > 0 => {
                    let outer = &self.chunks[level - 1];
                    let id = outer.var_of_slot(desc.slot)?;
                    if outer.vars[id].fixed {
                        return None;
                    }
                    return Some(((level - 1, outer.pos.offset, id), desc.slot));
                }
                _ => return None,
            }
        }
    }

    /// A block literal used as a value: nested chunk + captures + `MAKE_BLOCK` (§9.1).
    fn make_block(&mut self, b: &BlockNode) -> Result<(), CompileError> {
        let chunk = self.compile_chunk(b, &b.params)?;
        let bytes = tt_vm::ttbc::serialize_canonical(&chunk)
            .map_err(|e| CompileError::limit(b.pos, format!("cannot serialize block: {e}")))?;
        for cap in &chunk.captures {
            match cap.source {
                CaptureSource::Param => self.cur().emit_u8(Op::LoadParam, cap.slot),
                CaptureSource::Local => self.cur().emit_u8(Op::LoadLocal, cap.slot),
                CaptureSource::Capture => self.cur().emit_u8(Op::LoadCapture, cap.slot),
                CaptureSource::Ivar => {
                    let k = self.cur().constant(cap.name.as_bytes(), b.pos)?;
                    self.cur().emit_u16(Op::LoadIvar, k);
                }
            }
        }
        let k = self.cur().constant(&bytes, b.pos)?;
        self.cur()
            .emit_u16_u8(Op::MakeBlock, k, chunk.captures.len() as u8);
        if chunk.version != tt_vm::ttbc::chunk::VERSION {
            // A nested chunk's version never exceeds its parent's (docs/spec/ttbc.md "TTBC v2").
            self.cur().needs_v2 = true;
        }
        Ok(())
    }

    // ----- sends ---------------------------------------------------------------------------

    fn argc(pos: Pos, n: usize) -> Result<u8, CompileError> {
        u8::try_from(n).map_err(|_| CompileError::limit(pos, "more than 255 message arguments"))
    }

    fn args(&mut self, msg: &Message) -> Result<u8, CompileError> {
        for a in &msg.args {
            self.expr(a, Want::Value)?;
        }
        Self::argc(msg.pos, msg.args.len())
    }

    fn finish_value(&mut self, want: Want) {
        if want == Want::Effect {
            self.cur().emit(Op::Pop);
        }
    }

    /// A send to the receiver expression `recv`.
    fn send(&mut self, recv: &Expr, msg: &Message, want: Want) -> Result<(), CompileError> {
        if NO_EQUIVALENT.contains(&msg.selector.as_str()) {
            return Err(CompileError::unsupported(
                msg.pos,
                format!("'{}' has no TTBC equivalent", msg.selector),
            ));
        }
        match recv {
            Expr::SelfRef(pos) => {
                self.cur().emit_const_text("self", *pos)?;
                let n = self.args(msg)?;
                let k = self.selector_const(msg)?;
                self.cur().emit_u16_u8(Op::SendSelf, k, n);
                self.finish_value(want);
                return Ok(());
            }
            Expr::Super(_) => {
                let n = self.args(msg)?;
                let k = self.selector_const(msg)?;
                self.cur().emit_u16_u8(Op::SendSuper, k, n);
                self.finish_value(want);
                return Ok(());
            }
            Expr::Var(name, pos) if self.is_class_receiver(name, *pos)? => {
                let class = self.class_ref(name).expect("class receiver");
                let n = self.args(msg)?;
                let c = self.cur().constant(class.as_bytes(), *pos)?;
                let k = self.selector_const(msg)?;
                self.cur().emit_send_class(c, k, n);
                self.finish_value(want);
                return Ok(());
            }
            Expr::Block(b) if self.inline_loop(b, msg, want)? => return Ok(()),
            _ => {}
        }
        if !msg.explicit && INTRINSICS.contains(&msg.selector.as_str()) {
            return Err(CompileError::unsupported(
                msg.pos,
                format!(
                    "'{}' on an implicit receiver is a Trashtalk string intrinsic; write \
                     '@ receiver {}' for a message send",
                    msg.selector, msg.selector
                ),
            ));
        }
        self.expr(recv, Want::Value)?;
        self.message_on_stack(msg, want)
    }

    fn is_class_receiver(&mut self, name: &str, pos: Pos) -> Result<bool, CompileError> {
        if self.class_ref(name).is_none() {
            return Ok(false);
        }
        let level = self.level();
        Ok(self.resolve(level, name, pos)?.is_none())
    }

    fn selector_const(&mut self, msg: &Message) -> Result<u16, CompileError> {
        let sel = normalize_selector(&msg.selector);
        self.cur().constant(sel.as_bytes(), msg.pos)
    }

    /// A message whose receiver value is already on the stack.
    fn message_on_stack(&mut self, msg: &Message, want: Want) -> Result<(), CompileError> {
        if self.inline_on_stack(msg, want)? {
            return Ok(());
        }
        let sel = msg.selector.as_str();
        if let Some(op) = binary_op(sel) {
            self.args(msg)?;
            self.cur().emit(op);
        } else if let Some(ops) = json_ops(sel) {
            self.args(msg)?;
            for op in ops {
                self.cur().emit(*op);
            }
        } else if sel == "value" {
            self.cur().emit(Op::BlockValue);
        } else if is_block_invocation(sel) {
            let n = self.args(msg)?;
            self.cur().emit_u8(Op::InvokeBlock, n);
        } else {
            let n = self.args(msg)?;
            let k = self.selector_const(msg)?;
            self.cur().emit_u16_u8(Op::Send, k, n);
        }
        self.finish_value(want);
        Ok(())
    }

    /// `recv m1; m2; …`.
    fn cascade(&mut self, recv: &Expr, msgs: &[Message], want: Want) -> Result<(), CompileError> {
        let special = match recv {
            Expr::SelfRef(_) | Expr::Super(_) => true,
            Expr::Var(name, pos) => self.is_class_receiver(name, *pos)?,
            _ => false,
        };
        let last = msgs.len() - 1;
        if special {
            for (i, m) in msgs.iter().enumerate() {
                self.send(recv, m, if i == last { want } else { Want::Effect })?;
            }
            return Ok(());
        }
        self.expr(recv, Want::Value)?;
        for (i, m) in msgs.iter().enumerate() {
            if NO_EQUIVALENT.contains(&m.selector.as_str())
                || (!m.explicit && INTRINSICS.contains(&m.selector.as_str()))
            {
                return Err(CompileError::unsupported(
                    m.pos,
                    format!("'{}' cannot be compiled in a cascade", m.selector),
                ));
            }
            if i == last {
                self.message_on_stack(m, want)?;
            } else {
                self.cur().emit(Op::Dup);
                self.message_on_stack(m, Want::Effect)?;
            }
        }
        Ok(())
    }
}
