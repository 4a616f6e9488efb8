//! Shared helpers of the JIT tests: a tiny TTBC assembler, the two-tier runner and the test
//! classes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use tt_vm::tier::TierMode;
use tt_vm::ttbc::{CaptureDesc, CaptureSource, Chunk, Op, serialize};
use tt_vm::{Block, ClassDef, MethodImpl, Runtime, Side, Value};

/// Hex text to bytes.
pub fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

/// A minimal assembler for hand-written chunks (jumps by label).
#[derive(Default, Clone)]
pub struct Asm {
    code: Vec<u8>,
    consts: Vec<Vec<u8>>,
    labels: HashMap<String, usize>,
    fixups: Vec<(usize, String)>,
    params: Vec<String>,
    locals: u8,
    captures: Vec<CaptureDesc>,
}

impl Asm {
    /// A chunk with `params` parameters and `locals` locals.
    pub fn new(params: usize, locals: u8) -> Asm {
        Asm {
            params: (0..params).map(|i| format!("p{i}")).collect(),
            locals,
            ..Default::default()
        }
    }

    /// Declares a capture.
    pub fn capture(&mut self, name: &str, source: CaptureSource) -> &mut Self {
        self.captures.push(CaptureDesc {
            name: name.into(),
            source,
            slot: 0,
        });
        self
    }

    /// A constant's index.
    pub fn constant(&mut self, bytes: &[u8]) -> u16 {
        self.consts.push(bytes.to_vec());
        (self.consts.len() - 1) as u16
    }

    /// An instruction without operands.
    pub fn op(&mut self, op: Op) -> &mut Self {
        self.code.push(op.byte());
        self
    }

    /// Several instructions without operands.
    pub fn ops(&mut self, ops: &[Op]) -> &mut Self {
        for op in ops {
            self.op(*op);
        }
        self
    }

    /// An instruction with a u8 operand.
    pub fn op8(&mut self, op: Op, x: u8) -> &mut Self {
        self.code.push(op.byte());
        self.code.push(x);
        self
    }

    /// An instruction whose u16 operand is a new text constant (CONST, LOAD_IVAR, STORE_IVAR).
    pub fn k(&mut self, op: Op, text: &str) -> &mut Self {
        let k = self.constant(text.as_bytes());
        self.code.push(op.byte());
        self.code.extend(k.to_be_bytes());
        self
    }

    /// `CONST text`.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.k(Op::Const, text)
    }

    /// SEND / SEND_SELF / SEND_SUPER with a selector constant.
    pub fn send(&mut self, op: Op, sel: &str, argc: u8) -> &mut Self {
        let k = self.constant(sel.as_bytes());
        self.code.push(op.byte());
        self.code.extend(k.to_be_bytes());
        self.code.push(argc);
        self
    }

    /// SEND_CLASS.
    pub fn send_class(&mut self, class: &str, sel: &str, argc: u8) -> &mut Self {
        let c = self.constant(class.as_bytes());
        let k = self.constant(sel.as_bytes());
        self.code.push(Op::SendClass.byte());
        self.code.extend(c.to_be_bytes());
        self.code.extend(k.to_be_bytes());
        self.code.push(argc);
        self
    }

    /// MAKE_BLOCK of a nested chunk with `n` captures.
    pub fn make_block(&mut self, inner: &[u8], n: u8) -> &mut Self {
        let k = self.constant(inner);
        self.code.push(Op::MakeBlock.byte());
        self.code.extend(k.to_be_bytes());
        self.code.push(n);
        self
    }

    /// A jump to `label`.
    pub fn jump(&mut self, op: Op, label: &str) -> &mut Self {
        self.code.push(op.byte());
        self.fixups.push((self.code.len(), label.into()));
        self.code.extend([0, 0]);
        self
    }

    /// Places `label` here.
    pub fn label(&mut self, label: &str) -> &mut Self {
        self.labels.insert(label.into(), self.code.len());
        self
    }

    /// The serialized chunk.
    pub fn bytes(&self) -> Vec<u8> {
        let mut code = self.code.clone();
        for (at, l) in &self.fixups {
            let t = self.labels[l] as i64;
            let d = (t - (*at as i64 + 2)) as i16;
            code[*at..*at + 2].copy_from_slice(&d.to_be_bytes());
        }
        let mut flags = 0;
        if !self.captures.is_empty() {
            flags |= 0x0002;
        }
        if self.code.contains(&Op::NonLocalRet.byte()) {
            flags |= 0x0004;
        }
        let chunk = Chunk {
            version: 1,
            flags,
            code,
            constants: self.consts.clone(),
            params: self.params.clone(),
            local_count: self.locals,
            captures: self.captures.clone(),
            debug: None,
        };
        serialize(&chunk).expect("serialize")
    }
}

/// A runtime in one tier, with the test classes defined.
pub fn runtime(jit: bool) -> Runtime {
    let rt = Runtime::new();
    if jit {
        assert!(tt_jit::install(&rt), "JIT supported on this host");
        rt.set_tier_mode(TierMode::Always);
    } else {
        rt.set_tier_mode(TierMode::Never);
    }
    define_classes(&rt);
    rt
}

