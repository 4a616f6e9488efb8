//! Shared helpers of the `capi_*` tests: locating `libtrashtalk.so`, compiling the C programs
//! of `tests/c/` against `capi/include/libtrashtalk.h`, generating TTBC chunks for them, and
//! running them.
//!
//! `libtrashtalk.so` is found next to the test executable: `tt-tests` has `trashtalk` as a
//! dev-dependency, and Cargo builds every crate type of a dependency's library, so the cdylib
//! lands in `target/<profile>/deps/` beside the test binaries (checked by [`lib_dir`]). The
//! plugins come from `tt-plugin-native` (its build script compiles them) and from
//! `tt-plugin-counter-rs` (a cdylib dev-dependency, also in `deps/`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory holding `libtrashtalk.so` (and the Rust plugin cdylib).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    for dir in [
        deps.clone(),
        deps.parent().map(Path::to_path_buf).unwrap_or_default(),
    ] {
        if dir.join("libtrashtalk.so").is_file() {
            soname_link(&dir);
            return dir;
        }
    }
    panic!(
        "libtrashtalk.so not found next to {} (it is built as a dev-dependency of tt-tests)",
        exe.display()
    );
}

/// The library's SONAME, `libtrashtalk.so.<major>` (capi/build.rs); `tt-tests` shares the
/// workspace version with `trashtalk`.
pub const SONAME: &str = concat!("libtrashtalk.so.", env!("CARGO_PKG_VERSION_MAJOR"));

/// Cargo builds `libtrashtalk.so`, but what links against it records its SONAME
/// (`DT_NEEDED libtrashtalk.so.<major>`), the name the loader then looks for: give the build
/// directory that name too, as an installed prefix has it (`capi/install.sh`).
fn soname_link(dir: &Path) {
    let link = dir.join(SONAME);
    if std::fs::read_link(&link).is_err() {
        let _ = std::fs::remove_file(&link);
        // Tests create it concurrently: "already exists" is success.
        if let Err(e) = std::os::unix::fs::symlink("libtrashtalk.so", &link) {
            assert!(
                e.kind() == std::io::ErrorKind::AlreadyExists,
                "symlink {}: {e}",
                link.display()
            );
        }
    }
}

/// `tests/c/`.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c")
}

/// `capi/include/`.
pub fn include_dir() -> PathBuf {
    PathBuf::from(tt_plugin_native::INCLUDE_DIR)
}

/// The compiled example plugins (`Counter.so`, `EventDispatcher.so`, …).
pub fn plugin_dir() -> PathBuf {
    PathBuf::from(tt_plugin_native::PLUGIN_DIR)
}

/// The Rust Counter plugin.
pub fn counter_rs_plugin() -> PathBuf {
    let p = lib_dir().join("libtt_plugin_counter_rs.so");
    assert!(p.is_file(), "{} missing", p.display());
    p
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("capi")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn compiler() -> Command {
    let tool = cc::Build::new()
        .cargo_metadata(false)
        .opt_level(1)
        .target(&target())
        .host(&target())
        .get_compiler();
    tool.to_command()
}

fn target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "macos" => format!("{arch}-apple-darwin"),
        _ => format!("{arch}-unknown-linux-gnu"),
    }
}

