//! Callgrind driver for batched persist (not a criterion bench): the 1000 instances of
//! `persist/batch` saved `n` times through `Store::save_instances` (or, with a second argument
//! `docs`, only their documents written `n` times), into a fresh file in a temporary directory;
//! prints µs per instance.
//!
//! `valgrind --tool=callgrind target/release/examples/persist_cg 20` gives instructions per
//! instance (divide the difference to a run with a smaller n by the extra instances): a figure
//! that does not depend on the machine's load, for comparing variants.
use std::hint::black_box;

use tt_persist::{Store, write_document_json};
use tt_vm::{ClassDef, Runtime, Value};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(100);
    let docs_only = std::env::args().nth(2).is_some_and(|a| a == "docs");
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
    let dir = std::env::temp_dir().join(format!("tt-persist-cg-{}", std::process::id()));
    let store = Store::open(&dir.join("instances.db")).unwrap();
    store.save_instances(&insts).unwrap();
    let t = std::time::Instant::now();
    let mut buf = String::new();
    for _ in 0..n {
        if docs_only {
            buf.clear();
            for i in &insts {
                black_box(write_document_json(i, &mut buf).unwrap());
            }
        } else {
            black_box(store.save_instances(black_box(&insts)).unwrap());
        }
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / (n * insts.len()).max(1) as f64;
    println!("{per:.3} µs/instance");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
