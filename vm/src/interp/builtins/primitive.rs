//! The protocol of primitive receivers (docs/spec/ttbc.md §10.4): integers, floats, strings,
//! booleans, nil and blocks. Numbers follow Smalltalk (`//` and `\\` round toward negative
//! infinity); integer results that leave 64 bits, division by zero and non-numeric arguments
//! are errors, never a quiet wrong answer.

use std::collections::HashMap;

use super::{Table, arg, primitive_class, value_of};
use crate::error::{Error, Result};
use crate::method::NativeFn;
use crate::runtime::Runtime;
use crate::value::{Value, ValueRef};

type Prim = fn(&Runtime, &Value, &[Value]) -> Result<Value>;

/// A number operand.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(v: &Value, sel: &str) -> Result<Num> {
        match v.view() {
            ValueRef::Int(i) => Ok(Num::Int(i)),
            ValueRef::Float(f) => Ok(Num::Float(f)),
            _ => Err(Error::runtime(format!(
                "{sel} expects a number, got {} '{}'",
                primitive_class(v).unwrap_or("an instance"),
                v.text()
            ))),
        }
    }

    fn f(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn value(self) -> Value {
        match self {
            Num::Int(i) => Value::int(i),
            Num::Float(f) => Value::float(f),
        }
    }

    fn lt(self, o: Num) -> bool {
        match (self, o) {
            (Num::Int(a), Num::Int(b)) => a < b,
            _ => self.f() < o.f(),
        }
    }
}

fn overflow(sel: &str) -> Error {
    Error::runtime(format!("integer overflow in {sel}"))
}

fn zero_divide(sel: &str) -> Error {
    Error::runtime(format!("division by zero in {sel}"))
}

/// `//` (floor) and `\\` (floored modulo).
fn floor_div_mod(a: Num, b: Num, sel: &str, modulo: bool) -> Result<Value> {
    match (a, b) {
        (Num::Int(_), Num::Int(0)) => Err(zero_divide(sel)),
        (Num::Int(x), Num::Int(y)) => {
            let q = x.checked_div(y).ok_or_else(|| overflow(sel))?;
            let r = x - q * y;
            let adjust = r != 0 && ((r < 0) != (y < 0));
            Ok(Value::int(match (modulo, adjust) {
                (false, false) => q,
                (false, true) => q - 1,
                (true, false) => r,
                (true, true) => r + y,
            }))
        }
        _ if b.f() == 0.0 => Err(zero_divide(sel)),
        _ => {
            let q = (a.f() / b.f()).floor();
            Ok(if modulo {
                Value::float(a.f() - b.f() * q)
            } else {
                float_to_int(q, sel)?
            })
        }
    }
}

fn float_to_int(f: f64, sel: &str) -> Result<Value> {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        Ok(Value::int(f as i64))
    } else {
        Err(overflow(sel))
    }
}

fn num(v: &Value) -> Result<Num> {
    Num::of(v, "number")
}

fn text_arg(args: &[Value], i: usize, sel: &str) -> Result<String> {
    Ok(arg(args, i, sel)?.text().into_owned())
}

fn int_arg(args: &[Value], i: usize, sel: &str) -> Result<i64> {
    match Num::of(arg(args, i, sel)?, sel)? {
        Num::Int(n) => Ok(n),
        Num::Float(_) => Err(Error::runtime(format!("{sel} expects an integer"))),
    }
}

