//! Gives `libtrashtalk.so` its versioned SONAME, `libtrashtalk.so.<major>` (the crate's major
//! version; `docs/capi.md` "Install"), so a plugin or host linked with `-ltrashtalk` records
//! `DT_NEEDED libtrashtalk.so.<major>` and binds to the copy already loaded in the process
//! (glibc matches `DT_NEEDED` against loaded objects' SONAMEs). `tt` carries the same SONAME
//! (`daemon/build.rs`). `capi/install.sh` installs the library as
//! `libtrashtalk.so.<major>.<minor>.<patch>` with the `libtrashtalk.so.<major>` and
//! `libtrashtalk.so` links.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match target_os.as_str() {
        "macos" | "ios" => println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libtrashtalk.{major}.dylib"
        ),
        _ => println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtrashtalk.so.{major}"),
    }
}
