//! The SQLite store (docs/spec/persistence.md §2, §3, §8, §9).
//!
//! One [`Store`] owns one connection behind a mutex; every operation is a short autocommit
//! statement (or one `BEGIN IMMEDIATE` transaction for [`Store::save_batch`] and
//! [`Store::save_instances`]) and no statement or read transaction stays open between
//! operations, so `sqlite3` CLI processes of the Bash runtime can read, write and checkpoint the
//! same file concurrently (§3.3).
//!
//! Texts from outside ([`Store::save`], [`Store::save_batch`]) go through the §3.4 statement,
//! `json()` included, once per row (multi-row `INSERT OR REPLACE` statements were measured
//! slower). Documents written by the runtime's own writer ([`super::writer`]) are bound without
//! `json()`, which is an identity on them, and saved with an upsert that stores the same row
//! ([`SQL_SAVE_WRITTEN`]); [`Store::save_instances`] runs it [`BATCH_ROWS`] rows per statement
//! (docs/persistence.md, "Decisions", has the proofs and the measurements).

use std::borrow::Borrow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::types::ValueRef as SqlRef;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use super::writer::{PLAIN_BIND_MAX_DEPTH, write_document_json};
use super::{PersistError, check_id, is_kv_id};
use tt_vm::object::Instance;

/// `CREATE TABLE` of §3.1.
const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS instances (\n    id TEXT PRIMARY KEY,\n    data JSON NOT NULL\n)";
/// Generated columns of §3.1, added only when missing: (name, `ALTER TABLE` statement).
const GENERATED_COLUMNS: [(&str, &str); 2] = [
    (
        "class",
        "ALTER TABLE instances ADD COLUMN class TEXT GENERATED ALWAYS AS (json_extract(data, '$.class')) VIRTUAL",
    ),
    (
        "created_at",
        "ALTER TABLE instances ADD COLUMN created_at TEXT GENERATED ALWAYS AS (json_extract(data, '$.created_at')) VIRTUAL",
    ),
];
/// Class index of §3.1.
const CREATE_INDEX: &str = "CREATE INDEX IF NOT EXISTS idx_instances_class ON instances(class)";

/// Save statement (§3.4).
pub const SQL_SAVE: &str = "INSERT OR REPLACE INTO instances (id, data) VALUES (?1, json(?2))";
/// The save statement for documents written by the runtime's own writer: the row of §3.4's
/// statement, written as an upsert (an existing row keeps its rowid instead of being deleted
/// and inserted again) with the document bound as is, since `json()` is an identity on them
/// (docs/persistence.md, "Decisions").
pub const SQL_SAVE_WRITTEN: &str = "INSERT INTO instances (id, data) VALUES (?1, ?2) \
     ON CONFLICT(id) DO UPDATE SET data = excluded.data";
/// [`SQL_SAVE_WRITTEN`] with the document through `json()`, for the runtime's documents deeper
/// than [`PLAIN_BIND_MAX_DEPTH`]: SQLite refuses those beyond its limit as with [`SQL_SAVE`].
pub const SQL_SAVE_WRITTEN_JSON: &str = "INSERT INTO instances (id, data) VALUES (?1, json(?2)) \
     ON CONFLICT(id) DO UPDATE SET data = excluded.data";
/// Rows per statement in [`Store::save_instances`]: the upsert of [`SQL_SAVE_WRITTEN`] with
/// this many `VALUES` rows was measured fastest (docs/persistence.md, "Decisions").
pub const BATCH_ROWS: usize = 8;

