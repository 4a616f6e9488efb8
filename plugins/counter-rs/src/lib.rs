//! `Counter` as a Rust plugin (`libtt_plugin_counter_rs.so`).
//!
//! It uses the runtime **only through the C ABI**: the `TT_*` functions are declared
//! `extern "C"` below and left undefined at link time; `dlopen(RTLD_NOW | RTLD_GLOBAL)` binds
//! them to the runtime already in the process (the `tt` daemon, a C host linked with
//! `-ltrashtalk`, or `libtrashtalk.so` loaded with `RTLD_GLOBAL`). It does not depend on the
//! `trashtalk` crate: linking that would embed a second runtime. The few ABI types it needs are
//! re-declared with the layouts of docs/spec/c-abi.md §2.1.
//!
//! Class `Counter`, ivars `value` (index 0) and `step` (index 1): `initialize`, `increment`,
//! `getValue`, `setValue:`, `incrementBy:`, `reset`, and class-side `description`.
//! Registration happens in `TT_PluginInit`, which is idempotent.
#![allow(non_snake_case)]

use std::ffi::{c_char, c_int};
use std::sync::Once;

/// Opaque instance handle.
#[repr(C)]
pub struct TTInstance {
    _private: [u8; 0],
}

const TT_TYPE_NIL: c_int = 0;
const TT_TYPE_INT: c_int = 1;
const TT_METHOD_NATIVE: u32 = 1;
const TT_METHOD_CLASS_METHOD: u32 = 4;

/// `TTValue` (16 bytes: tag, padding, 8-byte payload).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TTValue {
    type_: c_int,
    pad: u32,
    payload: u64,
}

impl TTValue {
    fn int(i: i64) -> TTValue {
        TTValue {
            type_: TT_TYPE_INT,
            pad: 0,
            payload: i as u64,
        }
    }
}

type TTMethodFunc = unsafe extern "C" fn(*mut TTInstance, *mut TTValue, c_int) -> TTValue;

#[repr(C)]
struct TTMethodEntry {
    selector: *const c_char,
    imp: Option<TTMethodFunc>,
    num_args: c_int,
    flags: u32,
}

#[repr(C)]
struct TTMethodTable {
    instance_methods: *mut TTMethodEntry,
    num_instance_methods: c_int,
    class_methods: *mut TTMethodEntry,
    num_class_methods: c_int,
}

unsafe extern "C" {
    fn TT_RegisterClass(
        class_name: *mut c_char,
        superclass: *mut c_char,
        instance_vars: *mut *mut c_char,
        num_vars: c_int,
        methods: *mut TTMethodTable,
    );
    fn TT_GetIVarByIndex(inst: *mut TTInstance, index: c_int) -> TTValue;
    fn TT_SetIVarByIndex(inst: *mut TTInstance, index: c_int, val: TTValue);
    fn TT_ValueAsInt(val: TTValue) -> i64;
    fn TT_ReleaseValue(val: TTValue);
    fn TT_MakeString(s: *mut c_char) -> TTValue;
    fn TT_MakeInstance(inst: *mut TTInstance) -> TTValue;
}

const VALUE: c_int = 0;
const STEP: c_int = 1;

/// Reads an integer ivar (nil → `default`).
///
/// # Safety
/// `this` is a valid instance handle (the receiver of a running method).
unsafe fn ivar_int(this: *mut TTInstance, index: c_int, default: i64) -> i64 {
    // SAFETY: valid handle per the contract; the copy we get is released once.
    unsafe {
        let v = TT_GetIVarByIndex(this, index);
        let n = if v.type_ == TT_TYPE_NIL {
            default
        } else {
            TT_ValueAsInt(v)
        };
        TT_ReleaseValue(v);
        n
    }
}

unsafe extern "C" fn initialize(this: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: the runtime passes the receiver's valid handle.
    unsafe {
        TT_SetIVarByIndex(this, VALUE, TTValue::int(0));
        TT_SetIVarByIndex(this, STEP, TTValue::int(1));
        TT_MakeInstance(this)
    }
}

unsafe extern "C" fn increment(this: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: the runtime passes the receiver's valid handle.
    unsafe {
        let v = ivar_int(this, VALUE, 0).wrapping_add(ivar_int(this, STEP, 1));
        TT_SetIVarByIndex(this, VALUE, TTValue::int(v));
        TTValue::int(v)
    }
}

unsafe extern "C" fn get_value(this: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: valid handle; the returned copy is moved to the runtime.
    unsafe { TT_GetIVarByIndex(this, VALUE) }
}

unsafe extern "C" fn set_value(this: *mut TTInstance, args: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: numArgs is 1, so the runtime passes at least one (NIL-padded) argument.
    unsafe {
        TT_SetIVarByIndex(this, VALUE, *args);
        TT_MakeInstance(this)
    }
}

unsafe extern "C" fn increment_by(this: *mut TTInstance, args: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: numArgs is 1 (see `set_value`); valid receiver handle.
    unsafe {
        let v = ivar_int(this, VALUE, 0).wrapping_add(TT_ValueAsInt(*args));
        TT_SetIVarByIndex(this, VALUE, TTValue::int(v));
        TTValue::int(v)
    }
}

unsafe extern "C" fn reset(this: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: valid receiver handle.
    unsafe {
        TT_SetIVarByIndex(this, VALUE, TTValue::int(0));
        TT_MakeInstance(this)
    }
}

unsafe extern "C" fn description(_: *mut TTInstance, _: *mut TTValue, _: c_int) -> TTValue {
    // SAFETY: a static NUL-terminated string, copied by TT_MakeString.
    unsafe { TT_MakeString(c"Counter (Rust plugin)".as_ptr() as *mut c_char) }
}

fn entry(
    selector: &'static std::ffi::CStr,
    imp: TTMethodFunc,
    num_args: c_int,
    flags: u32,
) -> TTMethodEntry {
    TTMethodEntry {
        selector: selector.as_ptr(),
        imp: Some(imp),
        num_args,
        flags,
    }
}

fn register() {
    let mut instance_methods = [
        entry(c"initialize", initialize, 0, TT_METHOD_NATIVE),
        entry(c"increment", increment, 0, TT_METHOD_NATIVE),
        entry(c"getValue", get_value, 0, TT_METHOD_NATIVE),
        entry(c"setValue:", set_value, 1, TT_METHOD_NATIVE),
        entry(c"incrementBy:", increment_by, 1, TT_METHOD_NATIVE),
        entry(c"reset", reset, 0, TT_METHOD_NATIVE),
    ];
    let mut class_methods = [entry(
        c"description",
        description,
        0,
        TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD,
    )];
    let mut table = TTMethodTable {
        instance_methods: instance_methods.as_mut_ptr(),
        num_instance_methods: instance_methods.len() as c_int,
        class_methods: class_methods.as_mut_ptr(),
        num_class_methods: class_methods.len() as c_int,
    };
    let mut ivars = [
        c"value".as_ptr() as *mut c_char,
        c"step".as_ptr() as *mut c_char,
    ];
    // SAFETY: every pointer is valid for the call; the runtime copies the table and strings.
    unsafe {
        TT_RegisterClass(
            c"Counter".as_ptr() as *mut c_char,
            c"Object".as_ptr() as *mut c_char,
            ivars.as_mut_ptr(),
            ivars.len() as c_int,
            &mut table,
        );
    }
}

static REGISTER: Once = Once::new();

/// Registers `Counter` (once; later calls do nothing). Returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn TT_PluginInit() -> c_int {
    REGISTER.call_once(register);
    0
}
