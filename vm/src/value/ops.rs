//! Arithmetic, comparison and truthiness (docs/spec/ttbc.md §14.4–§14.6), shared by every tier.

use super::{Value, ValueRef, atoi};

/// The numeric view `num(v)` of §14.4.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An integer view.
    Int(i64),
    /// A float view.
    Float(f64),
}

/// `num(v)`: integers and floats as themselves, everything else through Atoi of its text.
#[inline]
pub fn num(v: &Value) -> Num {
    match v.view() {
        ValueRef::Int(i) => Num::Int(i),
        ValueRef::Float(f) => Num::Float(f),
        ValueRef::Str(s) => Num::Int(atoi(s)),
        ValueRef::Nil | ValueRef::Bool(_) | ValueRef::Json(_) => Num::Int(0),
        _ => Num::Int(atoi(&v.text())),
    }
}

/// Integer view used where a float is converted for comparison.
fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// One of the binary arithmetic opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// ADD
    Add,
    /// SUB
    Sub,
    /// MUL
    Mul,
    /// DIV
    Div,
    /// MOD
    Mod,
}

/// Binary arithmetic (§14.4): wrapping integers, floats when either side is a float, and
/// integer 0 for a zero divisor.
#[inline]
pub fn arith(op: Arith, a: &Value, b: &Value) -> Value {
    if let (Some(x), Some(y)) = (a.as_small_int(), b.as_small_int()) {
        return int_arith(op, x, y);
    }
    match (num(a), num(b)) {
        (Num::Int(x), Num::Int(y)) => int_arith(op, x, y),
        (x, y) => float_arith(op, as_f64(x), as_f64(y)),
    }
}

/// Integer arithmetic with the spec's wrapping and zero-divisor rules.
#[inline]
pub fn int_arith(op: Arith, x: i64, y: i64) -> Value {
    Value::int(match op {
        Arith::Add => x.wrapping_add(y),
        Arith::Sub => x.wrapping_sub(y),
        Arith::Mul => x.wrapping_mul(y),
        Arith::Div if y == 0 => 0,
        Arith::Div => x.wrapping_div(y),
        Arith::Mod if y == 0 => 0,
        Arith::Mod => x.wrapping_rem(y),
    })
}

fn float_arith(op: Arith, x: f64, y: f64) -> Value {
    match op {
        Arith::Add => Value::float(x + y),
        Arith::Sub => Value::float(x - y),
        Arith::Mul => Value::float(x * y),
        Arith::Div | Arith::Mod if y == 0.0 => Value::int(0),
        Arith::Div => Value::float(x / y),
        Arith::Mod => Value::float(x % y),
    }
}

/// NEG: wrapping integer negation or float sign flip.
pub fn neg(a: &Value) -> Value {
    match num(a) {
        Num::Int(i) => Value::int(i.wrapping_neg()),
        Num::Float(f) => Value::float(-f),
    }
}

/// EQ (§14.5): text equality, with an integer fast path.
#[inline]
pub fn text_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (a.as_int(), b.as_int()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return x == y;
    }
    a.text() == b.text()
}

/// One of the ordering opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// LT
    Lt,
    /// LE
    Le,
    /// GT
    Gt,
    /// GE
    Ge,
}

/// LT/LE/GT/GE (§14.5): integers by the Atoi rule unless a float is involved.
#[inline]
pub fn compare(op: Cmp, a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Num::Int(x), Num::Int(y)) => match op {
            Cmp::Lt => x < y,
            Cmp::Le => x <= y,
            Cmp::Gt => x > y,
            Cmp::Ge => x >= y,
        },
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            match op {
                Cmp::Lt => x < y,
                Cmp::Le => x <= y,
                Cmp::Gt => x > y,
                Cmp::Ge => x >= y,
            }
        }
    }
}

/// `truthy(v)` (§14.6): false iff the text is `""`, `false`, `0` or `nil`.
#[inline]
pub fn truthy(v: &Value) -> bool {
    match v.view() {
        ValueRef::Nil => false,
        ValueRef::Bool(b) => b,
        ValueRef::Int(i) => i != 0,
        // Only +0.0 has the text "0"; -0.0 prints "-0" and is truthy.
        ValueRef::Float(f) => !(f == 0.0 && f.is_sign_positive()),
        ValueRef::Str(s) => !matches!(s, "" | "false" | "0" | "nil"),
        ValueRef::Json(_) | ValueRef::Instance(_) | ValueRef::Block(_) => true,
    }
}