/// [`SQL_SAVE_WRITTEN`] for [`BATCH_ROWS`] rows: `VALUES (?1, ?2), (?3, ?4), …`.
static SQL_SAVE_WRITTEN_ROWS: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (0..BATCH_ROWS)
        .map(|j| format!("(?{}, ?{})", 2 * j + 1, 2 * j + 2))
        .collect();
    format!(
        "INSERT INTO instances (id, data) VALUES {} ON CONFLICT(id) DO UPDATE SET data = excluded.data",
        values.join(", ")
    )
});
/// Load statement (§3.4).
pub const SQL_LOAD: &str = "SELECT data FROM instances WHERE id = ?1";
/// Delete statement (§3.4).
pub const SQL_DELETE: &str = "DELETE FROM instances WHERE id = ?1";
/// Ids-of-a-class statement (§3.4).
pub const SQL_IDS_OF_CLASS: &str = "SELECT id FROM instances WHERE class = ?1";
/// Count-of-a-class statement (§3.4).
pub const SQL_COUNT_OF_CLASS: &str = "SELECT COUNT(*) FROM instances WHERE class = ?1";

/// Busy timeout of §3.2 (equals the Bash side's `.timeout 5000`).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The runtime's database location (§2): `explicit`, else `$SQLITE_JSON_DB`, else
/// `$TRASHTALK_ROOT/instances.db`, else `$HOME/.trashtalk/instances.db`. Empty variables count
/// as unset; without `HOME` the last step is relative to the working directory.
pub fn resolve_db_path(explicit: Option<&Path>) -> PathBuf {
    resolve_db_path_with(explicit, |k| std::env::var_os(k))
}

/// [`resolve_db_path`] with an explicit environment lookup (for tests and embedding).
pub fn resolve_db_path_with(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(db) = var("SQLITE_JSON_DB") {
        return PathBuf::from(db);
    }
    if let Some(root) = var("TRASHTALK_ROOT") {
        return PathBuf::from(root).join("instances.db");
    }
    let home = var("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".trashtalk").join("instances.db")
}

/// The journal mode a [`Store`] puts its file in (docs/spec/persistence.md §3.2, §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JournalMode {
    /// Rollback journal deleted at each commit (`DELETE`, the default): the database is one
    /// self-contained file between transactions, as the Bash runtime expects (it removes and
    /// replaces `instances.db` as one file).
    #[default]
    Delete,
    /// Write-ahead log (`WAL`): `-wal` and `-shm` files live beside the database. Kept for
    /// measurements and embedders that own their file alone.
    Wal,
}

impl JournalMode {
    /// The `PRAGMA journal_mode` value.
    pub fn pragma(self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Wal => "wal",
        }
    }
}

/// Device and inode of a file: what tells a replaced or deleted database file from the one a
/// connection has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of the file at `path` now (`None` when it does not exist).
fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The open connection and the identity of the file it opened.
struct Open {
    conn: Connection,
    file: Option<FileId>,
}

impl std::ops::Deref for Open {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Open {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Ids a [`Store`] loaded and saved while tracking ([`Store::track`]): what a host needs to
/// undo the rows a unit of work created (docs/spec/daemon-protocol.md §15).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracked {
    /// Ids whose rows were read (whether or not a row existed).
    pub loaded: std::collections::HashSet<String>,
    /// Ids written one by one ([`Store::save`], [`Store::save_instance`]).
    pub saved: std::collections::HashSet<String>,
}

/// The shared instance database. See the module docs.
pub struct Store {
    tracked: Mutex<Option<Tracked>>,
    conn: Mutex<Open>,
    path: PathBuf,
    mode: JournalMode,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens or creates the database at `path` (creating missing parent directories), applies
    /// the connection settings of §3.2 (journal mode [`JournalMode::Delete`]) and makes sure
    /// the schema of §3.1 exists.
    ///
    /// A journal mode other than the one asked for (or a busy/read-only refusal to switch)
    /// does not fail: it is recorded in [`Store::warnings`].
    pub fn open(path: &Path) -> Result<Store, PersistError> {
        Store::open_with(path, JournalMode::default())
    }

    /// [`Store::open`] with an explicit journal mode.
    pub fn open_with(path: &Path, mode: JournalMode) -> Result<Store, PersistError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| PersistError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut warnings = Vec::new();
        let open = connect(path, mode, &mut warnings)?;
        Ok(Store {
            tracked: Mutex::new(None),
            conn: Mutex::new(open),
            path: path.to_path_buf(),
            mode,
            warnings,
        })
    }

