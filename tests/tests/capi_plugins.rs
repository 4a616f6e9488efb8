//! Plugins with C hosts: dlopen by the host (cross-plugin messaging, streaming, JSON plugin),
//! the runtime's loader (lazy loading, reports, Rust plugin, failing `TT_PluginInit`, the
//! `dladdr` rule), and a plugin linked with `-ltrashtalk`.

mod capi_support;

use std::path::Path;

use capi_support::*;

fn host(dir: &Path, name: &str) -> std::path::PathBuf {
    write_chunks_header(dir);
    compile_host(dir, name, &[Path::new(&format!("{name}.c"))], &[])
}

#[test]
fn cross_plugin_messaging_streaming_and_json_plugin_in_a_dlopen_host() {
    let dir = scratch("plugins_dlopen");
    let exe = host(&dir, "capi_plugins");
    let out = run(&exe, &dir, &[plugin_dir().to_str().unwrap()]);
    assert!(assert_ok(&out) > 40, "{out}");
}

#[test]
fn lazy_loading_and_load_reports() {
    let dir = scratch("loader_lazy");
    let exe = host(&dir, "capi_loader");
    assert!(assert_ok(&run(&exe, &dir, &["lazy", plugin_dir().to_str().unwrap()])) > 10);
}

#[test]
fn the_rust_counter_plugin_binds_through_the_c_abi() {
    let dir = scratch("loader_rust");
    let exe = host(&dir, "capi_loader");
    let so = counter_rs_plugin();
    assert!(assert_ok(&run(&exe, &dir, &["rust", so.to_str().unwrap()])) > 8);
}

#[test]
fn a_failing_plugin_init_unregisters_its_classes() {
    let dir = scratch("loader_initfail");
    let exe = host(&dir, "capi_loader");
    let so = compile_plugin(&dir, "initfail.so", &[Path::new("plugin_initfail.c")], &[]);
    assert!(assert_ok(&run(&exe, &dir, &["initfail", so.to_str().unwrap()])) > 5);
}

#[test]
fn plugin_init_of_a_dependency_is_ignored() {
    let dir = scratch("loader_dladdr");
    let exe = host(&dir, "capi_loader");
    compile_plugin(&dir, "libinitdep.so", &[Path::new("plugin_initdep.c")], &[]);
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    let libdir = format!("-L{}", dir.display());
    let so = compile_plugin(
        &dir,
        "noinit.so",
        &[Path::new("plugin_noinit.c")],
        &[&libdir, "-linitdep", &rpath],
    );
    assert!(assert_ok(&run(&exe, &dir, &["dladdr", so.to_str().unwrap()])) > 2);
}

#[test]
fn a_plugin_linked_with_ltrashtalk_binds_to_the_loaded_copy() {
    let dir = scratch("ltrashtalk");
    let exe = host(&dir, "capi_ltrashtalk");
    let lib = lib_dir();
    let src = Path::new(tt_plugin_native::C_SOURCE_DIR).join("counter.c");
    let so = compile_plugin(
        &dir,
        "counter_linked.so",
        &[&src],
        &[&format!("-L{}", lib.display()), "-ltrashtalk"],
    );
    // The plugin really depends on the library (DT_NEEDED), by its versioned SONAME.
    if let Ok(out) = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("[{SONAME}]")), "{text}");
    } else {
        tt_testkit::skip::skip(
            concat!(
                module_path!(),
                "::a_plugin_linked_with_ltrashtalk_binds_to_the_loaded_copy"
            ),
            "`readelf` is not installed: the DT_NEEDED check did not run",
        );
    }
    assert!(assert_ok(&run(&exe, &dir, &[so.to_str().unwrap()])) > 5);
}
