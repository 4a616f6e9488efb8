//! The direct document writer: the §4 compact text of a live instance, written straight into a
//! `String` (docs/spec/persistence.md §4, §5.1).
//!
//! [`document_json_of`] produces exactly the text of
//! [`document_of(inst)?.to_json()`](super::document_of) — same key order, same duplicate and
//! reserved-name rules, same value typing and the same escaping as `serde_json` / `json_compact`
//! — but under one read lock of the instance, without cloning its state and without building
//! intermediate `serde_json` values for integers, floats, plain strings and names. Only a string
//! whose whole text is a JSON array/object is parsed (it is written as that JSON value, compact,
//! as [`super::typing::string_to_json`] decides).
//!
//! The equality with `document_of(..).to_json()` is proven by the unit tests below and by the
//! proptest `writer_matches_document_of` in `vm/persist/tests/persist_writer.rs`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::Value as Json;

use super::PersistError;
use super::document::{KEY_CLASS, KEY_CREATED_AT, KEY_VARS};
use tt_vm::object::{Instance, InstanceState};
use tt_vm::value::{Value, ValueRef, float_text};

/// Nesting depth up to which a written document is known to be accepted unchanged by SQLite's
/// `json()` (whose own limit is 1000 levels). The store binds deeper documents (possible only
/// through JSON values built in memory; parsed JSON is limited to 128 levels) through `json(?)`
/// so that SQLite rejects them exactly as the spec statement does.
pub const PLAIN_BIND_MAX_DEPTH: usize = 200;

/// The §4 compact document of a live instance (values typed by §5.1; `_vars` always written).
/// Byte-identical to [`document_of(inst)?.to_json()`](super::document_of).
///
/// Fails with `instance not found: <id>` ([`PersistError::InstanceNotFound`]) for a released
/// instance.
pub fn document_json_of(inst: &Instance) -> Result<String, PersistError> {
    let mut out = String::with_capacity(128);
    write_document_json(inst, &mut out)?;
    Ok(out)
}

/// Appends the document of [`document_json_of`] to `out`; returns the nesting depth of the
/// document in containers, as SQLite counts it (2 for scalar variables: the object and
/// `_vars`). On error nothing is appended.
pub fn write_document_json(inst: &Instance, out: &mut String) -> Result<usize, PersistError> {
    let class = inst.class_name();
    let created_at = inst.created_at();
    inst.with_state(|st| write_state(out, class, created_at, st))
        .map_err(|_| PersistError::InstanceNotFound(inst.id().to_owned()))
}

/// Keys with a fixed meaning that can never be variables (as in `document.rs`).
#[inline]
fn is_reserved(name: &str) -> bool {
    matches!(name, KEY_CLASS | KEY_CREATED_AT | KEY_VARS)
}

/// Writes a whole document; returns its nesting depth.
fn write_state(
    out: &mut String,
    class: &str,
    created_at: Option<&str>,
    st: &InstanceState,
) -> usize {
    // The root object and the `_vars` array.
    let mut depth = 2;
    out.push_str("{\"class\":");
    write_str(out, class);
    if let Some(c) = created_at {
        out.push_str(",\"created_at\":");
        write_str(out, c);
    }
    // Names without a value are dropped (as `document_of`'s zip does).
    let names = &st.names[..st.names.len().min(st.values.len())];
    // `_vars` lists every name, reserved ones and duplicates included (as `InstanceDoc`).
    out.push_str(",\"_vars\":[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, n);
    }
    out.push(']');

    if !has_duplicates(names) {
        for (name, v) in names.iter().zip(&st.values) {
            if !is_reserved(name) {
                write_key(out, name);
                depth = depth.max(1 + write_value(out, v));
            }
        }
    } else {
        // A map insert keeps the first position of a key and takes the last value.
        let last: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (&**n, i)).collect();
        let mut written: HashSet<&str> = HashSet::with_capacity(last.len());
        for name in names {
            if is_reserved(name) || !written.insert(name) {
                continue;
            }
            write_key(out, name);
            depth = depth.max(1 + write_value(out, &st.values[last[&**name]]));
        }
    }

    if !st.orphans.is_empty() {
        // An orphan is written unless reserved or already a key (a variable or an earlier
        // orphan): the first occurrence wins.
        let mut seen: HashSet<&str> = names.iter().map(|n| &**n).collect();
        for (name, v) in &st.orphans {
            if is_reserved(name) || !seen.insert(name.as_str()) {
                continue;
            }
            write_key(out, name);
            depth = depth.max(1 + write_json(out, v));
        }
    }
    out.push('}');
    depth
}

