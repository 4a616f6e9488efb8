//! `TT_RegisterClass` and the wrapper that turns a C `TTMethodFunc` into a runtime method.
//!
//! Each C entry becomes a [`MethodImpl::Native`] closure around a [`CMethod`]. Calling it:
//! converts the arguments to `TTValue`s (strings lent for the call), pads them with NIL up to
//! the declared `numArgs`, passes the receiver's handle (`NULL` for class methods), then takes
//! ownership of the returned `TTValue` (its string is freed with `free()`); an ERROR result
//! fails the send with its message. No runtime lock is held during the C call.
//!
//! The closures' data pointers are also recorded in a side table, so the send fast path
//! ([`crate::sends`]) can recognise a C method and call it without converting values twice.

use std::ffi::{c_char, c_int};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use parking_lot::RwLock;
use smallvec::SmallVec;
use tt_vm::object::ClassDef;
use tt_vm::{MethodImpl, NativeFn, Runtime, Side, Value};

use crate::convert::{Keep, c_str, take_result, to_tt_borrowed};
use crate::error::{CapiError, CapiResult, guard};
use crate::types::*;

/// A C method implementation with its declared argument count.
#[derive(Clone, Copy, Debug)]
pub struct CMethod {
    /// The C function.
    pub func: unsafe extern "C" fn(*mut TTInstance, *mut TTValue, c_int) -> TTValue,
    /// Declared argument count; `< 0` = any.
    pub num_args: c_int,
}

impl CMethod {
    /// Calls the C function with runtime values (see the module docs).
    pub fn invoke(&self, this: &Value, args: &[Value]) -> CapiResult<Value> {
        let handle = this
            .as_instance()
            .map_or(std::ptr::null_mut(), crate::convert::instance_handle);
        let mut keep = Keep::new();
        let n = args.len().max(self.num_args.max(0) as usize);
        let mut buf: SmallVec<[TTValue; 4]> = SmallVec::with_capacity(n.max(1));
        for a in args {
            buf.push(to_tt_borrowed(a, &mut keep));
        }
        buf.resize(n.max(1), TTValue::NIL);
        // SAFETY: `func` is a C function with the TTMethodFunc signature (registration
        // contract); `buf` holds `n` valid values (plus one spare slot when n == 0) whose
        // strings live in `keep` until after the call; `handle` is NULL or the receiver's
        // handle, kept alive by `this`.
        let ret = unsafe { (self.func)(handle, buf.as_mut_ptr(), n as c_int) };
        drop(keep);
        // SAFETY: the returned value is moved to us (docs/spec/c-abi.md §7).
        unsafe { take_result(ret) }
    }

    /// Calls the C function with `TTValue` arguments supplied by a C caller (the send fast
    /// path): no conversion to runtime values and back, in either direction (see
    /// [`crate::convert::take_result_tt`]). BOOL arguments are normalized to 0/1.
    ///
    /// # Safety
    /// `args` satisfies [`crate::convert::from_tt`]'s contract for each of its values, and
    /// `this` is the receiver's handle (or NULL), kept alive by the caller.
    #[inline]
    pub unsafe fn invoke_raw(
        &self,
        this: *mut TTInstance,
        args: &[TTValue],
    ) -> CapiResult<TTValue> {
        let n = args.len().max(self.num_args.max(0) as usize);
        if n == 0 {
            // A readable NIL behind the pointer, for methods that look before checking `n`.
            let mut none = TTValue::NIL;
            // SAFETY: as in `invoke`; no arguments.
            let ret = unsafe { (self.func)(this, &mut none, 0) };
            // SAFETY: the returned value is moved to us (docs/spec/c-abi.md §7).
            return unsafe { crate::convert::take_result_tt(ret) };
        }
        if n <= 4 {
            let mut buf = [TTValue::NIL; 4];
            for (slot, a) in buf.iter_mut().zip(args) {
                *slot = normalize_arg(a)?;
            }
            // SAFETY: as in `invoke`; `buf` holds `n` ≤ 4 valid values (NIL-padded) whose
            // strings belong to the C caller and stay valid for the duration of the call.
            let ret = unsafe { (self.func)(this, buf.as_mut_ptr(), n as c_int) };
            // SAFETY: the returned value is moved to us (docs/spec/c-abi.md §7).
            return unsafe { crate::convert::take_result_tt(ret) };
        }
        let mut buf: SmallVec<[TTValue; 4]> = SmallVec::with_capacity(n);
        for a in args {
            buf.push(normalize_arg(a)?);
        }
        buf.resize(n, TTValue::NIL);
        // SAFETY: as in `invoke`; the argument strings belong to the C caller and stay valid
        // for the duration of the call.
        let ret = unsafe { (self.func)(this, buf.as_mut_ptr(), n as c_int) };
        // SAFETY: the returned value is moved to us (docs/spec/c-abi.md §7).
        unsafe { crate::convert::take_result_tt(ret) }
    }
}

