//! The C types of the ABI (docs/spec/c-abi.md §2), with the LP64 layouts of §2.1 asserted by tests.
//!
//! The tag of [`TTValue`] is a plain `c_int`, never a Rust `enum`: foreign code may pass any
//! value, and an unknown tag must be reported (`invalid TTValue type <n>`), not be undefined
//! behaviour.

use std::ffi::{c_char, c_int};

/// Opaque instance handle. See `docs/capi.md`: a `*mut TTInstance` is the address of the vm
/// [`tt_vm::Instance`] (the data pointer of the `Arc` the object space holds).
#[repr(C)]
pub struct TTInstance {
    _private: [u8; 0],
}

/// Opaque block handle: the address of the vm [`tt_vm::Block`] (the data pointer of the `Arc`
/// the block registry holds).
#[repr(C)]
pub struct TTBlock {
    _private: [u8; 0],
}

/// Opaque, reserved (never produced, docs/spec/c-abi.md §10).
#[repr(C)]
pub struct TTArray {
    _private: [u8; 0],
}

/// `TTValueType` (a C `int`-sized enum in the header).
pub type TTValueType = c_int;

/// `TT_TYPE_NIL`.
pub const TT_TYPE_NIL: TTValueType = 0;
/// `TT_TYPE_INT`.
pub const TT_TYPE_INT: TTValueType = 1;
/// `TT_TYPE_FLOAT`.
pub const TT_TYPE_FLOAT: TTValueType = 2;
/// `TT_TYPE_STRING`.
pub const TT_TYPE_STRING: TTValueType = 3;
/// `TT_TYPE_BOOL`.
pub const TT_TYPE_BOOL: TTValueType = 4;
/// `TT_TYPE_INSTANCE`.
pub const TT_TYPE_INSTANCE: TTValueType = 5;
/// `TT_TYPE_BLOCK`.
pub const TT_TYPE_BLOCK: TTValueType = 6;
/// `TT_TYPE_ARRAY` (reserved).
pub const TT_TYPE_ARRAY: TTValueType = 7;
/// `TT_TYPE_ERROR`.
pub const TT_TYPE_ERROR: TTValueType = 8;

/// The payload of a [`TTValue`] (the header's anonymous union).
#[repr(C)]
#[derive(Clone, Copy)]
pub union TTValuePayload {
    /// INT; BOOL (0 or 1).
    pub int_val: i64,
    /// FLOAT.
    pub float_val: f64,
    /// STRING; ERROR (the message).
    pub string_val: *const c_char,
    /// INSTANCE.
    pub instance_val: *mut TTInstance,
    /// BLOCK.
    pub block_val: *mut TTBlock,
    /// ARRAY (reserved).
    pub array_val: *mut TTArray,
}

/// `TTValue`: 16 bytes, tag at 0, explicit zeroed padding at 4, payload at 8.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TTValue {
    /// The type tag (`TT_TYPE_*`); any value may arrive from C.
    pub type_: TTValueType,
    /// Padding: ignored on input, written as 0.
    pub pad: u32,
    /// The payload selected by `type_`.
    pub payload: TTValuePayload,
}

impl TTValue {
    /// NIL.
    pub const NIL: TTValue = TTValue {
        type_: TT_TYPE_NIL,
        pad: 0,
        payload: TTValuePayload { int_val: 0 },
    };

    /// An INT.
    #[inline]
    pub const fn int(i: i64) -> TTValue {
        TTValue {
            type_: TT_TYPE_INT,
            pad: 0,
            payload: TTValuePayload { int_val: i },
        }
    }

    /// A FLOAT.
    #[inline]
    pub const fn float(f: f64) -> TTValue {
        TTValue {
            type_: TT_TYPE_FLOAT,
            pad: 0,
            payload: TTValuePayload { float_val: f },
        }
    }

    /// A BOOL (`intVal` 0 or 1).
    #[inline]
    pub const fn bool(b: bool) -> TTValue {
        TTValue {
            type_: TT_TYPE_BOOL,
            pad: 0,
            payload: TTValuePayload { int_val: b as i64 },
        }
    }

    /// A value of `type_` whose payload is the pointer `p` (STRING, ERROR, INSTANCE, BLOCK).
    #[inline]
    pub(crate) fn with_ptr(type_: TTValueType, p: *const c_char) -> TTValue {
        TTValue {
            type_,
            pad: 0,
            payload: TTValuePayload { string_val: p },
        }
    }

    /// A STRING pointing at a string the caller keeps alive (for passing values *into* the
    /// library, which copies what it keeps; never return such a value from a method).
    #[inline]
    pub fn borrowed_str(p: *const c_char) -> TTValue {
        TTValue::with_ptr(TT_TYPE_STRING, p)
    }

    /// An INSTANCE wrapping a handle.
    #[inline]
    pub fn instance(h: *mut TTInstance) -> TTValue {
        TTValue {
            type_: TT_TYPE_INSTANCE,
            pad: 0,
            payload: TTValuePayload { instance_val: h },
        }
    }

