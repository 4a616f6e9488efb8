//! Scanner for Trashtalk double-quoted strings (`"…"`), which Bash expands.
//!
//! The scanner splits the text into literal pieces and the expansions compiled code can
//! reproduce: `$name` / `${name}` (a variable of the method) and `$( … )` (a Trashtalk send or
//! `_ivar name`, parsed by the parser from the byte range recorded here). Everything else that
//! Bash would expand (`$1`, `$?`, `${x:-d}`, `$((…))`, backquotes) is an [`ScanError`] whose
//! message names the construct. Escapes follow Bash's double-quote rules: `\$`, `` \` ``,
//! `\"`, `\\` give the character, a backslash-newline disappears, any other backslash is kept.

use super::parser::MAX_DEPTH;

/// One piece of a double-quoted string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrPart {
    /// Literal text (escapes resolved).
    Text(String),
    /// `$name` or `${name}`; `offset` is the byte offset of the `$`.
    Var {
        /// Variable name.
        name: String,
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `$( … )`: `start..end` is the byte range inside the parentheses.
    Subst {
        /// Byte offset just after `$(`.
        start: usize,
        /// Byte offset of the closing `)`.
        end: usize,
        /// Byte offset of the `$`.
        offset: usize,
    },
}

/// What the scanner found wrong, at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset of the offending character.
    pub offset: usize,
    /// Description.
    pub message: String,
    /// True for malformed source (unterminated), false for a Bash construct compiled code
    /// cannot reproduce.
    pub malformed: bool,
}

impl ScanError {
    fn bash(offset: usize, message: impl Into<String>) -> ScanError {
        ScanError {
            offset,
            message: message.into(),
            malformed: false,
        }
    }

    fn malformed(offset: usize, message: impl Into<String>) -> ScanError {
        ScanError {
            offset,
            message: message.into(),
            malformed: true,
        }
    }
}

/// A scanned double-quoted string: its parts and the byte offset just after the closing quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// Pieces in order; adjacent text is merged. Empty for `""`.
    pub parts: Vec<StrPart>,
    /// Byte offset after the closing `"`.
    pub end: usize,
}

impl Scanned {
    /// True when nothing is expanded (the string is plain text).
    pub fn is_plain(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, StrPart::Text(_)))
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Scans the double-quoted string whose opening `"` is at byte `open` of `src`.
pub fn scan(src: &str, open: usize) -> Result<Scanned, ScanError> {
    scan_nested(src, open, 0)
}

/// [`scan`] of a string nested `depth` levels deep in `$( … )` substitutions.
fn scan_nested(src: &str, open: usize, depth: usize) -> Result<Scanned, ScanError> {
    if depth > MAX_DEPTH {
        return Err(ScanError::malformed(
            open,
            format!("strings nested in '$( )' deeper than {MAX_DEPTH}"),
        ));
    }
    let bytes = src.as_bytes();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = open + 1;
    let flush = |text: &mut String, parts: &mut Vec<StrPart>| {
        if !text.is_empty() {
            parts.push(StrPart::Text(std::mem::take(text)));
        }
    };
    loop {
        let Some(&c) = bytes.get(i) else {
            return Err(ScanError::malformed(open, "unterminated string literal"));
        };
        match c {
            b'"' => {
                flush(&mut text, &mut parts);
                return Ok(Scanned { parts, end: i + 1 });
            }
            b'\\' => match bytes.get(i + 1) {
                Some(&e @ (b'"' | b'\\' | b'$' | b'`')) => {
                    text.push(e as char);
                    i += 2;
                }
                Some(b'\n') => i += 2,
                _ => {
                    text.push('\\');
                    i += 1;
                }
            },
            b'`' => {
                return Err(ScanError::bash(
                    i,
                    "Bash command substitution '`…`' in a double-quoted string",
                ));
            }
            b'$' => {
                let (part, next) = dollar(src, i, depth)?;
                match part {
                    Some(p) => {
                        flush(&mut text, &mut parts);
                        parts.push(p);
                    }
                    None => text.push('$'),
                }
                i = next;
            }
            _ => {
                let ch = src[i..].chars().next().expect("in bounds");
                text.push(ch);
                i += ch.len_utf8();
            }
        }
    }
}

