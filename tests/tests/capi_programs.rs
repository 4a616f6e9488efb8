//! C host programs (`tests/c/capi_*.c`) compiled against `libtrashtalk.h`, linked with
//! `-ltrashtalk`, and run; each prints `ok <n> checks` or the failed checks.

mod capi_support;

use capi_support::compile_and_run;

#[test]
fn calls_before_init_fail_except_the_listed_ones() {
    assert!(compile_and_run("capi_preinit", &[]) > 60);
}

#[test]
fn classes_instances_ivars_sends_inheritance_reflection() {
    assert!(compile_and_run("capi_objects", &[]) > 90);
}

#[test]
fn errors_null_and_invalid_handles_and_per_thread_last_error() {
    assert!(compile_and_run("capi_errors", &[]) > 60);
}

#[test]
fn values_cross_the_boundary_with_their_types() {
    assert!(compile_and_run("capi_values", &[]) > 50);
}

#[test]
fn blocks_from_ttbc_worked_examples() {
    assert!(compile_and_run("capi_blocks", &[]) > 60);
}

#[test]
fn persistence_serialize_load_deserialize_and_close() {
    assert!(compile_and_run("capi_persist", &[]) > 30);
}

#[test]
fn bash_fallback_through_the_bridge() {
    use capi_support::*;
    let dir = scratch("capi_persist_bridge");
    let lib = dir.join("home").join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("trash.bash"),
        r#"@() {
  case "$2" in
    fail) echo oops >&2; return 3 ;;
    session) printf '%s\n' "$TRASH_SESSION_ID" ;;
    answer) echo 42 ;;
    *) local r=$1 s=$2; shift 2; local IFS='|'; printf '%s %s %s\n' "$r" "$s" "$*" ;;
  esac
}
"#,
    )
    .unwrap();
    write_chunks_header(&dir);
    let exe = compile_host(
        &dir,
        "capi_persist",
        &[std::path::Path::new("capi_persist.c")],
        &[],
    );
    assert!(assert_ok(&run(&exe, &dir, &["bridge"])) > 5);
}

#[test]
fn sends_from_two_threads_at_once() {
    assert!(compile_and_run("capi_threads", &[]) > 6);
}

#[test]
fn a_million_calls_of_every_string_returning_function_keep_rss_flat() {
    use capi_support::*;
    let dir = scratch("capi_rss");
    write_chunks_header(&dir);
    let exe = compile_host(&dir, "capi_rss", &[std::path::Path::new("capi_rss.c")], &[]);
    let out = run(&exe, &dir, &["1000000"]);
    println!("{out}");
    assert!(assert_ok(&out) > 20);
}

#[test]
fn the_chunk_writer_reproduces_the_worked_example() {
    use capi_support::{chunk, hex};
    // docs/spec/ttbc.md §13.1 `[:x :y | x + y]`
    assert_eq!(
        hex(&chunk(
            &[0x22, 0x00, 0x22, 0x01, 0x50, 0xF0],
            &[],
            &["x", "y"],
            0,
            &[]
        )),
        "5454424300010000000000062200220150F000000201780179000000"
    );
    // docs/spec/ttbc.md §13.3 `[x , '!']`, one capture
    assert_eq!(
        hex(&chunk(
            &[0x30, 0x00, 0x10, 0x00, 0x00, 0x70, 0xF0],
            &[b"!"],
            &[],
            0,
            &[("x", 0, 0)]
        )),
        "545442430001000200000007300010000070F000010001210000010178000000"
    );
}

#[test]
fn interrupt_deadline_and_memory_limit_stop_runaway_blocks_in_both_tiers() {
    assert!(compile_and_run("capi_limits", &[]) > 15);
}
