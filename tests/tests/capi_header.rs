//! `capi/include/libtrashtalk.h` matches the library: the prototypes it declares are exactly the
//! functions `libtrashtalk.so` exports (`nm -D --defined-only`), the signatures are those of
//! docs/spec/c-abi.md §3 (checked at compile time by `tests/c/capi_header_check.c`), and the library
//! exports nothing else (only `tt_private_*` internals, and no plugin-side names).

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
    assert_eq!(declared.len(), 48, "{declared:?}");
    let Some(exported) = exported_functions() else {
        eprintln!("skipped: `nm` is not installed");
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
    assert_eq!(assert_ok(&run(&exe, &dir, &[])), 50);
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
        Err(_) => eprintln!("skipped C++: no c++ compiler"),
    }
}