/// `Counter` (ivar `value`): native `increment`, `add:`, `fail`; bytecode `incr`, `addTwice:`
/// (self sends), `get`, `setBad`; class side `make` (bytecode, `SEND_CLASS Counter new`).
/// `Sub` < `Counter`: bytecode `increment` = super increment + 100. `Rec`: bytecode `recurse`
/// (unbounded self recursion).
pub fn define_classes(rt: &Runtime) {
    rt.define_class(ClassDef {
        name: "Counter".into(),
        ivars: vec!["value".into()],
        ..Default::default()
    })
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "increment",
        MethodImpl::native(|_rt, this, _args| {
            let inst = this.as_instance().expect("instance");
            let v = inst.get("value")?.unwrap_or(Value::NIL);
            let n = tt_vm::value::ops::arith(tt_vm::value::ops::Arith::Add, &v, &Value::int(1));
            inst.set("value", n.clone(), true)?;
            Ok(n)
        }),
    )
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "add:",
        MethodImpl::native(|_rt, _this, args| {
            Ok(tt_vm::value::ops::arith(
                tt_vm::value::ops::Arith::Add,
                &args[0],
                &Value::int(1000),
            ))
        }),
    )
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "fail",
        MethodImpl::native(|_rt, _this, _args| Err(tt_vm::Error::runtime("native failure"))),
    )
    .unwrap();
    rt.add_method(
        "Counter",
        Side::Instance,
        "explode",
        MethodImpl::native(|_rt, _this, _args| panic!("native method panicked")),
    )
    .unwrap();
    // incr: value := value + 1. ^value
    let mut a = Asm::new(0, 0);
    a.k(Op::LoadIvar, "value")
        .op(Op::ConstOne)
        .op(Op::Add)
        .op(Op::Dup)
        .k(Op::StoreIvar, "value")
        .op(Op::Return);
    bytecode(rt, "Counter", Side::Instance, "incr", &a.bytes());
    // addTwice: x  ^(self add: x) + (self add: x)
    let mut a = Asm::new(1, 0);
    a.text("self")
        .op8(Op::LoadParam, 0)
        .send(Op::SendSelf, "add:", 1);
    a.text("self")
        .op8(Op::LoadParam, 0)
        .send(Op::SendSelf, "add:", 1);
    a.op(Op::Add).op(Op::Return);
    bytecode(rt, "Counter", Side::Instance, "addTwice:", &a.bytes());
    let mut a = Asm::new(0, 0);
    a.k(Op::LoadIvar, "value").op(Op::Return);
    bytecode(rt, "Counter", Side::Instance, "get", &a.bytes());
    let mut a = Asm::new(0, 0);
    a.op(Op::ConstOne)
        .k(Op::StoreIvar, "nosuch")
        .op(Op::ReturnNil);
    bytecode(rt, "Counter", Side::Instance, "setBad", &a.bytes());
    let mut a = Asm::new(0, 0);
    a.send_class("Counter", "new", 0).op(Op::Return);
    bytecode(rt, "Counter", Side::Class, "make", &a.bytes());

    rt.define_class(ClassDef {
        name: "Sub".into(),
        superclass: Some("Counter".into()),
        ..Default::default()
    })
    .unwrap();
    let mut a = Asm::new(0, 0);
    a.send(Op::SendSuper, "increment", 0)
        .k(Op::Const, "100")
        .op(Op::Add)
        .op(Op::Return);
    bytecode(rt, "Sub", Side::Instance, "increment", &a.bytes());

    rt.define_class(ClassDef {
        name: "Rec".into(),
        ..Default::default()
    })
    .unwrap();
    let mut a = Asm::new(0, 0);
    a.text("self")
        .send(Op::SendSelf, "recurse", 0)
        .op(Op::Return);
    bytecode(rt, "Rec", Side::Instance, "recurse", &a.bytes());
}

fn bytecode(rt: &Runtime, class: &str, side: Side, sel: &str, bytes: &[u8]) {
    let v = tt_vm::ttbc::load_verified(bytes).expect("valid method chunk");
    rt.add_method(class, side, sel, MethodImpl::bytecode(v))
        .unwrap();
}

/// Result text, or `ERR <message>`, with block ids normalised (ids differ between runtimes).
pub fn outcome(r: tt_vm::Result<Value>) -> String {
    let s = match r {
        Ok(v) => v.text().into_owned(),
        Err(e) => format!("ERR {e}"),
    };
    normalize(&s)
}

/// Replaces the number of every `bytecode_block_<n>` with `N` and every UUID (instance ids)
/// with `UUID`.
pub fn normalize(s: &str) -> String {
    normalize_uuids(&normalize_blocks(s))
}

