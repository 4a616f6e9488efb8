//! Sends: `TT_Send` (receiver text), `TT_SendDirect` (handle + selector text), `TT_SendSel`
//! (handle + interned selector), `TT_Intern`.
//!
//! # Fast path
//!
//! A send to an instance handle goes straight to the dispatcher's per-selector inline cache
//! ([`Runtime::api_site`]). When the method found is a C method ([`crate::classes`]), the
//! caller's `TTValue` arguments are handed to it as they are (no round trip through runtime
//! values); other native methods are called directly; everything else (bytecode methods, Bash
//! fallback, errors, class and block receivers) takes the runtime's general send.
//!
//! `TT_SendDirect` and `TT_Send` remember, per thread, the last few selector pointers they
//! were given with a copy of their text: a repeated send with the same selector string costs a
//! pointer compare and a `strcmp` instead of normalizing and hashing. `TT_Send` likewise
//! remembers the last receiver ids it resolved (checked with `strcmp` and the instance's
//! released flag).

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tt_dispatch::{Sel, Side, intern, selector_name};
use tt_vm::block::BLOCK_ID_PREFIX;
use tt_vm::runtime::is_class_name;
use tt_vm::{Instance, MethodImpl, Runtime, Value};

use crate::classes::c_method_of;
use crate::convert::{args_from, c_str, c_str_or_empty, instance_borrowed, instance_handle, to_tt};
use crate::error::{CapiError, CapiResult, guard};
use crate::lifecycle::require_init;
use crate::send_cache;
use crate::types::*;

/// Highest selector id known to be issued (ids are dense and never freed, so every id up to
/// it is valid).
static MAX_ISSUED: AtomicU32 = AtomicU32::new(0);

/// Validates a `TTSel` (0 or never issued → `invalid selector`).
#[inline]
pub fn check_sel(sel: TTSel) -> CapiResult<Sel> {
    if sel != 0 && sel <= MAX_ISSUED.load(Ordering::Relaxed) {
        return Ok(Sel(sel));
    }
    check_sel_slow(sel)
}

#[cold]
fn check_sel_slow(sel: TTSel) -> CapiResult<Sel> {
    if sel != 0 && selector_name(Sel(sel)).is_some() {
        MAX_ISSUED.fetch_max(sel, Ordering::Relaxed);
        Ok(Sel(sel))
    } else {
        Err(CapiError::InvalidSelector)
    }
}

const SEL_WAYS: usize = 4;

struct SelCache {
    entries: [(usize, Sel, Option<CString>); SEL_WAYS],
    next: usize,
}

thread_local! {
    static SELS: RefCell<SelCache> = const {
        RefCell::new(SelCache { entries: [const { (0, Sel(0), None) }; SEL_WAYS], next: 0 })
    };
}

/// Interns a selector given as a C string, through the per-thread pointer cache.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
#[inline]
pub unsafe fn sel_from_ptr(p: *const c_char) -> CapiResult<Sel> {
    if p.is_null() {
        return Err(CapiError::InvalidSelector);
    }
    let hit = SELS.with(|c| {
        let c = c.borrow();
        c.entries.iter().find_map(|(ptr, sel, text)| match text {
            // SAFETY: `p` and the cached copy are both NUL-terminated.
            Some(t) if *ptr == p as usize && unsafe { libc::strcmp(p, t.as_ptr()) } == 0 => {
                Some(*sel)
            }
            _ => None,
        })
    });
    match hit {
        Some(s) => Ok(s),
        // SAFETY: forwarded contract.
        None => unsafe { sel_miss(p) },
    }
}

#[cold]
unsafe fn sel_miss(p: *const c_char) -> CapiResult<Sel> {
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let text = unsafe { CStr::from_ptr(p) };
    let sel = intern(&String::from_utf8_lossy(text.to_bytes()));
    if !sel.is_valid() {
        return Err(CapiError::InvalidSelector);
    }
    MAX_ISSUED.fetch_max(sel.0, Ordering::Relaxed);
    SELS.with(|c| {
        let mut c = c.borrow_mut();
        let i = c.next;
        c.entries[i] = (p as usize, sel, Some(text.to_owned()));
        c.next = (i + 1) % SEL_WAYS;
    });
    Ok(sel)
}

