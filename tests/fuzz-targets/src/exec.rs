//! Target `exec`: verified chunks run in both tiers (differential).
//!
//! The input is one selector byte followed by a TTBC chunk. A chunk that verifies is registered
//! in two runtimes, one interpreting (`TierMode::Never`) and one compiling everything
//! (`TierMode::Always`, the Cranelift tier installed), and invoked with the same arguments and
//! capture values (picked by the selector byte from [`VALUES`]). Both must answer the same text,
//! or fail with the same error message (block and instance ids, which differ between the two
//! runtimes, are normalized first).
//!
//! **Bounded runs.** The VM has no step budget, so only chunks that cannot loop are run: no
//! backward jump in the chunk or in any constant that loads as a nested chunk ([`may_loop`]).
//! Recursion is bounded by the runtime's depth limit. Deadlines (issue #18, item 1) will allow
//! running loops too; until then loops are covered by `tests/tests/jit_differential.rs` and the
//! JIT property tests.

use std::sync::{Arc, OnceLock};

use tt_vm::block::{BLOCK_ID_PREFIX, Block, registry};
use tt_vm::tier::TierMode;
use tt_vm::ttbc::{Chunk, Op, load, load_verified};
use tt_vm::{Runtime, Value};

/// Argument and capture values the selector byte picks from.
pub const VALUES: [&str; 12] = [
    "3",
    "4",
    "-7",
    "2.5",
    "",
    "abc",
    "9223372036854775807",
    "-9223372036854775808",
    "140737488355327",
    "1e308",
    "nil",
    "true",
];

/// The interpreting and the compiling runtime of this process.
fn tiers() -> &'static (Runtime, Runtime) {
    static TIERS: OnceLock<(Runtime, Runtime)> = OnceLock::new();
    TIERS.get_or_init(|| {
        let interp = Runtime::new();
        interp.set_tier_mode(TierMode::Never);
        let jit = Runtime::new();
        assert!(tt_jit::install(&jit), "the JIT supports this host");
        jit.set_tier_mode(TierMode::Always);
        (interp, jit)
    })
}

/// True when `chunk`, or a constant of it that loads as a chunk, has a backward jump (the only
/// way a chunk loops), or nests deeper than 16 levels.
pub fn may_loop(chunk: &Chunk) -> bool {
    fn walk(chunk: &Chunk, depth: u32) -> bool {
        if depth > 16 {
            return true;
        }
        let code = &chunk.code;
        let mut pc = 0;
        while pc < code.len() {
            let Some(op) = Op::from_byte(code[pc]) else {
                return true;
            };
            if op.is_jump() {
                match code.get(pc + 1..pc + 3) {
                    Some(&[hi, lo]) if i16::from_be_bytes([hi, lo]) >= 0 => {}
                    _ => return true,
                }
            }
            pc += op.len();
        }
        chunk
            .constants
            .iter()
            .any(|k| load(k).is_ok_and(|inner| walk(&inner, depth + 1)))
    }
    walk(chunk, 0)
}

/// Replaces what differs between two runtimes running the same code: block ids
/// (`bytecode_block_<n>`) and the UUIDs of instance ids.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(BLOCK_ID_PREFIX) {
        out.push_str(&rest[..at + BLOCK_ID_PREFIX.len()]);
        rest = &rest[at + BLOCK_ID_PREFIX.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        out.push('#');
        rest = &rest[digits..];
    }
    out.push_str(rest);
    normalize_uuids(&out)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex) → `<uuid>`.
fn normalize_uuids(text: &str) -> String {
    let b = text.as_bytes();
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut start = 0;
    while i + 36 <= b.len() {
        if text.is_char_boundary(i) && is_uuid(&b[i..i + 36]) {
            out.push_str(&text[start..i]);
            out.push_str("<uuid>");
            i += 36;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[start..]);
    out
}

/// The value `VALUES[i % len]`, typed as the daemon would pass it (text) or, for odd `i / len`,
/// converted: numbers to numbers, `nil`/`true` to the constants.
fn value(i: usize) -> Value {
    let text = VALUES[i % VALUES.len()];
    if (i / VALUES.len()).is_multiple_of(2) {
        return Value::string(text);
    }
    match text {
        "nil" => Value::NIL,
        "true" => Value::TRUE,
        _ => {
            if let Ok(n) = text.parse::<i64>() {
                Value::int(n)
            } else if let Ok(f) = text.parse::<f64>() {
                Value::float(f)
            } else {
                Value::string(text)
            }
        }
    }
}

/// Registers `bytes` in `rt`, invokes it once and answers the normalized outcome.
fn run(rt: &Runtime, bytes: &[u8], captures: &[usize], args: &[usize]) -> Result<String, String> {
    let caps = captures.iter().map(|&i| Some(value(i))).collect();
    let block: Arc<Block> = rt
        .register_block(bytes, caps)
        .map_err(|e| format!("register: {}", normalize(e.message())))?;
    let args: Vec<Value> = args.iter().map(|&i| value(i)).collect();
    let result = rt.invoke_block(&block, &args);
    let out = match result {
        Ok(v) => Ok(normalize(&v.text())),
        Err(e) => Err(normalize(e.message())),
    };
    registry().release(&block.id_text());
    out
}

/// Runs one input.
pub fn fuzz_exec(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let Ok(verified) = load_verified(bytes) else {
        return;
    };
    let chunk = verified.chunk();
    if may_loop(chunk) {
        return;
    }
    let pick = |k: usize| (sel as usize).wrapping_mul(7).wrapping_add(k * 5) % (2 * VALUES.len());
    let captures: Vec<usize> = (0..chunk.captures.len()).map(|k| pick(k + 8)).collect();
    // The parameter count, or one fewer / more on some selectors (missing args are nil).
    let argc = match sel >> 6 {
        0 => chunk.params.len().saturating_sub(1),
        1 => chunk.params.len() + 1,
        _ => chunk.params.len(),
    };
    let args: Vec<usize> = (0..argc).map(pick).collect();
    let (interp, jit) = tiers();
    let a = run(interp, bytes, &captures, &args);
    let b = run(jit, bytes, &captures, &args);
    assert_eq!(
        a,
        b,
        "interpreter (left) and JIT (right) disagree on chunk {}",
        hex::encode(bytes)
    );
}
