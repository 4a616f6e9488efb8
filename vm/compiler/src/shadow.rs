//! Checks of the Bash-runtime names a method body uses (`BlockNode::interpolated`,
//! `BlockNode::ivar_refs`) against its instance variables.
//!
//! `$(_ivar x)` and `_ivar_set x v` always address the instance variable `x` (the Bash runtime
//! creates it if the class does not declare it); compiled code reads and assigns variables by
//! scope, so they compile only when `x` is a declared instance variable that no local or
//! argument shadows.
//!
//! The one interpolation case compiled code cannot reproduce: `"$name"` where `name` is both an
//! instance variable and a local or argument of the method. The Bash compiler rewrites every
//! `$ivar` of a double-quoted string to the instance variable (before Bash sees the local), so
//! the string reads the ivar where an ordinary expression reads the local. The method falls
//! back to Bash rather than answer differently.

use super::MethodContext;
use super::ast::{BlockNode, Expr, Stmt};
use super::error::CompileError;

/// An error for the first interpolated name that is an ivar shadowed by a local or argument.
pub(crate) fn check(body: &BlockNode, ctx: &MethodContext) -> Result<(), CompileError> {
    if body.interpolated.is_empty() && body.ivar_refs.is_empty() {
        return Ok(());
    }
    let mut locals: Vec<&str> = ctx.params.iter().map(String::as_str).collect();
    declared(body, &mut locals);
    for (name, pos) in &body.ivar_refs {
        if !ctx.ivars.contains(name) {
            return Err(CompileError::unsupported(
                *pos,
                format!(
                    "'_ivar {name}': '{name}' is not a declared instance variable (the Bash \
                     runtime would create it)"
                ),
            ));
        }
        if locals.contains(&name.as_str()) {
            return Err(CompileError::unsupported(
                *pos,
                format!(
                    "'_ivar {name}': a local or argument named '{name}' hides the instance \
                     variable in compiled code"
                ),
            ));
        }
    }
    for (name, pos) in &body.interpolated {
        if ctx.ivars.contains(name) && locals.contains(&name.as_str()) {
            return Err(CompileError::unsupported(
                *pos,
                format!(
                    "'${name}' in a double-quoted string: '{name}' is both an instance variable \
                     and a local or argument, and Bash reads the instance variable there"
                ),
            ));
        }
    }
    Ok(())
}

/// Every parameter and temporary declared in `b` and the blocks inside it.
fn declared<'a>(b: &'a BlockNode, out: &mut Vec<&'a str>) {
    out.extend(b.params.iter().chain(&b.temps).map(|(n, _)| n.as_str()));
    for s in &b.body {
        match s {
            Stmt::Expr(e) | Stmt::Return(e, _) => in_expr(e, out),
        }
    }
}

fn in_expr<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
    match e {
        Expr::Block(b) => declared(b, out),
        Expr::Assign { value, .. } => in_expr(value, out),
        Expr::Send { recv, msg } => {
            in_expr(recv, out);
            msg.args.iter().for_each(|a| in_expr(a, out));
        }
        Expr::Cascade { recv, msgs } => {
            in_expr(recv, out);
            msgs.iter()
                .flat_map(|m| &m.args)
                .for_each(|a| in_expr(a, out));
        }
        Expr::Array(items, _) => items.iter().for_each(|i| in_expr(i, out)),
        Expr::Object(entries, _) => entries.iter().for_each(|(_, v)| in_expr(v, out)),
        Expr::Lit(..)
        | Expr::Var(..)
        | Expr::SelfRef(_)
        | Expr::Super(_)
        | Expr::ThisContext(_) => {}
    }
}
