//! Reader for `.trash` class files.
//!
//! ```text
//! package: Tools                      # optional; qualifies the following classes
//! Counter subclass: Object            # class header: Name subclass: Superclass
//!   include: Debuggable               # copy a trait's ivars and methods
//!   instanceVars: value:0 step:1 log  # ivars with optional literal defaults
//!   classInstanceVars: created:0
//!   method: increment [ value := value + step ]
//!   method: at: i put: v [ … ]        # keyword header: selector at:put:, params i v
//!   classMethod: make [ … ]
//!   rawMethod: dump [ bash … ]        # Bash body → Bash fallback
//!   rawClassMethod: … [ … ]
//!   primitive: whoami calls: fn       # declared Bash primitive → Bash fallback
//!   alias: size for: count
//!   category: 'accessing'             # ignored (documentation only)
//! Debuggable trait                    # a trait: methods/ivars copied by include:
//! ```
//!
//! Method bodies may start with `pragma: name` lines. Compiled (`method:`) bodies are parsed
//! with the block grammar; raw bodies are skipped with a Bash-aware bracket matcher.

use tt_dispatch::Side;

use super::ast::BlockNode;
use super::error::{CompileError, Pos};
use super::lexer::{Lexer, Tok, Token};
use super::parser::{Parser, canonical_int};
use tt_vm::value::Value;

/// The body of one method as read from a file.
#[derive(Debug, Clone)]
pub enum MethodBody {
    /// A `method:`/`classMethod:` body that parsed.
    Dsl(BlockNode),
    /// A `method:`/`classMethod:` body that did not parse (the error is kept).
    Invalid(CompileError),
    /// A `rawMethod:`/`rawClassMethod:` Bash body.
    Raw,
    /// A `primitive:`/`classPrimitive:` declaration naming a Bash function.
    Primitive(String),
}

/// One method declaration.
#[derive(Debug, Clone)]
pub struct MethodSpec {
    /// Instance or class side.
    pub side: Side,
    /// Selector as written (`at:put:`).
    pub selector: String,
    /// Argument names.
    pub params: Vec<String>,
    /// `pragma:` names from the start of the body.
    pub pragmas: Vec<String>,
    /// The body.
    pub body: MethodBody,
    /// Position of the method keyword.
    pub pos: Pos,
}

/// One class or trait declaration.
#[derive(Debug, Clone)]
pub struct ClassSpec {
    /// Name as written (unqualified).
    pub name: String,
    /// Package in effect at the header, if any.
    pub package: Option<String>,
    /// Superclass as written (`None` for traits).
    pub superclass: Option<String>,
    /// True for `Name trait`.
    pub is_trait: bool,
    /// Instance variables with optional defaults.
    pub ivars: Vec<(String, Option<Value>)>,
    /// Class-instance variables with optional defaults.
    pub class_ivars: Vec<(String, Option<Value>)>,
    /// Included traits (as written) with the position of the `include:`.
    pub includes: Vec<(String, Pos)>,
    /// `alias: new for: old` pairs with their positions.
    pub aliases: Vec<(String, String, Pos)>,
    /// Methods in file order.
    pub methods: Vec<MethodSpec>,
    /// Position of the header.
    pub pos: Pos,
}

impl ClassSpec {
    /// The qualified name (`Pkg::Name`, or `Name` outside a package).
    pub fn qualified_name(&self) -> String {
        match &self.package {
            Some(p) => format!("{p}::{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Token reader with one token of lookahead and repositioning.
struct Reader<'s> {
    lx: Lexer<'s>,
    peeked: Option<Token>,
}

impl<'s> Reader<'s> {
    fn peek(&mut self) -> Result<&Token, CompileError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lx.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("peeked"))
    }

    fn next(&mut self) -> Result<Token, CompileError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lx.next_token(),
        }
    }

    fn seek(&mut self, offset: usize) {
        self.peeked = None;
        self.lx.seek(offset);
    }

    fn found(&self, t: &Token) -> String {
        t.describe(self.lx.source())
    }

    fn ident(&mut self, expected: &str) -> Result<(String, Pos), CompileError> {
        let t = self.next()?;
        match t.tok {
            Tok::Ident(name) => Ok((name, t.pos)),
            _ => Err(CompileError::expected(t.pos, expected, self.found(&t))),
        }
    }

    /// True when the next token starts a new line (or is the end of input).
    fn at_line_end(&mut self) -> Result<bool, CompileError> {
        let t = self.peek()?;
        Ok(t.nl_before || t.tok == Tok::Eof)
    }
}

/// Parses one class file. Errors are prefixed with `file`.
pub fn parse_class_file(file: &str, text: &str) -> Result<Vec<ClassSpec>, CompileError> {
    parse_file(text).map_err(|e| e.in_file(file))
}

