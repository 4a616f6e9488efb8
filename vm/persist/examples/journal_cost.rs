//! Cost of the journal mode (docs/persistence.md, "Journal mode"): the 1000 instances of the
//! `persist/batch` bench (4 ivars), each changed and saved `n` times into a fresh file, in
//! one mode.
//!
//! `journal_cost <delete|wal> <n> <batch|single>`: `batch` saves all 1000 per transaction
//! (`Store::save_instances`), `single` saves each in autocommit (`Store::save_instance`).
//! Run under `valgrind --tool=callgrind` for instructions, under `strace -c -f` for the
//! `fsync`/`fdatasync` calls per commit; prints µs per instance (wall, load-dependent).
use std::hint::black_box;

use tt_persist::{JournalMode, Store};
use tt_vm::{ClassDef, Runtime, Value};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("wal") => JournalMode::Wal,
        _ => JournalMode::Delete,
    };
    let n: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(10);
    let single = args.next().is_some_and(|a| a == "single");
    let rt = Runtime::new();
    rt.define_class(ClassDef {
        name: "BenchPoint".into(),
        ivars: vec!["x".into(), "y".into(), "label".into(), "tags".into()],
        ..Default::default()
    })
    .unwrap();
    let insts: Vec<_> = (0..1000)
        .map(|i| {
            let inst = rt.new_instance("BenchPoint").unwrap();
            inst.set("x", Value::int(i), false).unwrap();
            inst.set("y", Value::float(i as f64 * 0.5), false).unwrap();
            inst.set("label", Value::string(&format!("point {i}")), false)
                .unwrap();
            inst.set("tags", Value::string(r#"["a","b"]"#), false)
                .unwrap();
            inst
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("tt-journal-cost-{}", std::process::id()));
    let store = Store::open_with(&dir.join("instances.db"), mode).unwrap();
    store.save_instances(&insts).unwrap();
    let t = std::time::Instant::now();
    for pass in 0..n {
        // Changed documents: SQLite skips rewriting a cell whose bytes are unchanged, so
        // saving identical documents again would touch no page and sync nothing.
        for (i, inst) in insts.iter().enumerate() {
            inst.set("x", Value::int((i + 1000 * (pass + 1)) as i64), false)
                .unwrap();
        }
        if single {
            for i in &insts {
                store.save_instance(black_box(i)).unwrap();
            }
        } else {
            black_box(store.save_instances(black_box(&insts)).unwrap());
        }
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / (n * insts.len()).max(1) as f64;
    println!("{} {per:.3} µs/instance", mode.pragma());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
