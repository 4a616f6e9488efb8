//! The Trashtalk-source → TTBC compiler.
//!
//! * [`compile_block`] compiles a block literal (`[:a :b | | t | …]`) or a bare statement
//!   sequence (a 0-parameter block) into a [`Chunk`]; [`compile_to_bytes`] serializes it.
//! * [`compile_method`] / [`compile_method_with`] compile a method body whose parameters are
//!   the method's arguments, with instance variables resolved to `LOAD_IVAR`/`STORE_IVAR`.
//! * [`load_classes`] reads a set of `.trash` class files and registers their classes and
//!   methods in a [`Runtime`](tt_vm::Runtime): compiled methods become TTBC, everything the
//!   compiler cannot translate faithfully becomes a Bash fallback with the reason recorded.
//!
//! The grammar, the code shapes and what is rejected (and why) are documented in
//! `docs/compiler.md`. Code shapes follow the worked examples of docs/spec/ttbc.md §13 byte for byte.

#![warn(missing_docs)]

pub mod ast;
mod class_file;
mod codegen;
mod dstring;
mod error;
mod inline;
mod lexer;
mod loader;
mod parser;
mod scope;
mod shadow;

use std::collections::HashMap;

pub use class_file::{ClassSpec, MethodBody, MethodSpec, parse_class_file};
pub use codegen::normalize_selector;
pub use error::{CompileError, Pos};
pub use loader::{ClassReport, LoadReport, MethodReport, load_classes};

use ast::{BlockNode, Expr, Stmt};
use codegen::{Codegen, Ctx};
use parser::Parser;
use tt_dispatch::Side;
use tt_vm::ttbc::Chunk;

/// Where a method body is compiled: its arguments, the instance variables it may use, the
/// side it belongs to and the package-local class names.
#[derive(Debug, Clone, Default)]
pub struct MethodContext {
    /// Argument names, in order (they become the chunk's parameters).
    pub params: Vec<String>,
    /// Instance variables visible to the method (inherited ones included). On the class
    /// side these are the class-instance variables.
    pub ivars: Vec<String>,
    /// Class-side method (`classMethod:`): ivars are class-instance variables.
    pub class_side: bool,
    /// Unqualified → qualified class names (e.g. `Tool` → `Tools::Tool` inside package
    /// `Tools`). Names not listed are used as written.
    pub class_names: HashMap<String, String>,
}

impl MethodContext {
    /// An instance-side context with the given arguments and instance variables.
    pub fn new(params: &[String], ivars: &[String]) -> MethodContext {
        MethodContext {
            params: params.to_vec(),
            ivars: ivars.to_vec(),
            ..Default::default()
        }
    }

    /// The side as a dispatch [`Side`].
    pub fn side(&self) -> Side {
        if self.class_side {
            Side::Class
        } else {
            Side::Instance
        }
    }
}

/// Compiles a block literal `[:a :b | | t | …]`, or a bare sequence of statements (treated
/// as a 0-parameter block), into a chunk. `^` at the top level is `RETURN`; inside nested
/// blocks it is `NON_LOCAL_RET`.
pub fn compile_block(source: &str) -> Result<Chunk, CompileError> {
    let body = Parser::new(source).parse_bare_body()?;
    shadow::check(&body, &MethodContext::default())?;
    let block = match single_block_literal(&body) {
        Some(b) => b.clone(),
        None => body,
    };
    let ctx = Ctx {
        ivars: &[],
        class_side: false,
        method: false,
        class_names: None,
    };
    Codegen::compile_top(ctx, &block, &block.params)
}

/// A body that consists of exactly one block literal (and nothing else) is that block.
fn single_block_literal(body: &BlockNode) -> Option<&BlockNode> {
    match (body.temps.is_empty(), body.body.as_slice()) {
        (true, [Stmt::Expr(Expr::Block(b))]) => Some(b),
        _ => None,
    }
}

/// Compiles [`compile_block`] output to serialized TTBC bytes.
pub fn compile_to_bytes(source: &str) -> Result<Vec<u8>, CompileError> {
    let chunk = compile_block(source)?;
    tt_vm::ttbc::serialize_canonical(&chunk).map_err(|e| {
        CompileError::limit(
            Pos {
                line: 1,
                column: 1,
                offset: 0,
            },
            e.to_string(),
        )
    })
}

/// Compiles an instance-side method body (`| temps | statements`, without brackets) whose
/// arguments are `params` and which may use the instance variables `ivars`.
pub fn compile_method(
    source: &str,
    params: &[String],
    ivars: &[String],
) -> Result<Chunk, CompileError> {
    compile_method_with(source, &MethodContext::new(params, ivars))
}

/// Compiles a method body in an explicit [`MethodContext`].
pub fn compile_method_with(source: &str, ctx: &MethodContext) -> Result<Chunk, CompileError> {
    let body = Parser::new(source).parse_bare_body()?;
    compile_method_body(&body, ctx)
}

/// Compiles a parsed method body.
pub(crate) fn compile_method_body(
    body: &BlockNode,
    ctx: &MethodContext,
) -> Result<Chunk, CompileError> {
    shadow::check(body, ctx)?;
    let params: Vec<(String, Pos)> = ctx.params.iter().map(|p| (p.clone(), body.pos)).collect();
    let cg = Ctx {
        ivars: &ctx.ivars,
        class_side: ctx.class_side,
        method: true,
        class_names: Some(&ctx.class_names),
    };
    Codegen::compile_top(cg, body, &params)
}
