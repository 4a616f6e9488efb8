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
                    } => {
                        self.ivar_refs.push((name.clone(), pos));
                        Expr::Var(name, pos)
                    }
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
        self.ivar_refs.append(&mut sub.ivar_refs);
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
        self.ivar_refs.push((name.clone(), target.pos));
        let (value, _) = self.parse_primary()?;
        Ok(Some(Expr::Assign {
            name,
            pos: target.pos,
            value: Box::new(value),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::ast::{BlockNode, Expr, Literal, Stmt};
    use super::Parser;

    fn body(src: &str) -> BlockNode {
        Parser::new(src).parse_bare_body().unwrap()
    }

    fn expr(src: &str) -> Expr {
        match body(src).body.remove(0) {
            Stmt::Expr(e) | Stmt::Return(e, _) => e,
        }
    }

    /// The operands of a left-nested `,` chain.
    fn chain(e: &Expr) -> Vec<String> {
        match e {
            Expr::Send { recv, msg } if msg.selector == "," => {
                let mut v = chain(recv);
                v.push(show(&msg.args[0]));
                v
            }
            other => vec![show(other)],
        }
    }

    fn show(e: &Expr) -> String {
        match e {
            Expr::Lit(Literal::Str(s), _) => format!("'{s}'"),
            Expr::Var(n, _) => n.clone(),
            Expr::Send { msg, .. } => format!("<{}>", msg.selector),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn interpolated_string_is_a_concatenation_chain() {
        assert_eq!(
            chain(&expr(r#""a $b ${c}d $(@ e f: 1)""#)),
            vec!["'a '", "b", "' '", "c", "'d '", "<f:>"]
        );
        // A leading expansion gets an empty string first, so ',' joins texts.
        assert_eq!(chain(&expr(r#""$x""#)), vec!["''", "x"]);
        assert_eq!(body(r#"^ "$x""#).interpolated.len(), 1);
    }

    #[test]
    fn dollar_forms_outside_strings_are_variables_and_sends() {
        assert_eq!(show(&expr("$(_ivar count)")), "count");
        assert_eq!(show(&expr("${id}")), "id");
        assert_eq!(show(&expr("$(@ Time now)")), "<now>");
        let Expr::Send { recv, msg } = expr("@ $id setCommand: c") else {
            panic!()
        };
        assert_eq!(
            (show(&recv), msg.selector.as_str()),
            ("id".into(), "setCommand:")
        );
    }

    #[test]
    fn ivar_set_statement_is_an_assignment() {
        let Expr::Assign { name, value, .. } = expr("_ivar_set running \"false\"") else {
            panic!()
        };
        assert_eq!((name.as_str(), show(&value)), ("running", "'false'".into()));
        // Without a name on the same line it is an ordinary expression.
        assert_eq!(body("_ivar_set\nx").body.len(), 2);
    }

    #[test]
    fn pipes_and_commands_in_substitutions_are_named() {
        let e = Parser::new("x := $(@ a b | wc -l)")
            .parse_bare_body()
            .unwrap_err();
        assert!(e.to_string().starts_with("1:14: Bash pipeline"), "{e}");
        let e = Parser::new("x := \"n=$(date)\"")
            .parse_bare_body()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("1:9: Bash command substitution '$(date"),
            "{e}"
        );
        let e = Parser::new("\"$HOME\"").parse_bare_body().unwrap_err();
        assert!(e.to_string().contains("environment variable"), "{e}");
    }

    #[test]
    fn implicit_is_empty_and_not_empty_compare_text() {
        assert_eq!(show(&expr("x isEmpty")), "<=>");
        assert_eq!(show(&expr("x notEmpty")), "<~=>");
        assert_eq!(show(&expr("(a foo) notEmpty")), "<~=>");
        assert_eq!(show(&expr("@ x isEmpty")), "<isEmpty>");
        assert_eq!(show(&expr("self isEmpty")), "<isEmpty>");
        assert_eq!(show(&expr("Foo isEmpty")), "<isEmpty>");
        assert_eq!(show(&expr("x size")), "<size>");
    }
}