fn parse_file(text: &str) -> Result<Vec<ClassSpec>, CompileError> {
    let mut r = Reader {
        lx: Lexer::new(text),
        peeked: None,
    };
    let mut package: Option<String> = None;
    let mut classes: Vec<ClassSpec> = Vec::new();
    loop {
        let t = r.next()?;
        match &t.tok {
            Tok::Eof => return Ok(classes),
            Tok::Keyword(k) if k == "package:" => package = Some(r.ident("a package name")?.0),
            Tok::Ident(name) => {
                let t2 = r.next()?;
                let (superclass, is_trait) = match &t2.tok {
                    Tok::Keyword(k) if k == "subclass:" => {
                        (Some(r.ident("a superclass name")?.0), false)
                    }
                    Tok::Ident(w) if w == "trait" => (None, true),
                    _ => {
                        return Err(CompileError::expected(
                            t2.pos,
                            format!("'subclass:' or 'trait' after '{name}'"),
                            r.found(&t2),
                        ));
                    }
                };
                classes.push(ClassSpec {
                    name: name.clone(),
                    package: package.clone(),
                    superclass,
                    is_trait,
                    ivars: Vec::new(),
                    class_ivars: Vec::new(),
                    includes: Vec::new(),
                    aliases: Vec::new(),
                    methods: Vec::new(),
                    pos: t.pos,
                });
            }
            Tok::Keyword(k) => {
                let Some(class) = classes.last_mut() else {
                    return Err(CompileError::expected(
                        t.pos,
                        "a class header before directives",
                        r.found(&t),
                    ));
                };
                directive(&mut r, class, k, t.pos)?;
            }
            _ => {
                return Err(CompileError::expected(
                    t.pos,
                    "a class header, a directive or a method",
                    r.found(&t),
                ));
            }
        }
    }
}

fn directive(
    r: &mut Reader<'_>,
    class: &mut ClassSpec,
    k: &str,
    pos: Pos,
) -> Result<(), CompileError> {
    match k {
        "include:" => {
            let (name, p) = r.ident("a trait name")?;
            class.includes.push((name, p));
        }
        "instanceVars:" => class.ivars.extend(var_list(r)?),
        "classInstanceVars:" => class.class_ivars.extend(var_list(r)?),
        "method:" | "classMethod:" | "rawMethod:" | "rawClassMethod:" => {
            let side = if k.starts_with("class") || k == "rawClassMethod:" {
                Side::Class
            } else {
                Side::Instance
            };
            let raw = k.starts_with("raw");
            let (selector, params) = method_header(r, false)?;
            let open = r.peek()?.clone();
            if open.tok != Tok::LBracket {
                return Err(CompileError::expected(
                    open.pos,
                    "'[' to open the method body",
                    r.found(&open),
                ));
            }
            let (pragmas, body) = if raw {
                raw_body(r, &open)?
            } else {
                dsl_body(r, &open)?
            };
            class.methods.push(MethodSpec {
                side,
                selector,
                params,
                pragmas,
                body,
                pos,
            });
        }
        "primitive:" | "classPrimitive:" => {
            let side = if k == "classPrimitive:" {
                Side::Class
            } else {
                Side::Instance
            };
            let (selector, params) = method_header(r, true)?;
            let t = r.next()?;
            if t.tok != Tok::Keyword("calls:".into()) {
                return Err(CompileError::expected(t.pos, "'calls:'", r.found(&t)));
            }
            let (func, _) = r.ident("a Bash function name")?;
            let body = MethodBody::Primitive(func);
            class.methods.push(MethodSpec {
                side,
                selector,
                params,
                pragmas: Vec::new(),
                body,
                pos,
            });
        }
        "alias:" => {
            let (new, _) = r.ident("an alias selector")?;
            let t = r.next()?;
            if t.tok != Tok::Keyword("for:".into()) {
                return Err(CompileError::expected(t.pos, "'for:'", r.found(&t)));
            }
            let (old, _) = r.ident("the aliased selector")?;
            class.aliases.push((new, old, pos));
        }
        "category:" | "requires:" | "implements:" | "import:" | "comment:" => {
            while !r.at_line_end()? {
                r.next()?;
            }
        }
        _ => {
            return Err(CompileError::unsupported(
                pos,
                format!("unknown class directive '{k}'"),
            ));
        }
    }
    Ok(())
}

