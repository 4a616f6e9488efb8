//! `capi/install.sh` installs what a C user expects (docs/capi.md "Install"), and a plugin and a
//! host build against the installed prefix with nothing but
//! `cc $(pkg-config --cflags --libs trashtalk)`:
//!
//! * the layout: `lib/libtrashtalk.so.X.Y.Z` (SONAME `libtrashtalk.so.X`), the links
//!   `libtrashtalk.so.X` and `libtrashtalk.so`, `include/libtrashtalk.h`,
//!   `lib/pkgconfig/trashtalk.pc`, and the debug info in `lib/.debug/`;
//! * the installed library is stripped and points at its debug file (`.gnu_debuglink`);
//! * the example Counter plugin (`plugins/native/c/counter.c`), built with the `.pc` flags,
//!   needs `libtrashtalk.so.X`, and a host built the same way loads it and runs it with only the
//!   prefix on the loader path.
//!
//! The install step runs with `--lib` on the library Cargo already built for these tests (a
//! nested `cargo build` would wait for the lock `cargo test` holds on the target directory); the
//! build step of the script is the plain `cargo build -p trashtalk --profile <p>`.

mod capi_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use capi_support::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sections(file: &Path) -> String {
    output(Command::new("readelf").arg("-S").arg("-W").arg(file))
}

/// Runs the install step into a fresh prefix; returns the prefix.
fn install(name: &str) -> PathBuf {
    let dir = scratch(name);
    let prefix = dir.join("prefix");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/install.sh");
    output(
        Command::new("bash")
            .arg(&script)
            .arg("--prefix")
            .arg(&prefix)
            .arg("--lib")
            .arg(lib_dir().join("libtrashtalk.so")),
    );
    prefix
}

#[test]
fn install_builds_a_plugin_and_host_with_pkg_config() {
    let name = concat!(
        module_path!(),
        "::install_builds_a_plugin_and_host_with_pkg_config"
    );
    for tool in ["pkg-config", "objcopy", "readelf"] {
        if !tt_testkit::skip::have_tool(tool) {
            tt_testkit::skip::skip(name, &format!("`{tool}` is not installed"));
            return;
        }
    }
    let prefix = install("install");
    let lib = prefix.join("lib");
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let real = format!("libtrashtalk.so.{VERSION}");

    // Layout and links.
    assert!(lib.join(&real).is_file());
    assert_eq!(
        std::fs::read_link(lib.join(SONAME)).unwrap(),
        PathBuf::from(&real)
    );
    assert_eq!(
        std::fs::read_link(lib.join("libtrashtalk.so")).unwrap(),
        PathBuf::from(SONAME)
    );
    assert_eq!(
        std::fs::read(prefix.join("include/libtrashtalk.h")).unwrap(),
        std::fs::read(include_dir().join("libtrashtalk.h")).unwrap()
    );
    let dynamic = output(Command::new("readelf").arg("-d").arg(lib.join(&real)));
    assert!(
        dynamic.contains(&format!("Library soname: [libtrashtalk.so.{major}]")),
        "{dynamic}"
    );

    // Stripped, with its debug info beside it.
    let debug = lib.join(".debug").join(format!("{real}.debug"));
    let installed = sections(&lib.join(&real));
    assert!(!installed.contains(".debug_info"), "{installed}");
    assert!(!installed.contains(".symtab"), "{installed}");
    assert!(installed.contains(".gnu_debuglink"), "{installed}");
    assert!(sections(&debug).contains(".debug_info"));
    let built = std::fs::metadata(lib_dir().join("libtrashtalk.so"))
        .unwrap()
        .len();
    assert!(std::fs::metadata(lib.join(&real)).unwrap().len() < built / 2);
    // The exports survive stripping.
    let dynsym = output(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(lib.join(&real)),
    );
    assert!(dynsym.contains(" TT_Version\n") && dynsym.contains(" TT_Send\n"));

    // pkg-config.
    let pc_path = lib.join("pkgconfig");
    let pkg_config = |args: &[&str]| -> Vec<String> {
        output(
            Command::new("pkg-config")
                .args(args)
                .arg("trashtalk")
                .env("PKG_CONFIG_PATH", &pc_path)
                .env_remove("PKG_CONFIG_LIBDIR")
                .env_remove("PKG_CONFIG_SYSROOT_DIR"),
        )
        .split_whitespace()
        .map(str::to_owned)
        .collect()
    };
    assert_eq!(pkg_config(&["--modversion"]), [VERSION]);
    let flags = pkg_config(&["--cflags", "--libs"]);
    assert!(
        flags.contains(&format!("-I{}", prefix.join("include").display())),
        "{flags:?}"
    );
    assert!(flags.contains(&"-ltrashtalk".to_owned()), "{flags:?}");

    // The example plugin, built with nothing but the .pc flags.
    let dir = prefix.parent().unwrap().to_path_buf();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let plugin = dir.join("Counter.so");
    let counter = Path::new(tt_plugin_native::C_SOURCE_DIR).join("counter.c");
    output(
        Command::new(&cc)
            .args(["-std=c11", "-shared", "-fPIC", "-Wall", "-Werror", "-o"])
            .arg(&plugin)
            .arg(&counter)
            .args(&flags),
    );
    let needed = output(Command::new("readelf").arg("-d").arg(&plugin));
    assert!(needed.contains(&format!("[{SONAME}]")), "{needed}");

    // A host built the same way, run with only the prefix on the loader path.
    let host = dir.join("host");
    output(
        Command::new(&cc)
            .args(["-std=gnu11", "-Wall", "-Werror", "-I"])
            .arg(c_dir())
            .arg("-o")
            .arg(&host)
            .arg(c_dir().join("capi_ltrashtalk.c"))
            .args(&flags)
            .arg("-ldl"),
    );
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = output(
        Command::new(&host)
            .arg(&plugin)
            .current_dir(&dir)
            .env("LD_LIBRARY_PATH", &lib)
            .env("HOME", &home)
            .env("TRASHTALK_ROOT", &home)
            .env("TT_TEST_DB", dir.join("test.db"))
            .env_remove("SQLITE_JSON_DB")
            .env_remove("TRASH_SESSION_ID"),
    );
    assert!(assert_ok(&out) > 5, "{out}");
    // The loader found the installed copy by its SONAME link.
    let ldd = Command::new("ldd")
        .arg(&host)
        .env("LD_LIBRARY_PATH", &lib)
        .output();
    if let Ok(ldd) = ldd {
        let text = String::from_utf8_lossy(&ldd.stdout);
        assert!(
            text.contains(&format!("{SONAME} => {}", lib.join(SONAME).display())),
            "{text}"
        );
    }
}
