//! Target `persist`: instance documents read back from SQLite as the Bash side may have written
//! them (docs/spec/persistence.md §3, §4).
//!
//! The input is one mode byte followed by the row's `data`. A second connection (standing for
//! the Bash side's `sqlite3`) writes the row, as text as given, through `json(?)` as the Bash
//! runtime does, or as raw bytes cast to text (not UTF-8 at all); then the store loads it
//! through the runtime's path (`InstanceStore::load`). Loading never panics: a bad document is an
//! error. A document that loads is a fixed point after one round: its re-serialized document
//! parses and re-serializes to the same text.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rusqlite::Connection;
use tt_persist::{InstanceDoc, Store, document_json_of, instance_from_doc};
use tt_vm::runtime::InstanceStore;
use tt_vm::{ClassDef, Runtime};

/// The row id every input is written to.
const ID: &str = "counter_fuzz";

/// The store, the Bash side's connection and a runtime knowing the class `Counter`.
struct Fixture {
    store: Arc<Store>,
    bash: Connection,
    rt: Runtime,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path: PathBuf =
            std::env::temp_dir().join(format!("tt-fuzz-persist-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = Arc::new(Store::open(&path).expect("the store opens a fresh database"));
        let bash = Connection::open(&path).expect("a second connection opens");
        let rt = Runtime::new();
        rt.define_class(ClassDef {
            name: "Counter".into(),
            ivars: vec!["value".into(), "step".into()],
            ..ClassDef::default()
        })
        .expect("Counter is definable");
        Mutex::new(Fixture { store, bash, rt })
    })
}

/// Runs one input.
pub fn fuzz_persist(data: &[u8]) {
    let Some((&mode, doc)) = data.split_first() else {
        return;
    };
    let fx = fixture().lock();
    let _ = fx.bash.execute("DELETE FROM instances WHERE id = ?1", [ID]);
    let written = match mode % 3 {
        0 => fx.bash.execute(
            "INSERT INTO instances (id, data) VALUES (?1, json(?2))",
            (ID, String::from_utf8_lossy(doc)),
        ),
        1 => fx.bash.execute(
            "INSERT INTO instances (id, data) VALUES (?1, ?2)",
            (ID, String::from_utf8_lossy(doc)),
        ),
        _ => fx.bash.execute(
            "INSERT INTO instances (id, data) VALUES (?1, CAST(?2 AS TEXT))",
            (ID, doc),
        ),
    };
    if written.is_err() {
        return; // SQLite refused the row (e.g. `json()` of text that is not JSON).
    }
    let Ok(Some(inst)) = InstanceStore::load(fx.store.as_ref(), &fx.rt, ID) else {
        return;
    };
    let first = document_json_of(&inst).expect("a loaded instance has a document");
    let doc = InstanceDoc::parse_with(&first, |class| {
        tt_persist::instance_store::registered_ivars(&fx.rt, class)
    })
    .unwrap_or_else(|e| panic!("re-serialized document {first:?} does not parse: {e}"));
    let again = instance_from_doc(&fx.rt, ID.to_owned(), doc);
    let second = document_json_of(&again).expect("a loaded instance has a document");
    assert_eq!(first, second, "documents are a fixed point after one round");
}
