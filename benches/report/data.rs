//! Reading the raw results of one run: criterion's `estimates.json` files and the `peer` lines
//! the benches and the peer programs print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// How the spread of a [`Figure`] was obtained.
#[derive(Clone, Debug, PartialEq)]
pub enum Spread {
    /// Criterion: the 95 % confidence interval of the median and the median absolute deviation.
    Ci {
        /// Lower bound of the interval.
        lo: f64,
        /// Upper bound of the interval.
        hi: f64,
        /// Median absolute deviation of the samples.
        mad: f64,
    },
    /// Peers: the smallest and largest of `runs` timings.
    Range {
        /// Smallest timing.
        lo: f64,
        /// Largest timing.
        hi: f64,
        /// Number of timings.
        runs: usize,
    },
    /// An exact figure (a `size_of`).
    Exact,
}

/// One measured figure: a median and its spread, in the row's unit (ns per element for times).
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The median.
    pub value: f64,
    /// Its spread.
    pub spread: Spread,
    /// Where it comes from (criterion id, peer program), for the report.
    pub source: String,
}

impl Figure {
    /// The lower and upper ends of the spread (the value itself for exact figures).
    pub fn bounds(&self) -> (f64, f64) {
        match self.spread {
            Spread::Ci { lo, hi, .. } | Spread::Range { lo, hi, .. } => (lo, hi),
            Spread::Exact => (self.value, self.value),
        }
    }
}

/// A figure, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Measure {
    /// Measured in this run.
    Ok(Figure),
    /// The peer or bench reported that it could not run, with its reason.
    Unavailable(String),
}

impl Measure {
    /// The figure, if any.
    pub fn figure(&self) -> Option<&Figure> {
        match self {
            Measure::Ok(f) => Some(f),
            Measure::Unavailable(_) => None,
        }
    }
}

/// Everything one run produced.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Criterion figures by full id (`capi/send_sel`, `jit/sum_loop/compiled`), in ns per
    /// element (the bench's throughput divides the per-iteration time).
    pub criterion: BTreeMap<String, Figure>,
    /// Peer figures by id (`sum_loop/lua5.4`), ns per iteration.
    pub peers: BTreeMap<String, Measure>,
    /// `key=value` lines of the run's `meta.txt` (written by `benches/run-all.sh`).
    pub meta: BTreeMap<String, String>,
}

impl Results {
    /// Loads a run directory: `criterion/` (criterion's output, `CRITERION_HOME`), every `*.txt`
    /// and `*.log` file for `peer` lines, and `meta.txt`.
    pub fn load(run_dir: &Path) -> std::io::Result<Results> {
        let mut r = Results {
            criterion: load_criterion(&run_dir.join("criterion"))?,
            ..Default::default()
        };
        let mut lines = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(run_dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|e| e == "txt" || e == "log" || e == "out")
            })
            .collect();
        files.sort();
        for f in files {
            let text = String::from_utf8_lossy(&std::fs::read(&f)?).into_owned();
            if f.file_name().is_some_and(|n| n == "meta.txt") {
                r.meta = parse_meta(&text);
            } else {
                lines.extend(text.lines().map(str::to_owned));
            }
        }
        r.peers = parse_peers(lines.iter().map(String::as_str));
        Ok(r)
    }
}

/// Parses `key=value` lines (blank lines and `#` comments ignored).
pub fn parse_meta(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Reads every `<dir>/**/new/{benchmark,estimates}.json` pair.
pub fn load_criterion(dir: &Path) -> std::io::Result<BTreeMap<String, Figure>> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if !p.is_dir() {
                continue;
            }
            if p.file_name().is_some_and(|n| n == "new") {
                let (b, e) = (p.join("benchmark.json"), p.join("estimates.json"));
                if b.is_file() && e.is_file() {
                    let bench = std::fs::read_to_string(&b)?;
                    let est = std::fs::read_to_string(&e)?;
                    if let Some((id, fig)) = criterion_figure(&bench, &est) {
                        out.insert(id, fig);
                    }
                }
            } else if p.file_name().is_some_and(|n| n != "report" && n != "base") {
                stack.push(p);
            }
        }
    }
    Ok(out)
}

fn num(j: &Json, path: &[&str]) -> Option<f64> {
    let mut j = j;
    for k in path {
        j = j.get(k)?;
    }
    j.as_f64()
        .or_else(|| j.as_number().and_then(|n| n.to_string().parse().ok()))
}