/// Sends to a runtime value (the general path, with the instance fast path first).
pub fn send_value(rt: &Runtime, recv: &Value, sel: Sel, args: &[Value]) -> CapiResult<Value> {
    if let Some(inst) = recv.as_instance() {
        inst.check_live()?;
        if let Some(cid) = inst.class_id()
            && let Some(m) = rt
                .api_site(sel)
                .and_then(|site| site.lookup(rt.dispatch(), cid, Side::Instance))
            && let MethodImpl::Native(f) = &m.imp
        {
            return Ok(f(rt, recv, args)?);
        }
    }
    Ok(rt.send_sel(recv, sel, args)?)
}

/// Sends to an instance with arguments straight from C (the fast path of `TT_SendSel` and
/// `TT_SendDirect`). `inst` is kept alive by the strong reference for the whole call.
///
/// # Safety
/// `args` is NULL or points to `n` values following the `TTValue` input rules.
#[inline(always)]
pub unsafe fn send_instance_raw(
    rt: &Runtime,
    inst: &Arc<Instance>,
    sel: Sel,
    args: *const TTValue,
    n: c_int,
) -> CapiResult<TTValue> {
    inst.check_live()?;
    // Read before the lookup: a fill keyed with it is never newer than what the lookup saw.
    let epoch = send_cache::epoch_now();
    if let Some(cid) = inst.class_id()
        && let Some(m) = rt
            .api_site(sel)
            .and_then(|site| site.lookup(rt.dispatch(), cid, Side::Instance))
        && let MethodImpl::Native(f) = &m.imp
        && let Some(cm) = c_method_of(f)
    {
        if let Some(e) = epoch {
            send_cache::fill(e, inst.cache_class(), sel.0, cm);
        }
        // SAFETY: argument contract forwarded; the handle stays valid because the caller
        // holds a strong reference or is pinned until the call returns.
        return unsafe { cm.invoke_raw(instance_handle(inst), raw_args(args, n)) };
    }
    // SAFETY: argument contract forwarded.
    let args = unsafe { args_from(args, n) }?;
    let recv = Value::instance(inst.clone());
    Ok(to_tt(&send_value(rt, &recv, sel, &args)?))
}

/// The C caller's argument array as a slice (empty for NULL or a count ≤ 0).
///
/// # Safety
/// `args` is NULL or points to `n` readable values that outlive the result.
#[inline(always)]
unsafe fn raw_args<'a>(args: *const TTValue, n: c_int) -> &'a [TTValue] {
    if args.is_null() || n <= 0 {
        &[]
    } else {
        // SAFETY: `n` readable values per the contract.
        unsafe { std::slice::from_raw_parts(args, n as usize) }
    }
}

/// `TTValue TT_SendSel(TTInstance* receiver, TTSel sel, TTValue* args, int numArgs)`.
///
/// # Safety
/// `receiver` is NULL or a valid handle; `args` is NULL or holds `numArgs` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SendSel(
    receiver: *mut TTInstance,
    sel: TTSel,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    {
        // The pin keeps the receiver alive while its method runs, even if another thread
        // releases it meanwhile (docs/spec/c-abi.md §3.3 `TT_Release`; tt_vm::pin). Pinning cannot
        // panic (it allocates a slot once per thread: out of memory aborts).
        let _pin = tt_vm::pin::pin();
        // SAFETY: NULL or a valid handle per the contract; pinned; argument contract
        // forwarded.
        if let Some(cm) = unsafe { send_cache::probe(receiver, sel) }
            // SAFETY: `cm` answers this receiver and selector; the receiver is pinned and
            // the argument contract is forwarded.
            && let Some(ret) = unsafe { call_cached(cm, receiver, args, num_args) }
        {
            // SAFETY: the method's result is moved to us (docs/spec/c-abi.md §7).
            return unsafe { cached_result(ret) };
        }
    }
    // SAFETY: forwarded contract.
    unsafe { send_sel_general(receiver, sel, args, num_args) }
}

