//! Bash expansions the library writes in Trashtalk source, parsed into ordinary expressions:
//!
//! * `"text $name ${name} $(@ r msg)"` → the concatenation chain `'text ' , name , …` (the
//!   first operand is always a string, so `,` concatenates texts);
//! * `$name` / `${name}` outside strings → the variable `name`;
//! * `$( @ receiver message )` → that send (Bash runs `@ …` in a command substitution exactly
//!   as it runs a bare `@ …` send, so both compile the same); `$(_ivar name)` → the instance
//!   variable `name`;
//! * the statement `_ivar_set name value` → `name := value`.
//!
//! Anything else Bash would run (`$(date)`, pipes inside `$( )`, environment variables
//! written in capitals) is a compile error naming the construct, so the method falls back.

use super::super::ast::{Expr, Literal, Message};
use super::super::dstring::StrPart;
use super::super::error::{CompileError, Pos};
use super::super::lexer::{Lexer, Tok, Token};
use super::Parser;

impl Parser<'_> {
    /// The parts of an interpolated string as a left-nested `,` chain.
    pub(super) fn interpolation(
        &mut self,
        parts: Vec<StrPart>,
        pos: Pos,
    ) -> Result<Expr, CompileError> {
        let mut operands = Vec::with_capacity(parts.len() + 1);
        for part in parts {
            operands.push(match part {
                StrPart::Text(s) => Expr::Lit(Literal::Str(s), pos),
                StrPart::Var { name, offset } => {
                    let at = self.lx.pos_at(offset);
                    self.interpolated.push((name.clone(), at));
                    self.dollar_var(name, at)?
                }
                StrPart::Subst { start, end, offset } => {
                    let at = self.lx.pos_at(offset);
                    self.nested_substitution(start, end, at)?
                }
            });
        }
        if !matches!(operands.first(), Some(Expr::Lit(Literal::Str(_), _))) {
            operands.insert(0, Expr::Lit(Literal::Str(String::new()), pos));
        }
        let mut it = operands.into_iter();
        let mut acc = it.next().expect("at least the leading string");
        let mut chain = 0;
        for operand in it {
            self.enter(pos)?;
            chain += 1;
            acc = Expr::Send {
                recv: Box::new(acc),
                msg: Message {
                    selector: ",".to_string(),
                    args: vec![operand],
                    pos,
                    explicit: false,
                },
            };
        }
        self.depth -= chain;
        Ok(acc)
    }

    /// `$name` / `${name}`: a variable of the method. Capitalized names are Bash's
    /// environment and global variables (`$HOME`, `$TRASHDIR`), which compiled code cannot read.
    pub(super) fn dollar_var(&mut self, name: String, pos: Pos) -> Result<Expr, CompileError> {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(CompileError::unsupported(
                pos,
                format!("'${name}' is a Bash environment variable, not a variable of the method"),
            ));
        }
        Ok(Expr::Var(name, pos))
    }

    /// The inside of `$( … )` (after `$(`, up to but excluding `)`).
    pub(super) fn substitution_body(&mut self, dollar: Pos) -> Result<Expr, CompileError> {
        let saved = (self.nl_sig, self.no_comma, self.no_bar);
        (self.nl_sig, self.no_comma, self.no_bar) = (false, false, true);
        let t = self.peek()?.clone();
        let e = match &t.tok {
            Tok::Ident(w) if w == "_ivar" => {
                self.next()?;
                match self.next()? {
                    Token {
                        tok: Tok::Ident(name),
                        pos,
                        ..
                    } => Expr::Var(name, pos),
                    other => {
                        return Err(CompileError::expected(
                            other.pos,
                            "an instance variable name after '_ivar'",
                            self.describe(&other),
                        ));
                    }
                }
            }
            Tok::At => self.parse_expr()?,
            _ => {
                return Err(CompileError::unsupported(
                    dollar,
                    format!(
                        "Bash command substitution '$({} …)' runs a shell command",
                        self.describe(&t).trim_matches('\'')
                    ),
                ));
            }
        };
        let t = self.peek()?.clone();
        if t.tok != Tok::RParen {
            return Err(CompileError::unsupported(
                t.pos,
                format!(
                    "Bash pipeline or command inside '$(…)' at {}: only '$(@ receiver message)' \
                     and '$(_ivar name)' compile",
                    self.describe(&t)
                ),
            ));
        }
        (self.nl_sig, self.no_comma, self.no_bar) = saved;
        Ok(e)
    }

    /// `$( … )` inside a double-quoted string: the bytes `start..end` parsed by a parser of
    /// their own over the same source (so positions stay those of the file).
    fn nested_substitution(
        &mut self,
        start: usize,
        end: usize,
        dollar: Pos,
    ) -> Result<Expr, CompileError> {
        let mut lx = Lexer::new(self.lx.source());
        lx.seek(start);
        let mut sub = Parser::from_lexer(lx);
        sub.depth = self.depth;
        sub.enter(dollar)?;
        let e = sub.substitution_body(dollar)?;
        self.interpolated.append(&mut sub.interpolated);
        let close = sub.next()?;
        if close.tok != Tok::RParen || close.pos.offset != end {
            return Err(CompileError::expected(
                close.pos,
                "')' to close '$('",
                sub.describe(&close),
            ));
        }
        Ok(e)
    }

    /// `_ivar_set name value` (the Bash runtime's instance-variable setter written as a
    /// statement) → `name := value`.
    pub(super) fn ivar_set_statement(&mut self) -> Result<Option<Expr>, CompileError> {
        if self.peek_tok()? != Tok::Ident("_ivar_set".into()) {
            return Ok(None);
        }
        let target = self.peek_nth(1)?.clone();
        let Tok::Ident(name) = target.tok else {
            return Ok(None);
        };
        if target.nl_before {
            return Ok(None);
        }
        self.next()?;
        self.next()?;
        let (value, _) = self.parse_primary()?;
        Ok(Some(Expr::Assign {
            name,
            pos: target.pos,
            value: Box::new(value),
        }))
    }
}