/// One argument from a C caller, as a method receives it: tag checked, BOOL 0/1, NULL
/// handles as NIL, NULL strings as `""`; an ERROR fails the call with its message.
#[inline(always)]
fn normalize_arg(a: &TTValue) -> CapiResult<TTValue> {
    let mut v = *a;
    v.pad = 0;
    match v.type_ {
        TT_TYPE_NIL | TT_TYPE_INT | TT_TYPE_FLOAT => {}
        TT_TYPE_BOOL => v = TTValue::bool(v.int_val() != 0),
        TT_TYPE_INSTANCE | TT_TYPE_BLOCK if v.ptr_val::<u8>().is_null() => v = TTValue::NIL,
        TT_TYPE_INSTANCE | TT_TYPE_BLOCK => {}
        TT_TYPE_STRING if v.ptr_val::<c_char>().is_null() => {
            v = TTValue::with_ptr(TT_TYPE_STRING, c"".as_ptr())
        }
        TT_TYPE_STRING => {}
        TT_TYPE_ARRAY if v.ptr_val::<TTArray>().is_null() => {
            v = TTValue::with_ptr(TT_TYPE_STRING, c"[]".as_ptr())
        }
        TT_TYPE_ERROR => {
            // SAFETY: ERROR payload is NULL or a NUL-terminated string (caller contract).
            let m = unsafe { crate::convert::c_str_or_empty(v.ptr_val()) };
            return Err(CapiError::ErrorValue(m.into_owned()));
        }
        t => return Err(CapiError::InvalidType(t)),
    }
    Ok(v)
}

/// Data pointers of the closures wrapping C methods → the C method, sorted by key. The table
/// also holds a reference to each closure, so an address is never reused by another closure.
static C_METHODS: RwLock<Vec<(usize, CMethod, NativeFn)>> = RwLock::new(Vec::new());

/// Lock-free index over [`C_METHODS`] for the send fast path: open addressing, linear probing,
/// entries written once (value first, then the key with release ordering) and never removed.
/// When it is half full, further C methods are found through the locked table only.
struct FastIndex {
    keys: [AtomicUsize; FAST_SLOTS],
    funcs: [AtomicUsize; FAST_SLOTS],
    nargs: [AtomicI32; FAST_SLOTS],
}

const FAST_SLOTS: usize = 1 << 13;

static FAST: FastIndex = FastIndex {
    keys: [const { AtomicUsize::new(0) }; FAST_SLOTS],
    funcs: [const { AtomicUsize::new(0) }; FAST_SLOTS],
    nargs: [const { AtomicI32::new(0) }; FAST_SLOTS],
};
static FAST_LEN: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn slot_of(key: usize) -> usize {
    ((key as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 13)) as usize
}

impl FastIndex {
    /// Call with the `C_METHODS` write lock held (one writer at a time).
    fn insert(&self, key: usize, cm: CMethod) {
        if FAST_LEN.load(Ordering::Relaxed) >= FAST_SLOTS / 2 {
            return;
        }
        let mut i = slot_of(key);
        loop {
            let k = self.keys[i].load(Ordering::Relaxed);
            if k == key {
                return;
            }
            if k == 0 {
                self.funcs[i].store(cm.func as usize, Ordering::Relaxed);
                self.nargs[i].store(cm.num_args, Ordering::Relaxed);
                self.keys[i].store(key, Ordering::Release);
                FAST_LEN.fetch_add(1, Ordering::Relaxed);
                return;
            }
            i = (i + 1) & (FAST_SLOTS - 1);
        }
    }