/// `name` or `name:default` items up to the end of the line.
///
/// As in the Bash compiler, `name:` followed by something that is not a default (`root:.`)
/// declares `name` without a default, `name: word` (with a space) declares `name` and `word`,
/// and the first token that is neither a name nor
/// `name:` ends the declaration: the rest of the line is ignored.
fn var_list(r: &mut Reader<'_>) -> Result<Vec<(String, Option<Value>)>, CompileError> {
    let mut out = Vec::new();
    while !r.at_line_end()? {
        let t = r.next()?;
        match t.tok {
            Tok::Ident(name) => out.push((name, None)),
            Tok::Keyword(k) => {
                let name = k.trim_end_matches(':').to_string();
                let next = r.peek()?.clone();
                // `name: other` (a space before a bare word) declares two variables.
                let spaced_word = matches!(next.tok, Tok::Ident(_)) && next.pos.offset != t.end;
                let default = if r.at_line_end()? || spaced_word || !starts_default(&next.tok) {
                    None
                } else {
                    default_value(r)?
                };
                out.push((name, default));
            }
            _ => {
                while !r.at_line_end()? {
                    r.next()?;
                }
            }
        }
    }
    Ok(out)
}

/// Tokens a default value may start with.
fn starts_default(t: &Tok) -> bool {
    match t {
        Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Symbol(_) | Tok::Ident(_) => true,
        Tok::Binary(m) => m == "-",
        _ => false,
    }
}

fn int_value(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(i) => Value::int(i),
        Err(_) => Value::string(text),
    }
}

fn default_value(r: &mut Reader<'_>) -> Result<Option<Value>, CompileError> {
    let t = r.next()?;
    Ok(Some(match t.tok {
        Tok::Int(d) => int_value(&canonical_int(&d, false)),
        Tok::Binary(m) if m == "-" => {
            let n = r.next()?;
            match n.tok {
                Tok::Int(d) => int_value(&canonical_int(&d, true)),
                Tok::Float(f) => Value::string(&format!("-{f}")),
                _ => return Err(CompileError::expected(n.pos, "a number", r.found(&n))),
            }
        }
        Tok::Float(f) => Value::string(&f),
        Tok::Str(s) | Tok::Symbol(s) => Value::string(&s),
        Tok::Ident(w) => match w.as_str() {
            "nil" => return Ok(None),
            "true" => Value::bool(true),
            "false" => Value::bool(false),
            _ => Value::string(&w),
        },
        _ => {
            return Err(CompileError::expected(
                t.pos,
                "a default value",
                r.found(&t),
            ));
        }
    }))
}

/// Selector pattern: `unary`, `+ arg`, or `kw1: a kw2: b`. Primitives stop at `calls:`.
fn method_header(
    r: &mut Reader<'_>,
    primitive: bool,
) -> Result<(String, Vec<String>), CompileError> {
    let t = r.next()?;
    match t.tok {
        Tok::Ident(name) => Ok((name, Vec::new())),
        Tok::Binary(op) => Ok((op, vec![r.ident("an argument name")?.0])),
        Tok::Bar => Ok(("|".into(), vec![r.ident("an argument name")?.0])),
        Tok::Keyword(first) => {
            let mut selector = first;
            let mut params = vec![r.ident("an argument name")?.0];
            while let Tok::Keyword(k) = &r.peek()?.tok {
                if primitive && k == "calls:" {
                    break;
                }
                selector.push_str(k);
                r.next()?;
                params.push(r.ident("an argument name")?.0);
            }
            Ok((selector, params))
        }
        _ => Err(CompileError::expected(
            t.pos,
            "a method selector",
            r.found(&t),
        )),
    }
}

/// A compiled-method body: parsed with the block grammar. If it does not parse, the body's
/// extent is found with the bracket matcher and the error is kept for the report.
///
/// A body whose first pragma is `primitive` is Bash (the Bash compiler emits it as written), so
/// it is read like a `rawMethod:` body.
fn dsl_body(r: &mut Reader<'_>, open: &Token) -> Result<(Vec<String>, MethodBody), CompileError> {
    if let Some(end) = scan_body(r.lx.source(), open.pos.offset, true) {
        let pragmas = raw_pragmas(&r.lx.source()[open.pos.offset..end]);
        if pragmas.first().map(String::as_str) == Some("primitive") {
            r.seek(end);
            return Ok((pragmas, MethodBody::Raw));
        }
    }
    r.seek(open.pos.offset);
    let lx = std::mem::replace(&mut r.lx, Lexer::new(""));
    let mut parser = Parser::from_lexer(lx);
    let result = parser.parse_method_body();
    r.lx = parser.into_lexer();
    match result {
        Ok((pragmas, block)) => Ok((pragmas, MethodBody::Dsl(block))),
        Err(e) => {
            let src = r.lx.source();
            let end = scan_body(src, open.pos.offset, false).ok_or_else(|| unterminated(open))?;
            r.seek(end);
            let pragmas = raw_pragmas(&src[open.pos.offset..end]);
            Ok((pragmas, MethodBody::Invalid(e)))
        }
    }
}

