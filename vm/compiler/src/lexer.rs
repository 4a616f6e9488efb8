//! Tokenizer for Trashtalk/Smalltalk method and block source.
//!
//! The lexer is pull-based ([`Lexer::next_token`]) so that a class file can mix compiled
//! method bodies with raw Bash bodies: the class-file reader lexes headers and DSL bodies,
//! skips raw bodies with its own scanner and repositions the lexer with [`Lexer::seek`].
//! Every token records whether a newline preceded it; the parser uses that to treat line
//! breaks as statement separators.

use super::dstring::{self, StrPart};
use super::error::{CompileError, Pos};

/// A token kind with its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `foo`, `Foo`, `Pkg::Foo`.
    Ident(String),
    /// `foo:` (the colon is included).
    Keyword(String),
    /// `:foo` in a block parameter list (the name without the colon).
    BlockArg(String),
    /// `:=`.
    Assign,
    /// A lone `:`.
    Colon,
    /// A binary operator: `+`, `<=`, `,`, `->` …
    Binary(String),
    /// Integer digits as written.
    Int(String),
    /// A float literal as written (`1.5`, `2e3`).
    Float(String),
    /// A string literal (quotes removed, escapes resolved).
    Str(String),
    /// A symbol literal (`#foo`, `#at:put:`, `#'x y'`) without the `#`.
    Symbol(String),
    /// A double-quoted string that expands variables or `$( … )` (at least one part is not
    /// text; a string without expansions is a [`Tok::Str`]).
    Interp(Vec<StrPart>),
    /// `$name` or `${name}` outside a string (Bash's variable reference).
    DollarVar(String),
    /// `$(` outside a string: a substitution whose inside is parsed as source.
    DollarParen,
    /// `^`.
    Caret,
    /// `.`.
    Dot,
    /// `;`.
    Semicolon,
    /// `|`.
    Bar,
    /// `@` (Trashtalk send marker).
    At,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `{`.
    LBrace,
    /// `}`.
    RBrace,
    /// `#(`.
    HashParen,
    /// `#{`.
    HashBrace,
    /// End of input.
    Eof,
}

/// One token with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Kind and payload.
    pub tok: Tok,
    /// Position of the first character.
    pub pos: Pos,
    /// Byte offset just after the token.
    pub end: usize,
    /// True when at least one newline separates this token from the previous one.
    pub nl_before: bool,
}

impl Token {
    /// How the token is shown in "found …" error messages.
    pub fn describe(&self, src: &str) -> String {
        match &self.tok {
            Tok::Eof => "end of input".to_string(),
            _ => format!("'{}'", &src[self.pos.offset..self.end]),
        }
    }
}

/// Characters that may form binary operators (`|` and `@` are separate tokens).
pub(crate) fn is_binary_char(c: char) -> bool {
    matches!(
        c,
        '+' | '-' | '*' | '/' | '\\' | '%' | '<' | '>' | '=' | '~' | ',' | '&' | '?' | '!'
    )
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The pull-based lexer.
pub struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    line_starts: Vec<usize>,
}

impl<'s> Lexer<'s> {
    /// A lexer over `src`, starting at offset 0.
    pub fn new(src: &'s str) -> Lexer<'s> {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lexer {
            src,
            pos: 0,
            line_starts,
        }
    }

    /// The source text.
    pub fn source(&self) -> &'s str {
        self.src
    }

    /// Current byte offset.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Moves to byte offset `offset` (must be a char boundary).
    pub fn seek(&mut self, offset: usize) {
        self.pos = offset.min(self.src.len());
    }

