//! Executes one request against the runtime (docs/spec/daemon-protocol.md §8).

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;
use tt_dispatch::{Side, lookup_selector, normalize_selector};
use tt_vm::block::registry;
use tt_vm::object::{is_valid_id, new_instance_id};
use tt_vm::{ErrorKind, Instance, MethodImpl, Value};

use crate::engine::Engine;
use tt_host::plugin::JsonDispatch;

use crate::plugins::{Ensure, call_dispatch};
use crate::protocol::{EXIT_FALLBACK, EXIT_OK, Request, Response};
use crate::typing::{StateDoc, json_to_value, state_fingerprint, value_to_json};

/// Executes a parsed request. Never panics on bad input; a panic inside the runtime or a
/// plugin's Rust code is caught and answered as `internal error: <message>`.
pub fn execute(engine: &Engine, req: &Request) -> Response {
    let start = Instant::now();
    // The request's deadline and memory budget (docs/limits.md), withdrawn when it ends.
    let limits = engine.request_limits();
    let _limits = tt_vm::limits::Scope::new(limits.timeout.map(|t| start + t), limits.memory);
    let resp =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute_inner(engine, req)))
        {
            Ok(r) => r,
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Response::error(format!("internal error: {msg}"))
            }
        };
    engine.profile().stage(
        "request_total",
        start.elapsed(),
        &format!("{} → {}", req.describe(), resp.exit_code),
    );
    resp
}

fn execute_inner(engine: &Engine, req: &Request) -> Response {
    engine.refresh_store();
    crate::transaction::begin(engine.rt());
    if !req.block_op.is_empty() {
        let resp = match req.block_op.as_str() {
            "register" => register(engine, req),
            "invoke" => invoke(engine, req),
            "serialize" => serialize(req),
            op => Response::error(format!("unknown block operation: {op}")),
        };
        return resp;
    }
    if req.class.is_empty() {
        return Response::fallback();
    }
    message(engine, req)
}

// ----- blocks ----------------------------------------------------------------------------------

/// Parses `block_captures`: `""`/`[]` = none; a JSON array of objects whose `value` member is
/// converted by docs/spec/persistence.md §5.2 (`null`/missing = empty cell).
fn parse_captures(text: &str) -> Result<Vec<Option<Value>>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Json::Array(items) = json else {
        return Err("captures are not a JSON array".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::Object(m) => Ok(match m.get("value") {
                None | Some(Json::Null) => None,
                Some(v) => Some(json_to_value(v)),
            }),
            _ => Err(format!("capture {i} is not a JSON object")),
        })
        .collect()
}

fn register(engine: &Engine, req: &Request) -> Response {
    let rt = engine.rt();
    let bytes = match hex::decode(&req.block_data) {
        Ok(b) => b,
        Err(e) => return Response::error(format!("invalid hex bytecode: {e}")),
    };
    let captures = match parse_captures(&req.block_captures) {
        Ok(c) => c,
        Err(detail) => {
            // The chunk is checked first (§8.4 order), so its error wins.
            if let Err(e) = tt_vm::ttbc::load_verified(&bytes) {
                return Response::error(format!("failed to deserialize bytecode: {e}"));
            }
            return Response::error(format!("invalid captures JSON: {detail}"));
        }
    };
    match rt.register_block(&bytes, captures) {
        Ok(b) => {
            let id = b.id_text();
            engine.trace().line(&format!("block register → {id}"));
            Response {
                block_id: id,
                ..Response::default()
            }
        }
        Err(e) if e.kind() == ErrorKind::Bytecode => {
            Response::error(format!("failed to deserialize bytecode: {}", e.message()))
        }
        Err(e) => Response::error(e.message()),
    }
}

fn invoke(engine: &Engine, req: &Request) -> Response {
    let Some(block) = registry().lookup(&req.block_id) else {
        engine.trace().line(&format!(
            "block invoke {}: not registered → fallback",
            req.block_id
        ));
        return Response::fallback();
    };
    let args: Vec<Value> = if req.block_data.trim().is_empty() {
        Vec::new()
    } else {
        match serde_json::from_str::<Vec<String>>(&req.block_data) {
            Ok(a) => a.iter().map(|s| Value::string(s)).collect(),
            Err(e) => return Response::error(format!("invalid args JSON: {e}")),
        }
    };
    let t = Instant::now();
    let result = engine.rt().invoke_block(&block, &args);
    engine
        .profile()
        .stage("tt_send", t.elapsed(), &format!("invoke {}", req.block_id));
    let resp = match result {
        Ok(v) => Response::native(v.text().into_owned()),
        Err(e) => Response::error(e.message()),
    };
    persist(engine, None, resp)
}