/// Whether a name occurs twice (the rare case that needs map semantics).
fn has_duplicates(names: &[std::sync::Arc<str>]) -> bool {
    if names.len() <= 16 {
        names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].iter().any(|m| m == n))
    } else {
        let mut seen = HashSet::with_capacity(names.len());
        !names.iter().all(|n| seen.insert(&**n))
    }
}

/// `,"<key>":`
#[inline]
fn write_key(out: &mut String, key: &str) {
    out.push(',');
    write_str(out, key);
    out.push(':');
}

/// Writes a runtime value as §5.1 JSON; returns its nesting depth (0 for scalars).
fn write_value(out: &mut String, v: &Value) -> usize {
    match v.view() {
        ValueRef::Nil => out.push_str("null"),
        ValueRef::Bool(true) => out.push_str("true"),
        ValueRef::Bool(false) => out.push_str("false"),
        ValueRef::Int(i) => write_i64(out, i),
        ValueRef::Float(f) => write_float(out, f),
        ValueRef::Str(s) => return write_string_value(out, s),
        ValueRef::Json(j) => return write_json(out, j),
        ValueRef::Instance(i) => write_str(out, i.id()),
        ValueRef::Block(_) => write_str(out, &v.text()),
    }
    0
}

/// A finite float as a number whose text reads back as a float (docs/spec/ttbc.md §14.2 text, `.0`
/// appended without a `.`); NaN/±∞ as the strings `NaN`, `+Inf`, `-Inf`.
fn write_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        write_str(out, &float_text(f));
        return;
    }
    let start = out.len();
    // Same text as `float_text` (Rust's Display: shortest round-trip digits, no exponent).
    let _ = write!(out, "{f}");
    if !out[start..].contains('.') {
        out.push_str(".0");
    }
}

/// A string value: a text that is a whole JSON array/object is written as that JSON value
/// (compact), anything else as a JSON string (as [`super::typing::string_to_json`]).
fn write_string_value(out: &mut String, s: &str) -> usize {
    if s.trim_start().starts_with(['[', '{']) {
        if let Some(depth) = verbatim_json_depth(s) {
            out.push_str(s);
            return depth;
        }
        if let Ok(j @ (Json::Array(_) | Json::Object(_))) = serde_json::from_str::<Json>(s) {
            return write_json(out, &j);
        }
    }
    write_str(out, s);
    0
}

/// Nesting limit of [`verbatim_json_depth`] (serde_json's own is 127 levels).
const VERBATIM_MAX_DEPTH: usize = 64;
/// Keys per object [`verbatim_json_depth`] checks for duplicates.
const VERBATIM_MAX_KEYS: usize = 16;

/// When `s` is a JSON array/object that serde_json parses and writes back byte for byte — no
/// whitespace, strings without escapes or control characters, numbers without exponent
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, kept as their text with `arbitrary_precision`), objects of
/// at most [`VERBATIM_MAX_KEYS`] distinct keys none of which starts with `$` (serde_json's
/// private number marker), at most [`VERBATIM_MAX_DEPTH`] levels — its nesting depth (as
/// [`write_json`] counts it). `None` when in doubt: the caller then parses it with serde_json.
fn verbatim_json_depth(s: &str) -> Option<usize> {
    if !s.starts_with(['[', '{']) {
        return None;
    }
    let mut scan = Verbatim {
        b: s.as_bytes(),
        i: 0,
    };
    let depth = scan.value(0)?;
    (scan.i == s.len()).then_some(depth)
}

