//! `tt load` on a class file written in the library's style, and the `@path` / `-` source
//! arguments of `tt eval`, `tt compile` and `tt load` (issue #16, deliverables 2 and 8).

mod daemon_support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use daemon_support::*;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/greeter.trash")
}

/// Runs `tt args…` with `stdin` as standard input: (stdout, stderr, exit code).
fn tt_with_stdin(args: &[&str], stdin: &str) -> (String, String, Option<i32>) {
    let mut child = Command::new(tt_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn load_compiles_the_library_style_constructs() {
    let f = fixture();
    let (out, err, code) = tt_with_stdin(
        &[
            "load",
            f.to_str().unwrap(),
            "-e",
            "[ | g | g := Greeter named: 'ann'. g greet: 'al'. (g greet: 'bo') , ' / ' , (g describe: '') , ' / ' , (g describe: 'x') ]",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    for sel in [
        "Greeter class>>named_",
        "Greeter>>greet_",
        "Greeter>>describe_",
        "Greeter>>stop",
    ] {
        assert!(out.contains(&format!("{sel}: native")), "{sel}: {out}");
    }
    assert!(
        out.contains("Greeter>>info: fallback (raw bash method (pragma primitive))"),
        "{out}"
    );
    // As in the Bash compiler, `root:.` ends the declaration: `ignored` is no variable.
    assert!(out.contains("Greeter>>getRoot: native"), "{out}");
    assert!(!out.contains("getIgnored"), "{out}");
    assert!(
        out.contains("native methods, 1 fallback (1 written in Bash, 0 in Trashtalk)"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("Hello bo, I am ann (greeting #2) / ann: nothing / ann: [x]"),
        "{out}"
    );
}

#[test]
fn sources_from_a_file_or_standard_input() {
    let dir = TmpDir::new("srcin");
    let block = dir.join("add.st");
    std::fs::write(&block, "[:a :b |\n  \"$a+$b=\" , (a + b)]\n").unwrap();
    let at = format!("@{}", block.display());
    let (out, err, code) = tt_with_stdin(&["eval", &at, "1", "2"], "");
    assert_eq!((out.trim(), code), ("1+2=3", Some(0)), "{err}");
    let (out, err, code) = tt_with_stdin(&["eval", "-", "3", "4"], "[:a :b | a * b]");
    assert_eq!((out.trim(), code), ("12", Some(0)), "{err}");
    // Interpolation is plain concatenation: both tiers answer the same.
    for jit in ["--jit=always", "--jit=never"] {
        let (out, err, code) = tt_with_stdin(&["eval", &at, "5", "6", jit], "");
        assert_eq!((out.trim(), code), ("5+6=11", Some(0)), "{jit}: {err}");
    }
    // `compile @file` and `compile -` give the bytes `compile '<source>'` gives.
    let (inline, _, _) = tt_with_stdin(&["compile", "[:x | \"<$x>\"]"], "");
    std::fs::write(&block, "[:x | \"<$x>\"]").unwrap();
    let (from_file, _, _) = tt_with_stdin(&["compile", &at], "");
    let (from_stdin, _, _) = tt_with_stdin(&["compile", "-"], "[:x | \"<$x>\"]");
    assert!(!inline.trim().is_empty());
    assert_eq!(from_file, inline);
    assert_eq!(from_stdin, inline);
    // A class file on standard input, the block from a file.
    std::fs::write(&block, "[ (P new) show: 2 ]").unwrap();
    let (out, err, code) = tt_with_stdin(
        &["load", "-", "-e", &at],
        "P subclass: Object\n  instanceVars: n:4\n  method: show: x [ ^ \"n=$n x=$x\" ]\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("P>>show_: native"), "{out}");
    assert_eq!(out.lines().last(), Some("n=4 x=2"), "{out}");
    // `@` with whitespace after it is Trashtalk's send marker, not a file.
    let (out, err, code) = tt_with_stdin(&["eval", "@ 'ab' , 'c'"], "");
    assert_eq!((out.trim(), code), ("abc", Some(0)), "{err}");
    // Errors name the file; standard input cannot be read twice.
    let (_, err, code) = tt_with_stdin(&["eval", "@/nonexistent/x.st"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("/nonexistent/x.st"), "{err}");
    let (_, err, code) = tt_with_stdin(&["load", "-", "-e", "-"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("only once"), "{err}");
}