/// True when `text(v)` is empty (JUMP_NIL / JUMP_NOT_NIL).
#[inline]
pub fn text_is_empty(v: &Value) -> bool {
    match v.view() {
        ValueRef::Nil => true,
        ValueRef::Str(s) => s.is_empty(),
        _ => false,
    }
}

/// CONCAT: a string of both texts.
pub fn concat(a: &Value, b: &Value) -> Value {
    let (x, y) = (a.text(), b.text());
    let mut s = String::with_capacity(x.len() + y.len());
    s.push_str(&x);
    s.push_str(&y);
    Value::string_owned(s)
}

/// STRLEN: UTF-8 byte count of the text.
pub fn strlen(a: &Value) -> Value {
    Value::int(match a.view() {
        ValueRef::Str(s) => s.len() as i64,
        _ => a.text().len() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn quick_reference_table() {
        assert_eq!(arith(Arith::Add, &s("7"), &s("35")).text(), "42");
        assert_eq!(arith(Arith::Add, &s("abc"), &Value::int(5)).text(), "5");
        assert_eq!(arith(Arith::Add, &s("1.5"), &Value::int(1)).text(), "1");
        assert_eq!(
            arith(Arith::Add, &Value::float(1.5), &Value::int(1)).text(),
            "2.5"
        );
        assert_eq!(
            arith(Arith::Add, &Value::float(1.5), &Value::float(1.5)).text(),
            "3"
        );
        assert_eq!(arith(Arith::Sub, &s("10"), &s("3")).text(), "7");
        assert_eq!(arith(Arith::Div, &s("7"), &s("2")).text(), "3");
        assert_eq!(arith(Arith::Div, &s("-7"), &s("2")).text(), "-3");
        assert_eq!(arith(Arith::Div, &s("5"), &s("0")).text(), "0");
        assert_eq!(arith(Arith::Mod, &s("-7"), &s("2")).text(), "-1");
        assert_eq!(arith(Arith::Mod, &s("7"), &s("-2")).text(), "1");
        assert_eq!(arith(Arith::Mod, &s("5"), &s("0")).text(), "0");
        assert_eq!(
            arith(Arith::Div, &Value::float(5.0), &Value::float(-0.0)).text(),
            "0"
        );
        assert_eq!(
            arith(Arith::Add, &Value::int(i64::MAX), &Value::int(1)).text(),
            "-9223372036854775808"
        );
        assert_eq!(
            arith(Arith::Div, &Value::int(i64::MIN), &Value::int(-1)).as_int(),
            Some(i64::MIN)
        );
        assert_eq!(
            arith(Arith::Mod, &Value::int(i64::MIN), &Value::int(-1)).as_int(),
            Some(0)
        );
        assert!(!text_eq(&s("1"), &s("01")));
        assert!(text_eq(&Value::int(42), &s("42")));
        assert!(text_eq(&Value::int(2), &Value::float(2.0)));
        assert!(text_eq(&Value::NIL, &Value::empty_string()));
        assert!(!compare(Cmp::Lt, &s("10"), &s("9")));
        assert!(compare(Cmp::Lt, &s("abc"), &s("1")));
        assert!(!compare(Cmp::Lt, &Value::float(f64::NAN), &Value::int(1)));
        assert!(!truthy(&s("0")));
        assert!(!truthy(&s("nil")));
        assert!(truthy(&s("[]")));
        assert!(!truthy(&Value::float(0.0)));
        assert!(truthy(&Value::float(-0.0)));
        assert!(truthy(&Value::float(f64::NAN)));
        assert_eq!(concat(&Value::NIL, &s("x")).text(), "x");
        assert_eq!(strlen(&Value::int(12345)).text(), "5");
        assert_eq!(strlen(&s("héllo")).text(), "6");
        assert_eq!(neg(&Value::int(i64::MIN)).as_int(), Some(i64::MIN));
        assert_eq!(neg(&Value::float(1.5)).text(), "-1.5");
    }

    #[test]
    fn canonical_strings_are_integers() {
        assert_eq!(s("42").as_int(), Some(42));
        assert_eq!(s("007").as_int(), None);
        assert_eq!(s("007").text(), "007");
        assert_eq!(concat(&s("4"), &s("2")).as_int(), Some(42));
    }
}