/// Entries every primitive class has.
fn common(class: &'static str) -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        (
            "class",
            NativeFn::new(move |_, _, _| Ok(Value::string(class))),
        ),
        (
            "isKindOf:",
            NativeFn::new(move |_, _, a| {
                let n = text_arg(a, 0, "isKindOf:")?;
                Ok(Value::bool(n == class || n == "Object"))
            }),
        ),
        (
            "respondsTo:",
            NativeFn::new(move |_, _, a| {
                let sel = text_arg(a, 0, "respondsTo:")?;
                Ok(Value::bool(super::answers(Some(class), &sel)))
            }),
        ),
        ("yourself", f(|_, r, _| Ok(r.clone()))),
        ("printString", f(|_, r, _| Ok(Value::string(&r.text())))),
        ("displayString", f(|_, r, _| Ok(Value::string(&r.text())))),
        ("asString", f(|_, r, _| Ok(Value::string(&r.text())))),
        ("isNil", f(|_, _, _| Ok(Value::FALSE))),
        ("notNil", f(|_, _, _| Ok(Value::TRUE))),
        (
            "isString",
            f(|_, r, _| Ok(Value::bool(r.as_str().is_some()))),
        ),
        (
            "isNumber",
            f(|_, r, _| {
                Ok(Value::bool(matches!(
                    r.view(),
                    ValueRef::Int(_) | ValueRef::Float(_)
                )))
            }),
        ),
        (
            "perform:",
            f(|rt, r, a| rt.send(r, &text_arg(a, 0, "perform:")?, a.get(1..).unwrap_or(&[]))),
        ),
        (
            "perform:with:",
            f(|rt, r, a| rt.send(r, &text_arg(a, 0, "perform:")?, a.get(1..).unwrap_or(&[]))),
        ),
    ]
}

fn numbers() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        (
            "max:",
            f(|_, r, a| {
                let (x, y) = (num(r)?, Num::of(arg(a, 0, "max:")?, "max:")?);
                Ok(if x.lt(y) { y } else { x }.value())
            }),
        ),
        (
            "min:",
            f(|_, r, a| {
                let (x, y) = (num(r)?, Num::of(arg(a, 0, "min:")?, "min:")?);
                Ok(if y.lt(x) { y } else { x }.value())
            }),
        ),
        (
            "between:and:",
            f(|_, r, a| {
                let x = num(r)?;
                let lo = Num::of(arg(a, 0, "between:and:")?, "between:and:")?;
                let hi = Num::of(arg(a, 1, "between:and:")?, "between:and:")?;
                Ok(Value::bool(!x.lt(lo) && !hi.lt(x)))
            }),
        ),
        (
            "//",
            f(|_, r, a| floor_div_mod(num(r)?, Num::of(arg(a, 0, "//")?, "//")?, "//", false)),
        ),
        (
            "\\\\",
            f(
                |_, r, a| {
                    floor_div_mod(num(r)?, Num::of(arg(a, 0, "\\\\")?, "\\\\")?, "\\\\", true)
                },
            ),
        ),
        (
            "abs",
            f(|_, r, _| match num(r)? {
                Num::Int(i) => i
                    .checked_abs()
                    .map(Value::int)
                    .ok_or_else(|| overflow("abs")),
                Num::Float(x) => Ok(Value::float(x.abs())),
            }),
        ),
        (
            "negated",
            f(|_, r, _| match num(r)? {
                Num::Int(i) => i
                    .checked_neg()
                    .map(Value::int)
                    .ok_or_else(|| overflow("negated")),
                Num::Float(x) => Ok(Value::float(-x)),
            }),
        ),
        ("isZero", f(|_, r, _| Ok(Value::bool(num(r)?.f() == 0.0)))),
        ("asNumber", f(|_, r, _| Ok(r.clone()))),
        (
            "sign",
            f(|_, r, _| {
                let x = num(r)?.f();
                Ok(Value::int(if x > 0.0 {
                    1
                } else if x < 0.0 {
                    -1
                } else {
                    0
                }))
            }),
        ),
        ("asFloat", f(|_, r, _| Ok(Value::float(num(r)?.f())))),
        ("sqrt", f(|_, r, _| Ok(Value::float(num(r)?.f().sqrt())))),
        (
            "squared",
            f(|_, r, _| match num(r)? {
                Num::Int(i) => i
                    .checked_mul(i)
                    .map(Value::int)
                    .ok_or_else(|| overflow("squared")),
                Num::Float(x) => Ok(Value::float(x * x)),
            }),
        ),
    ]
}