/// A `$` at `at` inside a double-quoted string: the part it starts (None: a literal `$`) and
/// the offset after it.
fn dollar(src: &str, at: usize, depth: usize) -> Result<(Option<StrPart>, usize), ScanError> {
    let bytes = src.as_bytes();
    match bytes.get(at + 1).copied() {
        Some(c) if is_name_start(c) => {
            let mut j = at + 1;
            while bytes.get(j).is_some_and(|&c| is_name_char(c)) {
                j += 1;
            }
            let name = src[at + 1..j].to_string();
            Ok((Some(StrPart::Var { name, offset: at }), j))
        }
        Some(b'{') => {
            let start = at + 2;
            let mut j = start;
            while bytes.get(j).is_some_and(|&c| is_name_char(c)) {
                j += 1;
            }
            let simple = j > start && is_name_start(bytes[start]) && bytes.get(j) == Some(&b'}');
            if !simple {
                let shown = src[at..].chars().take(12).collect::<String>();
                return Err(ScanError::bash(
                    at,
                    format!("Bash parameter expansion '{shown}…' (only ${{name}} compiles)"),
                ));
            }
            let name = src[start..j].to_string();
            Ok((Some(StrPart::Var { name, offset: at }), j + 1))
        }
        Some(b'(') => {
            if bytes.get(at + 2) == Some(&b'(') {
                return Err(ScanError::bash(at, "Bash arithmetic expansion '$((…))'"));
            }
            let start = at + 2;
            let end = matching_paren(src, start, depth)?
                .ok_or_else(|| ScanError::malformed(at, "unterminated '$(' substitution"))?;
            Ok((
                Some(StrPart::Subst {
                    start,
                    end,
                    offset: at,
                }),
                end + 1,
            ))
        }
        Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => Err(ScanError::bash(
            at,
            format!("Bash special parameter '${}'", c as char),
        )),
        // `$` before anything else (space, punctuation, end of string) is a literal `$`.
        _ => Ok((None, at + 1)),
    }
}

/// The offset of the `)` that closes a `$(` whose inside starts at `start` (None: there is
/// none). Quoted strings (`'…'`, `"…"`) inside are skipped; nested parentheses are counted.
fn matching_paren(src: &str, start: usize, depth: usize) -> Result<Option<usize>, ScanError> {
    let bytes = src.as_bytes();
    let mut parens = 0usize;
    let mut i = start;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'(' => parens += 1,
            b')' if parens == 0 => return Ok(Some(i)),
            b')' => parens -= 1,
            b'\'' => {
                i += 1;
                while bytes.get(i).is_some_and(|&c| c != b'\'') {
                    i += 1;
                }
            }
            b'"' => {
                match scan_nested(src, i, depth + 1) {
                    Ok(inner) => i = inner.end,
                    Err(e) if e.malformed => return Err(e),
                    // A Bash-only expansion inside is reported when the inside is parsed.
                    Err(_) => i = skip_string(bytes, i),
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(None)
}

/// The offset after the `"…"` string opening at `open`, by quotes and backslashes alone.
fn skip_string(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' => return i + 1,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(src: &str) -> Vec<StrPart> {
        scan(src, 0).unwrap().parts
    }

    fn text(s: &str) -> StrPart {
        StrPart::Text(s.into())
    }

    #[test]
    fn plain_text_and_escapes() {
        assert_eq!(
            parts(r#""a \$b \"c\" \\ \x""#),
            vec![text(r#"a $b "c" \ \x"#)]
        );
        assert_eq!(parts("\"a\\\nb\""), vec![text("ab")]);
        assert_eq!(parts(r#""cost $ 5 and $.""#), vec![text("cost $ 5 and $.")]);
        assert!(parts("\"\"").is_empty());
        assert!(scan("\"x\"", 0).unwrap().is_plain());
    }

    #[test]
    fn variables_in_both_spellings() {
        let src = r#""Hi $who, ${name}x $a_1!""#;
        assert_eq!(
            parts(src),
            vec![
                text("Hi "),
                StrPart::Var {
                    name: "who".into(),
                    offset: 4
                },
                text(", "),
                StrPart::Var {
                    name: "name".into(),
                    offset: 10
                },
                text("x "),
                StrPart::Var {
                    name: "a_1".into(),
                    offset: 19
                },
                text("!"),
            ]
        );
    }

    #[test]
    fn substitution_ranges_skip_nested_parens_and_quotes() {
        let src = r#""n=$(@ a at: (1 + 2) put: ')' , "x)") end""#;
        let p = parts(src);
        let StrPart::Subst { start, end, offset } = p[1] else {
            panic!("{p:?}")
        };
        assert_eq!(offset, 3);
        assert_eq!(&src[start..end], r#"@ a at: (1 + 2) put: ')' , "x)""#);
        assert_eq!(p[2], text(" end"));
    }

    #[test]
    fn bash_only_expansions_are_named() {
        for (src, what) in [
            (r#""$1""#, "special parameter '$1'"),
            (r#""$?""#, "special parameter '$?'"),
            (r#""${x:-d}""#, "parameter expansion"),
            (r#""$((1+2))""#, "arithmetic expansion"),
            ("\"`date`\"", "'`…`'"),
        ] {
            let e = scan(src, 0).unwrap_err();
            assert!(!e.malformed && e.message.contains(what), "{src}: {e:?}");
            assert_eq!(e.offset, 1, "{src}");
        }
        assert!(scan(r#""abc"#, 0).unwrap_err().malformed);
        assert!(scan(r#""$(@ a""#, 0).unwrap_err().malformed);
    }

    #[test]
    fn deeply_nested_strings_are_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "\"$(@ a , ".repeat(5000), ")\"".repeat(5000));
        let e = scan(&deep, 0).unwrap_err();
        assert!(
            e.malformed && e.message.contains("deeper than 256"),
            "{e:?}"
        );
        let ok = format!("{}x{}", "\"$(@ a , ".repeat(20), ")\"".repeat(20));
        assert!(scan(&ok, 0).is_ok());
    }
}
