//! Requests are transactions (issue #15, docs/spec/daemon-protocol.md §15): a native method
//! that reaches a method with no native body (a raw Bash method, one that did not compile, a
//! selector or class only the Bash side has) must not leave half its work behind. The daemon
//! installs [`NoBash`] as the runtime's Bash fallback, so such a send never runs Bash from
//! inside a request: it records that the request needs Bash and fails; the handler then rolls
//! the request back ([`Request::rollback`]) and answers 200, and the Bash runtime runs the whole
//! send itself, once.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use tt_vm::runtime::BashFallback;
use tt_vm::{Error, Runtime};

thread_local! {
    /// The first send of the current request that needed Bash: (receiver, selector).
    static NEEDS_BASH: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// The daemon's Bash fallback: records the send and fails (never runs Bash).
#[derive(Debug, Default)]
pub struct NoBash;

impl BashFallback for NoBash {
    fn call(&self, receiver: &str, selector: &str, _args: &[String]) -> Result<String, Error> {
        NEEDS_BASH.with(|n| {
            let mut n = n.borrow_mut();
            if n.is_none() {
                *n = Some((receiver.to_owned(), selector.to_owned()));
            }
        });
        Err(Error::not_found(format!(
            "needs the Bash runtime: {receiver} {selector}"
        )))
    }
}

/// Installs [`NoBash`] into `rt`.
pub fn install(rt: &Runtime) {
    rt.set_bash_fallback(Some(Arc::new(NoBash)));
}

/// What a request may have to undo: the instances resident before it began.
#[derive(Debug)]
pub struct Request {
    resident: HashSet<String>,
}

thread_local! {
    /// The request running on this thread.
    static CURRENT: RefCell<Option<Request>> = const { RefCell::new(None) };
}

/// Starts the request of this thread (see [`Request::begin`]).
pub fn begin(rt: &Runtime) {
    let r = Request::begin(rt);
    CURRENT.with(|c| *c.borrow_mut() = Some(r));
}

/// When the request of this thread reached Bash: rolls it back and returns the send that
/// needed Bash. `None` (nothing undone) otherwise.
pub fn abort_if_needs_bash(rt: &Runtime) -> Option<(String, String)> {
    CURRENT.with(|c| {
        let cur = c.borrow();
        let r = cur.as_ref()?;
        let needed = r.needs_bash()?;
        r.rollback(rt);
        Some(needed)
    })
}

/// Rolls back the request of this thread whatever stopped it (a deadline, a memory budget,
/// shutdown: docs/limits.md); nothing when no request is running.
pub fn rollback_current(rt: &Runtime) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow().as_ref() {
            r.rollback(rt);
        }
    });
}

impl Request {
    /// Starts a request: forgets an earlier request's Bash mark, notes the resident ids.
    pub fn begin(rt: &Runtime) -> Request {
        NEEDS_BASH.with(|n| n.borrow_mut().take());
        tt_host::store::track(rt, true);
        Request {
            resident: rt
                .resident_instances()
                .iter()
                .map(|i| i.id().to_owned())
                .collect(),
        }
    }

    /// The send that needed Bash during this request, if any.
    pub fn needs_bash(&self) -> Option<(String, String)> {
        NEEDS_BASH.with(|n| n.borrow().clone())
    }

    /// Undoes the request's changes to instances: instances created during it are released
    /// and their rows deleted (those saved during the request and not loaded from the store);
    /// instances loaded during it are released; resident instances it modified get their stored state back (or are
    /// released when they have no row).
    pub fn rollback(&self, rt: &Runtime) {
        let tracked = tt_host::store::tracked(rt);
        for inst in rt.resident_instances() {
            let id = inst.id().to_owned();
            if !self.resident.contains(&id) {
                // `new` saves at once (TT_New semantics): the row of an instance created in
                // this request goes with it; one loaded from the store keeps its row.
                if tracked.saved.contains(&id) && !tracked.loaded.contains(&id) {
                    let _ = tt_host::store::delete_row(rt, &id);
                }
                rt.release(&id);
            } else if inst.is_dirty() {
                match tt_host::store::load(rt, &id) {
                    Ok(_) => inst.set_dirty(false),
                    Err(_) => {
                        rt.release(&id);
                    }
                }
            }
        }
    }
}
