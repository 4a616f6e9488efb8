//! Recursive-descent parser: tokens → [`ast`](super::ast).
//!
//! Precedence is Smalltalk's (unary > binary > keyword, left to right), with cascades,
//! assignment and `^`. Two Trashtalk rules are added:
//! * line breaks separate statements inside blocks and bodies (not inside parentheses or
//!   literals); a line that starts with a keyword, a binary operator or `;` continues the
//!   previous statement;
//! * a control keyword (`ifTrue:`, `ifFalse:`, `ifNil:`, `ifNotNil:`, `and:`, `or:`,
//!   `ifFailed:`) after a keyword message applies to the whole message
//!   (`a foo: 1 ifTrue: [...]` is `(a foo: 1) ifTrue: [...]`).

use std::collections::VecDeque;

use super::ast::{BlockNode, Expr, Literal, Message, Stmt};
use super::error::{CompileError, Pos};
use super::lexer::{Lexer, Tok, Token};

mod intrinsic;
mod subst;

/// A unary send.
fn unary(recv: Expr, selector: String, pos: Pos, explicit: bool) -> Expr {
    Expr::Send {
        recv: Box::new(recv),
        msg: Message {
            selector,
            args: Vec::new(),
            pos,
            explicit,
        },
    }
}

/// Keywords that start a new message when they follow another keyword message.
const CONTROL_KEYWORDS: &[&str] = &[
    "ifTrue:",
    "ifFalse:",
    "ifNil:",
    "ifNotNil:",
    "and:",
    "or:",
    "ifFailed:",
];

fn partner(k: &str) -> Option<&'static str> {
    match k {
        "ifTrue:" => Some("ifFalse:"),
        "ifFalse:" => Some("ifTrue:"),
        "ifNil:" => Some("ifNotNil:"),
        "ifNotNil:" => Some("ifNil:"),
        _ => None,
    }
}

/// Canonical decimal text of an integer literal (`007` → `7`, `-0` → `0`).
pub(crate) fn canonical_int(digits: &str, negative: bool) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else if negative {
        format!("-{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// What ends a statement list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Closer {
    Bracket,
    Eof,
}

/// The parser. Holds a lexer and a small lookahead buffer.
pub struct Parser<'s> {
    lx: Lexer<'s>,
    buf: VecDeque<Result<Token, CompileError>>,
    nl_sig: bool,
    no_comma: bool,
    /// Inside `$( … )`: `|` is a Bash pipe, not the `|` message.
    no_bar: bool,
    /// `$name` / `${name}` read in double-quoted strings so far (see [`BlockNode`]).
    interpolated: Vec<(String, Pos)>,
    /// `_ivar` / `_ivar_set` names so far (see [`BlockNode`]).
    ivar_refs: Vec<(String, Pos)>,
    last_end: usize,
    depth: usize,
}

/// Maximum nesting of the syntax tree (parentheses, blocks, literals and message chains).
/// Keeps the recursive code generator far from the stack limit on adversarial input.
pub(crate) const MAX_DEPTH: usize = 256;

