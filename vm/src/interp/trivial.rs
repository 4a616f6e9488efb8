//! Trivial entry kinds: leaf units whose whole body is one value-returning instruction over
//! their parameters, immediates and constants (`[:x :y | x + y]`, `[:x | x * 2]`,
//! `[:a :b | a - b]`, `[:x | x]`, `['k']`).
//!
//! Such a unit is recognised once, when it is decoded ([`Trivial::of`]), and
//! `Runtime::invoke_block` evaluates it straight on the caller's argument slice: no run, no
//! register file, no interpreter loop. The idea is HotSpot's interpreter "method entry kinds"
//! (accessor and empty methods get entries of their own). The value semantics are exactly the
//! interpreter's: the evaluation calls the same `ops` functions as the `Ret` / `ArithRet` /
//! `ArithRetRR` arms of `Run::exec` (regression test
//! `trivial_entry_agrees_with_the_interpreter_loop` in `vm/tests/interp.rs`).

use super::fused::{Opnd, X};
use crate::value::Value;
use crate::value::ops::{self, Arith};

/// The body of a trivial unit (see the module documentation). Register operands are always
/// parameters (index < the unit's `param_count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trivial {
    /// `^operand`.
    Ret(Opnd),
    /// `^a op b` over two operands.
    Arith {
        /// Operation.
        op: Arith,
        /// Left operand.
        a: Opnd,
        /// Right operand.
        b: Opnd,
    },
}

impl Trivial {
    /// Recognises the fused code of a leaf unit with `params` parameters: `Some` when its first
    /// instruction returns a value computed only from parameters, immediates and constants
    /// (what follows it is unreachable).
    pub fn of(code: &[X], params: usize) -> Option<Trivial> {
        let param = |o: Opnd| match o {
            Opnd::Reg(r) => (r as usize) < params,
            Opnd::Imm(_) | Opnd::K(_) => true,
        };
        match *code.first()? {
            X::Ret(o) if param(o) => Some(Trivial::Ret(o)),
            X::ArithRet { op, a, b } if param(a) && param(b) => Some(Trivial::Arith { op, a, b }),
            X::ArithRetRR { op, a, b } => {
                let (a, b) = (Opnd::Reg(a), Opnd::Reg(b));
                (param(a) && param(b)).then_some(Trivial::Arith { op, a, b })
            }
            _ => None,
        }
    }

    /// Evaluates the body with `args` as the parameters (at least as many as the unit has) and
    /// `consts` as the constant pool.
    #[inline(always)]
    pub fn eval(self, args: &[Value], consts: &[Value]) -> Value {
        match self {
            Trivial::Ret(o) => opnd(o, args, consts),
            Trivial::Arith { op, a, b } => {
                if let (Some(x), Some(y)) = (small(a, args), small(b, args)) {
                    return ops::int_arith(op, x, y);
                }
                ops::arith(op, &opnd(a, args, consts), &opnd(b, args, consts))
            }
        }
    }
}

#[inline(always)]
fn small(o: Opnd, args: &[Value]) -> Option<i64> {
    match o {
        Opnd::Reg(r) => args[r as usize].as_small_int(),
        Opnd::Imm(i) => Some(i as i64),
        Opnd::K(_) => None,
    }
}

#[inline(always)]
fn opnd(o: Opnd, args: &[Value], consts: &[Value]) -> Value {
    match o {
        Opnd::Reg(r) => args[r as usize].clone(),
        Opnd::Imm(i) => Value::int(i as i64),
        Opnd::K(k) => consts[k as usize].clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_bodies_over_parameters() {
        let rr = X::ArithRetRR {
            op: Arith::Add,
            a: 0,
            b: 1,
        };
        assert_eq!(
            Trivial::of(&[rr, X::End], 2),
            Some(Trivial::Arith {
                op: Arith::Add,
                a: Opnd::Reg(0),
                b: Opnd::Reg(1)
            })
        );
        // Register 1 is a local when there is one parameter: not trivial.
        assert_eq!(Trivial::of(&[rr, X::End], 1), None);
        assert_eq!(
            Trivial::of(&[X::Ret(Opnd::K(0)), X::End], 0),
            Some(Trivial::Ret(Opnd::K(0)))
        );
        assert_eq!(Trivial::of(&[X::Ret(Opnd::Reg(0)), X::End], 0), None);
        assert_eq!(Trivial::of(&[X::Nop, X::Ret(Opnd::Imm(1))], 0), None);
        assert_eq!(Trivial::of(&[], 0), None);
    }

    #[test]
    fn evaluates_with_the_interpreters_value_semantics() {
        let add = Trivial::Arith {
            op: Arith::Add,
            a: Opnd::Reg(0),
            b: Opnd::Imm(1),
        };
        assert_eq!(add.eval(&[Value::int(41)], &[]).as_int(), Some(42));
        // Strings that are canonical integers are integers (docs/spec/ttbc.md value semantics).
        let s = add.eval(&[Value::string("41")], &[]);
        assert_eq!(s.as_int(), Some(42));
        // Beyond the inline payload: the general path.
        let big = add.eval(&[Value::int(i64::MAX)], &[]);
        assert_eq!(big.as_int(), Some(i64::MIN));
        let k = Trivial::Ret(Opnd::K(0));
        assert_eq!(k.eval(&[], &[Value::string("k")]).text(), "k");
    }
}
