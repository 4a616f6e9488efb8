//! The plan's table ("Performance Expectations" of the plan) and the plot's panels.

use super::{Bar, Kind, PlanRow, PlotGroup, Src};

/// The plan's four rows ("Performance Expectations" of `shared-runtime-plan.md`).
pub fn plan_rows() -> Vec<PlanRow> {
    vec![
        PlanRow {
            operation: "Native method call",
            current: "~50 µs (JSON + FFI)",
            target: "~0.1 µs (direct)",
            target_ns: 100.0,
            measured: "`TT_SendDirect`",
            src: Src::Crit("capi/send_direct"),
        },
        PlanRow {
            operation: "Cross-plugin message",
            current: "~100 µs (daemon mediated)",
            target: "~0.2 µs (direct)",
            target_ns: 200.0,
            measured: "`EventDispatcher>>dispatch:` → `Counter>>increment`",
            src: Src::Crit("capi/cross_plugin"),
        },
        PlanRow {
            operation: "Block invocation",
            current: "~5 ms (bash subprocess)",
            target: "~1 µs (native VM)",
            target_ns: 1000.0,
            measured: "`TT_InvokeBlockDirect`",
            src: Src::Crit("capi/invoke_block_direct"),
        },
        PlanRow {
            operation: "gRPC event callback",
            current: "~10 ms (bash round-trip)",
            target: "~2 µs (native)",
            target_ns: 2000.0,
            measured: "`Stream` handler block, per event",
            src: Src::Crit("capi/event_callback"),
        },
    ]
}

fn bar(label: &str, src: Src, kind: Kind) -> Bar {
    Bar {
        label: label.into(),
        src,
        kind,
    }
}

/// The plot's panels.
pub fn plot_groups() -> Vec<PlotGroup> {
    use Kind::{Baseline, OldPath, Ours};
    use Src::*;
    vec![
        PlotGroup {
            title: "Summing loop (§13.2), per iteration",
            bars: vec![
                bar("TTBC interpreter", Crit("jit/sum_loop/interpreter"), Ours),
                bar("TTBC compiled", Crit("jit/sum_loop/compiled"), Ours),
                bar("Lua 5.4", Peer("sum_loop/lua5.4"), Kind::Peer),
                bar("LuaJIT", Peer("sum_loop/luajit"), Kind::Peer),
            ],
        },
        PlotGroup {
            title: "Send-heavy loop, per send",
            bars: vec![
                bar(
                    "TTBC method, interpreter",
                    Crit("jit/send_loop/TtbcCounter/interpreter"),
                    Ours,
                ),
                bar(
                    "TTBC method, compiled",
                    Crit("jit/send_loop/TtbcCounter/compiled"),
                    Ours,
                ),
                bar(
                    "native method, compiled",
                    Crit("jit/send_loop/NativeCounter/compiled"),
                    Ours,
                ),
                bar(
                    "Lua 5.4 method call",
                    Peer("method_call/lua5.4"),
                    Kind::Peer,
                ),
                bar("LuaJIT method call", Peer("method_call/luajit"), Kind::Peer),
            ],
        },
        PlotGroup {
            title: "Calling a block from native code, per call",
            bars: vec![
                bar(
                    "TT_InvokeBlockDirect",
                    Crit("capi/invoke_block_direct"),
                    Ours,
                ),
                bar(
                    "invoke_block, interpreter",
                    Crit("jit/invoke_block/interpreter"),
                    Ours,
                ),
                bar(
                    "invoke_block, compiled",
                    Crit("jit/invoke_block/compiled"),
                    Ours,
                ),
                bar(
                    "plain C indirect call",
                    Crit("capi/c_indirect_call_baseline"),
                    Baseline,
                ),
                bar("lua_call, Lua 5.4", Peer("lua_call/lua5.4"), Kind::Peer),
                bar("lua_call, LuaJIT", Peer("lua_call/luajit"), Kind::Peer),
            ],
        },
        PlotGroup {
            title: "Native sends and callbacks from C, per call",
            bars: vec![
                bar("TT_SendDirect", Crit("capi/send_direct"), Ours),
                bar("TT_SendSel", Crit("capi/send_sel"), Ours),
                bar("TT_Send by id", Crit("capi/send_by_id"), Ours),
                bar("cross-plugin message", Crit("capi/cross_plugin"), Ours),
                bar(
                    "event callback, per event",
                    Crit("capi/event_callback"),
                    Ours,
                ),
                bar(
                    "plain C indirect call",
                    Crit("capi/c_indirect_call_baseline"),
                    Baseline,
                ),
            ],
        },
        PlotGroup {
            title: "Dispatch lookup",
            bars: vec![
                bar("monomorphic hit", Crit("dispatch/mono_hit"), Ours),
                bar("polymorphic, 4 classes", Crit("dispatch/poly4"), Ours),
                bar("megamorphic, 16 classes", Crit("dispatch/mega16"), Ours),
                bar(
                    "HashMap, one key",
                    Crit("dispatch/hashmap_baseline"),
                    Baseline,
                ),
                bar(
                    "HashMap, 16 keys",
                    Crit("dispatch/hashmap_baseline16"),
                    Baseline,
                ),
            ],
        },
        PlotGroup {
            title: "JIT compile vs. interpreter decode, 50 opcodes",
            bars: vec![
                bar("Cranelift compile", Crit("jit/compile_50_ops"), Ours),
                bar(
                    "load + verify + decode",
                    Crit("jit/decode_50_ops"),
                    Baseline,
                ),
            ],
        },
        PlotGroup {
            title: "One request to the daemon",
            bars: vec![
                bar(
                    "tt daemon round trip",
                    Crit("daemon/round_trip_invoke"),
                    Ours,
                ),
                bar("raw echo server", Crit("daemon/round_trip_echo"), Baseline),
                bar("bash + nc -U → tt", Peer("daemon/nc_from_bash"), OldPath),
                bar(
                    "bash + nc -U → echo",
                    Peer("daemon/nc_from_bash_echo"),
                    OldPath,
                ),
                bar(
                    "Bash client send (ping + request)",
                    Peer("daemon/bash_client_send"),
                    OldPath,
                ),
            ],
        },
        PlotGroup {
            title: "Persistence, per instance",
            bars: vec![
                bar("single-row persist", Crit("persist/single"), Ours),
                bar("batched persist", Crit("persist/batch"), Ours),
                bar(
                    "raw SQLite, autocommit",
                    Crit("persist/raw_sqlite_single"),
                    Baseline,
                ),
                bar(
                    "raw SQLite, one transaction",
                    Crit("persist/raw_sqlite_batch"),
                    Baseline,
                ),
            ],
        },
    ]
}
