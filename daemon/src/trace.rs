//! `--trace` and `--profile` output (docs/spec/daemon-protocol.md §3).
//!
//! * trace: one line per dispatch decision, `[HH:MM:SS.mmm] <text>`;
//! * profile: per-stage timings, `[HH:MM:SS.mmm] <stage>: <µs>µs (<detail>)`, stages
//!   `plugin_ensure`, `json_marshal_args`, `ffi_dispatch`, `json_unmarshal_resp`, `tt_send`,
//!   `request_total`.
//!
//! Both append to a file, or write to stderr for the target `stderr`; never to stdout.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::time::Duration;

use parking_lot::Mutex;

/// A line sink: disabled, stderr, or a file opened for appending.
#[derive(Default)]
pub struct LogSink {
    out: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSink")
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl LogSink {
    /// A sink for `target` (`None` = disabled, `"stderr"`, or a file path appended to).
    pub fn open(target: Option<&str>) -> io::Result<LogSink> {
        let out: Option<Box<dyn Write + Send>> = match target {
            None | Some("") => None,
            Some("stderr") => Some(Box::new(io::stderr())),
            Some(path) => Some(Box::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            )),
        };
        Ok(LogSink {
            out: out.map(Mutex::new),
        })
    }

    /// True when lines are written somewhere.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.out.is_some()
    }

    /// Writes `[HH:MM:SS.mmm] <text>` (write errors are ignored: diagnostics never fail a request).
    pub fn line(&self, text: &str) {
        if let Some(out) = &self.out {
            let line = format!("[{}] {text}\n", timestamp());
            let mut w = out.lock();
            let _ = w.write_all(line.as_bytes());
            let _ = w.flush();
        }
    }

    /// Writes a profile line `<stage>: <µs>µs (<detail>)`.
    pub fn stage(&self, stage: &str, elapsed: Duration, detail: &str) {
        if self.enabled() {
            self.line(&format!("{stage}: {}µs ({detail})", elapsed.as_micros()));
        }
    }
}

/// The local wall-clock time as `HH:MM:SS.mmm`.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call; `localtime_r` is the
    // thread-safe variant and writes only into `tm`.
    let ok = !unsafe { libc::localtime_r(&secs, &mut tm) }.is_null();
    let (h, m, s) = if ok {
        (tm.tm_hour as u64, tm.tm_min as u64, tm.tm_sec as u64)
    } else {
        let t = now.as_secs() % 86_400;
        (t / 3600, t / 60 % 60, t % 60)
    };
    format!("{h:02}:{m:02}:{s:02}.{:03}", now.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_the_spec_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 12, "{t}");
        assert_eq!(&t[2..3], ":");
        assert_eq!(&t[5..6], ":");
        assert_eq!(&t[8..9], ".");
    }

    #[test]
    fn file_sinks_append_lines() {
        let dir = std::env::temp_dir().join(format!("tt-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trace.log");
        let sink = LogSink::open(Some(path.to_str().unwrap())).unwrap();
        sink.line("hello");
        sink.stage("tt_send", Duration::from_micros(12), "Counter>>value");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with('[') && lines[0].ends_with("] hello"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("] tt_send: 12µs (Counter>>value)"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
