//! Makes `tt` the process's `libtrashtalk` (docs/spec/c-abi.md §1 "one runtime per process"):
//!
//! * the `TT_*` (and `tt_private_*`) functions of the statically linked `trashtalk` crate are
//!   exported from the executable (`--dynamic-list`), so a plugin's references to them bind to
//!   the runtime inside `tt`;
//! * the executable carries the library's SONAME, `libtrashtalk.so.<major>` (the workspace
//!   version's major, as in `capi/build.rs`), so a plugin linked with `-ltrashtalk`
//!   (`DT_NEEDED libtrashtalk.so.<major>`) is satisfied by the already-loaded `tt` instead of
//!   loading a second copy of the library (glibc matches `DT_NEEDED` against loaded objects'
//!   SONAMEs).
//!
//! See `docs/daemon.md`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "macos" || os == "ios" {
        println!("cargo:rustc-link-arg-bins=-Wl,-export_dynamic");
        return;
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let list = out.join("tt-exports.list");
    std::fs::write(&list, "{\n  TT_*;\n  tt_private_*;\n};\n").expect("writing the export list");
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--dynamic-list={}",
        list.display()
    );
    // `tt` and `trashtalk` share the workspace version, so this is the library's SONAME.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-link-arg-bins=-Wl,-soname,libtrashtalk.so.{major}");
}
