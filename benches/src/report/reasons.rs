//! The hand-edited reasons for missed goals (`benches/report/reasons.md`).
//!
//! Format: a `## <row key>` heading per row, followed by the reason as free text (one or more
//! lines, joined with spaces). Text before the first heading is ignored. A reason of `TBD` (or
//! `reason: TBD`) counts as unknown.

use std::collections::BTreeMap;

/// Reasons by row key.
#[derive(Clone, Debug, Default)]
pub struct Reasons(BTreeMap<String, String>);

impl Reasons {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Reasons {
        let mut map = BTreeMap::new();
        let mut key: Option<String> = None;
        let mut body: Vec<&str> = Vec::new();
        let mut flush = |key: &mut Option<String>, body: &mut Vec<&str>| {
            if let Some(k) = key.take() {
                map.insert(k, body.join(" ").trim().to_owned());
            }
            body.clear();
        };
        for line in text.lines() {
            if let Some(k) = line.strip_prefix("## ") {
                flush(&mut key, &mut body);
                key = Some(k.trim().trim_matches('`').to_owned());
            } else if key.is_some() && !line.trim().is_empty() {
                body.push(line.trim());
            }
        }
        flush(&mut key, &mut body);
        Reasons(map)
    }

    /// The reason recorded for `key`, unless absent or `TBD`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let r = self.0.get(key)?.as_str();
        let bare = r.strip_prefix("reason:").unwrap_or(r).trim();
        (!bare.is_empty() && !bare.eq_ignore_ascii_case("tbd")).then_some(r)
    }

    /// Whether the file has a heading for `key` (even a `TBD` one).
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let r = Reasons::parse(
            "# Reasons\nintro text\n\n## capi.send_sel\nActivation\noverhead.\n\n## `jit.compile_50`\nreason: TBD\n## x\n",
        );
        assert_eq!(r.get("capi.send_sel"), Some("Activation overhead."));
        assert!(r.has("jit.compile_50"));
        assert_eq!(r.get("jit.compile_50"), None);
        assert_eq!(r.get("x"), None);
        assert_eq!(r.get("intro"), None);
    }
}