/// The scanner of [`verbatim_json_depth`]: `b[i..]` is still to read.
struct Verbatim<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Verbatim<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    /// One value at nesting `level`; its depth in containers (0 for scalars).
    fn value(&mut self, level: usize) -> Option<usize> {
        match self.peek()? {
            b'[' if level < VERBATIM_MAX_DEPTH => {
                self.i += 1;
                if self.eat(b']') {
                    return Some(1);
                }
                let mut depth = 0;
                loop {
                    depth = depth.max(self.value(level + 1)?);
                    if !self.eat(b',') {
                        return self.eat(b']').then_some(depth + 1);
                    }
                }
            }
            b'{' if level < VERBATIM_MAX_DEPTH => {
                self.i += 1;
                if self.eat(b'}') {
                    return Some(1);
                }
                let mut keys: [&[u8]; VERBATIM_MAX_KEYS] = [&[]; VERBATIM_MAX_KEYS];
                let mut n = 0;
                let mut depth = 0;
                loop {
                    let key = self.string()?;
                    if n == VERBATIM_MAX_KEYS
                        || key.first() == Some(&b'$')
                        || keys[..n].contains(&key)
                    {
                        return None;
                    }
                    keys[n] = key;
                    n += 1;
                    if !self.eat(b':') {
                        return None;
                    }
                    depth = depth.max(self.value(level + 1)?);
                    if !self.eat(b',') {
                        return self.eat(b'}').then_some(depth + 1);
                    }
                }
            }
            b'"' => self.string().map(|_| 0),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Option<usize> {
        self.b[self.i..].starts_with(lit).then(|| {
            self.i += lit.len();
            0
        })
    }

    /// A string without escapes or control characters; its content.
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i - 1]);
                }
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`; a number with an exponent is left to serde_json.
    fn number(&mut self) -> Option<usize> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            self.digits();
        }
        (!matches!(self.peek(), Some(b'e' | b'E' | b'0'..=b'9'))).then_some(0)
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

/// Writes a JSON value compactly, as `serde_json::to_string` does; returns its nesting depth.
fn write_json(out: &mut String, j: &Json) -> usize {
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        // With `arbitrary_precision` a number displays as its token, as serde_json writes it.
        Json::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
            let mut depth = 0;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                depth = depth.max(write_json(out, item));
            }
            out.push(']');
            return depth + 1;
        }
        Json::Object(map) => {
            let mut depth = 0;
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                depth = depth.max(write_json(out, v));
            }
            out.push('}');
            return depth + 1;
        }
    }
    0
}

/// Decimal text of an integer (same as `i64::to_string`).
fn write_i64(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    for &b in &buf[pos..] {
        out.push(b as char);
    }
}

/// How serde_json escapes a byte: 0 = as is, `u` = `\u00xx`, else `\<that char>`.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Writes `s` as a JSON string with serde_json's escaping: `\"`, `\\`, the short escapes
/// `\b \t \n \f \r`, other controls as lower-case `\u00xx`; everything else (`/`, DEL,
/// non-ASCII) as is.
fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // Most strings (names, classes, ids, plain texts) need no escape: one branch-free pass,
    // then a single copy.
    if bytes
        .iter()
        .fold(0u8, |acc, &b| acc | ESCAPE[usize::from(b)])
        == 0
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        // Escaped bytes are ASCII, so `start..i` is on char boundaries.
        out.push_str(&s[start..i]);
        out.push('\\');
        if esc == b'u' {
            out.push_str("u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push(esc as char);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::document_of;

    fn inst(
        created_at: Option<&str>,
        vars: Vec<(&str, Value)>,
        orphans: Vec<(&str, Json)>,
    ) -> Instance {
        let (names, values) = vars
            .into_iter()
            .map(|(n, v)| (Arc::<str>::from(n), v))
            .unzip();
        Instance::new(
            "thing_1".into(),
            "My::Thing".into(),
            None,
            created_at.map(str::to_owned),
            InstanceState {
                names,
                values,
                orphans: orphans
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            },
        )
    }

    fn same(i: &Instance) -> String {
        let want = document_of(i).unwrap().to_json();
        let got = document_json_of(i).unwrap();
        assert_eq!(got, want);
        got
    }

    #[test]
    fn every_byte_escapes_like_serde_json() {
        for c in (0u32..0x800).chain([0x2028, 0x2029, 0xfeff, 0xffff, 0x10000, 0x10ffff]) {
            let Some(ch) = char::from_u32(c) else {
                continue;
            };
            let s = format!("a{ch}b{ch}");
            let mut out = String::new();
            write_str(&mut out, &s);
            assert_eq!(out, serde_json::to_string(&s).unwrap(), "U+{c:04X}");
        }
    }

    /// What serde_json makes of a JSON-text string value, and its depth.
    fn via_serde(s: &str) -> (String, usize) {
        let mut out = String::new();
        let j: Json = serde_json::from_str(s).unwrap();
        let depth = write_json(&mut out, &j);
        (out, depth)
    }

    #[test]
    fn verbatim_json_is_what_serde_json_writes_back() {
        let verbatim = [
            "[]",
            "{}",
            r#"["a","b"]"#,
            "[0,-0,1.50,-0.0,0.000,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809]",
            "[123456789012345678901234567890.123456789012345678901234567890]",
            "{\"a\":{\"b\":[true,false,null,{\"c\":\"é ✓ 😀 / \u{7f}\"}]},\"\":[[[]]]}",
            r#"{"a$":1,"b":{"a$":2}}"#,
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16}"#,
        ];
        for s in verbatim {
            let (want, depth) = via_serde(s);
            assert_eq!(want, s, "serde_json keeps {s}");
            assert_eq!(verbatim_json_depth(s), Some(depth), "{s}");
        }
        let deep = format!(
            "{}{}",
            "[".repeat(VERBATIM_MAX_DEPTH),
            "]".repeat(VERBATIM_MAX_DEPTH)
        );
        assert_eq!(verbatim_json_depth(&deep), Some(VERBATIM_MAX_DEPTH));
        assert_eq!(via_serde(&deep).1, VERBATIM_MAX_DEPTH);

        // Left to serde_json: texts it rewrites, and texts it refuses.
        let deeper = format!("[{deep}]");
        let mut doubtful: Vec<&str> = vec![
            &deeper,
            " []",
            "[] ",
            "[1, 2]",
            "[\n1]",
            r#"["\u0041"]"#,
            r#"["\/"]"#,
            r#"["a\"b"]"#,
            "[1E5]",
            "[1e5]",
            "[1.5e-3]",
            r#"{"dup":1,"dup":2}"#,
            r#"{"a":{"x":1,"x":2}}"#,
            r#"{"$serde_json::private::Number":"1"}"#,
            r#"{"$":1}"#,
            "\"a\"",
            "1",
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17}"#,
        ];
        let invalid = [
            "[",
            "[1,]",
            "[,1]",
            "[01]",
            "[-]",
            "[1.]",
            "[.5]",
            "[+1]",
            "[-01]",
            "[tru]",
            "[nul]",
            "[1]x",
            "[1][2]",
            r#"{"a"}"#,
            r#"{"a":}"#,
            "{a:1}",
            r#"{"a":1,}"#,
            "[\"\u{1}\"]",
            "[\"a]",
            "[NaN]",
            "[Infinity]",
        ];
        doubtful.extend(invalid);
        for s in doubtful {
            assert_eq!(verbatim_json_depth(s), None, "{s}");
        }
        for s in invalid {
            assert!(serde_json::from_str::<Json>(s).is_err(), "{s}");
        }
        // Through the writer: the same document as `document_of` either way.
        for s in verbatim.iter().chain(&[
            r#"{"dup":1,"dup":2}"#,
            "[1E5, -0]",
            "[01]",
            r#"{"$serde_json::private::Number":"1"}"#,
        ]) {
            same(&inst(None, vec![("v", Value::string(s))], vec![]));
        }
    }

    #[test]
    fn integers_match_to_string() {
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            42,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1 << 53,
        ] {
            let mut out = String::new();
            write_i64(&mut out, i);
            assert_eq!(out, i.to_string());
        }
    }

    #[test]
    fn scalars_and_floats() {
        let floats = [
            0.0,
            -0.0,
            0.1,
            1.5,
            3.0,
            -2.0,
            1e300,
            -1e300,
            1e21,
            1e-7,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut vars: Vec<(String, Value)> = vec![
            ("nil".into(), Value::NIL),
            ("t".into(), Value::bool(true)),
            ("f".into(), Value::bool(false)),
            ("max".into(), Value::int(i64::MAX)),
            ("min".into(), Value::int(i64::MIN)),
            ("zero".into(), Value::int(0)),
            ("canon".into(), Value::string("-17")),
        ];
        for (k, f) in floats.iter().enumerate() {
            vars.push((format!("f{k}"), Value::float(*f)));
        }
        let i = inst(
            Some("1700000000"),
            vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
            vec![],
        );
        let text = same(&i);
        assert!(text.contains(r#""f1":-0.0"#), "{text}");
        assert!(
            text.contains(r#""f15":"NaN","f16":"+Inf","f17":"-Inf""#),
            "{text}"
        );
    }

    #[test]
    fn strings() {
        let strings = [
            "",
            "plain",
            "007",
            "1.5",
            "true",
            "null",
            "q\"uote\\back/slash",
            "ctl \u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "unicode é ✓ 😀 \u{2028}",
            "[1, 2 , [3]]",
            " \n\t{ \"b\" : 1 , \"a\" : [ true , null ] }  ",
            "{\"a\":1,\"a\":2,\"b\":3}",
            "[\"\\u0041\\/\", 1E5, -0, 1.50, 12345678901234567890123]",
            "[1,",
            "{oops}",
            "[] x",
            "\u{a0}[1]",
            "[\"a\",\"b\"]",
            "{}",
            "[]",
            "\"string\"",
            "123abc",
        ];
        let vars: Vec<(String, Value)> = strings
            .iter()
            .enumerate()
            .map(|(k, s)| (format!("s{k}"), Value::string(s)))
            .collect();
        let i = inst(
            None,
            vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
            vec![],
        );
        let text = same(&i);
        assert!(text.contains(r#""s9":[1,2,[3]]"#), "{text}");
        assert!(text.contains(r#""s13":"[1,""#), "{text}");
    }

    #[test]
    fn json_values_references_and_orphans() {
        let other = Arc::new(inst(None, vec![], vec![]));
        let i = inst(
            Some("2024-01-01T00:00:00Z"),
            vec![
                (
                    "arr",
                    Value::json(json!([1, "two", {"three": [3.5, null]}])),
                ),
                ("obj", Value::json(json!({"z": 1, "a": {"\n": "\u{1}"}}))),
                ("ref", Value::instance(other)),
                ("x", Value::int(1)),
            ],
            vec![
                ("legacy", json!({"k": [1, 2]})),
                ("x", json!("shadowed by the variable")),
                ("class", json!("reserved")),
                ("legacy", json!("second occurrence")),
                ("tail", json!(null)),
            ],
        );
        let text = same(&i);
        assert!(text.contains(r#""ref":"thing_1""#), "{text}");
        assert!(
            text.ends_with(r#""legacy":{"k":[1,2]},"tail":null}"#),
            "{text}"
        );
    }

    #[test]
    fn reserved_and_duplicate_names() {
        let i = inst(
            None,
            vec![
                ("class", Value::string("not the class")),
                ("a", Value::int(1)),
                ("_vars", Value::NIL),
                ("b", Value::int(2)),
                ("a", Value::int(3)),
                ("created_at", Value::int(4)),
                ("b", Value::int(5)),
            ],
            vec![("a", json!(0)), ("created_at", json!("x")), ("c", json!(6))],
        );
        let text = same(&i);
        assert_eq!(
            text,
            r#"{"class":"My::Thing","_vars":["class","a","_vars","b","a","created_at","b"],"a":3,"b":5,"c":6}"#
        );
        // Many names (the hashed duplicate check).
        let names: Vec<String> = (0..40).map(|k| format!("v{}", k % 37)).collect();
        let i = inst(
            Some("1"),
            names
                .iter()
                .enumerate()
                .map(|(k, n)| (n.as_str(), Value::int(k as i64)))
                .collect(),
            vec![],
        );
        same(&i);
    }

    #[test]
    fn empty_and_released() {
        let i = inst(None, vec![], vec![]);
        assert_eq!(same(&i), r#"{"class":"My::Thing","_vars":[]}"#);
        i.mark_released();
        let err = document_json_of(&i).unwrap_err();
        assert!(matches!(err, PersistError::InstanceNotFound(_)));
        assert_eq!(err.to_string(), "instance not found: thing_1");
        let e: tt_vm::Error = err.into();
        assert!(e.is_not_found());
    }

    #[test]
    fn depth_is_reported() {
        let mut out = String::new();
        let i = inst(None, vec![], vec![]);
        assert_eq!(write_document_json(&i, &mut out).unwrap(), 2);
        let i = inst(None, vec![("a", Value::int(1))], vec![]);
        assert_eq!(write_document_json(&i, &mut out).unwrap(), 2);
        let i = inst(None, vec![("a", Value::string("[[1]]"))], vec![]);
        assert_eq!(write_document_json(&i, &mut out).unwrap(), 3);
        let i = inst(None, vec![], vec![("o", json!({"a": [{}]}))]);
        assert_eq!(write_document_json(&i, &mut out).unwrap(), 4);
    }
}
