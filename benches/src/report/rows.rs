//! What the report shows: its rows (each with a same-run baseline and the goal of its issue),
//! the plan's table and the plot's groups ([`plot`]), and how a row is evaluated against its goal ([`eval`]).
//!
//! Nothing here is a figure: every number the report prints comes from the run's files
//! ([`Results`]) or from `size_of`; the constants below are the goals quoted from the issues and
//! the plan's "Performance Expectations" table.

mod eval;
mod plot;

pub use eval::*;
pub use plot::{plan_rows, plot_groups};

/// Where a figure comes from.
#[derive(Clone, Debug)]
pub enum Src {
    /// A criterion benchmark by full id, ns per element.
    Crit(&'static str),
    /// A `peer` line id, ns per iteration.
    Peer(&'static str),
    /// Another figure divided by the TTBC opcodes one iteration of the docs/spec/ttbc.md §13.2 summing
    /// loop executes (counted from the chunk's listing).
    PerSumOp(Box<Src>),
    /// `size_of::<tt_vm::Value>()`, bytes.
    ValueSize,
    /// `size_of::<trashtalk::types::TTValue>()` (the C ABI's value), bytes.
    TtValueSize,
}

impl Src {
    /// A short name of the source for the report (`capi/send_sel`, `peer sum_loop/lua5.4`).
    pub fn name(&self) -> String {
        match self {
            Src::Crit(id) => format!("`{id}`"),
            Src::Peer(id) => format!("`peer {id}`"),
            Src::PerSumOp(inner) => format!("{} ÷ opcodes", inner.name()),
            Src::ValueSize => "`size_of::<Value>()`".into(),
            Src::TtValueSize => "`size_of::<TTValue>()`".into(),
        }
    }
}

/// A condition of a goal.
#[derive(Clone, Debug)]
pub enum Check {
    /// The figure is at most this many ns.
    MaxNs(f64),
    /// figure / baseline is at most this.
    MaxRatio(f64),
    /// figure / another figure of the same run is at most `ratio`.
    MaxRatioTo {
        /// What the other figure is, for messages.
        what: &'static str,
        /// The other figure.
        src: Src,
        /// The bound.
        ratio: f64,
    },
    /// At least this many elements per second (1e9 / ns).
    MinPerSec(f64),
    /// Exactly this many bytes.
    EqBytes(f64),
}

/// A goal: its text (quoted from the issue) and the checks that decide it.
#[derive(Clone, Debug)]
pub struct Goal {
    /// As printed in the report.
    pub text: String,
    /// All must hold.
    pub checks: Vec<Check>,
}

/// Whose figure a row or bar is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This runtime.
    Ours,
    /// A peer a user could pick instead (Lua 5.4, LuaJIT).
    Peer,
    /// A baseline (plain C call, hash map, echo server, raw SQLite).
    Baseline,
    /// The old path the runtime replaces (Bash + `nc`).
    OldPath,
}

/// Units of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per element.
    Ns,
    /// Bytes.
    Bytes,
}

/// One row of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// Stable key (also the heading in `benches/report/reasons.md`).
    pub key: &'static str,
    /// What is measured.
    pub label: String,
    /// The figure.
    pub src: Src,
    /// The same-run baseline: its label and figure.
    pub baseline: Option<(String, Src)>,
    /// The issue's goal, if it sets one.
    pub goal: Option<Goal>,
    /// Whose figure it is.
    pub kind: Kind,
    /// Also show the figure as a rate, in this unit (`instances/s`).
    pub rate: Option<&'static str>,
    /// Unit of the figure.
    pub unit: Unit,
}

/// A titled group of rows.
#[derive(Clone, Debug)]
pub struct Section {
    /// Heading.
    pub title: &'static str,
    /// A sentence under the heading.
    pub note: String,
    /// The rows.
    pub rows: Vec<Row>,
}

/// One row of the plan's table ("Performance Expectations" of the shared-runtime plan).
#[derive(Clone, Debug)]
pub struct PlanRow {
    /// Operation, as the plan names it.
    pub operation: &'static str,
    /// The plan's "Current" column.
    pub current: &'static str,
    /// The plan's "With Shared Runtime" column.
    pub target: &'static str,
    /// That target in ns.
    pub target_ns: f64,
    /// What we measure for it.
    pub measured: &'static str,
    /// Our figure.
    pub src: Src,
}

