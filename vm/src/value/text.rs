//! Text conversions (docs/spec/ttbc.md §14.2, §14.3, §12.3).

/// Parses a canonical decimal integer (§14.1 rule 2): `0`, or an optional `-` followed by a
/// digit `1`–`9` and further digits, in i64 range. No `+`, no leading zeros, not `-0`.
#[inline]
pub fn parse_canonical_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'0'..=b'9' => (false, b),
        _ => return None,
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > 19 {
        return None;
    }
    let mut acc: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        acc = if neg {
            acc.checked_mul(10)?.checked_sub(d)?
        } else {
            acc.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(acc)
}

/// The Atoi rule (§14.3): Go's `strconv.Atoi` on 64 bits with the error ignored.
pub fn atoi(s: &str) -> i64 {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        None => return 0,
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return 0;
    }
    let mut acc: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return 0;
        }
        match acc
            .checked_mul(10)
            .and_then(|a| a.checked_add((c - b'0') as u64))
        {
            Some(a) => acc = a,
            None => return if neg { i64::MIN } else { i64::MAX },
        }
    }
    if neg {
        if acc > 1u64 << 63 {
            i64::MIN
        } else {
            (acc as i64).wrapping_neg()
        }
    } else if acc >= 1u64 << 63 {
        i64::MAX
    } else {
        acc as i64
    }
}

/// Text of a float (§14.2): shortest round-trip decimal, never exponent notation, no trailing
/// `.0`; `NaN`, `+Inf`, `-Inf`.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Rust's Display for f64 prints the shortest round-trip digits without exponent.
        format!("{f}")
    }
}

/// Compact JSON text with the spec's escaping (§12.3): serde_json writes `\"`, `\\`, the short
/// escapes, other controls as lower-case `\u00xx`, and leaves `/` and non-ASCII alone.
pub fn json_compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_matches_go() {
        let cases: &[(&str, i64)] = &[
            ("42", 42),
            ("+7", 7),
            ("-0", 0),
            ("007", 7),
            (" 5", 0),
            ("5 ", 0),
            ("1.5", 0),
            ("1e3", 0),
            ("abc", 0),
            ("", 0),
            ("-", 0),
            ("+", 0),
            ("9223372036854775807", i64::MAX),
            ("9223372036854775808", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("-9223372036854775809", i64::MIN),
            ("-99999999999999999999", i64::MIN),
            ("99999999999999999999x", i64::MAX),
        ];
        for (s, want) in cases {
            assert_eq!(atoi(s), *want, "atoi({s:?})");
        }
    }

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_int("0"), Some(0));
        assert_eq!(parse_canonical_int("-42"), Some(-42));
        assert_eq!(parse_canonical_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_int("-9223372036854775808"), Some(i64::MIN));
        for s in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            "1.0",
            "9223372036854775808",
            " 1",
            "1a",
        ] {
            assert_eq!(parse_canonical_int(s), None, "{s:?}");
        }
    }

    #[test]
    fn float_texts() {
        assert_eq!(float_text(2.5), "2.5");
        assert_eq!(float_text(3.0), "3");
        assert_eq!(float_text(0.0000001), "0.0000001");
        assert_eq!(float_text(1e21), "1000000000000000000000");
        assert_eq!(float_text(-0.0), "-0");
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float_text(f64::INFINITY), "+Inf");
    }

    #[test]
    fn json_escaping() {
        let v = serde_json::json!({"a": "x\u{1}/é\n\"\\"});
        assert_eq!(json_compact(&v), r#"{"a":"x\u0001/é\n\"\\"}"#);
    }
}
