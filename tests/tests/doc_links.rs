//! Every relative link of the repository's Markdown (README.md, ARCHITECTURE.md, BENCHMARKS.md and
//! every `docs/**/*.md`) names an existing file. Links with a scheme (`https:`, `mailto:`) and
//! pure anchors (`#section`) are not checked; of `path#anchor` only the path is.

use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The Markdown files whose links are checked.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `text` without its inline code spans (a link inside backticks is not a link).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                // An unclosed backtick is literal text.
                out.push_str(fence);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links (`[text](target)`, `![alt](target)`) of a Markdown text, with
/// their line numbers; fenced code blocks and code spans are skipped.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let mut depth = 0usize;
            let end = after
                .char_indices()
                .find(|&(_, c)| match c {
                    '(' => {
                        depth += 1;
                        false
                    }
                    ')' if depth == 0 => true,
                    ')' => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
                .map_or(after.len(), |(i, _)| i);
            // `path "title"` → `path`; `<path>` → `path`.
            let target = after[..end].split_whitespace().next().unwrap_or("");
            let target = target.trim_start_matches('<').trim_end_matches('>');
            targets.push((n + 1, target.to_owned()));
            rest = &after[end..];
        }
    }
    targets
}

/// True for a target this test does not resolve: a URL with a scheme or a pure anchor.
fn is_external(target: &str) -> bool {
    target.is_empty()
        || target.starts_with('#')
        || target.contains("://")
        || target.starts_with("mailto:")
}

#[test]
fn relative_links_resolve() {
    let root = root();
    let mut broken = Vec::new();
    let mut checked = 0usize;
    for file in markdown_files(&root) {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let dir = file.parent().expect("a file has a folder");
        for (line, target) in link_targets(&text) {
            if is_external(&target) {
                continue;
            }
            let path = target.split('#').next().unwrap_or("");
            checked += 1;
            if !dir.join(path).exists() {
                let shown = file.strip_prefix(&root).unwrap_or(&file);
                broken.push(format!("{}:{line}: {target}", shown.display()));
            }
        }
    }
    assert!(checked > 0, "no relative links found: is the root right?");
    assert!(
        broken.is_empty(),
        "{} broken relative link(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn link_parsing() {
    let text = "see [a](x.md) and [`b`](dir/y.md#part \"t\"), ![img](p.svg)\n\
                `[not](a link)` [web](https://example.org)\n\
                ```\n[code](block.md)\n```\n\
                [nested (parens)](f(1).md)\n";
    let got: Vec<String> = link_targets(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        got,
        [
            "x.md",
            "dir/y.md#part",
            "p.svg",
            "https://example.org",
            "f(1).md"
        ]
    );
    assert!(is_external("https://example.org") && is_external("#top"));
    assert!(!is_external("docs/spec/ttbc.md#4-opcode-table"));
}