/// One bar of the plot.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// The figure (ns).
    pub src: Src,
    /// Colour class.
    pub kind: Kind,
}

/// One panel of the plot.
#[derive(Clone, Debug)]
pub struct PlotGroup {
    /// Panel title.
    pub title: &'static str,
    /// Its bars.
    pub bars: Vec<Bar>,
}

fn goal(text: &str, checks: Vec<Check>) -> Option<Goal> {
    Some(Goal {
        text: text.into(),
        checks,
    })
}

struct B;
impl B {
    fn c_call() -> Option<(String, Src)> {
        Some((
            "plain C indirect call, same process".into(),
            Src::Crit("capi/c_indirect_call_baseline"),
        ))
    }
    fn rust_c_call() -> Option<(String, Src)> {
        Some((
            "plain `extern \"C\"` indirect call".into(),
            Src::Crit("jit/invoke_block/extern_c_indirect_call"),
        ))
    }
    fn lua54(what: &str, id: &'static str) -> Option<(String, Src)> {
        Some((format!("Lua 5.4, {what}"), Src::Peer(id)))
    }
    fn luajit(what: &str, id: &'static str) -> Option<(String, Src)> {
        Some((format!("LuaJIT, {what}"), Src::Peer(id)))
    }
}

fn row(key: &'static str, label: impl Into<String>, src: Src) -> Row {
    Row {
        key,
        label: label.into(),
        src,
        baseline: None,
        goal: None,
        kind: Kind::Ours,
        rate: None,
        unit: Unit::Ns,
    }
}

impl Row {
    fn base(mut self, b: Option<(String, Src)>) -> Row {
        self.baseline = b;
        self
    }
    fn goal(mut self, g: Option<Goal>) -> Row {
        self.goal = g;
        self
    }
    fn kind(mut self, k: Kind) -> Row {
        self.kind = k;
        self
    }
    fn rate(mut self, r: &'static str) -> Row {
        self.rate = Some(r);
        self
    }
}

const LUA_CALL_54: Check = Check::MaxRatioTo {
    what: "`lua_call` of Lua 5.4",
    src: Src::Peer("lua_call/lua5.4"),
    ratio: 1.0,
};

