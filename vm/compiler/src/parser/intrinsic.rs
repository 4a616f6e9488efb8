//! Trashtalk string intrinsics on an implicit receiver, desugared into ordinary sends.
//!
//! Without `@`, the Bash compiler turns `x isEmpty` into `[[ -z "$x" ]]` and `x notEmpty`
//! into `[[ -n "$x" ]]`: a test of the receiver's *text*. TTBC's `EQ` / `NE` compare texts
//! (nil's text is empty), so `x = ''` and `x ~= ''` give the same answer. The other
//! intrinsics (`matches:`, `size`, `trimmed`, file tests …) have no TTBC equivalent and stay
//! sends that code generation rejects with its intrinsic message.

use super::super::ast::{Expr, Literal, Message};
use super::super::error::Pos;
use super::unary;

/// A unary message without `@`: `isEmpty` / `notEmpty` on a value that is not `self`, `super`
/// or a class name become text comparisons with `''`; anything else is a plain unary send.
pub(super) fn implicit_unary(recv: Expr, selector: String, pos: Pos) -> Expr {
    let op = match selector.as_str() {
        "isEmpty" => "=",
        "notEmpty" => "~=",
        _ => return unary(recv, selector, pos, false),
    };
    let object_receiver = match &recv {
        Expr::SelfRef(_) | Expr::Super(_) | Expr::ThisContext(_) => true,
        Expr::Var(name, _) => {
            name.starts_with(|c: char| c.is_ascii_uppercase()) || name.contains("::")
        }
        _ => false,
    };
    if object_receiver {
        return unary(recv, selector, pos, false);
    }
    Expr::Send {
        recv: Box::new(recv),
        msg: Message {
            selector: op.to_string(),
            args: vec![Expr::Lit(Literal::Str(String::new()), pos)],
            pos,
            explicit: false,
        },
    }
}