fn serialize(req: &Request) -> Response {
    if req.block_id.is_empty() {
        return Response::error("block_id is required");
    }
    let Some(block) = registry().lookup(&req.block_id) else {
        return Response::error(format!("block not found: {}", req.block_id));
    };
    let chunk = block.code().verified.chunk();
    let bytes = match tt_vm::ttbc::serialize(chunk) {
        Ok(b) => b,
        Err(e) => return Response::error(e.to_string()),
    };
    let cells: Vec<Json> = chunk
        .captures
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), value_to_json(&block.cell(i)));
            m.insert("name".into(), Json::String(d.name.clone()));
            m.insert("source".into(), Json::from(d.source as u8));
            Json::Object(m)
        })
        .collect();
    Response {
        result: Json::Array(cells).to_string(),
        exit_code: EXIT_OK,
        block_id: req.block_id.clone(),
        block_data: hex::encode(bytes),
        ..Response::default()
    }
}

// ----- messages --------------------------------------------------------------------------------

fn message(engine: &Engine, req: &Request) -> Response {
    let rt = engine.rt();
    engine.set_session(&req.session_id);
    let what = req.describe();

    let t = Instant::now();
    let ensured = engine.plugins().ensure(&req.class);
    engine
        .profile()
        .stage("plugin_ensure", t.elapsed(), &req.class);
    match &ensured {
        Ensure::Json { dispatch, path } => {
            let from = path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "a loaded plugin".into());
            engine
                .trace()
                .line(&format!("{what}: JSON dispatch ({from})"));
            let resp = json_dispatch(engine, dispatch, req);
            engine
                .trace()
                .line(&format!("{what}: plugin answered {}", resp.exit_code));
            return persist(engine, None, resp);
        }
        Ensure::Failed(msg) => {
            engine.debug(&format!("{what}: {msg}"));
            engine.trace().line(&format!("{what}: {msg}"));
        }
        Ensure::Loaded | Ensure::NoFile => {}
    }
    let Some(cid) = rt.dispatch().class_id(&req.class) else {
        engine.trace().line(&format!(
            "{what}: no plugin, class not registered → fallback"
        ));
        engine.debug(&format!(
            "{what} → fallback: no plugin, class not registered"
        ));
        return Response::fallback();
    };
    // Never intern selectors from the wire: one that was never interned has no method anywhere.
    let sel = lookup_selector(&req.selector).filter(|s| s.is_valid());
    let args: Vec<Value> = req.args.iter().map(|a| Value::string(a)).collect();
    let side = if req.instance.is_empty() {
        Side::Class
    } else {
        Side::Instance
    };
    let method = sel.and_then(|sel| rt.dispatch().lookup(cid, side, sel));
    let native = method.is_some_and(|m| !matches!(m.imp, MethodImpl::BashFallback { .. }));
    if !native
        && let Some(sel) = sel
        && method.is_some()
        && rt
            .method_pragmas(cid, side, sel)
            .iter()
            .any(|p| p == "procyonOnly")
    {
        // The Bash runtime's own error for a procyonOnly method without a native body (§14).
        return Response::error(format!(
            "Method '{}' requires the native Procyon plugin for {}.",
            req.selector, req.class
        ));
    }

    // Why a method found is not native (`--debug`).
    let why = match method.map(|m| &m.imp) {
        Some(MethodImpl::BashFallback { reason }) => reason.clone(),
        _ => "no such method".to_string(),
    };
    if side == Side::Class {
        let create = method.is_none() && &*normalize_selector(&req.selector) == "new";
        if !native && !create {
            engine
                .trace()
                .line(&format!("{what}: no native class method → fallback"));
            engine.debug(&format!("{what} → fallback: {why}"));
            return Response::fallback();
        }
        engine.trace().line(&format!("{what}: native method table"));
        let t = Instant::now();
        let result = if native {
            rt.send(&Value::string(&req.class), &req.selector, &args)
        } else {
            rt.new_instance(&req.class).map(Value::instance)
        };
        engine.profile().stage("tt_send", t.elapsed(), &what);
        let resp = match result {
            Ok(v) => Response::native(v.text().into_owned()),
            Err(e) => error_response(&e),
        };
        return persist(engine, None, resp);
    }

    if !native {
        engine
            .trace()
            .line(&format!("{what}: no native instance method → fallback"));
        engine.debug(&format!("{what} → fallback: {why}"));
        return Response::fallback();
    }
    // Transient receiver (§8.3).
    let ivars = rt.ivar_names(cid);
    let doc = match StateDoc::parse(&req.instance, &req.class, &ivars) {
        Ok(d) => d,
        Err(e) => return Response::error(e.to_string()),
    };
    let id = if !req.instance_id.is_empty() && is_valid_id(&req.instance_id) {
        req.instance_id.clone()
    } else {
        new_instance_id(&req.class)
    };
    let state = doc.state();
    let before = state_fingerprint(&state);
    let class_name = rt
        .dispatch()
        .class_name(cid)
        .unwrap_or_else(|| Arc::from(req.class.as_str()));
    let inst = Arc::new(Instance::new(
        id.clone(),
        class_name,
        Some(cid),
        doc.created_at(),
        state,
    ));
    rt.adopt_instance(inst.clone());
    engine.trace().line(&format!(
        "{what}: native method table, transient receiver {id}"
    ));
    let t = Instant::now();
    let result = rt.send(&Value::instance(inst.clone()), &req.selector, &args);
    engine.profile().stage("tt_send", t.elapsed(), &what);
    let after = inst.snapshot().ok();
    let result_text = result.as_ref().map(|v| v.text().into_owned());
    if rt
        .resident_instance(&id)
        .is_some_and(|r| Arc::ptr_eq(&r, &inst))
    {
        rt.release(&id);
    }
    let resp = match result_text {
        Ok(text) => {
            let mut r = Response::native(text);
            if let Some(after) = after.filter(|a| state_fingerprint(a) != before) {
                r.instance = doc.to_json(&after);
            }
            r
        }
        Err(e) => error_response(e),
    };
    persist(engine, Some(&id), resp)
}