impl<'s> Parser<'s> {
    /// A parser over a whole source text.
    pub fn new(src: &'s str) -> Parser<'s> {
        Parser::from_lexer(Lexer::new(src))
    }

    /// A parser continuing from a lexer's current position.
    pub fn from_lexer(lx: Lexer<'s>) -> Parser<'s> {
        let last_end = lx.offset();
        Parser {
            lx,
            buf: VecDeque::new(),
            nl_sig: true,
            no_comma: false,
            no_bar: false,
            interpolated: Vec::new(),
            ivar_refs: Vec::new(),
            last_end,
            depth: 0,
        }
    }

    /// Gives the lexer back, positioned just after the last consumed token.
    pub fn into_lexer(mut self) -> Lexer<'s> {
        self.lx.seek(self.last_end);
        self.lx
    }

    fn fill(&mut self, n: usize) {
        while self.buf.len() <= n {
            let t = self.lx.next_token();
            let eof = matches!(&t, Ok(t) if t.tok == Tok::Eof) || t.is_err();
            self.buf.push_back(t);
            if eof {
                // Keep returning the same terminal item.
                while self.buf.len() <= n {
                    let last = self.buf.back().cloned().expect("just pushed");
                    self.buf.push_back(last);
                }
            }
        }
    }

    fn peek_nth(&mut self, n: usize) -> Result<&Token, CompileError> {
        self.fill(n);
        match &self.buf[n] {
            Ok(t) => Ok(t),
            Err(e) => Err(e.clone()),
        }
    }

    fn peek(&mut self) -> Result<&Token, CompileError> {
        self.peek_nth(0)
    }

    fn peek_tok(&mut self) -> Result<Tok, CompileError> {
        Ok(self.peek()?.tok.clone())
    }

    fn next(&mut self) -> Result<Token, CompileError> {
        self.fill(0);
        let t = self.buf.pop_front().expect("filled")?;
        self.last_end = t.end;
        Ok(t)
    }

    /// One more level of nesting; fails beyond [`MAX_DEPTH`].
    fn enter(&mut self, pos: Pos) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::limit(
                pos,
                format!("expression nesting deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn describe(&self, t: &Token) -> String {
        t.describe(self.lx.source())
    }

    fn error_here(&mut self, expected: &str) -> CompileError {
        match self.peek() {
            Ok(t) => {
                let t = t.clone();
                CompileError::expected(t.pos, expected, self.describe(&t))
            }
            Err(e) => e,
        }
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, CompileError> {
        if self.peek()?.tok == tok {
            self.next()
        } else {
            Err(self.error_here(expected))
        }
    }

    /// Parses a whole source text as a block body: optional temporaries, then statements up
    /// to the end of input.
    pub fn parse_bare_body(&mut self) -> Result<BlockNode, CompileError> {
        let pos = self.peek()?.pos;
        let temps = self.parse_temps()?;
        let body = self.parse_statements(Closer::Eof)?;
        self.expect(Tok::Eof, "end of input")?;
        Ok(BlockNode {
            params: Vec::new(),
            temps,
            body,
            pos,
            interpolated: std::mem::take(&mut self.interpolated),
            ivar_refs: std::mem::take(&mut self.ivar_refs),
        })
    }

    /// Parses `[ pragma: x … | temps | statements ]` (a class-file method body) and returns
    /// the pragmas with the body.
    pub fn parse_method_body(&mut self) -> Result<(Vec<String>, BlockNode), CompileError> {
        let open = self.expect(Tok::LBracket, "'[' to open the method body")?;
        let mut pragmas = Vec::new();
        while self.peek()?.tok == Tok::Keyword("pragma:".into()) {
            self.next()?;
            match self.next()? {
                Token {
                    tok: Tok::Ident(name),
                    ..
                } => pragmas.push(name),
                t => {
                    return Err(CompileError::expected(
                        t.pos,
                        "a pragma name",
                        self.describe(&t),
                    ));
                }
            }
            if self.peek()?.tok == Tok::Dot {
                self.next()?;
            }
        }
        let mut block = self.parse_block_rest(open.pos, false)?;
        block.interpolated = std::mem::take(&mut self.interpolated);
        block.ivar_refs = std::mem::take(&mut self.ivar_refs);
        Ok((pragmas, block))
    }

    fn parse_temps(&mut self) -> Result<Vec<(String, Pos)>, CompileError> {
        let mut temps = Vec::new();
        if self.peek()?.tok != Tok::Bar {
            return Ok(temps);
        }
        self.next()?;
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::Ident(name) => temps.push((name, t.pos)),
                Tok::Bar => return Ok(temps),
                _ => {
                    return Err(CompileError::expected(
                        t.pos,
                        "a temporary name or '|' to close temporaries",
                        self.describe(&t),
                    ));
                }
            }
        }
    }

    /// After `[`: params, temporaries, statements and `]`.
    fn parse_block_rest(
        &mut self,
        pos: Pos,
        allow_params: bool,
    ) -> Result<BlockNode, CompileError> {
        let saved = (self.nl_sig, self.no_comma, self.no_bar);
        self.nl_sig = true;
        self.no_comma = false;
        self.no_bar = false;
        let mut params = Vec::new();
        if allow_params {
            while let Tok::BlockArg(name) = self.peek_tok()? {
                let t = self.next()?;
                params.push((name, t.pos));
            }
            if !params.is_empty() {
                match self.peek_tok()? {
                    Tok::Bar => {
                        self.next()?;
                    }
                    Tok::RBracket => {}
                    _ => return Err(self.error_here("'|' after block parameters")),
                }
            }
        }
        let temps = self.parse_temps()?;
        let body = self.parse_statements(Closer::Bracket)?;
        self.expect(Tok::RBracket, "']' to close block")?;
        (self.nl_sig, self.no_comma, self.no_bar) = saved;
        Ok(BlockNode {
            params,
            temps,
            body,
            pos,
            interpolated: Vec::new(),
            ivar_refs: Vec::new(),
        })
    }

    fn parse_statements(&mut self, closer: Closer) -> Result<Vec<Stmt>, CompileError> {
        let closer_tok = match closer {
            Closer::Bracket => Tok::RBracket,
            Closer::Eof => Tok::Eof,
        };
        let expected = match closer {
            Closer::Bracket => "']' to close block",
            Closer::Eof => "'.' or end of input",
        };
        let mut stmts = Vec::new();
        loop {
            while self.peek()?.tok == Tok::Dot {
                self.next()?;
            }
            let t = self.peek()?.tok.clone();
            if t == closer_tok {
                return Ok(stmts);
            }
            if matches!(t, Tok::Eof | Tok::RBracket) {
                return Err(self.error_here(expected));
            }
            stmts.push(self.parse_statement()?);
            let t = self.peek()?;
            if t.tok == Tok::Dot || t.tok == closer_tok || t.nl_before {
                continue;
            }
            return Err(self.error_here(expected));
        }
    }

    fn parse_statement(&mut self) -> Result<Stmt, CompileError> {
        if let Some(set) = self.ivar_set_statement()? {
            return Ok(Stmt::Expr(set));
        }
        if self.peek()?.tok == Tok::Caret {
            let t = self.next()?;
            let e = self.parse_expr()?;
            return Ok(Stmt::Return(e, t.pos));
        }
        Ok(Stmt::Expr(self.parse_expr()?))
    }

    /// expr := ident ':=' expr | cascade
    pub(crate) fn parse_expr(&mut self) -> Result<Expr, CompileError> {
        if let Tok::Ident(name) = self.peek_tok()?
            && self.peek_nth(1)?.tok == Tok::Assign
        {
            let t = self.next()?;
            self.next()?;
            if matches!(
                name.as_str(),
                "self" | "super" | "true" | "false" | "nil" | "thisContext"
            ) {
                return Err(CompileError::semantic(
                    t.pos,
                    format!("cannot assign to '{name}'"),
                ));
            }
            let value = self.parse_expr()?;
            return Ok(Expr::Assign {
                name,
                pos: t.pos,
                value: Box::new(value),
            });
        }
        self.parse_cascade()
    }

    fn parse_cascade(&mut self) -> Result<Expr, CompileError> {
        let (first, explicit) = self.parse_keyword_expr()?;
        if self.peek()?.tok != Tok::Semicolon {
            return Ok(first);
        }
        let Expr::Send { recv, msg } = first else {
            let t = self.peek()?.clone();
            return Err(CompileError::expected(
                t.pos,
                "a message send before ';'",
                self.describe(&t),
            ));
        };
        let mut msgs = vec![msg];
        while self.peek()?.tok == Tok::Semicolon {
            self.next()?;
            msgs.push(self.parse_cascade_part(explicit)?);
        }
        Ok(Expr::Cascade { recv, msgs })
    }

    /// One message of a cascade part: unary, binary, or keyword.
    fn parse_cascade_part(&mut self, explicit: bool) -> Result<Message, CompileError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Ident(name) => {
                self.next()?;
                Ok(Message {
                    selector: name,
                    args: Vec::new(),
                    pos: t.pos,
                    explicit,
                })
            }
            Tok::Binary(op) => {
                self.next()?;
                let (arg, _) = self.parse_unary_expr()?;
                Ok(Message {
                    selector: op,
                    args: vec![arg],
                    pos: t.pos,
                    explicit,
                })
            }
            Tok::Keyword(_) => {
                let mut selector = String::new();
                let mut args = Vec::new();
                while let Tok::Keyword(k) = self.peek_tok()? {
                    self.next()?;
                    selector.push_str(&k);
                    args.push(self.parse_binary_expr()?.0);
                }
                Ok(Message {
                    selector,
                    args,
                    pos: t.pos,
                    explicit,
                })
            }
            _ => Err(CompileError::expected(
                t.pos,
                "a message after ';'",
                self.describe(&t),
            )),
        }
    }

    fn parse_keyword_expr(&mut self) -> Result<(Expr, bool), CompileError> {
        let (mut recv, explicit) = self.parse_binary_expr()?;
        let mut chain = 0;
        while let Tok::Keyword(first) = self.peek_tok()? {
            let pos = self.next()?.pos;
            self.enter(pos)?;
            chain += 1;
            let mut selector = first.clone();
            let mut args = vec![self.parse_binary_expr()?.0];
            let control = CONTROL_KEYWORDS.contains(&first.as_str());
            while let Tok::Keyword(k) = self.peek_tok()? {
                let continues = if control {
                    args.len() == 1 && partner(&first) == Some(k.as_str())
                } else {
                    !CONTROL_KEYWORDS.contains(&k.as_str())
                };
                if !continues {
                    break;
                }
                self.next()?;
                selector.push_str(&k);
                args.push(self.parse_binary_expr()?.0);
            }
            recv = Expr::Send {
                recv: Box::new(recv),
                msg: Message {
                    selector,
                    args,
                    pos,
                    explicit,
                },
            };
        }
        self.depth -= chain;
        Ok((recv, explicit))
    }

    fn parse_binary_expr(&mut self) -> Result<(Expr, bool), CompileError> {
        let (mut e, explicit) = self.parse_unary_expr()?;
        let mut chain = 0;
        loop {
            let op = match self.peek_tok()? {
                Tok::Binary(op) if !(self.no_comma && op == ",") => op,
                Tok::Bar if !self.no_bar => "|".to_string(),
                _ => break,
            };
            if self.starts_negative_literal_line()? {
                break;
            }
            let pos = self.next()?.pos;
            self.enter(pos)?;
            chain += 1;
            let (arg, _) = self.parse_unary_expr()?;
            e = Expr::Send {
                recv: Box::new(e),
                msg: Message {
                    selector: op,
                    args: vec![arg],
                    pos,
                    explicit,
                },
            };
        }
        self.depth -= chain;
        Ok((e, explicit))
    }

    /// A `-` that starts a line (where line breaks separate statements) and is directly
    /// followed by a number begins a new statement with a negative literal.
    fn starts_negative_literal_line(&mut self) -> Result<bool, CompileError> {
        let minus = self.peek()?.clone();
        if !(self.nl_sig && minus.nl_before && minus.tok == Tok::Binary("-".into())) {
            return Ok(false);
        }
        let num = self.peek_nth(1)?;
        Ok(num.pos.offset == minus.end && matches!(num.tok, Tok::Int(_) | Tok::Float(_)))
    }

    fn parse_unary_expr(&mut self) -> Result<(Expr, bool), CompileError> {
        let (mut e, explicit) = self.parse_primary()?;
        let mut chain = 0;
        loop {
            let nl_sig = self.nl_sig;
            let t = self.peek()?;
            let Tok::Ident(name) = t.tok.clone() else {
                break;
            };
            if t.nl_before && nl_sig {
                break;
            }
            let pos = t.pos;
            self.next()?;
            self.enter(pos)?;
            chain += 1;
            e = if explicit {
                unary(e, name, pos, explicit)
            } else {
                intrinsic::implicit_unary(e, name, pos)
            };
        }
        self.depth -= chain;
        Ok((e, explicit))
    }

    /// A `-` immediately followed by a number literal: the negative literal.
    fn negative_literal(&mut self) -> Result<Option<Expr>, CompileError> {
        let minus = self.peek()?.clone();
        if minus.tok != Tok::Binary("-".into()) {
            return Ok(None);
        }
        let num = self.peek_nth(1)?.clone();
        if num.pos.offset != minus.end {
            return Ok(None);
        }
        let lit = match num.tok {
            Tok::Int(d) => Literal::Int(canonical_int(&d, true)),
            Tok::Float(f) => Literal::Float(format!("-{f}")),
            _ => return Ok(None),
        };
        self.next()?;
        self.next()?;
        Ok(Some(Expr::Lit(lit, minus.pos)))
    }

    fn parse_primary(&mut self) -> Result<(Expr, bool), CompileError> {
        if let Some(e) = self.negative_literal()? {
            return Ok((e, false));
        }
        let t = self.peek()?.clone();
        let nests = matches!(
            t.tok,
            Tok::At | Tok::LParen | Tok::LBracket | Tok::HashParen | Tok::HashBrace | Tok::LBrace
        );
        if nests {
            self.enter(t.pos)?;
        }
        let r = self.parse_primary_token(t);
        if nests {
            self.depth -= 1;
        }
        r
    }

    fn parse_primary_token(&mut self, t: Token) -> Result<(Expr, bool), CompileError> {
        let e = match t.tok {
            Tok::At => {
                self.next()?;
                let (e, _) = self.parse_primary()?;
                return Ok((e, true));
            }
            Tok::Ident(name) => {
                self.next()?;
                match name.as_str() {
                    "self" => Expr::SelfRef(t.pos),
                    "super" => Expr::Super(t.pos),
                    "thisContext" => Expr::ThisContext(t.pos),
                    "true" => Expr::Lit(Literal::True, t.pos),
                    "false" => Expr::Lit(Literal::False, t.pos),
                    "nil" => Expr::Lit(Literal::Nil, t.pos),
                    _ => Expr::Var(name, t.pos),
                }
            }
            Tok::Int(d) => {
                self.next()?;
                Expr::Lit(Literal::Int(canonical_int(&d, false)), t.pos)
            }
            Tok::Float(f) => {
                self.next()?;
                Expr::Lit(Literal::Float(f), t.pos)
            }
            Tok::Str(s) | Tok::Symbol(s) => {
                self.next()?;
                Expr::Lit(Literal::Str(s), t.pos)
            }
            Tok::Interp(parts) => {
                self.next()?;
                self.interpolation(parts, t.pos)?
            }
            Tok::DollarVar(name) => {
                self.next()?;
                self.dollar_var(name, t.pos)?
            }
            Tok::DollarParen => {
                self.next()?;
                let e = self.substitution_body(t.pos)?;
                self.expect(Tok::RParen, "')' to close '$('")?;
                e
            }
            Tok::LParen => {
                self.next()?;
                let saved = (self.nl_sig, self.no_comma, self.no_bar);
                (self.nl_sig, self.no_comma, self.no_bar) = (false, false, false);
                let e = self.parse_expr()?;
                self.expect(Tok::RParen, "')' to close parenthesis")?;
                (self.nl_sig, self.no_comma, self.no_bar) = saved;
                e
            }
            Tok::LBracket => {
                self.next()?;
                Expr::Block(Box::new(self.parse_block_rest(t.pos, true)?))
            }
            Tok::HashParen => {
                self.next()?;
                self.parse_literal_array(t.pos)?
            }
            Tok::HashBrace => {
                self.next()?;
                self.parse_object(t.pos)?
            }
            Tok::LBrace => {
                self.next()?;
                self.parse_brace_array(t.pos)?
            }
            _ => {
                return Err(CompileError::expected(
                    t.pos,
                    "an expression",
                    self.describe(&t),
                ));
            }
        };
        Ok((e, false))
    }

    /// `#( … )` after `#(`: literals only; bare words are symbols.
    fn parse_literal_array(&mut self, pos: Pos) -> Result<Expr, CompileError> {
        let mut items = Vec::new();
        loop {
            if let Some(e) = self.negative_literal()? {
                items.push(e);
                continue;
            }
            let t = self.next()?;
            let item = match t.tok {
                Tok::RParen => return Ok(Expr::Array(items, pos)),
                Tok::Int(d) => Expr::Lit(Literal::Int(canonical_int(&d, false)), t.pos),
                Tok::Float(f) => Expr::Lit(Literal::Float(f), t.pos),
                Tok::Str(s) | Tok::Symbol(s) | Tok::Keyword(s) | Tok::Binary(s) => {
                    Expr::Lit(Literal::Str(s), t.pos)
                }
                Tok::Ident(name) => match name.as_str() {
                    "true" => Expr::Lit(Literal::True, t.pos),
                    "false" => Expr::Lit(Literal::False, t.pos),
                    "nil" => Expr::Lit(Literal::Nil, t.pos),
                    _ => Expr::Lit(Literal::Str(name), t.pos),
                },
                Tok::LParen | Tok::HashParen | Tok::HashBrace => {
                    self.enter(t.pos)?;
                    let e = if t.tok == Tok::HashBrace {
                        self.parse_object(t.pos)?
                    } else {
                        self.parse_literal_array(t.pos)?
                    };
                    self.depth -= 1;
                    e
                }
                _ => {
                    return Err(CompileError::expected(
                        t.pos,
                        "a literal or ')' to close the literal array",
                        self.describe(&t),
                    ));
                }
            };
            items.push(item);
        }
    }

    /// `{ e1. e2 }` after `{`.
    fn parse_brace_array(&mut self, pos: Pos) -> Result<Expr, CompileError> {
        let saved = (self.nl_sig, self.no_comma, self.no_bar);
        (self.nl_sig, self.no_comma, self.no_bar) = (false, false, false);
        let mut items = Vec::new();
        loop {
            while self.peek()?.tok == Tok::Dot {
                self.next()?;
            }
            if self.peek()?.tok == Tok::RBrace {
                self.next()?;
                break;
            }
            items.push(self.parse_expr()?);
            match self.peek_tok()? {
                Tok::Dot | Tok::RBrace => {}
                _ => return Err(self.error_here("'.' or '}' in brace array")),
            }
        }
        (self.nl_sig, self.no_comma, self.no_bar) = saved;
        Ok(Expr::Array(items, pos))
    }

    /// `#{ key: value, … }` after `#{`. Values are binary-level expressions (`,` separates).
    fn parse_object(&mut self, pos: Pos) -> Result<Expr, CompileError> {
        let saved = (self.nl_sig, self.no_comma, self.no_bar);
        (self.nl_sig, self.no_comma, self.no_bar) = (false, true, false);
        let mut entries = Vec::new();
        loop {
            while matches!(self.peek_tok()?, Tok::Dot)
                || self.peek_tok()? == Tok::Binary(",".into())
            {
                self.next()?;
            }
            let t = self.next()?;
            let key = match t.tok {
                Tok::RBrace => break,
                Tok::Keyword(k) => k.trim_end_matches(':').to_string(),
                Tok::Str(s) | Tok::Symbol(s) | Tok::Ident(s) => {
                    self.expect(Tok::Colon, "':' after object key")?;
                    s
                }
                Tok::Int(d) => {
                    self.expect(Tok::Colon, "':' after object key")?;
                    canonical_int(&d, false)
                }
                _ => {
                    return Err(CompileError::expected(
                        t.pos,
                        "an object key or '}' to close the object literal",
                        self.describe(&t),
                    ));
                }
            };
            let (value, _) = self.parse_binary_expr()?;
            entries.push((key, value));
        }
        (self.nl_sig, self.no_comma, self.no_bar) = saved;
        Ok(Expr::Object(entries, pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(src: &str) -> BlockNode {
        Parser::new(src).parse_bare_body().unwrap()
    }

    #[test]
    fn precedence() {
        let b = body("a foo + b bar: c baz");
        let Stmt::Expr(Expr::Send { msg, recv }) = &b.body[0] else {
            panic!()
        };
        assert_eq!(msg.selector, "bar:");
        let Expr::Send { msg: plus, .. } = &**recv else {
            panic!()
        };
        assert_eq!(plus.selector, "+");
    }

    #[test]
    fn newlines_separate_statements() {
        let b = body("x := 1\ny := x\n  foo: 2\n  bar: 3\nz");
        assert_eq!(b.body.len(), 3);
        let Stmt::Expr(Expr::Assign { value, .. }) = &b.body[1] else {
            panic!()
        };
        let Expr::Send { msg, .. } = &**value else {
            panic!()
        };
        assert_eq!(msg.selector, "foo:bar:");
    }

    #[test]
    fn control_keywords_split() {
        let b = body("a foo: 1 ifTrue: [2] ifFalse: [3]");
        let Stmt::Expr(Expr::Send { msg, recv }) = &b.body[0] else {
            panic!()
        };
        assert_eq!(msg.selector, "ifTrue:ifFalse:");
        let Expr::Send { msg: inner, .. } = &**recv else {
            panic!()
        };
        assert_eq!(inner.selector, "foo:");
    }

    #[test]
    fn cascade_and_literals() {
        let b = body("t foo; bar: -3; + 2. #(1 #a b (c)) . #{a: 1, 'b c': x + 1}");
        assert_eq!(b.body.len(), 3);
    }

    #[test]
    fn nesting_is_limited() {
        let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
        let e = Parser::new(&deep).parse_bare_body().unwrap_err();
        assert!(e.to_string().contains("nesting deeper than 256"), "{e}");
        let chain = format!("1{}", " + 1".repeat(300));
        assert!(Parser::new(&chain).parse_bare_body().is_err());
        let ok = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(Parser::new(&ok).parse_bare_body().is_ok());
    }

    #[test]
    fn minus_number_at_line_start_is_a_new_statement() {
        assert_eq!(body("x := 1\n-2 abs").body.len(), 2);
        assert_eq!(body("x := 1\n- 2").body.len(), 1);
        assert_eq!(body("(1\n-2)").body.len(), 1);
    }

    #[test]
    fn block_errors_have_positions() {
        let e = Parser::new("[:x |\n  x foo\n  y := x )]")
            .parse_bare_body()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "3:10: expected ']' to close block, found ')'"
        );
        let e = Parser::new("[:x | x").parse_bare_body().unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:8: expected ']' to close block, found end of input"
        );
    }
}
