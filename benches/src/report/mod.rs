//! The report generator behind `BENCHMARKS.md` and `docs/bench-plot.svg`.
//!
//! `benches/run-all.sh` runs every criterion bench with `CRITERION_HOME` pointing into a run
//! directory (default `target/bench-report/`), captures the peers' `peer …` lines there, and
//! then runs the `tt-bench-report` binary, which calls [`generate`]:
//!
//! * [`data`] reads the run: criterion's `estimates.json` (median, its 95 % confidence interval,
//!   MAD, divided by the bench's throughput) and the `peer` lines;
//! * [`rows`] says what the report shows (rows, same-run baselines, the issues' goals, the plan's
//!   table, the plot's panels) and evaluates each row;
//! * [`reasons`] merges the hand-written reasons for missed goals
//!   (`benches/report/reasons.md`);
//! * [`history`] copies the hand-kept earlier measurements (`benches/report/history.md`);
//! * [`markdown`] and [`svg`] write the two files.

pub mod data;
pub mod history;
pub mod machine;
pub mod markdown;
pub mod reasons;
pub mod rows;
pub mod svg;

use std::path::{Path, PathBuf};

use data::Results;
use machine::Machine;
use reasons::Reasons;
use rows::{Ctx, PlanRow, PlotGroup, Section, Status};

/// Everything the two renderers need.
pub struct Report {
    /// The run's figures.
    pub results: Results,
    /// The machine.
    pub machine: Machine,
    /// Rows by section.
    pub sections: Vec<Section>,
    /// The plan's table.
    pub plan: Vec<PlanRow>,
    /// The plot's panels.
    pub plot: Vec<PlotGroup>,
    /// Reasons for missed goals.
    pub reasons: Reasons,
    /// The earlier measurements' sections, ready to print (empty: none).
    pub history: String,
    /// `QUICK=1` run.
    pub quick: bool,
    /// When the run finished (UTC text).
    pub date: String,
    /// Wall time of the run in seconds, if known.
    pub duration: Option<u64>,
    /// Link from the markdown file to the plot.
    pub svg_link: String,
    /// TTBC opcodes per summing-loop iteration.
    pub sum_ops: usize,
}

impl Report {
    /// A resolver over this run.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            results: &self.results,
            sum_ops: self.sum_ops,
        }
    }

    /// A `meta.txt` value, or `default`.
    pub fn meta_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.results
            .meta
            .get(key)
            .map(String::as_str)
            .unwrap_or(default)
    }
}

/// Inputs and outputs of [`generate`].
#[derive(Clone, Debug)]
pub struct Options {
    /// The run directory (`criterion/`, `*.txt`/`*.log` with `peer` lines, `meta.txt`).
    pub run_dir: PathBuf,
    /// Where to write the markdown (`BENCHMARKS.md`).
    pub out: PathBuf,
    /// Where to write the SVG plot (`docs/bench-plot.svg`).
    pub svg: PathBuf,
    /// The reasons file (`benches/report/reasons.md`); a missing file means no reasons.
    pub reasons: PathBuf,
    /// The earlier measurements (`benches/report/history.md`); a missing file means none.
    pub history: PathBuf,
}

/// What [`generate`] wrote, for the script's summary line.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Rows in the report.
    pub rows: usize,
    /// Rows whose goal is met.
    pub met: usize,
    /// Rows whose goal is missed (key, whether a reason is recorded).
    pub missed: Vec<(String, bool)>,
    /// Rows without a figure (key, why).
    pub unavailable: Vec<(String, String)>,
}

/// The path of `target` relative to the directory `from`, with `/` separators (both paths
/// relative to the same directory, or both absolute).
pub fn relative_link(from: &Path, target: &Path) -> String {
    let abs = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        }
    };
    let norm = |p: PathBuf| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    v.pop();
                }
                std::path::Component::Normal(s) => v.push(s.to_string_lossy().into_owned()),
                _ => {}
            }
        }
        v
    };
    let (f, t) = (norm(abs(from)), norm(abs(target)));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(t[common..].iter().cloned());
    parts.join("/")
}