    /// A BLOCK wrapping a handle.
    #[inline]
    pub fn block(h: *mut TTBlock) -> TTValue {
        TTValue {
            type_: TT_TYPE_BLOCK,
            pad: 0,
            payload: TTValuePayload { block_val: h },
        }
    }
}

impl std::fmt::Debug for TTValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every payload member is 8 bytes of plain data: reading it as an integer is always
        // defined (no pointer is dereferenced).
        let raw = self.bits();
        write!(f, "TTValue {{ type: {}, payload: {raw:#x} }}", self.type_)
    }
}

impl TTValue {
    /// The payload's 8 bytes as an integer (no pointer is dereferenced).
    #[inline]
    pub fn bits(&self) -> u64 {
        // SAFETY: all union members are 8-byte plain data (integers, a float, raw pointers);
        // every bit pattern of the payload is a valid `i64`.
        unsafe { self.payload.int_val as u64 }
    }

    /// The payload read as `int_val`.
    #[inline]
    pub fn int_val(&self) -> i64 {
        self.bits() as i64
    }

    /// The payload read as `float_val`.
    #[inline]
    pub fn float_val(&self) -> f64 {
        f64::from_bits(self.bits())
    }

    /// The payload read as a pointer (`stringVal`, `instanceVal`, `blockVal`, `arrayVal`).
    #[inline]
    pub fn ptr_val<T>(&self) -> *mut T {
        self.bits() as usize as *mut T
    }
}

/// `TTValue (*TTMethodFunc)(TTInstance* self, TTValue* args, int numArgs)`; `None` = NULL.
pub type TTMethodFunc = Option<
    unsafe extern "C" fn(this: *mut TTInstance, args: *mut TTValue, num_args: c_int) -> TTValue,
>;

pub use tt_host::reflect::{TT_METHOD_BASH_FALLBACK, TT_METHOD_CLASS_METHOD, TT_METHOD_NATIVE};

/// One method table entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TTMethodEntry {
    /// Selector, either spelling (`setValue:` or `setValue_`).
    pub selector: *const c_char,
    /// The implementation; NULL entries without `TT_METHOD_BASH_FALLBACK` are ignored.
    pub impl_: TTMethodFunc,
    /// Declared argument count (`< 0` = any).
    pub num_args: c_int,
    /// `TT_METHOD_*` bits.
    pub flags: u32,
}

/// A class's method tables.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TTMethodTable {
    /// Instance-side entries.
    pub instance_methods: *mut TTMethodEntry,
    /// Number of instance-side entries.
    pub num_instance_methods: c_int,
    /// Class-side entries.
    pub class_methods: *mut TTMethodEntry,
    /// Number of class-side entries.
    pub num_class_methods: c_int,
}

/// An interned selector (`0` = invalid).
pub type TTSel = u32;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn ttvalue_layout_matches_section_2_1() {
        assert_eq!(size_of::<TTValue>(), 16);
        assert_eq!(align_of::<TTValue>(), 8);
        assert_eq!(offset_of!(TTValue, type_), 0);
        assert_eq!(size_of::<TTValueType>(), 4);
        assert_eq!(offset_of!(TTValue, pad), 4);
        assert_eq!(offset_of!(TTValue, payload), 8);
        assert_eq!(size_of::<TTValuePayload>(), 8);
    }

    #[test]
    fn method_entry_layout_matches_section_2_1() {
        assert_eq!(size_of::<TTMethodEntry>(), 24);
        assert_eq!(align_of::<TTMethodEntry>(), 8);
        assert_eq!(offset_of!(TTMethodEntry, selector), 0);
        assert_eq!(offset_of!(TTMethodEntry, impl_), 8);
        assert_eq!(offset_of!(TTMethodEntry, num_args), 16);
        assert_eq!(offset_of!(TTMethodEntry, flags), 20);
        // `Option<extern fn>` is pointer-sized with NULL as `None`.
        assert_eq!(size_of::<TTMethodFunc>(), 8);
    }

    #[test]
    fn method_table_layout_matches_section_2_1() {
        assert_eq!(size_of::<TTMethodTable>(), 32);
        assert_eq!(align_of::<TTMethodTable>(), 8);
        assert_eq!(offset_of!(TTMethodTable, instance_methods), 0);
        assert_eq!(offset_of!(TTMethodTable, num_instance_methods), 8);
        assert_eq!(offset_of!(TTMethodTable, class_methods), 16);
        assert_eq!(offset_of!(TTMethodTable, num_class_methods), 24);
    }

    #[test]
    fn constructors_zero_the_padding() {
        for v in [
            TTValue::NIL,
            TTValue::int(-1),
            TTValue::float(2.5),
            TTValue::bool(true),
        ] {
            assert_eq!(v.pad, 0);
        }
        assert_eq!(TTValue::bool(true).int_val(), 1);
        assert_eq!(TTValue::float(2.5).float_val(), 2.5);
        assert_eq!(TTSel::default(), 0);
    }
}
