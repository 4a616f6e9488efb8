//! The machine and toolchain a run was measured on.

use std::collections::BTreeMap;
use std::process::Command;

/// Facts about the machine, for the report's header.
#[derive(Clone, Debug)]
pub struct Machine {
    /// CPU model (`model name` of `/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs (`processor` entries of `/proc/cpuinfo`, else available parallelism).
    pub cores: usize,
    /// `rustc -V`.
    pub rustc: String,
    /// Operating system and kernel.
    pub os: String,
    /// Git commit of the workspace, with `+ local changes` when the tree is dirty.
    pub commit: String,
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The CPU model and count of logical CPUs from the text of `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> (Option<String>, usize) {
    let field = |l: &str, name: &str| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == name).then(|| v.trim().to_owned())
    };
    let model = text
        .lines()
        .find_map(|l| field(l, "model name").or_else(|| field(l, "Model")));
    let count = text
        .lines()
        .filter(|l| field(l, "processor").is_some())
        .count();
    (model, count)
}

impl Machine {
    /// Probes this machine. `meta` (the run's `meta.txt`) may supply `rustc` and `commit`
    /// as seen by the run script.
    pub fn probe(meta: &BTreeMap<String, String>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (model, count) = parse_cpuinfo(&cpuinfo);
        let cores = if count > 0 {
            count
        } else {
            std::thread::available_parallelism().map_or(0, |n| n.get())
        };
        let rustc = meta
            .get("rustc")
            .cloned()
            .or_else(|| output(&std::env::var("RUSTC").unwrap_or("rustc".into()), &["-V"]))
            .unwrap_or_else(|| "unknown".into());
        let pretty = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| std::env::consts::OS.into());
        let kernel = output("uname", &["-srm"]).unwrap_or_default();
        let commit = meta.get("commit").cloned().unwrap_or_else(|| {
            let head = output("git", &["rev-parse", "--short", "HEAD"]);
            let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            match head {
                Some(h) if dirty => format!("{h} + local changes"),
                Some(h) => h,
                None => "unknown".into(),
            }
        });
        Machine {
            cpu: model.unwrap_or_else(|| "unknown".into()),
            cores,
            rustc,
            os: format!("{pretty}, {kernel}")
                .trim_end_matches([',', ' '])
                .into(),
            commit,
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since the Unix epoch.
pub fn utc_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo() {
        let t =
            "processor\t: 0\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n";
        assert_eq!(parse_cpuinfo(t), (Some("AMD EPYC".into()), 2));
    }

    #[test]
    fn dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13 UTC");
    }
}
