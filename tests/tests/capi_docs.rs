//! The complete example of `docs/plugins.md` (a plugin and a host) is compiled exactly as
//! written and its output matches the one the document shows.

mod capi_support;

use std::path::Path;

use capi_support::*;

/// The fenced ```c blocks whose first line is `/* file: NAME */`, and the ```text block after
/// the `<!-- output of host -->` marker.
fn extract(doc: &str) -> (Vec<(String, String)>, String) {
    let mut files = Vec::new();
    let mut output = String::new();
    let mut lines = doc.lines();
    let mut want_output = false;
    while let Some(line) = lines.next() {
        if line.trim() == "<!-- output of host -->" {
            want_output = true;
        }
        let lang = match line.strip_prefix("```") {
            Some(l) if !l.is_empty() => l.trim().to_owned(),
            _ => continue,
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        if lang == "c" {
            if let Some(name) = body
                .first()
                .and_then(|f| f.strip_prefix("/* file: "))
                .and_then(|f| f.strip_suffix(" */"))
            {
                files.push((name.to_owned(), body.join("\n") + "\n"));
            }
        } else if lang == "text" && want_output && output.is_empty() {
            output = body.join("\n") + "\n";
        }
    }
    (files, output)
}

#[test]
fn the_plugins_md_example_compiles_and_prints_what_the_document_says() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plugins.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (files, expected) = extract(&doc);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["greeter.c", "host.c"]);
    assert!(!expected.is_empty());

    let dir = scratch("docs_example");
    for (name, body) in &files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    compile_plugin(
        &plugins,
        "Greeter.so",
        &[&dir.join("greeter.c")],
        &["-std=c11"],
    );
    let host = compile_host(&dir, "host", &[&dir.join("host.c")], &["-std=c11"]);
    let out = run(&host, &dir, &[plugins.to_str().unwrap()]);
    assert_eq!(out, expected);
}
