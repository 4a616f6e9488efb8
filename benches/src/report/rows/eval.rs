//! How a row is evaluated against one run: figures resolved from the run's files, goals
//! checked, and the number formats of the report.

use super::super::data::{Figure, Measure, Results, Spread};
use super::{Check, Row, Src};

/// TTBC opcodes executed per iteration of the §13.2 summing loop: the instructions from the
/// target of the loop's backward `JUMP` to that jump, counted in the chunk's listing.
pub fn sum_loop_ops() -> Option<usize> {
    let chunk = tt_vm::ttbc::load(&crate::hex(crate::SUM_HEX)).ok()?;
    loop_ops(&tt_vm::ttbc::disassemble(&chunk))
}

/// Counts the instructions of the first backward jump's loop in a disassembly listing
/// (`0006  LOAD_LOCAL 0` … `001B  JUMP -24 -> 0006`).
pub fn loop_ops(listing: &str) -> Option<usize> {
    let ins: Vec<(usize, &str)> = listing
        .lines()
        .filter_map(|l| {
            let (off, rest) = l.split_once("  ")?;
            (off.len() == 4)
                .then(|| usize::from_str_radix(off, 16).ok())
                .flatten()
                .map(|o| (o, rest.trim()))
        })
        .collect();
    let (end, target) = ins.iter().find_map(|&(off, text)| {
        let (_, t) = text.split_once("-> ")?;
        let t = usize::from_str_radix(t.trim(), 16).ok()?;
        (t <= off && text.starts_with("JUMP")).then_some((off, t))
    })?;
    Some(
        ins.iter()
            .filter(|&&(off, _)| off >= target && off <= end)
            .count(),
    )
}

/// Resolves [`Src`]s against one run.
pub struct Ctx<'a> {
    /// The run.
    pub results: &'a Results,
    /// Opcodes per summing-loop iteration.
    pub sum_ops: usize,
}

impl Ctx<'_> {
    /// The figure of `src` in this run, or why there is none.
    pub fn resolve(&self, src: &Src) -> Measure {
        match src {
            Src::Crit(id) => match self.results.criterion.get(*id) {
                Some(f) => Measure::Ok(f.clone()),
                None => Measure::Unavailable(format!(
                    "not measured: no criterion result `{id}` in this run"
                )),
            },
            Src::Peer(id) => self.results.peers.get(*id).cloned().unwrap_or_else(|| {
                Measure::Unavailable(format!("not measured: no `peer {id}` line in this run"))
            }),
            Src::PerSumOp(inner) => match self.resolve(inner) {
                Measure::Ok(f) => {
                    let k = self.sum_ops.max(1) as f64;
                    let spread = match f.spread {
                        Spread::Ci { lo, hi, mad } => Spread::Ci {
                            lo: lo / k,
                            hi: hi / k,
                            mad: mad / k,
                        },
                        Spread::Range { lo, hi, runs } => Spread::Range {
                            lo: lo / k,
                            hi: hi / k,
                            runs,
                        },
                        Spread::Exact => Spread::Exact,
                    };
                    Measure::Ok(Figure {
                        value: f.value / k,
                        spread,
                        source: format!("{} ÷ {} opcodes", f.source, self.sum_ops),
                    })
                }
                m => m,
            },
            Src::ValueSize => exact(
                std::mem::size_of::<tt_vm::Value>(),
                "`size_of::<tt_vm::Value>()`",
            ),
            Src::TtValueSize => exact(
                std::mem::size_of::<trashtalk::types::TTValue>(),
                "`size_of::<TTValue>()`",
            ),
        }
    }

    /// Evaluates one row.
    pub fn evaluate<'r>(&self, row: &'r Row) -> Evaluated<'r> {
        let fig = self.resolve(&row.src);
        let base = row.baseline.as_ref().map(|(_, s)| self.resolve(s));
        let ratio = match (fig.figure(), base.as_ref().and_then(Measure::figure)) {
            (Some(f), Some(b)) if b.value > 0.0 => Some(f.value / b.value),
            _ => None,
        };
        let status = match (&fig, &row.goal) {
            (Measure::Unavailable(why), _) => Status::Unavailable(why.clone()),
            (Measure::Ok(_), None) => Status::NoGoal,
            (Measure::Ok(f), Some(g)) => {
                let mut missed = Vec::new();
                let mut unknown = None;
                for c in &g.checks {
                    match self.check(c, f, ratio, base.as_ref()) {
                        Ok(true) => {}
                        Ok(false) => missed.push(self.describe(c, f, ratio)),
                        Err(why) => unknown = Some(why),
                    }
                }
                match (missed.is_empty(), unknown) {
                    (false, _) => Status::Missed(missed.join("; ")),
                    (true, Some(why)) => Status::Unknown(why),
                    (true, None) => Status::Met,
                }
            }
        };
        Evaluated {
            row,
            fig,
            base,
            ratio,
            status,
        }
    }

    fn check(
        &self,
        c: &Check,
        f: &Figure,
        ratio: Option<f64>,
        base: Option<&Measure>,
    ) -> Result<bool, String> {
        let no_base = || match base {
            Some(Measure::Unavailable(why)) => format!("baseline unavailable: {why}"),
            _ => "no baseline".to_string(),
        };
        Ok(match c {
            Check::MaxNs(x) => f.value <= *x,
            Check::MaxRatio(r) => ratio.ok_or_else(no_base)? <= *r,
            Check::MaxRatioTo { what, src, ratio } => match self.resolve(src) {
                Measure::Ok(o) if o.value > 0.0 => f.value / o.value <= *ratio,
                Measure::Ok(_) => return Err(format!("{what}: zero figure")),
                Measure::Unavailable(why) => return Err(format!("{what} unavailable: {why}")),
            },
            Check::MinPerSec(x) => f.value > 0.0 && 1e9 / f.value >= *x,
            Check::EqBytes(b) => f.value == *b,
        })
    }

    fn describe(&self, c: &Check, f: &Figure, ratio: Option<f64>) -> String {
        match c {
            Check::MaxNs(x) => format!("{} > {}", fmt_ns(f.value), fmt_ns(*x)),
            Check::MaxRatio(r) => format!(
                "{} of the baseline > {}",
                fmt_ratio(ratio.unwrap_or(f64::NAN)),
                fmt_ratio(*r)
            ),
            Check::MaxRatioTo { what, src, ratio } => {
                let o = self
                    .resolve(src)
                    .figure()
                    .map_or(f64::NAN, |o| f.value / o.value);
                format!("{} of {what} > {}", fmt_ratio(o), fmt_ratio(*ratio))
            }
            Check::MinPerSec(x) => {
                format!("{} < {}", fmt_rate(1e9 / f.value, "/s"), fmt_rate(*x, "/s"))
            }
            Check::EqBytes(b) => format!("{} B ≠ {b} B", f.value),
        }
    }
}