    /// Line/column of a byte offset.
    pub fn pos_at(&self, offset: usize) -> Pos {
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        let column = self.src[start..offset].chars().count() as u32 + 1;
        Pos {
            line: line_idx as u32 + 1,
            column,
            offset,
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_char_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and `#` line comments; returns true if a newline was crossed.
    fn skip_trivia(&mut self) -> bool {
        let mut nl = false;
        loop {
            match self.peek_char() {
                Some('\n') => {
                    nl = true;
                    self.pos += 1;
                }
                Some(c) if c.is_whitespace() => {
                    self.pos += c.len_utf8();
                }
                Some('#') if self.is_comment_start() => {
                    while let Some(c) = self.peek_char() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += c.len_utf8();
                    }
                }
                _ => return nl,
            }
        }
    }

    /// `#` followed by whitespace, end of input or `!` starts a line comment.
    fn is_comment_start(&self) -> bool {
        match self.peek_char_at(1) {
            None => true,
            Some(c) => c.is_whitespace() || c == '!',
        }
    }

    /// Reads the next token.
    pub fn next_token(&mut self) -> Result<Token, CompileError> {
        let nl_before = self.skip_trivia();
        let start = self.pos;
        let pos = self.pos_at(start);
        let Some(c) = self.bump() else {
            return Ok(Token {
                tok: Tok::Eof,
                pos,
                end: start,
                nl_before,
            });
        };
        let tok = match c {
            '^' => Tok::Caret,
            '.' => Tok::Dot,
            ';' => Tok::Semicolon,
            '|' => Tok::Bar,
            '@' => Tok::At,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ':' => match self.peek_char() {
                Some('=') => {
                    self.pos += 1;
                    Tok::Assign
                }
                Some(c) if is_ident_start(c) => Tok::BlockArg(self.ident_tail()),
                _ => Tok::Colon,
            },
            '\'' => Tok::Str(self.single_quoted(pos)?),
            '"' => self.double_quoted(pos)?,
            '#' => self.hash(pos)?,
            '$' => self.dollar(pos)?,
            '`' => {
                return Err(CompileError::unsupported(
                    pos,
                    "Bash command substitution '`…`'",
                ));
            }
            c if c.is_ascii_digit() => self.number(start),
            c if is_ident_start(c) => {
                self.pos = start;
                let name = self.qualified_ident();
                if self.peek_char() == Some(':')
                    && !matches!(self.peek_char_at(1), Some('=') | Some(':'))
                    && !name.contains("::")
                {
                    self.pos += 1;
                    Tok::Keyword(format!("{name}:"))
                } else {
                    Tok::Ident(name)
                }
            }
            c if is_binary_char(c) => {
                let mut op = String::from(c);
                while let Some(n) = self.peek_char() {
                    if is_binary_char(n) && n != '-' {
                        op.push(n);
                        self.pos += n.len_utf8();
                    } else {
                        break;
                    }
                }
                Tok::Binary(op)
            }
            other => {
                return Err(CompileError::lex(
                    pos,
                    format!("unexpected character '{other}'"),
                ));
            }
        };
        Ok(Token {
            tok,
            pos,
            end: self.pos,
            nl_before,
        })
    }

    fn ident_tail(&mut self) -> String {
        let start = self.pos;
        while self.peek_char().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        self.src[start..self.pos].to_string()
    }

    /// An identifier, possibly qualified with `::` (`Pkg::Name`).
    fn qualified_ident(&mut self) -> String {
        let mut name = self.ident_tail();
        while self.peek_char() == Some(':')
            && self.peek_char_at(1) == Some(':')
            && self.peek_char_at(2).is_some_and(is_ident_start)
        {
            self.pos += 2;
            name.push_str("::");
            name.push_str(&self.ident_tail());
        }
        name
    }

    fn number(&mut self, start: usize) -> Tok {
        while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek_char() == Some('.') && self.peek_char_at(1).is_some_and(|c| c.is_ascii_digit())
        {
            float = true;
            self.pos += 1;
            while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek_char(), Some('e') | Some('E')) {
            let digit_at = if self.peek_char_at(1) == Some('-') {
                2
            } else {
                1
            };
            if self
                .peek_char_at(digit_at)
                .is_some_and(|c| c.is_ascii_digit())
            {
                float = true;
                self.pos += digit_at;
                while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let text = self.src[start..self.pos].to_string();
        if float {
            Tok::Float(text)
        } else {
            Tok::Int(text)
        }
    }

    /// `'…'` with `''` as an escaped quote, or a Trashtalk triple-quoted `'''…'''` string.
    fn single_quoted(&mut self, pos: Pos) -> Result<String, CompileError> {
        // The opening quote is consumed: two more quotes make a triple-quoted string.
        if self.src[self.pos..].starts_with("''") {
            let rest = &self.src[self.pos + 2..];
            if let Some(end) = rest.find("'''") {
                let s = rest[..end].to_string();
                self.pos += 2 + end + 3;
                return Ok(s);
            }
            return Err(CompileError::lex(pos, "unterminated triple-quoted string"));
        }
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(CompileError::lex(pos, "unterminated string literal")),
                Some('\'') => {
                    if self.peek_char() == Some('\'') {
                        self.pos += 1;
                        out.push('\'');
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `"…"`: a [`Tok::Str`] when nothing expands, else a [`Tok::Interp`] (see
    /// [`dstring`](super::dstring) for what expands and what is rejected).
    fn double_quoted(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        let scanned = dstring::scan(self.src, pos.offset).map_err(|e| {
            let at = self.pos_at(e.offset);
            if e.malformed {
                CompileError::lex(at, e.message)
            } else {
                CompileError::unsupported(at, e.message)
            }
        })?;
        self.pos = scanned.end;
        if scanned.is_plain() {
            let text = scanned
                .parts
                .into_iter()
                .map(|p| match p {
                    StrPart::Text(t) => t,
                    _ => unreachable!("plain"),
                })
                .collect();
            return Ok(Tok::Str(text));
        }
        Ok(Tok::Interp(scanned.parts))
    }

    /// `$` outside a string (already consumed): `$name`, `${name}` or `$(`; other Bash
    /// expansions are rejected with what they are.
    fn dollar(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        match self.peek_char() {
            Some(c) if is_ident_start(c) => Ok(Tok::DollarVar(self.ident_tail())),
            Some('{') => {
                let save = self.pos;
                self.pos += 1;
                if self.peek_char().is_some_and(is_ident_start) {
                    let name = self.ident_tail();
                    if self.peek_char() == Some('}') {
                        self.pos += 1;
                        return Ok(Tok::DollarVar(name));
                    }
                }
                self.pos = save;
                Err(CompileError::unsupported(
                    pos,
                    "Bash parameter expansion '${…}' (only ${name} compiles)",
                ))
            }
            Some('(') if self.peek_char_at(1) != Some('(') => {
                self.pos += 1;
                Ok(Tok::DollarParen)
            }
            Some('(') => Err(CompileError::unsupported(
                pos,
                "Bash arithmetic expansion '$((…))'",
            )),
            _ => Err(CompileError::unsupported(
                pos,
                "Bash expansion '$' that is not $name, ${name} or $(…)",
            )),
        }
    }

    fn hash(&mut self, pos: Pos) -> Result<Tok, CompileError> {
        match self.peek_char() {
            Some('(') => {
                self.pos += 1;
                Ok(Tok::HashParen)
            }
            Some('{') => {
                self.pos += 1;
                Ok(Tok::HashBrace)
            }
            Some('\'') => {
                self.pos += 1;
                let here = self.pos_at(self.pos - 1);
                Ok(Tok::Symbol(self.single_quoted(here)?))
            }
            Some(c) if is_ident_start(c) => {
                let mut sym = self.qualified_ident();
                while self.peek_char() == Some(':') && self.peek_char_at(1) != Some('=') {
                    self.pos += 1;
                    sym.push(':');
                    if self.peek_char().is_some_and(is_ident_start) {
                        sym.push_str(&self.ident_tail());
                    } else {
                        break;
                    }
                }
                Ok(Tok::Symbol(sym))
            }
            Some(c) if is_binary_char(c) || c == '|' => {
                let mut sym = String::new();
                while let Some(n) = self.peek_char() {
                    if is_binary_char(n) || n == '|' {
                        sym.push(n);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Ok(Tok::Symbol(sym))
            }
            _ => Err(CompileError::lex(
                pos,
                "expected a symbol, '#(' or '#{' after '#'",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            toks("[:a :b | a at: 1 put: b; yourself] x := 'it''s' , #foo:bar: -> #(1) # c"),
            vec![
                Tok::LBracket,
                Tok::BlockArg("a".into()),
                Tok::BlockArg("b".into()),
                Tok::Bar,
                Tok::Ident("a".into()),
                Tok::Keyword("at:".into()),
                Tok::Int("1".into()),
                Tok::Keyword("put:".into()),
                Tok::Ident("b".into()),
                Tok::Semicolon,
                Tok::Ident("yourself".into()),
                Tok::RBracket,
                Tok::Ident("x".into()),
                Tok::Assign,
                Tok::Str("it's".into()),
                Tok::Binary(",".into()),
                Tok::Symbol("foo:bar:".into()),
                Tok::Binary("->".into()),
                Tok::HashParen,
                Tok::Int("1".into()),
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn qualified_names_numbers_and_strings() {
        assert_eq!(
            toks("Pkg::Name x:=1.5 2e3 3. '''a\nb''' \"q\\\"\""),
            vec![
                Tok::Ident("Pkg::Name".into()),
                Tok::Ident("x".into()),
                Tok::Assign,
                Tok::Float("1.5".into()),
                Tok::Float("2e3".into()),
                Tok::Int("3".into()),
                Tok::Dot,
                Tok::Str("a\nb".into()),
                Tok::Str("q\"".into()),
            ]
        );
        assert_eq!(
            toks("a>-1"),
            vec![
                Tok::Ident("a".into()),
                Tok::Binary(">".into()),
                Tok::Binary("-".into()),
                Tok::Int("1".into())
            ]
        );
    }

    #[test]
    fn newline_flag_and_positions() {
        let mut lx = Lexer::new("a\n  b");
        let a = lx.next_token().unwrap();
        let b = lx.next_token().unwrap();
        assert!(!a.nl_before);
        assert!(b.nl_before);
        assert_eq!((b.pos.line, b.pos.column), (2, 3));
    }

    #[test]
    fn dollar_forms_outside_strings() {
        assert_eq!(
            toks("@ $id x: ${n} y: $(_ivar a)"),
            vec![
                Tok::At,
                Tok::DollarVar("id".into()),
                Tok::Keyword("x:".into()),
                Tok::DollarVar("n".into()),
                Tok::Keyword("y:".into()),
                Tok::DollarParen,
                Tok::Ident("_ivar".into()),
                Tok::Ident("a".into()),
                Tok::RParen,
            ]
        );
        for src in ["x := $1", "x := ${a:-b}", "x := $((1 + 2))", "x := $ y"] {
            let mut lx = Lexer::new(src);
            lx.next_token().unwrap();
            lx.next_token().unwrap();
            let e = lx.next_token().unwrap_err();
            assert!(matches!(e, CompileError::Unsupported { .. }), "{src}: {e}");
            assert_eq!((e.line(), e.column()), (1, 6), "{src}");
        }
    }

    #[test]
    fn double_quoted_strings_plain_or_interpolated() {
        assert_eq!(toks(r#""a \$b""#), vec![Tok::Str("a $b".into())]);
        assert_eq!(
            toks(r#""v=$v""#),
            vec![Tok::Interp(vec![
                StrPart::Text("v=".into()),
                StrPart::Var {
                    name: "v".into(),
                    offset: 3
                }
            ])]
        );
        let mut lx = Lexer::new("\n  \"x $? y\"");
        let e = lx.next_token().unwrap_err();
        assert_eq!((e.line(), e.column()), (2, 6), "{e}");
    }
}