/// `TT_SendSel` through the general path (everything the C send cache does not answer).
///
/// # Safety
/// As `TT_SendSel`.
#[inline(never)]
unsafe fn send_sel_general(
    receiver: *mut TTInstance,
    sel: TTSel,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    guard(|| {
        let rt = require_init()?;
        let sel = check_sel(sel)?;
        let _pin = tt_vm::pin::pin();
        // SAFETY: NULL or a valid handle per the contract; pinned for the whole call.
        let Some(inst) = (unsafe { instance_borrowed(receiver) }) else {
            return Err(CapiError::NilInstance);
        };
        // SAFETY: argument contract forwarded.
        unsafe { send_instance_raw(rt, &inst, sel, args, num_args) }
    })
}

/// Calls a C method found in the C send cache when the caller's arguments need no
/// normalising (docs/spec/c-abi.md §5: no BOOL, NULL handle or string, ARRAY or ERROR among them) and
/// the call needs at most 4 argument slots; `None` (nothing called) otherwise. The method gets
/// a copy of the arguments, NIL-padded to its declared count, or one readable NIL when it has
/// none — exactly what [`crate::classes::CMethod::invoke_raw`] passes. No code here can panic.
///
/// # Safety
/// `receiver` is the (pinned) receiver's handle; `args` is NULL or holds `n` values.
#[inline(always)]
unsafe fn call_cached(
    cm: crate::classes::CMethod,
    receiver: *mut TTInstance,
    args: *const TTValue,
    n: c_int,
) -> Option<TTValue> {
    // SAFETY: forwarded contract.
    let given = unsafe { raw_args(args, n) };
    let want = given.len().max(cm.num_args.max(0) as usize);
    if want == 0 {
        let mut none = TTValue::NIL;
        // SAFETY: a C function with the TTMethodFunc signature (registration contract), the
        // receiver's valid handle, a readable NIL.
        return Some(unsafe { (cm.func)(receiver, &mut none, 0) });
    }
    if want > 4 {
        return None;
    }
    let mut buf = [TTValue::NIL; 4];
    for (slot, a) in buf.iter_mut().zip(given) {
        let plain = match a.type_ {
            TT_TYPE_NIL | TT_TYPE_INT | TT_TYPE_FLOAT => true,
            TT_TYPE_INSTANCE | TT_TYPE_BLOCK | TT_TYPE_STRING => !a.ptr_val::<u8>().is_null(),
            _ => false,
        };
        if !plain {
            return None;
        }
        *slot = TTValue { pad: 0, ..*a };
    }
    // SAFETY: as above; `buf` holds `want` valid values whose strings belong to the C caller
    // and stay valid for the duration of the call.
    Some(unsafe { (cm.func)(receiver, buf.as_mut_ptr(), want as c_int) })
}

/// A cached C method's result as the sender receives it: NIL, INT and FLOAT inline, the rest
/// through [`crate::convert::take_result_tt`] (guarded: an ERROR result sets the last error).
///
/// # Safety
/// `ret` was just returned by a C method (its string, if any, is ours).
#[inline(always)]
unsafe fn cached_result(ret: TTValue) -> TTValue {
    match ret.type_ {
        TT_TYPE_NIL | TT_TYPE_INT | TT_TYPE_FLOAT => TTValue { pad: 0, ..ret },
        // SAFETY: forwarded ownership contract.
        _ => guard(|| unsafe { crate::convert::take_result_tt(ret) }),
    }
}

/// `TTValue TT_SendDirect(TTInstance* inst, char* selector, TTValue* args, int numArgs)`.
///
/// # Safety
/// `inst` is NULL or a valid handle; `selector` is NULL or NUL-terminated; `args` is NULL or
/// holds `numArgs` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_SendDirect(
    inst: *mut TTInstance,
    selector: *const c_char,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    if !inst.is_null() {
        // Pinned: the receiver stays alive while its method runs (see TT_SendSel).
        let _pin = tt_vm::pin::pin();
        // SAFETY: NULL or NUL-terminated per the contract (an invalid selector is reported
        // by the general path, in its order of checks); the handle is valid per the contract
        // and pinned; argument contract forwarded.
        if let Ok(sel) = unsafe { sel_from_ptr(selector) }
            // SAFETY: the handle is valid per the contract and pinned.
            && let Some(cm) = unsafe { send_cache::probe(inst, sel.0) }
            // SAFETY: `cm` answers this receiver and selector; the receiver is pinned and
            // the argument contract is forwarded.
            && let Some(ret) = unsafe { call_cached(cm, inst, args, num_args) }
        {
            // SAFETY: the method's result is moved to us (docs/spec/c-abi.md §7).
            return unsafe { cached_result(ret) };
        }
    }
    // SAFETY: forwarded contract.
    unsafe { send_direct_general(inst, selector, args, num_args) }
}