fn exact(n: usize, what: &str) -> Measure {
    Measure::Ok(Figure {
        value: n as f64,
        spread: Spread::Exact,
        source: what.into(),
    })
}

/// A row's verdict.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Every check of the goal holds.
    Met,
    /// At least one check fails (what failed).
    Missed(String),
    /// The row has no goal.
    NoGoal,
    /// The figure itself is missing.
    Unavailable(String),
    /// The figure exists but a figure the goal compares with does not.
    Unknown(String),
}

/// A row with its figures resolved.
#[derive(Clone, Debug)]
pub struct Evaluated<'r> {
    /// The row.
    pub row: &'r Row,
    /// Its figure.
    pub fig: Measure,
    /// Its baseline's figure.
    pub base: Option<Measure>,
    /// figure / baseline.
    pub ratio: Option<f64>,
    /// Verdict.
    pub status: Status,
}

/// `0.43 ns`, `12.3 ns`, `456 ns`, `1.23 µs`, `45.6 ms`, `1.20 s`.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".into();
    }
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", sig3(v))
}

/// Three significant digits (at most two decimals).
fn sig3(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// `2.31×`, `12.4×`, `153×`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        return "n/a".into();
    }
    if r < 0.01 {
        format!("{r:.4}×")
    } else {
        format!("{}×", sig3(r))
    }
}

/// `512 k instances/s`, `1.23 M requests/s`.
pub fn fmt_rate(per_sec: f64, unit: &str) -> String {
    let unit = unit.trim_start_matches('/');
    let sep = if unit == "s" { "/" } else { " " };
    let unit = if unit == "s" { "s" } else { unit };
    if per_sec >= 1e6 {
        format!("{} M{sep}{unit}", sig3(per_sec / 1e6))
    } else if per_sec >= 1e3 {
        format!("{} k{sep}{unit}", sig3(per_sec / 1e3))
    } else {
        format!("{}{sep}{unit}", sig3(per_sec))
    }
}
