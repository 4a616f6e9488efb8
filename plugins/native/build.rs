//! Compiles the C plugins of `c/` into shared objects in `$OUT_DIR/plugins/`, one file per
//! class name so the directory works as a lazy-loading plugin directory (`<Class>.so`):
//!
//! | file | source | classes |
//! |---|---|---|
//! | `Counter.so` | `c/counter.c` | Counter |
//! | `EventDispatcher.so` (+ symlink `Event.so`) | `c/events.c` | Event, EventDispatcher |
//! | `Stream.so` | `c/stream.c` | Stream |
//! | `JsonCounter.so` | `c/json_counter.c` | (JSON dispatch only) |
//! | `BenchTarget.so` | `c/bench_target.c` | BenchTarget |
//!
//! They are built with `-shared -fPIC` and leave every `TT_*` symbol undefined: the build script
//! cannot depend on the `libtrashtalk.so` artifact, and at `dlopen(RTLD_NOW | RTLD_GLOBAL)` the
//! symbols bind to the runtime already in the process (see `docs/plugins.md`). The directory is
//! exported to the crate as `TT_NATIVE_PLUGIN_DIR` (see `src/lib.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

const PLUGINS: &[(&str, &str)] = &[
    ("counter.c", "Counter"),
    ("events.c", "EventDispatcher"),
    ("stream.c", "Stream"),
    ("json_counter.c", "JsonCounter"),
    ("bench_target.c", "BenchTarget"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("plugins");
    std::fs::create_dir_all(&out).expect("create plugin dir");
    let include = manifest.join("../../capi/include");
    let ext = if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        "dylib"
    } else {
        "so"
    };

    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rerun-if-changed={}",
        include.join("libtrashtalk.h").display()
    );
    let compiler = cc::Build::new()
        .opt_level(2)
        .pic(true)
        .warnings(true)
        .cargo_metadata(false)
        .get_compiler();
    for (src, class) in PLUGINS {
        let src = manifest.join("c").join(src);
        println!("cargo:rerun-if-changed={}", src.display());
        let dst = out.join(format!("{class}.{ext}"));
        compile(&compiler, &src, &include, &dst);
    }
    // `Event` lives in EventDispatcher's file: a second name for lazy loading by `Event`.
    let link = out.join(format!("Event.{ext}"));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("EventDispatcher.{ext}"), &link).expect("symlink Event");

    println!("cargo:rustc-env=TT_NATIVE_PLUGIN_DIR={}", out.display());
    println!(
        "cargo:rustc-env=TT_NATIVE_C_DIR={}",
        manifest.join("c").display()
    );
    println!(
        "cargo:rustc-env=TT_CAPI_INCLUDE_DIR={}",
        include.canonicalize().unwrap_or(include.clone()).display()
    );
}

fn compile(compiler: &cc::Tool, src: &Path, include: &Path, dst: &Path) {
    let mut cmd: Command = compiler.to_command();
    cmd.arg("-std=c11")
        .arg("-shared")
        .arg("-fPIC")
        .arg("-Wall")
        .arg("-Wextra")
        .arg("-Werror")
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(dst)
        .arg(src)
        .arg("-lpthread");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        cmd.arg("-undefined").arg("dynamic_lookup");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler for {}: {e}", src.display()));
    assert!(
        status.success(),
        "compiling {} failed ({status})",
        src.display()
    );
}
