//! Target `request`: request lines through the daemon's parser and dispatcher, in-process.
//!
//! The input is split at newlines into at most [`MAX_LINES`] request lines, answered in order by
//! one process-wide runtime initialized as `tt daemon` initializes it ([`InProcess`]: a database
//! in the temporary directory, no plugins, the JIT installed), so a line can use what an earlier
//! line registered. Every answer must be one line holding a JSON object whose `exit_code` is 0,
//! 1 or 200, and never `internal error: …` (the handler's answer to a caught panic).
//!
//! **Bounded runs.** A `register` line whose chunk may loop ([`crate::exec::may_loop`]) is
//! skipped, since nothing stops a running request yet (issue #18, item 1).

use std::sync::OnceLock;

use serde_json::Value as Json;
use tt_daemon::inprocess::InProcess;
use tt_vm::ttbc::load;

use crate::exec::may_loop;

/// Most request lines taken from one input.
pub const MAX_LINES: usize = 16;

/// The process's in-process daemon.
fn daemon() -> &'static InProcess {
    static DAEMON: OnceLock<InProcess> = OnceLock::new();
    DAEMON.get_or_init(|| {
        let db = std::env::temp_dir().join(format!("tt-fuzz-request-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        InProcess::start(&db).expect("the runtime starts on a fresh database")
    })
}

/// True for a `register` request whose chunk may loop.
fn registers_a_loop(line: &[u8]) -> bool {
    let Ok(Json::Object(req)) = serde_json::from_slice::<Json>(line) else {
        return false;
    };
    if req.get("block_op").and_then(Json::as_str) != Some("register") {
        return false;
    }
    let Some(Ok(bytes)) = req
        .get("block_data")
        .and_then(Json::as_str)
        .map(hex::decode)
    else {
        return false;
    };
    load(&bytes).is_ok_and(|chunk| may_loop(&chunk))
}

/// Checks one answer line.
fn check(line: &[u8], answer: &[u8]) {
    let request = String::from_utf8_lossy(line);
    let Some((body, b"")) = answer
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| (&answer[..p], &answer[p + 1..]))
    else {
        panic!("answer is not exactly one line, for {request:?}");
    };
    let Ok(Json::Object(resp)) = serde_json::from_slice::<Json>(body) else {
        panic!("answer is not a JSON object, for {request:?}");
    };
    let code = resp.get("exit_code").and_then(Json::as_i64);
    assert!(
        matches!(code, Some(0 | 1 | 200)),
        "exit_code {code:?} for {request:?}"
    );
    if let Some(error) = resp.get("error").and_then(Json::as_str) {
        assert!(
            !error.starts_with("internal error"),
            "the handler caught a panic ({error}) for {request:?}"
        );
    }
}

/// Runs one input.
pub fn fuzz_request(data: &[u8]) {
    let daemon = daemon();
    for line in data.split(|&b| b == b'\n').take(MAX_LINES) {
        if registers_a_loop(line) {
            continue;
        }
        if let Some(answer) = daemon.answer(line) {
            check(line, &answer);
        }
    }
}
