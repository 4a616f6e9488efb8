//! Syntax tree of method and block source.

use super::error::Pos;

/// A literal value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// An integer in canonical decimal form (`-5`, `42`; leading zeros removed).
    Int(String),
    /// A float as written (stored as a text constant).
    Float(String),
    /// A string (also used for symbols, which are strings in Trashtalk).
    Str(String),
    /// `true`.
    True,
    /// `false`.
    False,
    /// `nil`.
    Nil,
}

/// One message: selector (source spelling, e.g. `at:put:`) and arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Selector as written (`foo`, `+`, `at:put:`).
    pub selector: String,
    /// Arguments, left to right.
    pub args: Vec<Expr>,
    /// Position of the selector (first keyword).
    pub pos: Pos,
    /// True when the receiver chain was written with the Trashtalk `@` marker.
    pub explicit: bool,
}

/// A block literal `[:a :b | | t | statements]` (also a method body).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockNode {
    /// Parameter names and positions.
    pub params: Vec<(String, Pos)>,
    /// Temporary names and positions.
    pub temps: Vec<(String, Pos)>,
    /// Statements.
    pub body: Vec<Stmt>,
    /// Position of `[` (or of the first token for a bare body).
    pub pos: Pos,
    /// Names read as `$name` / `${name}` inside double-quoted strings anywhere in this body,
    /// with their positions. Filled on the outermost body only (a method or top-level block);
    /// empty on nested blocks. Bash reads an instance variable there even when a local or an
    /// argument has the same name, which compiled code checks for.
    pub interpolated: Vec<(String, Pos)>,
    /// Names written as `$(_ivar name)` or `_ivar_set name …` anywhere in this body (outermost
    /// body only, like `interpolated`): the Bash runtime's instance-variable helpers, which
    /// compiled code accepts only for declared, unshadowed instance variables.
    pub ivar_refs: Vec<(String, Pos)>,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// An expression evaluated for its value or effect.
    Expr(Expr),
    /// `^ expr`.
    Return(Expr, Pos),
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Literal, Pos),
    /// A variable or class name (`x`, `Counter`, `Pkg::Counter`).
    Var(String, Pos),
    /// `self`.
    SelfRef(Pos),
    /// `super`.
    Super(Pos),
    /// `thisContext` (always rejected by code generation).
    ThisContext(Pos),
    /// `name := value`.
    Assign {
        /// Target variable.
        name: String,
        /// Position of the target.
        pos: Pos,
        /// Assigned value.
        value: Box<Expr>,
    },
    /// A block literal.
    Block(Box<BlockNode>),
    /// A message send.
    Send {
        /// Receiver.
        recv: Box<Expr>,
        /// Message.
        msg: Message,
    },
    /// `recv m1; m2; …` — every message goes to the same receiver.
    Cascade {
        /// Shared receiver.
        recv: Box<Expr>,
        /// Messages in order (at least two).
        msgs: Vec<Message>,
    },
    /// `#(…)` or `{a. b}`: an array built element by element.
    Array(Vec<Expr>, Pos),
    /// `#{k: v}`: an object built key by key.
    Object(Vec<(String, Expr)>, Pos),
}

impl Expr {
    /// Source position of the expression.
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Lit(_, p)
            | Expr::Var(_, p)
            | Expr::SelfRef(p)
            | Expr::Super(p)
            | Expr::ThisContext(p)
            | Expr::Array(_, p)
            | Expr::Object(_, p) => *p,
            Expr::Assign { pos, .. } => *pos,
            Expr::Block(b) => b.pos,
            Expr::Send { recv, .. } | Expr::Cascade { recv, .. } => recv.pos(),
        }
    }

    /// The block literal, if this expression is one.
    pub fn as_block(&self) -> Option<&BlockNode> {
        match self {
            Expr::Block(b) => Some(b),
            _ => None,
        }
    }
}