fn integers() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        ("asInteger", f(|_, r, _| Ok(r.clone()))),
        (
            "even",
            f(|_, r, _| {
                Ok(Value::bool(
                    int_arg(std::slice::from_ref(r), 0, "even")? % 2 == 0,
                ))
            }),
        ),
        (
            "odd",
            f(|_, r, _| {
                Ok(Value::bool(
                    int_arg(std::slice::from_ref(r), 0, "odd")? % 2 != 0,
                ))
            }),
        ),
        (
            "to:do:",
            f(|rt, r, a| {
                let from = int_arg(std::slice::from_ref(r), 0, "to:do:")?;
                let to = int_arg(a, 0, "to:do:")?;
                let body = arg(a, 1, "to:do:")?;
                let mut i = from;
                while i <= to {
                    value_of(rt, body, &[Value::int(i)])?;
                    i = match i.checked_add(1) {
                        Some(n) => n,
                        None => break,
                    };
                }
                Ok(r.clone())
            }),
        ),
        (
            "to:by:do:",
            f(|rt, r, a| {
                let from = int_arg(std::slice::from_ref(r), 0, "to:by:do:")?;
                let to = int_arg(a, 0, "to:by:do:")?;
                let step = int_arg(a, 1, "to:by:do:")?;
                let body = arg(a, 2, "to:by:do:")?;
                if step == 0 {
                    return Err(Error::runtime("to:by:do: step must not be zero"));
                }
                let mut i = from;
                while (step > 0 && i <= to) || (step < 0 && i >= to) {
                    value_of(rt, body, &[Value::int(i)])?;
                    i = match i.checked_add(step) {
                        Some(n) => n,
                        None => break,
                    };
                }
                Ok(r.clone())
            }),
        ),
        (
            "timesRepeat:",
            f(|rt, r, a| {
                let n = int_arg(std::slice::from_ref(r), 0, "timesRepeat:")?;
                let body = arg(a, 0, "timesRepeat:")?;
                for _ in 0..n.max(0) {
                    value_of(rt, body, &[])?;
                }
                Ok(r.clone())
            }),
        ),
    ]
}

fn floats() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        (
            "floor",
            f(|_, r, _| float_to_int(num(r)?.f().floor(), "floor")),
        ),
        (
            "ceiling",
            f(|_, r, _| float_to_int(num(r)?.f().ceil(), "ceiling")),
        ),
        (
            "rounded",
            f(|_, r, _| float_to_int(num(r)?.f().round(), "rounded")),
        ),
        (
            "truncated",
            f(|_, r, _| float_to_int(num(r)?.f().trunc(), "truncated")),
        ),
        (
            "asInteger",
            f(|_, r, _| float_to_int(num(r)?.f().trunc(), "asInteger")),
        ),
    ]
}

/// The receiver's text as characters.
fn chars(r: &Value) -> Vec<char> {
    r.text().chars().collect()
}

/// A string's number: an integer, else a float, else nil.
fn parse_number(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::int(i);
    }
    match t.parse::<f64>() {
        Ok(x)
            if x.is_finite()
                && !t.is_empty()
                && !t.chars().any(|c| c.is_alphabetic() && c != 'e' && c != 'E') =>
        {
            Value::float(x)
        }
        _ => Value::NIL,
    }
}