    #[inline]
    fn get(&self, key: usize) -> Option<CMethod> {
        let mut i = slot_of(key);
        loop {
            let k = self.keys[i].load(Ordering::Acquire);
            if k == key {
                let f = self.funcs[i].load(Ordering::Relaxed);
                // SAFETY: `f` was stored from a `CMethod::func` (a non-null function pointer of
                // this exact type) before the key was published with release ordering.
                let func = unsafe {
                    std::mem::transmute::<
                        usize,
                        unsafe extern "C" fn(*mut TTInstance, *mut TTValue, c_int) -> TTValue,
                    >(f)
                };
                return Some(CMethod {
                    func,
                    num_args: self.nargs[i].load(Ordering::Relaxed),
                });
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & (FAST_SLOTS - 1);
        }
    }
}

/// The identity of a native method closure (its data pointer).
#[inline]
pub fn native_key(f: &NativeFn) -> usize {
    Arc::as_ptr(f.closure()) as *const () as usize
}

/// The C method wrapped by a native closure, if it wraps one.
#[inline]
pub fn c_method_of(f: &NativeFn) -> Option<CMethod> {
    let key = native_key(f);
    FAST.get(key).or_else(|| c_method_slow(key))
}

#[cold]
fn c_method_slow(key: usize) -> Option<CMethod> {
    let table = C_METHODS.read();
    table
        .binary_search_by_key(&key, |e| e.0)
        .ok()
        .map(|i| table[i].1)
}

fn wrap(cm: CMethod) -> MethodImpl {
    let f =
        NativeFn::new(
            move |_rt: &Runtime, this: &Value, args: &[Value]| Ok(cm.invoke(this, args)?),
        );
    let key = native_key(&f);
    let mut table = C_METHODS.write();
    let at = table.partition_point(|e| e.0 < key);
    table.insert(at, (key, cm, f.clone()));
    FAST.insert(key, cm);
    MethodImpl::Native(f)
}

/// Reads one side's entries. Returns the methods and whether an entry had a NULL selector.
///
/// # Safety
/// `entries` is NULL or points to `n` readable entries whose selectors are NULL or
/// NUL-terminated.
unsafe fn read_entries(
    entries: *const TTMethodEntry,
    n: c_int,
) -> (Vec<(String, MethodImpl)>, bool) {
    let mut out = Vec::new();
    let mut bad = false;
    if entries.is_null() || n <= 0 {
        return (out, bad);
    }
    // SAFETY: `n` readable entries per the contract.
    let entries = unsafe { std::slice::from_raw_parts(entries, n as usize) };
    for e in entries {
        // SAFETY: selector is NULL or NUL-terminated.
        let Some(sel) = (unsafe { c_str(e.selector) }).filter(|s| !s.is_empty()) else {
            bad = true;
            continue;
        };
        let imp = if e.flags & TT_METHOD_BASH_FALLBACK != 0 {
            MethodImpl::BashFallback {
                reason: "TT_METHOD_BASH_FALLBACK".into(),
            }
        } else if let Some(func) = e.impl_ {
            wrap(CMethod {
                func,
                num_args: e.num_args,
            })
        } else {
            continue;
        };
        out.push((sel.into_owned(), imp));
    }
    (out, bad)
}

/// Registers or replaces a class from copied C data (the Rust side of `TT_RegisterClass`).
pub fn register_class(
    name: &str,
    superclass: Option<&str>,
    ivars: Vec<String>,
    instance_methods: Vec<(String, MethodImpl)>,
    class_methods: Vec<(String, MethodImpl)>,
) -> CapiResult<()> {
    if name.is_empty() {
        return Err(CapiError::InvalidClassName);
    }
    let rt = Runtime::global();
    rt.define_class(ClassDef {
        name: name.to_owned(),
        superclass: superclass.filter(|s| !s.is_empty()).map(str::to_owned),
        ivars,
        ..ClassDef::default()
    })?;
    rt.set_methods(name, Side::Instance, instance_methods)?;
    rt.set_methods(name, Side::Class, class_methods)?;
    tt_host::plugin::record_class(name);
    Ok(())
}

/// `void TT_RegisterClass(char* className, char* superclass, char** instanceVars, int numVars,
/// TTMethodTable* methods)`: registers or replaces a class; everything is copied. Works before
/// `TT_Init`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `instanceVars` is NULL or holds `numVars` string
/// pointers; `methods` is NULL or points to a valid table whose arrays hold the given counts.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_RegisterClass(
    class_name: *const c_char,
    superclass: *const c_char,
    instance_vars: *const *mut c_char,
    num_vars: c_int,
    methods: *const TTMethodTable,
) {
    guard(|| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let name = unsafe { c_str(class_name) }
            .filter(|s| !s.is_empty())
            .ok_or(CapiError::InvalidClassName)?;
        // SAFETY: as above.
        let sup = unsafe { c_str(superclass) };
        let mut ivars = Vec::new();
        if !instance_vars.is_null() && num_vars > 0 {
            // SAFETY: `numVars` readable pointers per the contract.
            let names = unsafe { std::slice::from_raw_parts(instance_vars, num_vars as usize) };
            for &p in names {
                // SAFETY: each is NULL or NUL-terminated.
                if let Some(n) = unsafe { c_str(p) }.filter(|s| !s.is_empty()) {
                    ivars.push(n.into_owned());
                }
            }
        }
        let (mut inst, mut cls, mut bad) = (Vec::new(), Vec::new(), false);
        // SAFETY: NULL or a valid table per the contract.
        if let Some(t) = unsafe { methods.as_ref() } {
            // SAFETY: the arrays hold the given counts.
            let (i, b1) = unsafe { read_entries(t.instance_methods, t.num_instance_methods) };
            // SAFETY: as above.
            let (c, b2) = unsafe { read_entries(t.class_methods, t.num_class_methods) };
            (inst, cls, bad) = (i, c, b1 || b2);
        }
        register_class(&name, sup.as_deref(), ivars, inst, cls)?;
        if bad {
            return Err(CapiError::InvalidSelector);
        }
        Ok(())
    })
}