fn raw_body(r: &mut Reader<'_>, open: &Token) -> Result<(Vec<String>, MethodBody), CompileError> {
    let src = r.lx.source();
    let end = scan_body(src, open.pos.offset, true).ok_or_else(|| unterminated(open))?;
    r.seek(end);
    Ok((raw_pragmas(&src[open.pos.offset..end]), MethodBody::Raw))
}

fn unterminated(open: &Token) -> CompileError {
    CompileError::expected(
        open.pos,
        "a matching ']' for this method body",
        "end of input",
    )
}

/// `pragma: name` lines of a body.
fn raw_pragmas(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| {
            l.trim()
                .trim_start_matches('[')
                .trim()
                .strip_prefix("pragma:")
        })
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|w| w.trim_end_matches(['.', ']']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Finds the `]` matching the `[` at `open`; returns the offset just after it. Quotes
/// (`'…'`, `"…"` with backslash escapes, `$'…'`) and comments are skipped. In Bash mode a
/// `#` at the start of a word starts a comment; otherwise only `#` followed by whitespace.
pub(crate) fn scan_body(src: &str, open: usize, bash: bool) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'\\' => i += 1,
            b'\'' => {
                let ansi = i > 0 && bytes[i - 1] == b'$';
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    if ansi && bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                let word_start = i == 0 || bytes[i - 1].is_ascii_whitespace();
                let next_ws = bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace());
                if word_start && (bash || next_ws) {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_classes_traits_and_methods() {
        let src = "package: Demo\n\
                   Counter subclass: Object\n\
                   \x20 include: Named\n\
                   \x20 instanceVars: value:0 step:1 label:'x' items\n\
                   \x20 method: increment [ value := value + step ]\n\
                   \x20 method: at: i put: v [\n    pragma: bashOnly\n    ^ i ]\n\
                   \x20 rawMethod: dump [ echo \"]\" ${a[@]} # ] comment\n  ]\n\
                   \x20 classMethod: bad [ x := $(foo) ]\n\
                   \x20 primitive: whoami calls: bridge_receiver\n\
                   Named trait\n\
                   \x20 method: name [ ^ 'n' ]\n";
        let classes = parse_class_file("demo.trash", src).unwrap();
        assert_eq!(classes.len(), 2);
        let c = &classes[0];
        assert_eq!(c.qualified_name(), "Demo::Counter");
        assert_eq!(c.ivars.len(), 4);
        assert_eq!(c.methods.len(), 5);
        assert_eq!(c.methods[1].selector, "at:put:");
        assert_eq!(c.methods[1].params, vec!["i", "v"]);
        assert_eq!(c.methods[1].pragmas, vec!["bashOnly"]);
        assert!(matches!(c.methods[2].body, MethodBody::Raw));
        assert!(matches!(c.methods[3].body, MethodBody::Invalid(_)));
        assert!(matches!(c.methods[4].body, MethodBody::Primitive(_)));
        assert!(classes[1].is_trait);
    }

    #[test]
    fn ivar_default_that_is_not_a_literal_ends_the_declaration() {
        let src = "S subclass: Object\n  instanceVars: port:8080 root:. running:false\n\
                   \x20 method: port [ ^ port ]\n";
        let c = &parse_class_file("s.trash", src).unwrap()[0];
        let names: Vec<&str> = c.ivars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["port", "root"]);
        assert_eq!(
            c.ivars[0].1.as_ref().map(|v| v.text().into_owned()),
            Some("8080".into())
        );
        assert!(c.ivars[1].1.is_none());
        assert_eq!(c.methods.len(), 1);
        let src = "S subclass: Object\n  instanceVars: a:x b: c d: 4 e:'s'\n";
        let c = &parse_class_file("s.trash", src).unwrap()[0];
        let shown: Vec<String> = c
            .ivars
            .iter()
            .map(|(n, d)| {
                format!(
                    "{n}={}",
                    d.as_ref()
                        .map(|v| v.text().into_owned())
                        .unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(shown, vec!["a=x", "b=", "c=", "d=4", "e=s"]);
    }

    #[test]
    fn pragma_primitive_body_is_bash() {
        let src = "T subclass: Object\n  method: info [\n    pragma: primitive\n\
                   \x20   echo \"=== $(@ self x | wc -l) ===\"\n    [[ -d x ]] && echo ok\n  ]\n\
                   \x20 method: ok [ ^ 1 ]\n";
        let c = &parse_class_file("t.trash", src).unwrap()[0];
        assert!(matches!(c.methods[0].body, MethodBody::Raw));
        assert_eq!(c.methods[0].pragmas, vec!["primitive"]);
        assert!(matches!(c.methods[1].body, MethodBody::Dsl(_)));
    }

    #[test]
    fn unknown_directive_is_an_error() {
        let e = parse_class_file("f.trash", "A subclass: Object\n  frobnicate: 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.trash:2:3: unknown class directive 'frobnicate:'"
        );
    }
}