    /// Reopens the database when the file at [`Store::path`] is no longer the one the
    /// connection has open: deleted (a new, empty database is created, as the Bash runtime
    /// would), or replaced by another file (device or inode differ). Returns whether it
    /// reopened. One `stat` when nothing changed (docs/spec/persistence.md §3.5).
    pub fn reopen_if_replaced(&self) -> Result<bool, PersistError> {
        let now = file_id(&self.path);
        let mut open = self.conn.lock();
        if now.is_some() && now == open.file {
            return Ok(false);
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| PersistError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut warnings = Vec::new();
        *open = connect(&self.path, self.mode, &mut warnings)?;
        Ok(true)
    }

    /// Starts recording the ids loaded and saved one by one (`true`, forgetting an earlier
    /// record) or stops (`false`).
    pub fn track(&self, on: bool) {
        *self.tracked.lock() = on.then(Tracked::default);
    }

    /// What was recorded since [`Store::track`]`(true)` (empty when not tracking).
    pub fn tracked(&self) -> Tracked {
        self.tracked.lock().clone().unwrap_or_default()
    }

    fn note(&self, id: &str, saved: bool) {
        if let Some(t) = self.tracked.lock().as_mut() {
            let set = if saved { &mut t.saved } else { &mut t.loaded };
            if !set.contains(id) {
                set.insert(id.to_owned());
            }
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Warnings recorded while opening (e.g. WAL not available).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The connection's current journal mode (`delete` normally).
    pub fn journal_mode(&self) -> Result<String, PersistError> {
        let conn = self.conn.lock();
        Ok(conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)
    }

    /// Changes the busy timeout (default 5000 ms, §3.2). Meant for tests that provoke
    /// `database is locked` quickly; production code keeps the default.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), PersistError> {
        self.conn.lock().busy_timeout(timeout)?;
        Ok(())
    }

    /// Saves one document (`INSERT OR REPLACE … json(?2)`), in autocommit.
    ///
    /// Fails for an id outside the §8 format, a key/value id, a document that is not a JSON
    /// object, or with SQLite's message (`malformed JSON`, `database is locked`, …).
    pub fn save(&self, id: &str, doc_json: &str) -> Result<(), PersistError> {
        check_saveable(id, doc_json)?;
        let conn = self.conn.lock();
        super::failpoint::check()?;
        conn.prepare_cached(SQL_SAVE)?
            .execute(params![id, doc_json])?;
        drop(conn);
        self.note(id, true);
        Ok(())
    }

    /// Saves many documents in one `BEGIN IMMEDIATE` transaction: all or nothing. Every id and
    /// document is checked before the transaction starts; the documents go through `json()`
    /// (they come from outside). Returns the number of rows written.
    pub fn save_batch(&self, docs: &[(String, String)]) -> Result<usize, PersistError> {
        for (id, doc) in docs {
            check_saveable(id, doc)?;
        }
        if docs.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(SQL_SAVE)?;
            for (id, doc) in docs {
                stmt.execute(params![id, doc])?;
            }
        }
        super::failpoint::check()?;
        tx.commit()?;
        Ok(docs.len())
    }

    /// Saves live instances in one `BEGIN IMMEDIATE` transaction: all or nothing. Every id is
    /// checked and every document written by
    /// [`write_document_json`] (byte-identical to
    /// `document_of(..).to_json()`) before the transaction starts, so a released instance
    /// (`instance not found: <id>`) writes nothing; a SQLite failure rolls the whole batch back.
    /// Errors are returned, and the modified flags are cleared only after the commit. Returns
    /// the number of rows written (`insts.len()`; a repeated instance is written twice, the
    /// last write wins).
    ///
    /// Accepts `&[&Instance]`, `&[Arc<Instance>]`, …
    pub fn save_instances<I: Borrow<Instance>>(&self, insts: &[I]) -> Result<usize, PersistError> {
        for inst in insts {
            check_saveable_id(inst.borrow().id())?;
        }
        if insts.is_empty() {
            return Ok(0);
        }
        let mut docs = Docs::default();
        docs.write(insts)?;
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let row = |k: usize| {
                let (a, b, plain) = docs.rows[k];
                (insts[k].borrow().id(), &docs.buf[a..b], plain)
            };
            let mut multi = tx.prepare_cached(&SQL_SAVE_WRITTEN_ROWS)?;
            let mut one = tx.prepare_cached(SQL_SAVE_WRITTEN)?;
            let mut k = 0;
            while k < insts.len() {
                // A run of documents bound as they are, in statements of `BATCH_ROWS` rows,
                // then the rest of the run row by row: rows stay in order (the last write of
                // a repeated instance wins).
                let end = (k..insts.len()).find(|&j| !row(j).2).unwrap_or(insts.len());
                while end - k >= BATCH_ROWS {
                    for j in 0..BATCH_ROWS {
                        let (id, doc, _) = row(k + j);
                        multi.raw_bind_parameter(2 * j + 1, id)?;
                        multi.raw_bind_parameter(2 * j + 2, doc)?;
                    }
                    multi.raw_execute()?;
                    k += BATCH_ROWS;
                }
                for j in k..end {
                    let (id, doc, _) = row(j);
                    one.raw_bind_parameter(1, id)?;
                    one.raw_bind_parameter(2, doc)?;
                    one.raw_execute()?;
                }
                if end < insts.len() {
                    let (id, doc, _) = row(end);
                    tx.prepare_cached(SQL_SAVE_WRITTEN_JSON)?
                        .execute(params![id, doc])?;
                }
                k = end + 1;
            }
        }
        super::failpoint::check()?;
        tx.commit()?;
        for inst in insts {
            inst.borrow().set_dirty(false);
        }
        Ok(insts.len())
    }