fn run_compiler(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cc for {what}: {e}"));
    assert!(
        out.status.success(),
        "compiling {what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles a C host program (`sources` relative to `tests/c/` unless absolute) linked with
/// `-ltrashtalk` (rpath set), `-ldl` and `-lpthread`. `dir` also goes on the include path (for
/// generated headers).
pub fn compile_host(dir: &Path, name: &str, sources: &[&Path], extra: &[&str]) -> PathBuf {
    let exe = dir.join(name);
    let lib = lib_dir();
    let mut cmd = compiler();
    cmd.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(include_dir())
        .arg("-I")
        .arg(c_dir())
        .arg("-I")
        .arg(dir)
        .arg("-o")
        .arg(&exe);
    for s in sources {
        cmd.arg(c_dir().join(s));
    }
    cmd.args(extra)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        // DT_RPATH (not RUNPATH): it wins over an inherited LD_LIBRARY_PATH that may point at
        // another (stale) copy, e.g. the one Cargo uplifts to target/<profile>/.
        .arg("-Wl,--disable-new-dtags")
        .args(["-ltrashtalk", "-ldl", "-lpthread"]);
    run_compiler(cmd, name);
    exe
}

/// Compiles a shared object (a test plugin) from `sources`; `extra` may add `-ltrashtalk` etc.
pub fn compile_plugin(dir: &Path, file: &str, sources: &[&Path], extra: &[&str]) -> PathBuf {
    let so = dir.join(file);
    let mut cmd = compiler();
    cmd.args([
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-shared",
        "-fPIC",
        "-g",
    ])
    .arg("-I")
    .arg(include_dir())
    .arg("-o")
    .arg(&so);
    for s in sources {
        cmd.arg(c_dir().join(s));
    }
    cmd.args(extra);
    run_compiler(cmd, file);
    so
}

/// Runs a program with a clean environment for the runtime (no Bash bridge, private HOME and
/// database) and returns its stdout; panics with stdout+stderr unless it exits 0.
pub fn run(exe: &Path, dir: &Path, args: &[&str]) -> String {
    let out = run_raw(exe, dir, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n--- stdout\n{text}\n--- stderr\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// [`run`] without the success check.
pub fn run_raw(exe: &Path, dir: &Path, args: &[&str]) -> Output {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    Command::new(exe)
        .args(args)
        .current_dir(dir)
        .env("HOME", &home)
        .env("TRASHTALK_ROOT", &home)
        .env("TT_TEST_DB", dir.join("test.db"))
        .env("TT_PLUGIN_DIR", plugin_dir())
        .env("TT_COUNTER_RS", counter_rs_plugin())
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("SQLITE_JSON_DB")
        .env_remove("TRASH_SESSION_ID")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
}

/// Asserts that a program's output reports success (`ok <n> checks`) and returns `n`.
pub fn assert_ok(stdout: &str) -> usize {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("ok "))
        .unwrap_or_else(|| panic!("no `ok` line in:\n{stdout}"));
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("check count")
}

/// Serializes a TTBC chunk (docs/spec/ttbc.md §2.1) without debug data.
pub fn chunk(
    code: &[u8],
    consts: &[&[u8]],
    params: &[&str],
    locals: u8,
    captures: &[(&str, u8, u8)],
) -> Vec<u8> {
    let mut flags = 0u16;
    if !captures.is_empty() {
        flags |= 2;
    }
    if code.contains(&0xF2) {
        flags |= 4;
    }
    let mut b = b"TTBC".to_vec();
    b.extend(1u16.to_be_bytes());
    b.extend(flags.to_be_bytes());
    b.extend((code.len() as u32).to_be_bytes());
    b.extend(code);
    b.extend((consts.len() as u16).to_be_bytes());
    for c in consts {
        b.extend((c.len() as u16).to_be_bytes());
        b.extend(*c);
    }
    b.push(params.len() as u8);
    for p in params {
        b.push(p.len() as u8);
        b.extend(p.as_bytes());
    }
    b.push(locals);
    b.push(captures.len() as u8);
    for (name, source, slot) in captures {
        b.push(name.len() as u8);
        b.extend(name.as_bytes());
        b.push(*source);
        b.push(*slot);
    }
    b.push(0);
    b
}

/// Upper-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The chunks the C programs use, as `#define NAME "hex"` lines (written to `chunks.h`).
pub fn write_chunks_header(dir: &Path) {
    let send0 = |sel: &str| {
        chunk(
            &[0x30, 0x00, 0x90, 0x00, 0x00, 0x00, 0xF0],
            &[sel.as_bytes()],
            &["e"],
            0,
            &[("c", 0, 0)],
        )
    };
    let send1 = |sel: &str| {
        chunk(
            &[0x30, 0x00, 0x22, 0x00, 0x90, 0x00, 0x00, 0x01, 0xF0],
            &[sel.as_bytes()],
            &["e"],
            0,
            &[("c", 0, 0)],
        )
    };
    let defs: Vec<(&str, Vec<u8>)> = vec![
        // [:e | e]
        (
            "CHUNK_IDENT",
            chunk(&[0x22, 0x00, 0xF0], &[], &["e"], 0, &[]),
        ),
        // [:x | x + 1]
        (
            "CHUNK_INC",
            chunk(&[0x22, 0x00, 0x15, 0x50, 0xF0], &[], &["x"], 0, &[]),
        ),
        // [:e | c increment]   (c = capture 0)
        ("CHUNK_CAP_INCREMENT", send0("increment")),
        // [:e | c take: e]
        ("CHUNK_CAP_TAKE", send1("take_")),
        // [:e | n := n + 1]   (n = capture 0; answers the new count)
        (
            "CHUNK_COUNT",
            chunk(
                &[0x30, 0x00, 0x15, 0x50, 0x02, 0x31, 0x00, 0xF0],
                &[],
                &["e"],
                0,
                &[("n", 0, 0)],
            ),
        ),
        // [ #() copyWith: 'x' ]  → a JSON array value
        (
            "CHUNK_JSON_ARRAY",
            chunk(&[0xB0, 0x10, 0x00, 0x00, 0xB1, 0xF0], &[b"x"], &[], 0, &[]),
        ),
        // [:r | r foo]
        (
            "CHUNK_SEND_FOO",
            chunk(
                &[0x22, 0x00, 0x90, 0x00, 0x00, 0x00, 0xF0],
                &[b"foo"],
                &["r"],
                0,
                &[],
            ),
        ),
    ];
    let mut h = String::from("/* generated by tests/tests/capi_support */\n");
    for (name, bytes) in defs {
        h.push_str(&format!("#define {name} \"{}\"\n", hex(&bytes)));
    }
    std::fs::write(dir.join("chunks.h"), h).expect("chunks.h");
}

/// Compiles `tests/c/<name>.c` (with `chunks.h` generated) and runs it with `args`; returns
/// the number of checks it passed.
pub fn compile_and_run(name: &str, args: &[&str]) -> usize {
    let dir = scratch(name);
    write_chunks_header(&dir);
    let src = PathBuf::from(format!("{name}.c"));
    let exe = compile_host(&dir, name, &[&src], &[]);
    let out = run(&exe, &dir, args);
    assert_ok(&out)
}