fn strings() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        (
            "size",
            f(|_, r, _| Ok(Value::int(r.text().chars().count() as i64))),
        ),
        (
            ",",
            f(|_, r, a| {
                Ok(Value::string_owned(format!(
                    "{}{}",
                    r.text(),
                    arg(a, 0, ",")?.text()
                )))
            }),
        ),
        (
            "includesSubstring:",
            f(|_, r, a| {
                Ok(Value::bool(r.text().contains(&*text_arg(
                    a,
                    0,
                    "includesSubstring:",
                )?)))
            }),
        ),
        (
            "asUppercase",
            f(|_, r, _| Ok(Value::string_owned(r.text().to_uppercase()))),
        ),
        (
            "asLowercase",
            f(|_, r, _| Ok(Value::string_owned(r.text().to_lowercase()))),
        ),
        ("asNumber", f(|_, r, _| Ok(parse_number(&r.text())))),
        (
            "asInteger",
            f(|_, r, _| {
                Ok(r.text()
                    .trim()
                    .parse::<i64>()
                    .map(Value::int)
                    .unwrap_or(Value::NIL))
            }),
        ),
        ("isEmpty", f(|_, r, _| Ok(Value::bool(r.text().is_empty())))),
        (
            "notEmpty",
            f(|_, r, _| Ok(Value::bool(!r.text().is_empty()))),
        ),
        (
            "printString",
            f(|_, r, _| {
                Ok(Value::string_owned(format!(
                    "'{}'",
                    r.text().replace('\'', "''")
                )))
            }),
        ),
        (
            "reversed",
            f(|_, r, _| Ok(Value::string_owned(chars(r).into_iter().rev().collect()))),
        ),
        (
            "trimSeparators",
            f(|_, r, _| Ok(Value::string(r.text().trim()))),
        ),
        (
            "startsWith:",
            f(|_, r, a| {
                Ok(Value::bool(r.text().starts_with(&*text_arg(
                    a,
                    0,
                    "startsWith:",
                )?)))
            }),
        ),
        (
            "endsWith:",
            f(|_, r, a| {
                Ok(Value::bool(r.text().ends_with(&*text_arg(
                    a,
                    0,
                    "endsWith:",
                )?)))
            }),
        ),
        (
            "indexOf:",
            f(|_, r, a| {
                let needle = text_arg(a, 0, "indexOf:")?;
                let hay = r.text();
                Ok(Value::int(match hay.find(&*needle) {
                    Some(b) => hay[..b].chars().count() as i64 + 1,
                    None => 0,
                }))
            }),
        ),
        (
            "at:",
            f(|_, r, a| {
                let i = int_arg(a, 0, "at:")?;
                let cs = chars(r);
                match usize::try_from(i).ok().filter(|&i| i >= 1 && i <= cs.len()) {
                    Some(i) => Ok(Value::string_owned(cs[i - 1].to_string())),
                    None => Err(Error::runtime(format!(
                        "index {i} out of bounds 1..{}",
                        cs.len()
                    ))),
                }
            }),
        ),
        (
            "copyFrom:to:",
            f(|_, r, a| {
                let (from, to) = (
                    int_arg(a, 0, "copyFrom:to:")?,
                    int_arg(a, 1, "copyFrom:to:")?,
                );
                let cs = chars(r);
                if to < from {
                    return Ok(Value::empty_string());
                }
                if from < 1 || to as usize > cs.len() {
                    return Err(Error::runtime(format!(
                        "copyFrom: {from} to: {to} out of bounds 1..{}",
                        cs.len()
                    )));
                }
                Ok(Value::string_owned(
                    cs[from as usize - 1..to as usize].iter().collect(),
                ))
            }),
        ),
    ]
}

