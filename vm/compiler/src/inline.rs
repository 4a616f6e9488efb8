//! Inlined control flow: conditionals, nil tests, loops and short-circuit booleans whose
//! block arguments are literal blocks compile to jumps in the enclosing chunk. Their
//! parameters and temporaries become locals of that chunk.

use super::ast::{BlockNode, Expr, Literal, Message};
use super::codegen::{Codegen, Want};
use super::error::{CompileError, Pos};
use tt_vm::ttbc::Op;

/// The block literal `e` if it has exactly `params` parameters.
fn lit_block(e: &Expr, params: usize) -> Option<&BlockNode> {
    e.as_block().filter(|b| b.params.len() == params)
}

/// A non-zero integer literal used as a `to:by:do:` step.
fn int_step(e: &Expr) -> Option<&str> {
    match e {
        Expr::Lit(Literal::Int(s), _) if s != "0" => Some(s),
        _ => None,
    }
}

impl Codegen<'_> {
    /// Compiles an inlined block's temporaries and statements in a new scope.
    fn inlined(&mut self, b: &BlockNode, want: Want) -> Result<(), CompileError> {
        self.cur().push_scope();
        let r = self.inlined_body(b, want);
        self.cur().pop_scope();
        r
    }

    /// Temporaries (reset to nil on every pass when inside an inlined loop) and statements.
    fn inlined_body(&mut self, b: &BlockNode, want: Want) -> Result<(), CompileError> {
        let in_loop = !self.cur().active_loops.is_empty();
        for (name, pos) in &b.temps {
            self.declare_inlined(name, *pos)?;
            if in_loop {
                let slot = self.slot_of(name);
                let id = self.cur().lookup(name).expect("declared");
                if self.is_cell(id) {
                    // A fresh shared cell on every pass (TTBC v2).
                    self.emit_new_cell(slot);
                } else {
                    self.cur().emit(Op::ConstNil);
                    self.cur().emit_u8(Op::StoreLocal, slot);
                }
            }
        }
        self.stmts(&b.body, want)
    }

    fn declare_inlined(&mut self, name: &str, pos: Pos) -> Result<u8, CompileError> {
        let scope = self.cur().scopes.last().expect("scope");
        if scope.iter().any(|(n, _)| n == name) {
            return Err(CompileError::semantic(
                pos,
                format!("duplicate variable name '{name}'"),
            ));
        }
        Ok(self.cur().declare_local(name, pos)?.0)
    }

    /// Marks the inlined parameter `name` as written directly by inlined code: it never
    /// becomes a shared cell.
    fn mark_fixed(&mut self, name: &str) {
        let ch = self.cur();
        let id = ch.lookup(name).expect("declared");
        ch.vars[id].fixed = true;
    }

    fn slot_of(&mut self, name: &str) -> u8 {
        let ch = self.cur();
        let id = ch.lookup(name).expect("declared");
        match ch.vars[id].kind {
            super::scope::VarKind::Local(s) => s,
            super::scope::VarKind::Param(p) => p,
        }
    }

    /// Emits a forward `JUMP` unless the code just emitted cannot fall through.
    fn jump_unless_terminated(&mut self) -> Option<usize> {
        (!self.cur().terminated()).then(|| self.cur().emit_jump(Op::Jump))
    }

    fn patch_opt(&mut self, j: Option<usize>, pos: Pos) -> Result<(), CompileError> {
        match j {
            Some(j) => self.cur().patch(j, pos),
            None => Ok(()),
        }
    }

    /// `[cond] whileTrue: [body]` and friends; the receiver is a literal block.
    /// Returns false when the send is not an inlinable loop.
    pub(crate) fn inline_loop(
        &mut self,
        recv: &BlockNode,
        msg: &Message,
        want: Want,
    ) -> Result<bool, CompileError> {
        if !recv.params.is_empty() {
            return Ok(false);
        }
        let pos = msg.pos;
        match msg.selector.as_str() {
            sel @ ("whileTrue:" | "whileFalse:") => {
                let Some(body) = lit_block(&msg.args[0], 0) else {
                    return Ok(false);
                };
                self.cur().begin_loop();
                let head = self.cur().here();
                self.inlined(recv, Want::Value)?;
                let exit = self.cur().emit_jump(if sel == "whileTrue:" {
                    Op::JumpFalse
                } else {
                    Op::JumpTrue
                });
                self.inlined(body, Want::Effect)?;
                self.cur().emit_jump_back(Op::Jump, head, pos)?;
                self.cur().patch(exit, pos)?;
                self.cur().end_loop();
            }
            sel @ ("whileTrue" | "whileFalse") => {
                self.cur().begin_loop();
                let head = self.cur().here();
                self.inlined(recv, Want::Value)?;
                let op = if sel == "whileTrue" {
                    Op::JumpTrue
                } else {
                    Op::JumpFalse
                };
                self.cur().emit_jump_back(op, head, pos)?;
                self.cur().end_loop();
            }
            "repeat" => {
                self.cur().begin_loop();
                let head = self.cur().here();
                self.inlined(recv, Want::Effect)?;
                self.cur().emit_jump_back(Op::Jump, head, pos)?;
                self.cur().end_loop();
            }
            _ => return Ok(false),
        }
        if want == Want::Value {
            self.cur().emit(Op::ConstNil);
        }
        Ok(true)
    }

    /// Inlined forms whose receiver value is already on the stack. Returns false when `msg`
    /// is not one of them (or its block arguments are not literal blocks).
    pub(crate) fn inline_on_stack(
        &mut self,
        msg: &Message,
        want: Want,
    ) -> Result<bool, CompileError> {
        let a = &msg.args;
        let pos = msg.pos;
        match msg.selector.as_str() {
            "ifTrue:" => match lit_block(&a[0], 0) {
                Some(t) => self.inline_if(Some(t), None, pos, want)?,
                None => return Ok(false),
            },
            "ifFalse:" => match lit_block(&a[0], 0) {
                Some(f) => self.inline_if(None, Some(f), pos, want)?,
                None => return Ok(false),
            },
            sel @ ("ifTrue:ifFalse:" | "ifFalse:ifTrue:") => {
                let (Some(x), Some(y)) = (lit_block(&a[0], 0), lit_block(&a[1], 0)) else {
                    return Ok(false);
                };
                let (t, f) = if sel == "ifTrue:ifFalse:" {
                    (x, y)
                } else {
                    (y, x)
                };
                self.inline_if(Some(t), Some(f), pos, want)?;
            }
            "ifNil:" => match lit_block(&a[0], 0) {
                Some(n) => self.inline_if_nil(Some(n), None, pos, want)?,
                None => return Ok(false),
            },
            "ifNotNil:" => match nn_block(&a[0]) {
                Some(nn) => self.inline_if_nil(None, Some(nn), pos, want)?,
                None => return Ok(false),
            },
            sel @ ("ifNil:ifNotNil:" | "ifNotNil:ifNil:") => {
                let (ni, nn) = if sel == "ifNil:ifNotNil:" {
                    (&a[0], &a[1])
                } else {
                    (&a[1], &a[0])
                };
                let (Some(ni), Some(nn)) = (lit_block(ni, 0), nn_block(nn)) else {
                    return Ok(false);
                };
                self.inline_if_nil(Some(ni), Some(nn), pos, want)?;
            }
            sel @ ("and:" | "or:") => match lit_block(&a[0], 0) {
                Some(b) => self.inline_and_or(sel == "and:", b, pos, want)?,
                None => return Ok(false),
            },
            "timesRepeat:" => match lit_block(&a[0], 0) {
                Some(b) => self.inline_times_repeat(b, pos, want)?,
                None => return Ok(false),
            },
            "to:do:" => match lit_block(&a[1], 1) {
                Some(b) => self.inline_to_do(&a[0], None, b, pos, want)?,
                None => return Ok(false),
            },
            "to:by:do:" => match (int_step(&a[1]), lit_block(&a[2], 1)) {
                (Some(step), Some(b)) => self.inline_to_do(&a[0], Some(step), b, pos, want)?,
                _ => return Ok(false),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Shape (value): `cond JUMP_FALSE L1; then; JUMP L2; L1: else; L2:` (docs/spec/ttbc.md §13.4).
    fn inline_if(
        &mut self,
        then_b: Option<&BlockNode>,
        else_b: Option<&BlockNode>,
        pos: Pos,
        want: Want,
    ) -> Result<(), CompileError> {
        match (then_b, else_b) {
            (Some(t), Some(f)) => {
                let j1 = self.cur().emit_jump(Op::JumpFalse);
                self.inlined(t, want)?;
                let j2 = self.jump_unless_terminated();
                self.cur().patch(j1, pos)?;
                self.inlined(f, want)?;
                self.patch_opt(j2, pos)
            }
            (Some(b), None) | (None, Some(b)) => {
                let op = if then_b.is_some() {
                    Op::JumpFalse
                } else {
                    Op::JumpTrue
                };
                let j1 = self.cur().emit_jump(op);
                self.inlined(b, want)?;
                if want == Want::Value {
                    let j2 = self.jump_unless_terminated();
                    self.cur().patch(j1, pos)?;
                    self.cur().emit(Op::ConstNil);
                    self.patch_opt(j2, pos)
                } else {
                    self.cur().patch(j1, pos)
                }
            }
            (None, None) => Ok(()),
        }
    }

    /// `ifNil:` / `ifNotNil:` (optionally binding the subject) / both. The subject is stored
    /// into the binding variable before the test, so no `DUP` follows the popping
    /// `JUMP_NIL` (the original's underflow, docs/spec/ttbc.md §3.4 note).
    fn inline_if_nil(
        &mut self,
        nil_b: Option<&BlockNode>,
        nn_b: Option<&BlockNode>,
        pos: Pos,
        want: Want,
    ) -> Result<(), CompileError> {
        let Some(nn) = nn_b else {
            let n = nil_b.expect("ifNil: block");
            if want == Want::Value {
                self.cur().emit(Op::Dup);
                let j = self.cur().emit_jump(Op::JumpNotNil);
                self.cur().emit(Op::Pop);
                self.inlined(n, Want::Value)?;
                return self.cur().patch(j, pos);
            }
            let j = self.cur().emit_jump(Op::JumpNotNil);
            self.inlined(n, Want::Effect)?;
            return self.cur().patch(j, pos);
        };
        self.cur().push_scope();
        let r = (|| {
            if let Some((name, ppos)) = nn.params.first() {
                let slot = self.declare_inlined(name, *ppos)?;
                self.mark_fixed(name);
                self.cur().emit_u8(Op::StoreLocal, slot);
                self.cur().emit_u8(Op::LoadLocal, slot);
            }
            let j1 = self.cur().emit_jump(Op::JumpNil);
            self.inlined_body(nn, want)?;
            Ok::<usize, CompileError>(j1)
        })();
        self.cur().pop_scope();
        let j1 = r?;
        match nil_b {
            Some(n) => {
                let j2 = self.jump_unless_terminated();
                self.cur().patch(j1, pos)?;
                self.inlined(n, want)?;
                self.patch_opt(j2, pos)
            }
            None if want == Want::Value => {
                let j2 = self.jump_unless_terminated();
                self.cur().patch(j1, pos)?;
                self.cur().emit(Op::ConstNil);
                self.patch_opt(j2, pos)
            }
            None => self.cur().patch(j1, pos),
        }
    }

    /// Short-circuit `and:` / `or:`; as a value the result is a boolean.
    fn inline_and_or(
        &mut self,
        is_and: bool,
        b: &BlockNode,
        pos: Pos,
        want: Want,
    ) -> Result<(), CompileError> {
        let skip = if is_and { Op::JumpFalse } else { Op::JumpTrue };
        if want == Want::Effect {
            let j = self.cur().emit_jump(skip);
            self.inlined(b, Want::Effect)?;
            return self.cur().patch(j, pos);
        }
        let j1 = self.cur().emit_jump(skip);
        self.inlined(b, Want::Value)?;
        let j2 = self.cur().emit_jump(skip);
        self.cur().emit(if is_and {
            Op::ConstTrue
        } else {
            Op::ConstFalse
        });
        let j3 = self.cur().emit_jump(Op::Jump);
        self.cur().patch(j1, pos)?;
        self.cur().patch(j2, pos)?;
        self.cur().emit(if is_and {
            Op::ConstFalse
        } else {
            Op::ConstTrue
        });
        self.cur().patch(j3, pos)
    }

    /// `n timesRepeat: [body]` with a hidden down-counter.
    fn inline_times_repeat(
        &mut self,
        b: &BlockNode,
        pos: Pos,
        want: Want,
    ) -> Result<(), CompileError> {
        let counter = self.cur().hidden_local(pos)?;
        self.cur().emit_u8(Op::StoreLocal, counter);
        self.cur().begin_loop();
        let head = self.cur().here();
        self.cur().emit_u8(Op::LoadLocal, counter);
        self.cur().emit(Op::ConstZero);
        self.cur().emit(Op::Gt);
        let exit = self.cur().emit_jump(Op::JumpFalse);
        self.inlined(b, Want::Effect)?;
        self.cur().emit_u8(Op::LoadLocal, counter);
        self.cur().emit(Op::ConstOne);
        self.cur().emit(Op::Sub);
        self.cur().emit_u8(Op::StoreLocal, counter);
        self.cur().emit_jump_back(Op::Jump, head, pos)?;
        self.cur().patch(exit, pos)?;
        self.cur().end_loop();
        if want == Want::Value {
            self.cur().emit(Op::ConstNil);
        }
        Ok(())
    }

    /// `start to: stop [by: step] do: [:i | body]` (inclusive bounds, Smalltalk semantics).
    fn inline_to_do(
        &mut self,
        stop: &Expr,
        step: Option<&str>,
        b: &BlockNode,
        pos: Pos,
        want: Want,
    ) -> Result<(), CompileError> {
        self.expr(stop, Want::Value)?;
        let limit = self.cur().hidden_local(pos)?;
        self.cur().emit_u8(Op::StoreLocal, limit);
        self.cur().push_scope();
        let r = (|| {
            let (name, ppos) = &b.params[0];
            let i = self.declare_inlined(name, *ppos)?;
            self.mark_fixed(name);
            self.cur().emit_u8(Op::StoreLocal, i);
            self.cur().begin_loop();
            let head = self.cur().here();
            self.cur().emit_u8(Op::LoadLocal, i);
            self.cur().emit_u8(Op::LoadLocal, limit);
            let descending = step.is_some_and(|s| s.starts_with('-'));
            self.cur().emit(if descending { Op::Ge } else { Op::Le });
            let exit = self.cur().emit_jump(Op::JumpFalse);
            self.inlined_body(b, Want::Effect)?;
            self.cur().emit_u8(Op::LoadLocal, i);
            match step {
                None | Some("1") => self.cur().emit(Op::ConstOne),
                Some(s) => self.cur().emit_const_text(s, pos)?,
            }
            self.cur().emit(Op::Add);
            self.cur().emit_u8(Op::StoreLocal, i);
            self.cur().emit_jump_back(Op::Jump, head, pos)?;
            self.cur().patch(exit, pos)?;
            self.cur().end_loop();
            Ok(())
        })();
        self.cur().pop_scope();
        r?;
        if want == Want::Value {
            self.cur().emit(Op::ConstNil);
        }
        Ok(())
    }
}

/// The `ifNotNil:` block: a literal block with zero or one parameter.
fn nn_block(e: &Expr) -> Option<&BlockNode> {
    e.as_block().filter(|b| b.params.len() <= 1)
}
