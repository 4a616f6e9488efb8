//! The hand-kept earlier measurements (`benches/report/history.md`): before/after figures of past
//! changes that the design docs point to.
//!
//! Format: a title and intro (ignored, as in `reasons.md`), then `## <topic>` sections, which
//! the report copies under its "Earlier measurements" heading with each heading one level down.

/// The file's sections as they appear in the report (`## ` headings become `### `), or an empty
/// string when the file has none.
pub fn sections(text: &str) -> String {
    let mut out = String::new();
    let mut started = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            started = true;
            out.push('#');
        }
        if started {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_skip_the_intro_and_demote_headings() {
        let got = sections("# Earlier\nintro\n\n## A\ntext\n\n## B\nmore\n");
        assert_eq!(got, "### A\ntext\n\n### B\nmore");
        assert_eq!(sections("# Only a title\n"), "");
    }
}
