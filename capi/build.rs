//! Gives `libtrashtalk.so` its unversioned SONAME (docs/spec/c-abi.md §1), so plugins linked with
//! `-ltrashtalk` bind to the copy already loaded in the process.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match target_os.as_str() {
        "macos" | "ios" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libtrashtalk.dylib")
        }
        _ => println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtrashtalk.so"),
    }
}