/// `TT_SendDirect` through the general path.
///
/// # Safety
/// As `TT_SendDirect`.
#[inline(never)]
unsafe fn send_direct_general(
    inst: *mut TTInstance,
    selector: *const c_char,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    guard(|| {
        let rt = require_init()?;
        // Pinned: the receiver stays alive while its method runs (see TT_SendSel).
        let _pin = tt_vm::pin::pin();
        // SAFETY: NULL or a valid handle per the contract; pinned for the whole call.
        let Some(inst) = (unsafe { instance_borrowed(inst) }) else {
            return Err(CapiError::NilInstance);
        };
        // SAFETY: NULL or NUL-terminated per the contract.
        let sel = unsafe { sel_from_ptr(selector) }?;
        // SAFETY: argument contract forwarded.
        unsafe { send_instance_raw(rt, &inst, sel, args, num_args) }
    })
}

const RECV_WAYS: usize = 2;

/// A receiver id (as given) and the resident instance it named.
type RecvEntry = Option<(CString, Arc<Instance>)>;

thread_local! {
    static RECEIVERS: RefCell<[RecvEntry; RECV_WAYS]> =
        const { RefCell::new([const { None }; RECV_WAYS]) };
}

/// The resident instance named by `id`, through the per-thread receiver cache.
fn resident(rt: &Runtime, id: &CStr) -> Option<Arc<Instance>> {
    let hit = RECEIVERS.with(|c| {
        c.borrow().iter().flatten().find_map(|(text, inst)| {
            (text.as_c_str() == id && !inst.is_released()).then(|| inst.clone())
        })
    });
    if hit.is_some() {
        return hit;
    }
    let inst = rt.resident_instance(std::str::from_utf8(id.to_bytes()).ok()?)?;
    RECEIVERS.with(|c| {
        let mut c = c.borrow_mut();
        c.rotate_right(1);
        c[0] = Some((id.to_owned(), inst.clone()));
    });
    Some(inst)
}

/// `TTValue TT_Send(char* receiver, char* selector, TTValue* args, int numArgs)`: receiver is
/// an instance id, a class name or a block id (docs/spec/c-abi.md §6).
///
/// # Safety
/// `receiver`/`selector` are NULL or NUL-terminated; `args` is NULL or holds `numArgs` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Send(
    receiver: *const c_char,
    selector: *const c_char,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let sel = unsafe { sel_from_ptr(selector) }?;
        let id: &CStr = if receiver.is_null() {
            c""
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            unsafe { CStr::from_ptr(receiver) }
        };
        let b = id.to_bytes();
        let special = b.starts_with(BLOCK_ID_PREFIX.as_bytes())
            || b.first().is_some_and(u8::is_ascii_uppercase)
            || (b.contains(&b':') && b.windows(2).any(|w| w == b"::"));
        let plain_id = !special;
        if plain_id && let Some(inst) = resident(rt, id) {
            // SAFETY: argument contract forwarded.
            return unsafe { send_instance_raw(rt, &inst, sel, args, num_args) };
        }
        // SAFETY: argument contract forwarded.
        let argv = unsafe { args_from(args, num_args) }?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let text = unsafe { c_str_or_empty(receiver) };
        debug_assert!(plain_id || is_class_name(&text) || text.starts_with(BLOCK_ID_PREFIX));
        let recv = Value::string(&text);
        Ok(to_tt(&send_value(rt, &recv, sel, &argv)?))
    })
}

/// `TTSel TT_Intern(const char* selector)`: the process-wide id of a (normalized) selector;
/// 0 with `invalid selector` for NULL or `""`. Works before `TT_Init`.
///
/// # Safety
/// `selector` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_Intern(selector: *const c_char) -> TTSel {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let s = unsafe { c_str(selector) }.ok_or(CapiError::InvalidSelector)?;
        let sel = intern(&s);
        if !sel.is_valid() {
            return Err(CapiError::InvalidSelector);
        }
        MAX_ISSUED.fetch_max(sel.0, Ordering::Relaxed);
        Ok(sel.0)
    })
}
