//! `capi/include/libtrashtalk.h` matches the library: the prototypes it declares are exactly the
//! functions `libtrashtalk.so` exports (`nm -D --defined-only`), the signatures are those of
//! docs/spec/c-abi.md §3 (checked at compile time by `tests/c/capi_header_check.c`), and the library
//! exports nothing else (only `tt_private_*` internals, and no plugin-side names). The header is
//! const-correct (a C++ host passing string literals compiles with `g++`, links and runs) and
//! its `TT_VERSION_*` macros are the crate version.

mod capi_support;

use std::collections::BTreeSet;
use std::path::Path;

use capi_support::*;

/// Function names declared in the header (prototypes `... TT_Name(...);`).
fn header_functions() -> BTreeSet<String> {
    let text = std::fs::read_to_string(include_dir().join("libtrashtalk.h")).unwrap();
    // Drop comments, join everything, split into declarations.
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("/*") {
        code.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").unwrap() + 2..];
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    code.split(';')
        .filter(|d| !d.contains("typedef") && d.contains('('))
        .filter_map(|d| {
            let open = d.find('(')?;
            let name = d[..open].split_whitespace().last()?.trim_start_matches('*');
            name.starts_with("TT_").then(|| name.to_owned())
        })
        .collect()
}

fn exported_functions() -> Option<BTreeSet<String>> {
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("libtrashtalk.so"))
        .output()
        .ok()?;
    assert!(out.status.success());
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
            .collect(),
    )
}

#[test]
fn header_prototypes_are_exactly_the_exported_functions() {
    let declared = header_functions();
    assert_eq!(declared.len(), 55, "{declared:?}");
    let Some(exported) = exported_functions() else {
        tt_testkit::skip::skip(
            concat!(
                module_path!(),
                "::header_prototypes_are_exactly_the_exported_functions"
            ),
            "`nm` is not installed",
        );
        return;
    };
    let public: BTreeSet<String> = exported
        .iter()
        .filter(|s| !s.starts_with("tt_private_"))
        .cloned()
        .collect();
    let mut expected = declared.clone();
    expected.remove("TT_PluginInit"); // plugin-side: declared for plugins, never exported
    assert_eq!(public, expected);
    for forbidden in ["TT_PluginInit", "GetClassName", "Dispatch"] {
        assert!(!exported.contains(forbidden), "{forbidden} exported");
    }
    assert!(!exported.iter().any(|s| s.ends_with("_Dispatch")));
}

#[test]
fn header_signatures_and_layouts_match_the_spec() {
    let dir = scratch("header_check");
    let exe = compile_host(
        &dir,
        "capi_header_check",
        &[Path::new("capi_header_check.c")],
        &["-std=c11"],
    );
    assert_eq!(assert_ok(&run(&exe, &dir, &[])), 59);
}

#[test]
fn header_compiles_as_strict_c11_and_as_cpp() {
    let dir = scratch("header_modes");
    let src = dir.join("use.c");
    std::fs::write(&src, "#include \"libtrashtalk.h\"\nint f(void) { TTValue v = TT_MakeInt(1); return (int)v.intVal; }\n").unwrap();
    let inc = format!("-I{}", include_dir().display());
    let st = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-pedantic-errors",
            "-Wall",
            "-Werror",
            "-c",
            &inc,
            "-o",
        ])
        .arg(dir.join("use.o"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let cpp = dir.join("use.cpp");
    std::fs::write(&cpp, "#include \"libtrashtalk.h\"\nint f() { TTValue v = TT_MakeInt(1); return (int)v.intVal; }\n").unwrap();
    match std::process::Command::new("c++")
        .args(["-Wall", "-Werror", "-c", &inc, "-o"])
        .arg(dir.join("usecpp.o"))
        .arg(&cpp)
        .status()
    {
        Ok(st) => assert!(st.success()),
        Err(_) => tt_testkit::skip::skip(
            concat!(module_path!(), "::header_compiles_as_strict_c11_and_as_cpp"),
            "no `c++` compiler: the C++ half did not run",
        ),
    }
}

/// A C++ host in the style of docs/capi.md's example: string literals go straight to the
/// functions that only read them (`invalid conversion from const char*` before the header was
/// const-correct). Compiled with `g++ -Wall -Wextra -Werror -pedantic`, linked with the library
/// and run.
const CPP_HOST: &str = r#"#include <cstdio>
#include <cstring>
#include <string>
#include "libtrashtalk.h"

static TTValue twice(TTInstance*, TTValue* args, int) { return TT_MakeInt(2 * args[0].intVal); }

int main() {
    if (std::strcmp(TT_Version(), TT_VERSION_STRING) != 0) return 10;
    if (TT_VersionNumber() != TT_VERSION_NUMBER) return 11;
    if (TT_Init(nullptr, nullptr) != 0) return 1;
    TTMethodEntry methods[] = {{"twice:", twice, 1, TT_METHOD_NATIVE}};
    TTMethodTable table = {methods, 1, nullptr, 0};
    char v[] = "value";
    char* const ivars[] = {v};
    TT_RegisterClass("Doubler", "", ivars, 1, &table);
    char* id = TT_New("Doubler");
    if (id == nullptr) return 2;
    const TTValue args[] = {TT_MakeInt(21)};
    TTValue r = TT_Send(id, "twice:", args, 1);
    if (r.type != TT_TYPE_INT || r.intVal != 42) return 3;
    TTInstance* inst = TT_Lookup(id);
    TTValue lit = TT_MakeString("literal");
    TT_SetIVar(inst, "value", lit);
    TT_ReleaseValue(lit);
    TTValue got = TT_GetIVar(inst, "value");
    std::string text = got.stringVal;
    TT_ReleaseValue(got);
    if (text != "literal" || TT_RespondsTo(id, "twice:") != 1) return 4;
    std::printf("ok %s\n", TT_Version());
    TT_Free(id);
    TT_Close();
    return 0;
}
"#;

#[test]
fn a_cpp_host_passing_string_literals_compiles_links_and_runs() {
    let name = concat!(
        module_path!(),
        "::a_cpp_host_passing_string_literals_compiles_links_and_runs"
    );
    if !tt_testkit::skip::have_tool("g++") {
        tt_testkit::skip::skip(name, "`g++` is not installed");
        return;
    }
    let dir = scratch("header_cpp_host");
    let src = dir.join("host.cpp");
    std::fs::write(&src, CPP_HOST).unwrap();
    let exe = dir.join("host_cpp");
    let lib = lib_dir();
    let out = std::process::Command::new("g++")
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(include_dir())
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-Wl,--disable-new-dtags")
        .arg("-ltrashtalk")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "g++ failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = run(&exe, &dir, &[]);
    assert_eq!(text.trim(), format!("ok {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn version_macros_are_the_crate_version() {
    let text = std::fs::read_to_string(include_dir().join("libtrashtalk.h")).unwrap();
    let define = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{name} not defined"));
        line[prefix.len()..].trim().to_owned()
    };
    // tt-tests and trashtalk share the workspace version.
    assert_eq!(define("TT_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define("TT_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define("TT_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(
        define("TT_VERSION_STRING"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
}