fn normalize_uuids(s: &str) -> String {
    let b = s.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let total = 36;
    let is_uuid = |at: usize| -> bool {
        if at + total > b.len() {
            return false;
        }
        let mut i = at;
        for (n, len) in shape.iter().enumerate() {
            if n > 0 {
                if b[i] != b'-' {
                    return false;
                }
                i += 1;
            }
            if !b[i..i + len].iter().all(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            i += len;
        }
        true
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if is_uuid(i) {
            out.push_str("UUID");
            i += total;
        } else {
            let c = s[i..].chars().next().expect("char boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn normalize_blocks(s: &str) -> String {
    const P: &str = "bytecode_block_";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(P) {
        out.push_str(&rest[..i + P.len()]);
        out.push('N');
        rest = rest[i + P.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// An argument of a differential run: built per runtime (instances belong to one runtime).
#[derive(Clone, Debug)]
pub enum Arg {
    /// A value.
    V(Value),
    /// A new `Counter` with `value` set.
    Counter(i64),
    /// A new `Sub` with `value` set.
    Sub(i64),
    /// A new `Rec`.
    Rec,
    /// A new `Counter` that is released before the call.
    Released,
}

impl Arg {
    /// A string argument.
    pub fn s(x: &str) -> Arg {
        Arg::V(Value::string(x))
    }

    fn build(&self, rt: &Runtime) -> Value {
        let inst = |class: &str, v: i64| {
            let i = rt.new_instance(class).unwrap();
            i.set("value", Value::int(v), true).unwrap();
            Value::instance(i)
        };
        match self {
            Arg::V(v) => v.clone(),
            Arg::Counter(v) => inst("Counter", *v),
            Arg::Sub(v) => inst("Sub", *v),
            Arg::Rec => Value::instance(rt.new_instance("Rec").unwrap()),
            Arg::Released => {
                let i = rt.new_instance("Counter").unwrap();
                rt.release(i.id());
                Value::instance(i)
            }
        }
    }
}

/// String arguments.
pub fn strs(xs: &[&str]) -> Vec<Arg> {
    xs.iter().map(|x| Arg::s(x)).collect()
}

/// The two tiers side by side.
pub struct Tiers {
    /// Interpreter only.
    pub interp: Runtime,
    /// Everything compiled before it runs.
    pub jit: Runtime,
}

impl Default for Tiers {
    fn default() -> Self {
        Tiers::new()
    }
}

impl Tiers {
    /// Fresh runtimes.
    pub fn new() -> Tiers {
        Tiers {
            interp: runtime(false),
            jit: runtime(true),
        }
    }

    /// Registers `bytes` in both tiers (same capture values).
    pub fn register(&self, bytes: &[u8], caps: &[Option<Value>]) -> (Arc<Block>, Arc<Block>) {
        let a = self
            .interp
            .register_block(bytes, caps.to_vec())
            .expect("valid chunk");
        let b = self
            .jit
            .register_block(bytes, caps.to_vec())
            .expect("valid chunk");
        (a, b)
    }

    /// Invokes registered blocks in both tiers; asserts the same outcome and that the JIT ran
    /// compiled code. Returns the outcome.
    pub fn invoke(&self, blocks: &(Arc<Block>, Arc<Block>), args: &[Arg]) -> String {
        let ai: Vec<Value> = args.iter().map(|a| a.build(&self.interp)).collect();
        let aj: Vec<Value> = args.iter().map(|a| a.build(&self.jit)).collect();
        let i = outcome(self.interp.invoke_block(&blocks.0, &ai));
        let j = outcome(self.jit.invoke_block(&blocks.1, &aj));
        assert_eq!(i, j, "interpreter vs JIT differ for args {args:?}");
        assert!(
            blocks.0.code().compiled().is_none(),
            "the interpreter tier must not compile"
        );
        assert!(
            blocks.1.code().compiled().is_some(),
            "unit not compiled: {:?}",
            blocks.1.code().compile_error()
        );
        i
    }

    /// Like [`Tiers::invoke`], and also checks that both tiers leave the same number of strong
    /// references to `node` behind (zero unless the chunk stored it somewhere, e.g. a capture
    /// cell): compiled code must count references exactly like the interpreter.
    pub fn invoke_counting(
        &self,
        blocks: &(Arc<Block>, Arc<Block>),
        args: &[Arg],
        node: &Arc<serde_json::Value>,
    ) -> String {
        let ai: Vec<Value> = args.iter().map(|a| a.build(&self.interp)).collect();
        let aj: Vec<Value> = args.iter().map(|a| a.build(&self.jit)).collect();
        let count = || Arc::strong_count(node) as i64;
        let c0 = count();
        let i = outcome(self.interp.invoke_block(&blocks.0, &ai));
        let c1 = count();
        let j = outcome(self.jit.invoke_block(&blocks.1, &aj));
        let c2 = count();
        assert_eq!(i, j, "interpreter vs JIT differ for args {args:?}");
        assert_eq!(
            c1 - c0,
            c2 - c1,
            "reference counts differ (interpreter vs JIT)"
        );
        assert!(blocks.1.code().compiled().is_some(), "unit not compiled");
        i
    }

    /// Registers and invokes once.
    pub fn run(&self, bytes: &[u8], caps: &[Option<Value>], args: &[Arg]) -> String {
        let b = self.register(bytes, caps);
        self.invoke(&b, args)
    }
}