/// Reads the run, writes the markdown report and the SVG plot.
pub fn generate(opts: &Options) -> std::io::Result<Summary> {
    let results = Results::load(&opts.run_dir)?;
    let reasons = std::fs::read_to_string(&opts.reasons)
        .map(|t| Reasons::parse(&t))
        .unwrap_or_default();
    let history = std::fs::read_to_string(&opts.history)
        .map(|t| history::sections(&t))
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let meta_u64 = |k: &str| results.meta.get(k).and_then(|v| v.parse::<u64>().ok());
    let finished = meta_u64("finished").unwrap_or(now);
    let duration = meta_u64("started").map(|s| finished.saturating_sub(s));
    let quick = results
        .meta
        .get("quick")
        .is_some_and(|v| !v.is_empty() && v != "0");
    let sum_ops = rows::sum_loop_ops().unwrap_or(1);
    let out_dir = opts
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let report = Report {
        machine: Machine::probe(&results.meta),
        results,
        sections: rows::sections(sum_ops),
        plan: rows::plan_rows(),
        plot: rows::plot_groups(),
        reasons,
        history,
        quick,
        date: machine::utc_text(finished),
        duration,
        svg_link: relative_link(out_dir, &opts.svg),
        sum_ops,
    };
    if let Some(d) = opts.svg.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&opts.out, markdown::render(&report))?;
    std::fs::write(&opts.svg, svg::render(&report))?;

    let ctx = report.ctx();
    let mut sum = Summary::default();
    for r in report.sections.iter().flat_map(|s| &s.rows) {
        sum.rows += 1;
        match ctx.evaluate(r).status {
            Status::Met => sum.met += 1,
            Status::Missed(_) => sum
                .missed
                .push((r.key.to_owned(), report.reasons.get(r.key).is_some())),
            Status::Unavailable(why) | Status::Unknown(why) => {
                sum.unavailable.push((r.key.to_owned(), why))
            }
            Status::NoGoal => {}
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            relative_link(Path::new("/w"), Path::new("/w/docs/p.svg")),
            "docs/p.svg"
        );
        assert_eq!(
            relative_link(Path::new("/w/a"), Path::new("/w/docs/p.svg")),
            "../docs/p.svg"
        );
        assert_eq!(
            relative_link(Path::new("."), Path::new("docs/p.svg")),
            "docs/p.svg"
        );
    }

    #[test]
    fn end_to_end_on_a_tiny_run() {
        let dir = std::env::temp_dir().join(format!("tt-report-e2e-{}", std::process::id()));
        let new = dir.join("run/criterion/capi_send_direct/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"capi/send_direct","throughput":null}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":12.0,"confidence_interval":{"lower_bound":11.0,"upper_bound":13.0}},"median_abs_dev":{"point_estimate":0.5}}"#,
        )
        .unwrap();
        let base = dir.join("run/criterion/capi_c_indirect_call_baseline/new");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(
            base.join("benchmark.json"),
            r#"{"full_id":"capi/c_indirect_call_baseline","throughput":null}"#,
        )
        .unwrap();
        std::fs::write(
            base.join("estimates.json"),
            r#"{"median":{"point_estimate":2.0,"confidence_interval":{"lower_bound":1.9,"upper_bound":2.1}},"median_abs_dev":{"point_estimate":0.05}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("run/peers.txt"),
            "peer sum_loop/luajit: unavailable (luajit not installed)\n",
        )
        .unwrap();
        std::fs::write(dir.join("run/meta.txt"), "quick=1\n").unwrap();
        std::fs::write(
            dir.join("reasons.md"),
            "## capi.send_direct\nActivation overhead.\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("history.md"),
            "# Earlier\nintro\n\n## Old change\n1 → 2 ns\n",
        )
        .unwrap();
        let opts = Options {
            run_dir: dir.join("run"),
            out: dir.join("B.md"),
            svg: dir.join("docs/plot.svg"),
            reasons: dir.join("reasons.md"),
            history: dir.join("history.md"),
        };
        let sum = generate(&opts).unwrap();
        assert_eq!(sum.missed, vec![("capi.send_direct".to_string(), true)]);
        let md = std::fs::read_to_string(&opts.out).unwrap();
        assert!(md.contains("QUICK run"), "{md}");
        assert!(md.contains("Reason: Activation overhead."), "{md}");
        assert!(md.contains("6.00×"), "{md}");
        assert!(md.contains("luajit not installed"), "{md}");
        assert!(md.contains("(docs/plot.svg)"), "{md}");
        assert!(md.contains("## Earlier measurements"), "{md}");
        assert!(md.contains("### Old change\n1 → 2 ns"), "{md}");
        let svg = std::fs::read_to_string(&opts.svg).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("TT_SendDirect"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