/// A runtime error as a response: the not-found kind → 200, others → 1 with the message.
fn error_response(e: &tt_vm::Error) -> Response {
    if e.is_not_found() {
        Response::fallback()
    } else {
        Response::error(e.message())
    }
}

/// §8.2 step 5: saves what the request created or modified before the response is written.
/// A request stopped by its limits (deadline, memory budget, shutdown; docs/limits.md) saves
/// nothing and answers the limit's error. One whose code ran to its end before a deadline or
/// shutdown noticed keeps its answer; a spent memory budget always fails the request (values
/// past the budget were not made).
/// A request that reached a method with no native body is rolled back instead and answers
/// 200 (§15).
fn persist(engine: &Engine, except: Option<&str>, resp: Response) -> Response {
    if let Err(e) = tt_vm::limits::poll()
        && (resp.exit_code != EXIT_OK || e.kind() == ErrorKind::MemoryLimit)
    {
        // A stopped request is rolled back like one that reached Bash, but answers the error.
        crate::transaction::rollback_current(engine.rt());
        return limit_response(engine, &e);
    }
    if let Some((receiver, selector)) = crate::transaction::abort_if_needs_bash(engine.rt()) {
        let why = format!("{receiver} {selector} has no native body: rolled back → fallback");
        engine.debug(&why);
        engine.trace().line(&why);
        return Response::fallback();
    }
    match engine.persist_dirty(except) {
        Ok(()) => resp,
        Err(e) if resp.exit_code == EXIT_OK => Response::error(e.message()),
        Err(e) => {
            engine.debug(&format!("persist: {e}"));
            resp
        }
    }
}

/// The error of a request stopped by its limits, naming the limit.
fn limit_response(engine: &Engine, e: &tt_vm::Error) -> Response {
    let limits = engine.request_limits();
    let msg = match (e.kind(), limits.timeout, limits.memory) {
        (ErrorKind::DeadlineExceeded, Some(t), _) => format!(
            "{}: the request ran longer than {}s (--request-timeout); nothing was saved",
            e.message(),
            t.as_secs_f64()
        ),
        (ErrorKind::MemoryLimit, _, Some(m)) => format!(
            "{}: the request allocated more than {} MB (--request-memory); nothing was saved",
            e.message(),
            m >> 20
        ),
        (ErrorKind::Interrupted, _, _) => format!(
            "{}: the daemon is stopping; nothing of the request was saved",
            e.message()
        ),
        _ => format!("{}; nothing was saved", e.message()),
    };
    engine.debug(&msg);
    Response::error(msg)
}