/// The figure of one criterion benchmark from the texts of its `benchmark.json` and
/// `estimates.json`: the median per element, its 95 % confidence interval and MAD.
pub fn criterion_figure(benchmark_json: &str, estimates_json: &str) -> Option<(String, Figure)> {
    let b: Json = serde_json::from_str(benchmark_json).ok()?;
    let e: Json = serde_json::from_str(estimates_json).ok()?;
    let id = b.get("full_id")?.as_str()?.to_owned();
    let per = b
        .get("throughput")
        .and_then(|t| {
            ["Elements", "Bytes", "BytesDecimal"]
                .iter()
                .find_map(|k| num(t, &[k]))
        })
        .filter(|n| *n > 0.0)
        .unwrap_or(1.0);
    let median = num(&e, &["median", "point_estimate"])?;
    let lo = num(&e, &["median", "confidence_interval", "lower_bound"]).unwrap_or(median);
    let hi = num(&e, &["median", "confidence_interval", "upper_bound"]).unwrap_or(median);
    let mad = num(&e, &["median_abs_dev", "point_estimate"]).unwrap_or(0.0);
    let source = if per == 1.0 {
        format!("criterion `{id}`")
    } else {
        format!("criterion `{id}` ÷ {per}")
    };
    Some((
        id,
        Figure {
            value: median / per,
            spread: Spread::Ci {
                lo: lo / per,
                hi: hi / per,
                mad: mad / per,
            },
            source,
        },
    ))
}

/// One parsed `peer` line.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerLine {
    /// `peer <id>: <ns> ns/iter (<what>)[ spread <lo>..<hi>[ over <k>]]`
    Figure {
        /// The peer id.
        id: String,
        /// ns per iteration.
        ns: f64,
        /// The range of the timings behind `ns` and how many there were, if the program
        /// printed them.
        spread: Option<(f64, f64, usize)>,
        /// The parenthesised description.
        what: String,
    },
    /// `peer <id>: unavailable (<reason>)`
    Unavailable {
        /// The peer id.
        id: String,
        /// Why.
        reason: String,
    },
}

