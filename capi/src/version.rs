//! The library's version (`TT_Version`, `TT_VersionNumber`), from the crate version: the
//! header's `TT_VERSION_*` macros carry the same numbers (kept in sync by
//! `tests/tests/capi_header.rs`), and the SONAME is `libtrashtalk.so.<major>` (`build.rs`).

use std::ffi::{c_char, c_int};

use crate::error::guard_with;

/// `"MAJOR.MINOR.PATCH"` with its NUL, in static storage.
const VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// `MAJOR * 10000 + MINOR * 100 + PATCH` (the header's `TT_VERSION_NUMBER`).
pub fn version_number() -> c_int {
    let part = |s: &str| s.parse::<c_int>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}

/// `const char* TT_Version(void)`: the library's version, `"MAJOR.MINOR.PATCH"`. Static
/// storage owned by the library (never freed by the caller); never NULL; works before
/// `TT_Init`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_Version() -> *const c_char {
    guard_with(
        |_| VERSION_C.as_ptr().cast(),
        || Ok(VERSION_C.as_ptr().cast()),
    )
}

/// `int TT_VersionNumber(void)`: the library's version as `MAJOR * 10000 + MINOR * 100 +
/// PATCH`, to compare with the header's `TT_VERSION_NUMBER`. Works before `TT_Init`.
#[unsafe(no_mangle)]
pub extern "C" fn TT_VersionNumber() -> c_int {
    guard_with(|_| version_number(), || Ok(version_number()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(TT_Version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        let mut parts = env!("CARGO_PKG_VERSION")
            .split(['.', '-', '+'])
            .map(|p| p.parse::<c_int>().unwrap());
        let (a, b, c) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!(TT_VersionNumber(), a * 10000 + b * 100 + c);
    }
}