/// Calls a JSON-dispatch plugin and maps its reply (§8.2 step 3).
fn json_dispatch(engine: &Engine, f: &JsonDispatch, req: &Request) -> Response {
    let instance = if req.instance.is_empty() {
        &req.class
    } else {
        &req.instance
    };
    let t = Instant::now();
    let args = serde_json::to_string(&req.args).unwrap_or_else(|_| "[]".into());
    engine.profile().stage(
        "json_marshal_args",
        t.elapsed(),
        &format!("{} args", req.args.len()),
    );
    let t = Instant::now();
    let reply = call_dispatch(f, instance, &req.selector, &args);
    engine
        .profile()
        .stage("ffi_dispatch", t.elapsed(), &req.describe());
    let Some(reply) = reply else {
        return Response::error("dispatch returned nil");
    };
    let t = Instant::now();
    let resp = map_dispatch_reply(&reply);
    engine.profile().stage(
        "json_unmarshal_resp",
        t.elapsed(),
        &format!("{} bytes", reply.len()),
    );
    resp
}

/// Maps a JSON-dispatch reply text to the daemon response.
pub fn map_dispatch_reply(reply: &str) -> Response {
    let obj = match serde_json::from_str::<Json>(reply) {
        Ok(Json::Object(m)) => m,
        Ok(_) => return Response::error("invalid dispatch response: not a JSON object"),
        Err(e) => return Response::error(format!("invalid dispatch response: {e}")),
    };
    let code = match obj.get("exit_code") {
        None | Some(Json::Null) => 0,
        Some(Json::Number(n)) => match n.to_string().parse::<i64>() {
            Ok(c) => c,
            Err(_) => return Response::error(format!("invalid dispatch response: exit_code {n}")),
        },
        Some(Json::String(s)) => match s.parse::<i64>() {
            Ok(c) => c,
            Err(_) => {
                return Response::error(format!("invalid dispatch response: exit_code {s:?}"));
            }
        },
        Some(other) => {
            return Response::error(format!("invalid dispatch response: exit_code {other}"));
        }
    };
    match code {
        0 => {
            let text_of = |v: Option<&Json>| match v {
                None | Some(Json::Null) => String::new(),
                Some(Json::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let mut r = Response::native(text_of(obj.get("result")));
            r.instance = text_of(obj.get("instance"));
            r
        }
        c if c == EXIT_FALLBACK as i64 => Response::fallback(),
        c => {
            let err = match obj.get("error") {
                Some(Json::String(s)) if !s.is_empty() => s.clone(),
                Some(v @ (Json::Number(_) | Json::Bool(_) | Json::Array(_) | Json::Object(_))) => {
                    v.to_string()
                }
                _ => format!("plugin returned exit code {c}"),
            };
            Response::error(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_replies_map_per_the_table() {
        let r =
            map_dispatch_reply(r#"{"exit_code":0,"result":5,"instance":{"class":"C","value":5}}"#);
        assert_eq!(
            (r.exit_code, r.result.as_str(), r.instance.as_str()),
            (0, "5", r#"{"class":"C","value":5}"#)
        );
        let r = map_dispatch_reply(r#"{"exit_code":0,"result":"x","instance":"{\"a\":1}"}"#);
        assert_eq!(r.instance, r#"{"a":1}"#);
        let r = map_dispatch_reply(r#"{"exit_code":0,"result":null,"instance":null}"#);
        assert_eq!(
            r.to_line(),
            b"{\"exit_code\":0,\"execution_mode\":\"native\"}\n"
        );
        assert_eq!(
            map_dispatch_reply(r#"{"exit_code":0,"result":true}"#).result,
            "true"
        );
        assert_eq!(
            map_dispatch_reply(r#"{"exit_code":200}"#),
            Response::fallback()
        );
        assert_eq!(
            map_dispatch_reply(r#"{"exit_code":1,"error":"boom"}"#),
            Response::error("boom")
        );
        assert_eq!(
            map_dispatch_reply(r#"{"exit_code":3}"#),
            Response::error("plugin returned exit code 3")
        );
        assert!(
            map_dispatch_reply("nope")
                .error
                .starts_with("invalid dispatch response: ")
        );
        assert!(
            map_dispatch_reply("[1]")
                .error
                .starts_with("invalid dispatch response: ")
        );
    }

    #[test]
    fn captures_parse_per_the_spec() {
        assert!(parse_captures("").unwrap().is_empty());
        assert!(parse_captures("[]").unwrap().is_empty());
        let c = parse_captures(r#"[{"value":"hi","name":"x"},{"value":null},{},{"value":42}]"#)
            .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].as_ref().unwrap().text(), "hi");
        assert!(c[1].is_none() && c[2].is_none());
        assert_eq!(c[3].as_ref().unwrap().as_int(), Some(42));
        assert!(parse_captures("not json").is_err());
        assert!(parse_captures("[1]").is_err());
        assert!(parse_captures("{}").is_err());
    }
}