/// Parses one `peer` line; other lines give `None`.
pub fn parse_peer_line(line: &str) -> Option<PeerLine> {
    let rest = line.trim().strip_prefix("peer ")?;
    let (id, rest) = rest.split_once(": ")?;
    let id = id.trim().to_owned();
    let rest = rest.trim();
    if let Some(r) = rest.strip_prefix("unavailable") {
        let reason = r
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .to_owned();
        return Some(PeerLine::Unavailable { id, reason });
    }
    let (ns, rest) = rest.split_once(" ns/iter")?;
    let ns: f64 = ns.trim().parse().ok()?;
    let rest = rest.trim();
    let (what, tail) = match rest.strip_prefix('(') {
        Some(r) => match r.rfind(')') {
            Some(end) => (r[..end].to_owned(), r[end + 1..].trim()),
            None => (r.to_owned(), ""),
        },
        None => (String::new(), rest),
    };
    let spread = tail
        .strip_prefix("spread ")
        .and_then(|s| s.split_once(".."))
        .and_then(|(a, rest)| {
            let (b, k) = match rest.split_once(" over ") {
                Some((b, k)) => (b, k.trim().parse().ok()?),
                None => (rest, 1),
            };
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?, k))
        });
    Some(PeerLine::Figure {
        id,
        ns,
        spread,
        what,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Groups `peer` lines by id. Several figures for one id (repeated runs) give their median and
/// their range (widened by any range a line printed); an id with no figure and an
/// `unavailable` line is unavailable with that reason.
pub fn parse_peers<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<String, Measure> {
    struct Acc {
        values: Vec<f64>,
        timings: usize,
        lo: f64,
        hi: f64,
        what: String,
        unavailable: Option<String>,
    }
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    for line in lines {
        let Some(p) = parse_peer_line(line) else {
            continue;
        };
        let id = match &p {
            PeerLine::Figure { id, .. } | PeerLine::Unavailable { id, .. } => id.clone(),
        };
        let a = acc.entry(id).or_insert(Acc {
            values: Vec::new(),
            timings: 0,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            what: String::new(),
            unavailable: None,
        });
        match p {
            PeerLine::Figure {
                ns, spread, what, ..
            } => {
                a.values.push(ns);
                let (lo, hi, k) = spread.unwrap_or((ns, ns, 1));
                a.timings += k;
                a.lo = a.lo.min(lo).min(ns);
                a.hi = a.hi.max(hi).max(ns);
                if a.what.is_empty() {
                    a.what = what;
                }
            }
            PeerLine::Unavailable { reason, .. } => {
                a.unavailable.get_or_insert(reason);
            }
        }
    }
    acc.into_iter()
        .map(|(id, mut a)| {
            let m = if a.values.is_empty() {
                Measure::Unavailable(a.unavailable.unwrap_or_else(|| "no figure".into()))
            } else {
                let runs = a.timings;
                Measure::Ok(Figure {
                    value: median(&mut a.values),
                    spread: Spread::Range {
                        lo: a.lo,
                        hi: a.hi,
                        runs,
                    },
                    source: if a.what.is_empty() {
                        format!("peer `{id}`")
                    } else {
                        format!("peer `{id}`: {}", a.what)
                    },
                })
            };
            (id, m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_lines() {
        assert_eq!(
            parse_peer_line(
                "peer lua_call/lua5.4: 28.403 ns/iter (C host, x) spread 22.9..33.0 over 7"
            ),
            Some(PeerLine::Figure {
                id: "lua_call/lua5.4".into(),
                ns: 28.403,
                spread: Some((22.9, 33.0, 7)),
                what: "C host, x".into()
            })
        );
        assert_eq!(
            parse_peer_line("peer daemon/nc_from_bash: unavailable (nc without -U; install)"),
            Some(PeerLine::Unavailable {
                id: "daemon/nc_from_bash".into(),
                reason: "nc without -U; install".into()
            })
        );
        assert_eq!(
            parse_peer_line("peer interp/sum_loop lua5.4: 7.000 ns/iter (lua5.4)"),
            Some(PeerLine::Figure {
                id: "interp/sum_loop lua5.4".into(),
                ns: 7.0,
                spread: None,
                what: "lua5.4".into()
            })
        );
        assert_eq!(parse_peer_line("ratio capi: baseline 1.2 ns"), None);
        assert_eq!(parse_peer_line("peer x: fast"), None);
    }

    #[test]
    fn peers_aggregate_runs() {
        let text = "peer a: 3 ns/iter (x)\npeer a: 1 ns/iter (x)\npeer a: 2 ns/iter (x) spread 0.5..2.5 over 7\n\
                    peer b: unavailable (missing)\npeer c: unavailable (flaky)\npeer c: 4 ns/iter\n";
        let m = parse_peers(text.lines());
        let a = m["a"].figure().unwrap();
        assert_eq!(a.value, 2.0);
        assert_eq!(
            a.spread,
            Spread::Range {
                lo: 0.5,
                hi: 3.0,
                runs: 9
            }
        );
        assert_eq!(m["b"], Measure::Unavailable("missing".into()));
        assert_eq!(m["c"].figure().unwrap().value, 4.0);
    }

    #[test]
    fn criterion_json() {
        let b = r#"{"group_id":"jit/send_loop","function_id":"T","value_str":"compiled","throughput":{"Elements":100},"full_id":"jit/send_loop/T/compiled"}"#;
        let e = r#"{"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":900.0,"upper_bound":1100.0},"point_estimate":1000.0,"standard_error":1.0},"median_abs_dev":{"point_estimate":50.0}}"#;
        let (id, f) = criterion_figure(b, e).unwrap();
        assert_eq!(id, "jit/send_loop/T/compiled");
        assert_eq!(f.value, 10.0);
        assert_eq!(
            f.spread,
            Spread::Ci {
                lo: 9.0,
                hi: 11.0,
                mad: 0.5
            }
        );
        let b = r#"{"full_id":"capi/send_sel","throughput":null}"#;
        let (_, f) = criterion_figure(b, e).unwrap();
        assert_eq!(f.value, 1000.0);
    }

    #[test]
    fn load_run_dir() {
        let dir = std::env::temp_dir().join(format!("tt-report-test-{}", std::process::id()));
        let new = dir.join("criterion/capi_send_sel/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"capi/send_sel","throughput":null}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":5.0,"confidence_interval":{"lower_bound":4.0,"upper_bound":6.0}},"median_abs_dev":{"point_estimate":0.1}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("peers.txt"), "peer p: 1.5 ns/iter (x)\n").unwrap();
        std::fs::write(dir.join("meta.txt"), "# run\nquick=1\n").unwrap();
        let r = Results::load(&dir).unwrap();
        assert_eq!(r.criterion["capi/send_sel"].value, 5.0);
        assert_eq!(r.peers["p"].figure().unwrap().value, 1.5);
        assert_eq!(r.meta["quick"], "1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
