//! The daemon's request path in-process, for the fuzz targets (`tests/fuzz-targets`,
//! docs/fuzzing.md): one request line in, one response line out, exactly as `tt daemon --stdio`
//! answers it (docs/spec/daemon-protocol.md §6), without a socket or a child process.

use std::path::Path;

use crate::engine::{Engine, EngineConfig};
use crate::protocol::{MAX_REQUEST, Response};

/// Why [`InProcess::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum InProcessError {
    /// `TT_Init` failed (e.g. the database could not be opened).
    #[error("{0}")]
    Init(String),
}

/// The process's runtime initialized as the daemon initializes it (`TT_Init(db, no plugins)`).
///
/// The runtime is process-global: start one `InProcess` per process and keep it.
#[derive(Debug)]
pub struct InProcess {
    engine: Engine,
}

impl InProcess {
    /// Initializes the global runtime with the database `db` and no plugin directory, and
    /// installs the JIT as `tt` does (unless `TT_JIT=0`).
    pub fn start(db: &Path) -> Result<InProcess, InProcessError> {
        crate::install_jit(tt_vm::Runtime::global());
        let engine = Engine::start(EngineConfig {
            db: Some(db.to_path_buf()),
            ..EngineConfig::default()
        })
        .map_err(|e| InProcessError::Init(e.to_string()))?;
        Ok(InProcess { engine })
    }

    /// The response line (with its newline) to one request line (without its newline), or
    /// `None` for a blank line, which the daemon skips. Lines longer than the protocol's limit
    /// are answered `request too large`, as the daemon does.
    pub fn answer(&self, line: &[u8]) -> Option<Vec<u8>> {
        if line.len() > MAX_REQUEST {
            return Some(Response::too_large().to_line());
        }
        crate::stdio::respond(&self.engine, line).map(|r| r.to_line())
    }

    /// `TT_Close`: saves modified instances and closes the database.
    pub fn close(&self) {
        self.engine.close();
    }
}