    /// Saves one live instance in autocommit, its document written by
    /// [`write_document_json`], and clears its modified flag.
    /// Fails like [`Store::save_instances`].
    pub fn save_instance(&self, inst: &Instance) -> Result<(), PersistError> {
        let mut doc = String::with_capacity(256);
        let depth = write_document_json(inst, &mut doc)?;
        check_saveable_id(inst.id())?;
        let sql = if depth <= PLAIN_BIND_MAX_DEPTH {
            SQL_SAVE_WRITTEN
        } else {
            SQL_SAVE_WRITTEN_JSON
        };
        {
            let conn = self.conn.lock();
            super::failpoint::check()?;
            conn.prepare_cached(sql)?.execute(params![inst.id(), doc])?;
        }
        self.note(inst.id(), true);
        inst.set_dirty(false);
        Ok(())
    }

    /// The stored document of `id`, if a row exists. Key/value ids (`__kv__…`) are not
    /// instances and always answer `None`.
    pub fn load(&self, id: &str) -> Result<Option<String>, PersistError> {
        check_id(id)?;
        if is_kv_id(id) {
            return Ok(None);
        }
        self.note(id, false);
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(SQL_LOAD)?;
        let data = stmt
            .query_row(params![id], |r| {
                Ok(match r.get_ref(0)? {
                    SqlRef::Null => None,
                    SqlRef::Text(t) | SqlRef::Blob(t) => Some(String::from_utf8_lossy(t).into()),
                    SqlRef::Integer(i) => Some(i.to_string()),
                    SqlRef::Real(f) => Some(f.to_string()),
                })
            })
            .optional()?;
        Ok(data.flatten())
    }

    /// Deletes the row of `id`; returns whether a row existed. Key/value ids are refused.
    pub fn delete(&self, id: &str) -> Result<bool, PersistError> {
        check_id(id)?;
        if is_kv_id(id) {
            return Err(PersistError::ReservedId(id.to_owned()));
        }
        let conn = self.conn.lock();
        super::failpoint::check()?;
        let n = conn.prepare_cached(SQL_DELETE)?.execute(params![id])?;
        Ok(n > 0)
    }