fn booleans() -> Vec<(&'static str, NativeFn)> {
    fn b(r: &Value) -> bool {
        r.as_bool().unwrap_or(false)
    }
    let f = |c: Prim| NativeFn::new(c);
    vec![
        ("not", f(|_, r, _| Ok(Value::bool(!b(r))))),
        (
            "&",
            f(|_, r, a| Ok(Value::bool(b(r) && arg(a, 0, "&")?.as_bool() == Some(true)))),
        ),
        (
            "|",
            f(|_, r, a| Ok(Value::bool(b(r) || arg(a, 0, "|")?.as_bool() == Some(true)))),
        ),
        (
            "xor:",
            f(|_, r, a| {
                Ok(Value::bool(
                    b(r) != (arg(a, 0, "xor:")?.as_bool() == Some(true)),
                ))
            }),
        ),
        (
            "and:",
            f(|rt, r, a| {
                if b(r) {
                    value_of(rt, arg(a, 0, "and:")?, &[])
                } else {
                    Ok(Value::FALSE)
                }
            }),
        ),
        (
            "or:",
            f(|rt, r, a| {
                if b(r) {
                    Ok(Value::TRUE)
                } else {
                    value_of(rt, arg(a, 0, "or:")?, &[])
                }
            }),
        ),
        (
            "ifTrue:",
            f(|rt, r, a| {
                if b(r) {
                    value_of(rt, arg(a, 0, "ifTrue:")?, &[])
                } else {
                    Ok(Value::NIL)
                }
            }),
        ),
        (
            "ifFalse:",
            f(|rt, r, a| {
                if b(r) {
                    Ok(Value::NIL)
                } else {
                    value_of(rt, arg(a, 0, "ifFalse:")?, &[])
                }
            }),
        ),
        (
            "ifTrue:ifFalse:",
            f(|rt, r, a| {
                value_of(
                    rt,
                    arg(a, if b(r) { 0 } else { 1 }, "ifTrue:ifFalse:")?,
                    &[],
                )
            }),
        ),
        (
            "ifFalse:ifTrue:",
            f(|rt, r, a| {
                value_of(
                    rt,
                    arg(a, if b(r) { 1 } else { 0 }, "ifFalse:ifTrue:")?,
                    &[],
                )
            }),
        ),
    ]
}

fn nils() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    vec![
        ("printString", f(|_, _, _| Ok(Value::string("nil")))),
        ("isNil", f(|_, _, _| Ok(Value::TRUE))),
        ("notNil", f(|_, _, _| Ok(Value::FALSE))),
        ("isEmpty", f(|_, _, _| Ok(Value::TRUE))),
        (
            "ifNil:",
            f(|rt, _, a| value_of(rt, arg(a, 0, "ifNil:")?, &[])),
        ),
        ("ifNotNil:", f(|_, _, _| Ok(Value::NIL))),
        (
            "ifNil:ifNotNil:",
            f(|rt, _, a| value_of(rt, arg(a, 0, "ifNil:ifNotNil:")?, &[])),
        ),
        (
            "ifNotNil:ifNil:",
            f(|rt, _, a| value_of(rt, arg(a, 1, "ifNotNil:ifNil:")?, &[])),
        ),
    ]
}

fn blocks() -> Vec<(&'static str, NativeFn)> {
    let f = |c: Prim| NativeFn::new(c);
    let call = |c: Prim| NativeFn::new(c);
    vec![
        ("value:", call(value_of)),
        ("value:value:", call(value_of)),
        ("value:value:value:", call(value_of)),
        (
            "whileTrue:",
            f(|rt, r, a| {
                let body = arg(a, 0, "whileTrue:")?;
                while value_of(rt, r, &[])?.as_bool() == Some(true) {
                    value_of(rt, body, &[])?;
                }
                Ok(Value::NIL)
            }),
        ),
        (
            "whileFalse:",
            f(|rt, r, a| {
                let body = arg(a, 0, "whileFalse:")?;
                while value_of(rt, r, &[])?.as_bool() != Some(true) {
                    value_of(rt, body, &[])?;
                }
                Ok(Value::NIL)
            }),
        ),
    ]
}

/// All primitive tables by class name; a class's own entries override the common ones.
pub(super) fn tables() -> HashMap<&'static str, Table> {
    let mut out = HashMap::new();
    let classes: [(&'static str, Vec<(&'static str, NativeFn)>); 6] = [
        ("Integer", [numbers(), integers()].concat()),
        ("Float", [numbers(), floats()].concat()),
        ("String", strings()),
        ("Boolean", booleans()),
        ("UndefinedObject", nils()),
        ("Block", blocks()),
    ];
    for (class, own) in classes {
        let mut entries = common(class);
        entries.extend(own);
        out.insert(class, super::table(entries));
    }
    out
}
