//! Blocks (docs/spec/c-abi.md §5.1): `TT_RegisterBlock`, `TT_LookupBlock`, `TT_InvokeBlock`,
//! `TT_InvokeBlockDirect`.

use std::ffi::{c_char, c_int};

use tt_vm::block::{block_not_found, registry};

use crate::convert::{
    block_borrowed, block_handle, c_str_or_empty, from_tt, malloc_str, to_tt, with_args,
};
use crate::error::{CapiError, guard};
use crate::lifecycle::require_init;
use crate::types::*;

/// `char* TT_RegisterBlock(uint8_t* bytecodeData, size_t bytecodeLen, TTValue** captures,
/// int numCaptures)`: loads and verifies a TTBC chunk; returns its new id (caller frees).
/// Each non-NULL capture pointer gives the initial value of one by-value cell.
///
/// # Safety
/// `bytecode_data` is NULL or points to `bytecode_len` readable bytes; `captures` is NULL or
/// holds `numCaptures` pointers, each NULL or pointing to a value following the input rules.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_RegisterBlock(
    bytecode_data: *const u8,
    bytecode_len: usize,
    captures: *const *mut TTValue,
    num_captures: c_int,
) -> *mut c_char {
    guard(|| {
        let rt = require_init()?;
        let bytes: &[u8] = if bytecode_data.is_null() {
            &[]
        } else {
            // SAFETY: `bytecode_len` readable bytes per the contract.
            unsafe { std::slice::from_raw_parts(bytecode_data, bytecode_len) }
        };
        let mut cells = Vec::new();
        if !captures.is_null() && num_captures > 0 {
            // SAFETY: `numCaptures` readable pointers per the contract.
            let ptrs = unsafe { std::slice::from_raw_parts(captures, num_captures as usize) };
            for &p in ptrs {
                // SAFETY: each pointer is NULL or points to a valid input value.
                cells.push(match unsafe { p.as_ref() } {
                    // SAFETY: input value contract.
                    Some(v) => Some(unsafe { from_tt(v) }?),
                    None => None,
                });
            }
        }
        let b = rt.register_block(bytes, cells)?;
        Ok(malloc_str(&b.id_text()))
    })
}

/// `TTBlock* TT_LookupBlock(char* blockID)`: a borrowed handle, or NULL with
/// `block not found: <id>`.
///
/// # Safety
/// `block_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_LookupBlock(block_id: *const c_char) -> *mut TTBlock {
    guard(|| {
        require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(block_id) };
        let b = registry().lookup(&id).ok_or_else(|| block_not_found(&id))?;
        Ok(block_handle(&b))
    })
}

/// `TTValue TT_InvokeBlock(char* blockID, TTValue* args, int numArgs)`: an entry activation.
///
/// # Safety
/// `block_id` is NULL or NUL-terminated; `args` is NULL or holds `numArgs` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_InvokeBlock(
    block_id: *const c_char,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    guard(|| {
        let rt = require_init()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let id = unsafe { c_str_or_empty(block_id) };
        // SAFETY: argument contract forwarded.
        let r = unsafe { with_args(args, num_args, |a| rt.invoke_block_id(&id, a)) }?;
        Ok(to_tt(&r?))
    })
}

/// `TTValue TT_InvokeBlockDirect(TTBlock* block, TTValue* args, int numArgs)`.
///
/// # Safety
/// `block` is NULL or a valid handle; `args` is NULL or holds `numArgs` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TT_InvokeBlockDirect(
    block: *mut TTBlock,
    args: *const TTValue,
    num_args: c_int,
) -> TTValue {
    guard(|| {
        let rt = require_init()?;
        // Pinned: the block stays alive while it runs, even if another thread releases it
        // meanwhile (docs/spec/c-abi.md §3.3 `TT_Release`; tt_vm::pin).
        let _pin = tt_vm::pin::pin();
        // SAFETY: NULL or a valid handle per the contract; pinned for the whole call.
        let Some(b) = (unsafe { block_borrowed(block) }) else {
            return Err(CapiError::NilBlock);
        };
        // SAFETY: argument contract forwarded.
        let r = unsafe { with_args(args, num_args, |a| rt.invoke_block(&b, a)) }?;
        Ok(to_tt(&r?))
    })
}
