//! Persistence figures (issue 7): saving instances to the shared SQLite file, in instances per
//! second, each beside raw SQLite doing the same number of row writes in the same run.
//!
//! * `persist/single`: one instance saved through the runtime's `InstanceStore` (what
//!   `TT_Persist` does: `Store::save_instance` — the §4 document of the live instance from the
//!   direct writer, then one autocommit upsert, docs/persistence.md "Decisions"). The bench
//!   cycles over `BATCH` resident instances.
//! * `persist/batch`: `BATCH` live instances per iteration through `Store::save_instances`
//!   (what `TT_Close` and the daemon's end of request do): their documents, then one
//!   `BEGIN IMMEDIATE` transaction of per-row upserts. Goal: ≥ 500 000 instances/s. Every
//!   iteration replaces the rows of the previous one (as re-saving modified instances does).
//! * `persist/batch_store_only`: the same batch with the documents already serialized, through
//!   `Store::save_batch` (texts from outside: SQLite work only — `json()`, the generated columns
//!   and the class index).
//! * `persist/raw_sqlite_single` and `persist/raw_sqlite_batch`: the baselines, the same
//!   documents written with plain `rusqlite` into a bare `(id TEXT PRIMARY KEY, data TEXT)`
//!   table of another file with the same settings (rollback journal `DELETE`, `synchronous=NORMAL`;
//!   docs/spec/persistence.md §3.2).
//!
//! The files live in a fresh temporary directory, removed at the end.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use tt_persist::{Store, document_json_of};
use tt_vm::runtime::InstanceStore;
use tt_vm::{ClassDef, Instance, Runtime, Value};

/// Instances per batch (and resident instances the single-row bench cycles over).
const BATCH: usize = 1000;

fn instances(rt: &Runtime) -> Vec<std::sync::Arc<Instance>> {
    rt.define_class(ClassDef {
        name: "BenchPoint".into(),
        ivars: vec!["x".into(), "y".into(), "label".into(), "tags".into()],
        ..Default::default()
    })
    .expect("class");
    (0..BATCH)
        .map(|i| {
            let inst = rt.new_instance("BenchPoint").expect("instance");
            inst.set("x", Value::int(i as i64), false).expect("x");
            inst.set("y", Value::float(i as f64 * 0.5), false)
                .expect("y");
            inst.set("label", Value::string(&format!("point {i}")), false)
                .expect("label");
            inst.set("tags", Value::string(r#"["a","b"]"#), false)
                .expect("tags");
            inst
        })
        .collect()
}

fn raw_connection(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).expect("open raw db");
    conn.pragma_update(None, "journal_mode", "DELETE")
        .expect("journal mode");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, data TEXT)")
        .expect("table");
    conn
}

fn persist(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("tt-bench-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let rt = Runtime::new();
    let insts = instances(&rt);
    let store = Store::open(&dir.join("instances.db")).expect("store");
    let docs: Vec<(String, String)> = insts
        .iter()
        .map(|i| (i.id().to_string(), document_json_of(i).expect("doc")))
        .collect();
    assert_eq!(store.save_batch(&docs).expect("batch"), BATCH);
    assert_eq!(store.save_instances(&insts).expect("batch"), BATCH);
    assert!(store.load(&docs[0].0).expect("load").is_some());

    let mut g = c.benchmark_group("persist");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("single", |b| {
        b.iter(|| {
            k = (k + 1) % BATCH;
            InstanceStore::save(&store, &rt, black_box(&insts[k])).expect("save")
        })
    });

    let raw = raw_connection(&dir.join("raw.db"));
    let mut k = 0usize;
    g.bench_function("raw_sqlite_single", |b| {
        b.iter(|| {
            k = (k + 1) % BATCH;
            let (id, doc) = &docs[k];
            raw.prepare_cached("INSERT OR REPLACE INTO t (id, data) VALUES (?1, ?2)")
                .expect("prepare")
                .execute(params![id, doc])
                .expect("insert")
        })
    });

    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("batch", |b| {
        b.iter(|| store.save_instances(black_box(&insts)).expect("batch"))
    });
    g.bench_function("batch_store_only", |b| {
        b.iter(|| store.save_batch(black_box(&docs)).expect("batch"))
    });
    let mut raw = raw;
    g.bench_function("raw_sqlite_batch", |b| {
        b.iter(|| {
            let tx = raw.transaction().expect("begin");
            {
                let mut st = tx
                    .prepare_cached("INSERT OR REPLACE INTO t (id, data) VALUES (?1, ?2)")
                    .expect("prepare");
                for (id, doc) in black_box(&docs) {
                    st.execute(params![id, doc]).expect("insert");
                }
            }
            tx.commit().expect("commit")
        })
    });
    g.finish();
    drop(store);
    drop(raw);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, persist);
criterion_main!(benches);
