//! The plot: one panel per [`PlotGroup`](super::rows::PlotGroup), horizontal bars on a
//! logarithmic time axis, whiskers for the spread, written as plain SVG text.

use std::fmt::Write as _;

use super::Report;
use super::data::Measure;
use super::rows::{Kind, fmt_ns};

const WIDTH: f64 = 980.0;
const LABEL_X: f64 = 290.0;
const BAR_X0: f64 = 300.0;
const BAR_W: f64 = 560.0;
const BAR_H: f64 = 16.0;
const BAR_GAP: f64 = 6.0;

fn colour(k: Kind) -> &'static str {
    match k {
        Kind::Ours => "#2b6cb0",
        Kind::Peer => "#dd6b20",
        Kind::Baseline => "#718096",
        Kind::OldPath => "#c53030",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `0.1 ns`, `1 ns`, `10 µs`: the label of the decade 10^d ns.
pub fn decade_label(d: i32) -> String {
    let (unit, base) = match d {
        i32::MIN..=2 => ("ns", 0),
        3..=5 => ("µs", 3),
        6..=8 => ("ms", 6),
        _ => ("s", 9),
    };
    let v = 10f64.powi(d - base);
    if v >= 1.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{} {unit}", format!("{v:.6}").trim_end_matches('0'))
    }
}

/// The SVG document.
pub fn render(rep: &Report) -> String {
    let ctx = rep.ctx();
    let mut body = String::new();
    let mut y = 94.0;
    for g in &rep.plot {
        let bars: Vec<(&super::rows::Bar, Measure)> =
            g.bars.iter().map(|b| (b, ctx.resolve(&b.src))).collect();
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for (_, m) in &bars {
            if let Some(f) = m.figure() {
                let (a, b) = f.bounds();
                lo = lo.min(a.min(f.value));
                hi = hi.max(b.max(f.value));
            }
        }
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" class="title">{}</text>"#,
            esc(g.title)
        );
        y += 10.0;
        let top = y;
        let n = bars.len() as f64;
        let panel_h = n * (BAR_H + BAR_GAP);
        let (d0, d1) = if lo.is_finite() && lo > 0.0 {
            let d0 = lo.log10().floor() as i32;
            let mut d1 = hi.log10().ceil() as i32;
            if d1 <= d0 {
                d1 = d0 + 1;
            }
            (d0, d1)
        } else {
            (0, 1)
        };
        let x_of = |v: f64| {
            BAR_X0 + (v.max(10f64.powi(d0)).log10() - d0 as f64) / (d1 - d0) as f64 * BAR_W
        };
        for d in d0..=d1 {
            let x = x_of(10f64.powi(d));
            let _ = writeln!(
                body,
                r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tick">{}</text>"#,
                top + panel_h,
                top + panel_h + 12.0,
                esc(&decade_label(d))
            );
        }
        for (i, (b, m)) in bars.iter().enumerate() {
            let by = top + i as f64 * (BAR_H + BAR_GAP) + BAR_GAP / 2.0;
            let cy = by + BAR_H / 2.0;
            let _ = writeln!(
                body,
                r#"<text x="{LABEL_X}" y="{:.1}" class="label">{}</text>"#,
                cy + 4.0,
                esc(&b.label)
            );
            match m {
                Measure::Ok(f) if f.value > 0.0 => {
                    let x1 = x_of(f.value);
                    let (a, z) = f.bounds();
                    let _ = writeln!(
                        body,
                        r#"<rect x="{BAR_X0}" y="{by:.1}" width="{:.1}" height="{BAR_H}" fill="{}"><title>{}: {}</title></rect>"#,
                        (x1 - BAR_X0).max(1.0),
                        colour(b.kind),
                        esc(&b.label),
                        esc(&fmt_ns(f.value))
                    );
                    if z > a {
                        let _ = writeln!(
                            body,
                            r#"<line x1="{:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" class="whisker"/>"#,
                            x_of(a),
                            x_of(z)
                        );
                    }
                    let _ = writeln!(
                        body,
                        r#"<text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                        x1.max(x_of(z)) + 5.0,
                        cy + 4.0,
                        esc(&fmt_ns(f.value))
                    );
                }
                Measure::Ok(_) => {}
                Measure::Unavailable(why) => {
                    let _ = writeln!(
                        body,
                        r#"<text x="{BAR_X0}" y="{:.1}" class="na">unavailable<title>{}</title></text>"#,
                        cy + 4.0,
                        esc(why)
                    );
                }
            }
        }
        y = top + panel_h + 40.0;
    }
    let height = y;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        o,
        "<style>.title{{font-size:14px;font-weight:bold}} .label{{font-size:12px;text-anchor:end}} \
         .value{{font-size:11px}} .tick{{font-size:10px;fill:#4a5568;text-anchor:middle}} \
         .grid{{stroke:#e2e8f0;stroke-width:1}} .whisker{{stroke:#1a202c;stroke-width:1.5}} \
         .na{{font-size:11px;fill:#a0aec0;font-style:italic}} .head{{font-size:16px;font-weight:bold}} \
         .sub{{font-size:11px;fill:#4a5568}}</style>"
    );
    let _ = writeln!(
        o,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        o,
        r#"<text x="10" y="22" class="head">libtrashtalk benchmarks{}</text>"#,
        if rep.quick { " (QUICK run)" } else { "" }
    );
    let _ = writeln!(
        o,
        r#"<text x="10" y="40" class="sub">{}, {} logical CPUs, {}, {}. Log scale, shorter is faster; whiskers: 95 % CI (criterion) or min–max (peers).</text>"#,
        esc(&rep.machine.cpu),
        rep.machine.cores,
        esc(&rep.machine.rustc),
        esc(&rep.date)
    );
    let mut lx = 10.0;
    for (k, text) in [
        (Kind::Ours, "libtrashtalk"),
        (Kind::Peer, "peer (Lua 5.4, LuaJIT)"),
        (Kind::Baseline, "baseline"),
        (Kind::OldPath, "old path (bash + nc)"),
    ] {
        let _ = writeln!(
            o,
            r#"<rect x="{lx}" y="50" width="10" height="10" fill="{}"/><text x="{}" y="59" class="value">{text}</text>"#,
            colour(k),
            lx + 14.0
        );
        lx += 30.0 + text.chars().count() as f64 * 6.5;
    }
    o.push_str(&body);
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades() {
        assert_eq!(decade_label(-1), "0.1 ns");
        assert_eq!(decade_label(0), "1 ns");
        assert_eq!(decade_label(2), "100 ns");
        assert_eq!(decade_label(3), "1 µs");
        assert_eq!(decade_label(7), "10 ms");
        assert_eq!(decade_label(9), "1 s");
    }

    #[test]
    fn escapes() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