    /// Ids of the rows whose `class` is `class` (key/value rows have no class and never match).
    pub fn ids_of_class(&self, class: &str) -> Result<Vec<String>, PersistError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(SQL_IDS_OF_CLASS)?;
        let ids = stmt
            .query_map(params![class], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    /// Number of rows whose `class` is `class`.
    pub fn count_of_class(&self, class: &str) -> Result<u64, PersistError> {
        let conn = self.conn.lock();
        let n: i64 = conn
            .prepare_cached(SQL_COUNT_OF_CLASS)?
            .query_row(params![class], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Runs `PRAGMA wal_checkpoint(PASSIVE)` (§3.3 rule 5; e.g. at `TT_Close`). Never waits for
    /// readers or writers.
    pub fn checkpoint(&self) -> Result<(), PersistError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare("PRAGMA wal_checkpoint(PASSIVE)")?;
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }
}

/// Checks an id before saving: §8 format, not a key/value id.
fn check_saveable_id(id: &str) -> Result<(), PersistError> {
    check_id(id)?;
    if is_kv_id(id) {
        return Err(PersistError::ReservedId(id.to_owned()));
    }
    Ok(())
}

/// The documents of a batch of instances in one buffer: (start, end, bindable without `json()`)
/// per instance.
#[derive(Default)]
struct Docs {
    buf: String,
    rows: Vec<(usize, usize, bool)>,
}

impl Docs {
    /// Appends the documents of `insts`.
    fn write<I: Borrow<Instance>>(&mut self, insts: &[I]) -> Result<(), PersistError> {
        self.buf.reserve(192 * insts.len());
        self.rows.reserve(insts.len());
        for inst in insts {
            let start = self.buf.len();
            let depth = write_document_json(inst.borrow(), &mut self.buf)?;
            self.rows
                .push((start, self.buf.len(), depth <= PLAIN_BIND_MAX_DEPTH));
        }
        Ok(())
    }
}

/// Checks an id and a document before saving.
fn check_saveable(id: &str, doc_json: &str) -> Result<(), PersistError> {
    check_saveable_id(id)?;
    // `json(?2)` validates the text; a valid JSON text starting with `{` is an object.
    if !doc_json.trim_start().starts_with('{') {
        return Err(PersistError::InvalidJson("not a JSON object".into()));
    }
    Ok(())
}

/// Opens a connection with the §3.2 settings and the §3.1 schema, and records the identity of
/// the file it opened.
fn connect(
    path: &Path,
    mode: JournalMode,
    warnings: &mut Vec<String>,
) -> Result<Open, PersistError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)?;
    let want = mode.pragma();
    match conn.pragma_update_and_check(None, "journal_mode", want, |r| r.get::<_, String>(0)) {
        Ok(got) if got.eq_ignore_ascii_case(want) => {}
        Ok(got) => warnings.push(format!(
            "journal_mode is '{got}', not '{want}': continuing in '{got}' mode"
        )),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::ReadOnly)
            ) =>
        {
            warnings.push(format!(
                "could not switch journal_mode to {want}: {}",
                PersistError::from(e)
            ));
        }
        Err(e) => return Err(e.into()),
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    create_schema(&conn)?;
    let file = file_id(path);
    Ok(Open { conn, file })
}

/// Creates the §3.1 schema; tolerant of concurrent initializers and of extra columns/indexes.
fn create_schema(conn: &Connection) -> Result<(), PersistError> {
    conn.execute_batch(CREATE_TABLE)?;
    let existing: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA table_xinfo(instances)")?;
        stmt.query_map([], |r| r.get::<_, String>("name"))?
            .collect::<Result<_, _>>()?
    };
    for (name, alter) in GENERATED_COLUMNS {
        if existing.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            continue;
        }
        match conn.execute_batch(alter) {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(_, Some(msg)))
                if msg.starts_with("duplicate column name") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.execute_batch(CREATE_INDEX)?;
    Ok(())
}