/// The report's sections. `sum_ops` is the number of TTBC opcodes per iteration of the §13.2
/// summing loop (see [`sum_loop_ops`]).
pub fn sections(sum_ops: usize) -> Vec<Section> {
    use Check::*;
    use Src::*;
    let lua_sum = |s: &str| format!("same loop ({s})");
    vec![
        Section {
            title: "Values and the interpreter (issue #2)",
            note: format!(
                "The interpreter (`TierMode::Never`) on the docs/spec/ttbc.md §13.2 summing loop \
                 ({sum_ops} TTBC opcodes per iteration) and on trivial blocks. Lua figures are \
                 `benches/peers/sum.lua` run by `lua5.4` in the same run."
            ),
            rows: vec![
                Row {
                    unit: Unit::Bytes,
                    ..row("value_size", "Size of the NaN-boxed `Value`", ValueSize)
                }
                .base(Some((
                    "`TTValue`, the C ABI's value".into(),
                    TtValueSize,
                )))
                .goal(goal("= 8 bytes (#2)", vec![EqBytes(8.0)])),
                row(
                    "interp.ns_per_op",
                    format!("Interpreter, ns per TTBC opcode (summing loop ÷ {sum_ops})"),
                    PerSumOp(Box::new(Crit("interp/sum_loop"))),
                )
                .base(Some((
                    format!("Lua 5.4, same loop ÷ {sum_ops}"),
                    PerSumOp(Box::new(Peer("sum_loop/lua5.4"))),
                )))
                .goal(goal("well under 1 ns per opcode (#2)", vec![MaxNs(1.0)])),
                row(
                    "interp.sum_loop",
                    "Summing loop, interpreter, per iteration (n = 10⁴)",
                    Crit("interp/sum_loop"),
                )
                .base(B::lua54(&lua_sum("sum.lua"), "sum_loop/lua5.4"))
                .goal(goal("≤ 1.5× Lua 5.4 (#2)", vec![MaxRatio(1.5)])),
                row(
                    "interp.invoke_trivial",
                    "Trivial block invocation, interpreter: `[:x :y | x + y]` via `Runtime::invoke_block`",
                    Crit("interp/invoke_trivial"),
                )
                .base(B::rust_c_call())
                .goal(goal(
                    "faster than a C host's `lua_call` (Lua 5.4, same run) (#2)",
                    vec![LUA_CALL_54],
                )),
            ],
        },
        Section {
            title: "Compiled tier (issue #6)",
            note: "The same workloads with the Cranelift tier forced on (`TierMode::Always`) \
                   beside the interpreter, Lua 5.4 and LuaJIT (`benches/peers/run.sh`, best of 5 \
                   per run, median of the runs)."
                .into(),
            rows: vec![
                row(
                    "jit.invoke_interp",
                    "Trivial block invocation, interpreter: `[:x | x + 1]` via `Runtime::invoke_block`",
                    Crit("jit/invoke_block/interpreter"),
                )
                .base(B::rust_c_call())
                .goal(goal(
                    "faster than a C host's `lua_call` (Lua 5.4, same run) (#2)",
                    vec![LUA_CALL_54],
                )),
                row(
                    "jit.invoke_compiled",
                    "Trivial block invocation, compiled: `[:x | x + 1]` via `Runtime::invoke_block`",
                    Crit("jit/invoke_block/compiled"),
                )
                .base(B::rust_c_call())
                .goal(goal(
                    "≤ 3× the plain C call (#6, the path under `TT_InvokeBlockDirect`)",
                    vec![MaxRatio(3.0)],
                )),
                row(
                    "jit.sum_interp",
                    "Summing loop, interpreter, per iteration (n = 10⁶)",
                    Crit("jit/sum_loop/interpreter"),
                )
                .base(B::lua54(&lua_sum("sum.lua"), "sum_loop/lua5.4"))
                .goal(goal("≤ 1.5× Lua 5.4 (#2)", vec![MaxRatio(1.5)])),
                row(
                    "jit.sum_compiled",
                    "Summing loop, compiled, per iteration (n = 10⁶)",
                    Crit("jit/sum_loop/compiled"),
                )
                .base(B::luajit(&lua_sum("sum.lua"), "sum_loop/luajit"))
                .goal(goal("≤ 1.5× LuaJIT (#6)", vec![MaxRatio(1.5)])),
                row(
                    "jit.temp_loop_compiled",
                    "Loop with a block temporary (`1 to: n do: [:i | | t | t := i * i. s := s + t]`), compiled, per iteration (n = 10⁴)",
                    Crit("jit/temp_loop/compiled"),
                )
                .base(Some((
                    "the same loop, interpreter".into(),
                    Crit("jit/temp_loop/interpreter"),
                ))),
                row(
                    "peer.sum_lua54",
                    "Summing loop, Lua 5.4 (`peers/sum.lua`)",
                    Peer("sum_loop/lua5.4"),
                )
                .kind(Kind::Peer),
                row(
                    "peer.sum_luajit",
                    "Summing loop, LuaJIT (`peers/sum.lua`)",
                    Peer("sum_loop/luajit"),
                )
                .kind(Kind::Peer),
                row(
                    "jit.send_ttbc_interp",
                    "Send-heavy loop, TTBC method `value := value + 1`, interpreter, per send",
                    Crit("jit/send_loop/TtbcCounter/interpreter"),
                )
                .base(B::lua54("method-call loop", "method_call/lua5.4")),
                row(
                    "jit.send_ttbc_compiled",
                    "Send-heavy loop, TTBC method `value := value + 1`, compiled, per send",
                    Crit("jit/send_loop/TtbcCounter/compiled"),
                )
                .base(B::luajit("method-call loop", "method_call/luajit"))
                .goal(goal("≤ 2× LuaJIT's method-call loop (#6)", vec![MaxRatio(2.0)])),
                row(
                    "jit.send_pure_interp",
                    "Send-heavy loop, TTBC method `^1`, interpreter, per send",
                    Crit("jit/send_loop/PureCounter/interpreter"),
                )
                .base(B::lua54("method-call loop", "method_call/lua5.4")),
                row(
                    "jit.send_pure_compiled",
                    "Send-heavy loop, TTBC method `^1`, compiled, per send",
                    Crit("jit/send_loop/PureCounter/compiled"),
                )
                .base(B::luajit("method-call loop", "method_call/luajit")),
                row(
                    "jit.send_native_interp",
                    "Send-heavy loop, native (Rust) method, interpreter, per send",
                    Crit("jit/send_loop/NativeCounter/interpreter"),
                )
                .base(B::rust_c_call()),
                row(
                    "jit.send_native_compiled",
                    "Send-heavy loop, native (Rust) method, compiled, per send",
                    Crit("jit/send_loop/NativeCounter/compiled"),
                )
                .base(B::rust_c_call())
                .goal(goal("≤ 3 ns per send (#6)", vec![MaxNs(3.0)])),
                row(
                    "jit.send_native_plain_compiled",
                    "Send-heavy loop, native (Rust) method without an atomic read-modify-write, \
                     compiled, per send",
                    Crit("jit/send_loop/PlainNativeCounter/compiled"),
                )
                .base(B::rust_c_call()),
                row(
                    "peer.method_lua54",
                    "Method-call loop, Lua 5.4 (`c:increment()` via a metatable, `peers/method.lua`)",
                    Peer("method_call/lua5.4"),
                )
                .kind(Kind::Peer),
                row(
                    "peer.method_luajit",
                    "Method-call loop, LuaJIT (`peers/method.lua`)",
                    Peer("method_call/luajit"),
                )
                .kind(Kind::Peer),
                row(
                    "jit.compile_50",
                    "JIT compile time of a 50-opcode block",
                    Crit("jit/compile_50_ops"),
                )
                .base(Some((
                    "interpreter's load + verify + decode of the same block".into(),
                    Crit("jit/decode_50_ops"),
                )))
                .goal(goal("≤ 200 µs per 50 opcodes (#6)", vec![MaxNs(200_000.0)])),
            ],
        },
        Section {
            title: "C ABI and plugins (issue #5)",
            note: "`libtrashtalk.so` called through `dlsym`'d pointers exactly as a C caller does; \
                   the baseline is a plain C function (`BenchTarget.so`) called through a pointer \
                   in the same run. `lua_call` peers: `benches/peers/lua_call.c`, a C host \
                   calling `function(x) return x + 1 end`, beside its own plain C call."
                .into(),
            rows: vec![
                row(
                    "capi.send_direct",
                    "`TT_SendDirect` (native method call from C)",
                    Crit("capi/send_direct"),
                )
                .base(B::c_call())
                .goal(goal("≤ 3× the plain C call (#5)", vec![MaxRatio(3.0)])),
                row(
                    "capi.send_sel",
                    "`TT_SendSel` (interned selector)",
                    Crit("capi/send_sel"),
                )
                .base(B::c_call())
                .goal(goal("≤ 2× the plain C call (#5)", vec![MaxRatio(2.0)])),
                row(
                    "capi.send_by_id",
                    "`TT_Send` by instance id",
                    Crit("capi/send_by_id"),
                )
                .base(B::c_call())
                .goal(goal("≤ 40 ns (#5)", vec![MaxNs(40.0)])),
                row(
                    "capi.cross_plugin",
                    "Cross-plugin message: `EventDispatcher>>dispatch:` → `Counter>>increment`",
                    Crit("capi/cross_plugin"),
                )
                .base(B::c_call())
                .goal(goal(
                    "≤ 0.2 µs (the plan's target; #5 sets no tighter one)",
                    vec![MaxNs(200.0)],
                )),
                row(
                    "capi.invoke_block_direct",
                    "`TT_InvokeBlockDirect` of `[:x | x + 1]`",
                    Crit("capi/invoke_block_direct"),
                )
                .base(B::c_call())
                .goal(goal("≤ 3× the plain C call (#6)", vec![MaxRatio(3.0)])),
                row(
                    "capi.invoke_block_direct_vs_lua54",
                    "`TT_InvokeBlockDirect` beside a C host's `lua_call`, Lua 5.4",
                    Crit("capi/invoke_block_direct"),
                )
                .base(Some((
                    "C host → `lua_call`, Lua 5.4".into(),
                    Peer("lua_call/lua5.4"),
                ))),
                row(
                    "capi.invoke_block_direct_vs_luajit",
                    "`TT_InvokeBlockDirect` beside a C host's `lua_call`, LuaJIT",
                    Crit("capi/invoke_block_direct"),
                )
                .base(Some((
                    "C host → `lua_call`, LuaJIT".into(),
                    Peer("lua_call/luajit"),
                ))),
                row(
                    "capi.vm_reference",
                    "the same block via `Runtime::invoke_block` from Rust (no C ABI)",
                    Crit("capi/vm_invoke_block_reference"),
                )
                .base(B::c_call()),
                row(
                    "peer.lua_call_lua54",
                    "C host → `lua_call`, Lua 5.4",
                    Peer("lua_call/lua5.4"),
                )
                .base(Some((
                    "plain C indirect call in the same C program".into(),
                    Peer("c_indirect_call/lua5.4"),
                )))
                .kind(Kind::Peer),
                row(
                    "peer.lua_call_luajit",
                    "C host → `lua_call`, LuaJIT",
                    Peer("lua_call/luajit"),
                )
                .base(Some((
                    "plain C indirect call in the same C program".into(),
                    Peer("c_indirect_call/luajit"),
                )))
                .kind(Kind::Peer),
                row(
                    "peer.lua_pcall_lua54",
                    "C host → `lua_pcall`, Lua 5.4",
                    Peer("lua_pcall/lua5.4"),
                )
                .base(Some((
                    "plain C indirect call in the same C program".into(),
                    Peer("c_indirect_call/lua5.4"),
                )))
                .kind(Kind::Peer),
                row(
                    "peer.lua_pcall_luajit",
                    "C host → `lua_pcall`, LuaJIT",
                    Peer("lua_pcall/luajit"),
                )
                .base(Some((
                    "plain C indirect call in the same C program".into(),
                    Peer("c_indirect_call/luajit"),
                )))
                .kind(Kind::Peer),
                row(
                    "capi.event_callback",
                    "Event callback per event: `Stream serverStream:with:handler:`, INT events, one `TT_InvokeBlockDirect` each",
                    Crit("capi/event_callback"),
                )
                .base(B::c_call())
                .goal(goal("≤ 50 ns per event (#5)", vec![MaxNs(50.0)])),
                row(
                    "capi.event_callback_json",
                    "Event callback per event, JSON string events",
                    Crit("capi/event_callback_json"),
                )
                .base(B::c_call()),
            ],
        },
        Section {
            title: "Dispatch caches (issue #3)",
            note: "`SendCache::lookup` in each cache state beside a std `HashMap<(class, selector)>` \
                   (SipHash) lookup measured in the same run."
                .into(),
            rows: vec![
                row(
                    "dispatch.mono",
                    "Monomorphic hit",
                    Crit("dispatch/mono_hit"),
                )
                .base(Some((
                    "`HashMap` lookup, one key".into(),
                    Crit("dispatch/hashmap_baseline"),
                )))
                .goal(goal(
                    "≤ 3 ns and ≥ 5× faster than the hash map (#3)",
                    vec![MaxNs(3.0), MaxRatio(0.2)],
                )),
                row(
                    "dispatch.poly4",
                    "Polymorphic site, 4 classes",
                    Crit("dispatch/poly4"),
                )
                .base(Some((
                    "`HashMap` lookup, keys cycling over 16 classes".into(),
                    Crit("dispatch/hashmap_baseline16"),
                )))
                .goal(goal("≤ 8 ns (#3)", vec![MaxNs(8.0)])),
                row("dispatch.poly6", "Site over 6 classes", Crit("dispatch/poly6")).base(Some((
                    "`HashMap` lookup, keys cycling over 16 classes".into(),
                    Crit("dispatch/hashmap_baseline16"),
                ))),
                row("dispatch.poly8", "Site over 8 classes", Crit("dispatch/poly8")).base(Some((
                    "`HashMap` lookup, keys cycling over 16 classes".into(),
                    Crit("dispatch/hashmap_baseline16"),
                ))),
                row(
                    "dispatch.mega16",
                    "Megamorphic site, 16 classes",
                    Crit("dispatch/mega16"),
                )
                .base(Some((
                    "`HashMap` lookup, keys cycling over 16 classes".into(),
                    Crit("dispatch/hashmap_baseline16"),
                )))
                .goal(goal("≤ 15 ns (#3)", vec![MaxNs(15.0)])),
                row(
                    "dispatch.miss_fill",
                    "Miss and refill after invalidation",
                    Crit("dispatch/miss_fill"),
                )
                .base(Some((
                    "`HashMap` lookup, one key".into(),
                    Crit("dispatch/hashmap_baseline"),
                ))),
            ],
        },
        Section {
            title: "Daemon and the old path from Bash (issue #7)",
            note: "The real `tt --socket` binary, one request per connection (a block `invoke`). \
                   The old path is what the Bash runtime pays per request: bash and `nc -U`, \
                   measured against the same daemon in the same run."
                .into(),
            rows: vec![
                row(
                    "daemon.round_trip",
                    "Daemon round trip, one `invoke` request per connection",
                    Crit("daemon/round_trip_invoke"),
                )
                .base(Some((
                    "raw Unix-socket echo server, same framing".into(),
                    Crit("daemon/round_trip_echo"),
                )))
                .goal(goal("≤ 1.5× the echo server (#7)", vec![MaxRatio(1.5)])),
                row(
                    "daemon.clients8",
                    "8 concurrent clients, wall time per request",
                    Crit("daemon/8_clients"),
                )
                .base(Some((
                    "one client (`daemon/round_trip_invoke`)".into(),
                    Crit("daemon/round_trip_invoke"),
                )))
                .rate("requests/s"),
                row(
                    "daemon.nc_from_bash",
                    "Old path: one request through `nc -U` from a bash loop",
                    Peer("daemon/nc_from_bash"),
                )
                .base(Some((
                    "the daemon's own round trip".into(),
                    Crit("daemon/round_trip_invoke"),
                )))
                .kind(Kind::OldPath),
                row(
                    "daemon.nc_from_bash_echo",
                    "bash loop + `nc -U` to the echo server (bash and `nc` alone)",
                    Peer("daemon/nc_from_bash_echo"),
                )
                .base(Some((
                    "echo server round trip".into(),
                    Crit("daemon/round_trip_echo"),
                )))
                .kind(Kind::OldPath),
                row(
                    "daemon.bash_client_send",
                    "Old path as the Bash client sends a message: ping (`timeout 1 nc -U`) + request (`timeout 5 nc -U`)",
                    Peer("daemon/bash_client_send"),
                )
                .base(Some((
                    "the daemon's own round trip".into(),
                    Crit("daemon/round_trip_invoke"),
                )))
                .kind(Kind::OldPath),
            ],
        },
        Section {
            title: "Persistence (issue #7)",
            note: "`tt_persist::Store` on a fresh SQLite file (rollback journal `DELETE`, `synchronous=NORMAL`), \
                   1000 instances of a 4-ivar class; baselines write the same documents with \
                   plain `rusqlite` into a bare two-column table."
                .into(),
            rows: vec![
                row(
                    "persist.single",
                    "Single-row persist (`TT_Persist` path: document + autocommit insert)",
                    Crit("persist/single"),
                )
                .base(Some((
                    "raw SQLite autocommit insert of the same document".into(),
                    Crit("persist/raw_sqlite_single"),
                )))
                .rate("instances/s"),
                row(
                    "persist.batch",
                    "Batched persist, 1000 live instances in one transaction (documents + `save_instances`)",
                    Crit("persist/batch"),
                )
                .base(Some((
                    "raw SQLite, the same 1000 rows in one transaction".into(),
                    Crit("persist/raw_sqlite_batch"),
                )))
                .goal(goal("≥ 500 000 instances/s (#7)", vec![MinPerSec(500_000.0)]))
                .rate("instances/s"),
                row(
                    "persist.batch_store_only",
                    "Batched persist, documents already serialized (`save_batch`, with `json()`)",
                    Crit("persist/batch_store_only"),
                )
                .base(Some((
                    "raw SQLite, the same 1000 rows in one transaction".into(),
                    Crit("persist/raw_sqlite_batch"),
                )))
                .rate("instances/s"),
            ],
        },
        Section {
            title: "Other figures: compiler (issue #4)",
            note: "For reference, not rows of issue #8: source compiler speed over the test \
                   corpus and the corpus `List>>inject:into:` over 1000 elements. Issue #4 sets \
                   no goal and there is no natural same-run baseline except the interpreter for \
                   the compiled tier."
                .into(),
            rows: vec![
                row(
                    "compiler.lines",
                    "Compile the corpus (`counter.trash`, `list.trash`), per source line",
                    Crit("compiler/compile_corpus_lines"),
                )
                .rate("lines/s"),
                row(
                    "compiler.inject_interp",
                    "`inject:into:` over 1000 elements, interpreter, per element",
                    Crit("compiler/inject_into_1000_interp"),
                ),
                row(
                    "compiler.inject_jit",
                    "`inject:into:` over 1000 elements, compiled, per element",
                    Crit("compiler/inject_into_1000_jit"),
                )
                .base(Some((
                    "the interpreter".into(),
                    Crit("compiler/inject_into_1000_interp"),
                ))),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::data::{Figure, Measure, Results, Spread};
    use super::*;

    #[test]
    fn sum_loop_has_13_opcodes() {
        assert_eq!(sum_loop_ops(), Some(13));
        assert_eq!(
            loop_ops("0000  CONST_ZERO\n0001  JUMP -1 -> 0000\n0004  RETURN\n"),
            Some(2)
        );
        assert_eq!(loop_ops("0000  RETURN\n"), None);
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_ns(0.434), "0.43 ns");
        assert_eq!(fmt_ns(12.34), "12.3 ns");
        assert_eq!(fmt_ns(456.4), "456 ns");
        assert_eq!(fmt_ns(1234.0), "1.23 µs");
        assert_eq!(fmt_ns(45_600_000.0), "45.6 ms");
        assert_eq!(fmt_ratio(2.312), "2.31×");
        assert_eq!(fmt_ratio(153.2), "153×");
        assert_eq!(fmt_rate(512_300.0, "instances/s"), "512 k instances/s");
        assert_eq!(fmt_rate(1_234_000.0, "/s"), "1.23 M/s");
    }

    fn fig(v: f64) -> Figure {
        Figure {
            value: v,
            spread: Spread::Exact,
            source: String::new(),
        }
    }

    #[test]
    fn evaluation() {
        let mut r = Results::default();
        r.criterion.insert("a".into(), fig(6.0));
        r.criterion.insert("base".into(), fig(2.0));
        r.peers
            .insert("p".into(), Measure::Unavailable("not installed".into()));
        let ctx = Ctx {
            results: &r,
            sum_ops: 13,
        };
        let mk = |checks: Vec<Check>| {
            row("k", "x", Src::Crit("a"))
                .base(Some(("b".into(), Src::Crit("base"))))
                .goal(goal("g", checks))
        };
        let met = mk(vec![Check::MaxRatio(3.0), Check::MaxNs(6.0)]);
        let e = ctx.evaluate(&met);
        assert_eq!(e.ratio, Some(3.0));
        assert_eq!(e.status, Status::Met);
        let missed = mk(vec![Check::MaxRatio(2.0)]);
        assert!(matches!(ctx.evaluate(&missed).status, Status::Missed(_)));
        let unknown = mk(vec![Check::MaxRatioTo {
            what: "p",
            src: Src::Peer("p"),
            ratio: 1.0,
        }]);
        assert!(matches!(ctx.evaluate(&unknown).status, Status::Unknown(_)));
        let rate = mk(vec![Check::MinPerSec(100e6)]);
        assert_eq!(ctx.evaluate(&rate).status, Status::Met);
        let absent = row("k", "x", Src::Crit("zzz"));
        assert!(matches!(
            ctx.evaluate(&absent).status,
            Status::Unavailable(_)
        ));
        assert_eq!(
            ctx.resolve(&Src::PerSumOp(Box::new(Src::Crit("a"))))
                .figure()
                .unwrap()
                .value,
            6.0 / 13.0
        );
        assert_eq!(ctx.resolve(&Src::ValueSize).figure().unwrap().value, 8.0);
    }

    #[test]
    fn every_row_of_issue_8_has_a_baseline_or_is_a_peer() {
        for s in sections(13) {
            for r in &s.rows {
                assert!(
                    r.baseline.is_some() || r.kind == Kind::Peer || r.key.starts_with("compiler."),
                    "{}",
                    r.key
                );
            }
        }
    }
}
