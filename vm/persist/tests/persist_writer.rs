//! The direct document writer and batched saves of live instances (docs/spec/persistence.md §3.4, §4,
//! §5.1): `document_json_of` is byte-identical to `document_of(..).to_json()`, SQLite's `json()`
//! is an identity on its output (the reason the runtime may bind its own documents without
//! `json()`, docs/persistence.md "Decisions"), and `Store::save_instances` writes the same rows
//! as per-row saves, all or nothing.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{Value as Json, json};
use tt_persist::store::SQL_SAVE;
use tt_persist::writer::PLAIN_BIND_MAX_DEPTH;
use tt_persist::{PersistError, Store, document_json_of, document_of};
use tt_vm::object::InstanceState;
use tt_vm::runtime::InstanceStore;
use tt_vm::{Instance, Runtime, Value};

/// `[:a :b | a + b]`, as in `persist.rs`.
const ADD_BLOCK: &str = "5454424300010000000000062200220150F000000201780179000000";

static RT: LazyLock<Runtime> = LazyLock::new(Runtime::new);

fn block_value() -> Value {
    let b = RT
        .register_block(&hex::decode(ADD_BLOCK).unwrap(), Vec::new())
        .unwrap();
    Value::block(b)
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("instances.db")).expect("open");
    (dir, store)
}

fn instance(
    id: &str,
    created_at: Option<&str>,
    vars: Vec<(&str, Value)>,
    orphans: Vec<(&str, Json)>,
) -> Instance {
    let (names, values) = vars
        .into_iter()
        .map(|(n, v)| (Arc::<str>::from(n), v))
        .unzip();
    Instance::new(
        id.into(),
        "My::Thing".into(),
        None,
        created_at.map(str::to_owned),
        InstanceState {
            names,
            values,
            orphans: orphans
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        },
    )
}

/// One value of every kind, with the nasty cases of §5.1.
fn nasty_values() -> Vec<Value> {
    let mut v = vec![
        Value::NIL,
        Value::bool(true),
        Value::bool(false),
        Value::int(0),
        Value::int(i64::MAX),
        Value::int(i64::MIN),
        Value::string("-42"),
    ];
    for f in [
        0.0,
        -0.0,
        0.1,
        2.5,
        3.0,
        1e300,
        -1e300,
        1e21,
        1e-7,
        5e-324,
        f64::MAX,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        v.push(Value::float(f));
    }
    for s in [
        "",
        "007",
        "1.5",
        "true",
        "null",
        "q\"uote \\ back/slash",
        "ctl \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
        "é ✓ 😀 \u{2028}\u{feff}",
        "[1, 2 , [3]]",
        " \n {\n  \"b\" : 1 ,\n  \"a\" : [ true , null, \"x\\ny\" ]\n}\t",
        "{\"dup\":1,\"dup\":2}",
        "[\"\\u0041\\/\", 1E5, -0, 1.50, 123456789012345678901234567890]",
        "[1,",
        "{oops}",
        "[] trailing",
        "\u{a0}[1]",
        "[\"a\",\"b\"]",
        "{}",
        "[]",
        "\"just a JSON string\"",
    ] {
        v.push(Value::string(s));
    }
    v.push(Value::json(
        json!([1, -0.5, "t\"w\\o", {"three": [3.5e10, null, {}], "\u{1}": []}]),
    ));
    v.push(Value::json(
        json!({"z": 1, "a": {"\n": "\u{1}"}, "m": [[[]]]}),
    ));
    v.push(Value::instance(Arc::new(instance(
        "other_1",
        None,
        vec![],
        vec![],
    ))));
    v.push(block_value());
    v
}

#[test]
fn writer_matches_document_of_for_every_value_kind() {
    let values = nasty_values();
    let names: Vec<String> = (0..values.len()).map(|k| format!("v{k}")).collect();
    for created_at in [None, Some("1700000000"), Some("2024-01-01T00:00:00Z \"q\"")] {
        let vars = names
            .iter()
            .map(String::as_str)
            .zip(values.iter().cloned())
            .collect();
        let i = instance(
            "thing_1",
            created_at,
            vars,
            vec![
                ("legacy", json!({"k": [1, 2]})),
                ("v0", json!("shadowed by the variable")),
                ("class", json!("reserved")),
                ("legacy", json!("second occurrence")),
                ("_vars", json!([])),
                ("tail\u{1}", json!(null)),
            ],
        );
        let want = document_of(&i).unwrap().to_json();
        assert_eq!(document_json_of(&i).unwrap(), want);
    }
    // Each value alone, too (no accidental dependence on neighbours).
    for v in &values {
        let i = instance("thing_1", None, vec![("x", v.clone())], vec![]);
        assert_eq!(
            document_json_of(&i).unwrap(),
            document_of(&i).unwrap().to_json(),
            "{v:?}"
        );
    }
}

#[test]
fn writer_reserved_and_duplicate_names() {
    let i = instance(
        "thing_1",
        Some("1"),
        vec![
            ("class", Value::string("x")),
            ("a", Value::int(1)),
            ("created_at", Value::NIL),
            ("a", Value::int(2)),
            ("_vars", Value::int(3)),
            ("id", Value::int(4)),
        ],
        vec![("a", json!(0)), ("b", json!(1)), ("b", json!(2))],
    );
    let text = document_json_of(&i).unwrap();
    assert_eq!(text, document_of(&i).unwrap().to_json());
    assert_eq!(
        text,
        r#"{"class":"My::Thing","created_at":"1","_vars":["class","a","created_at","a","_vars","id"],"a":2,"id":4,"b":1}"#
    );
}

#[test]
fn writer_fails_for_released_instances() {
    let i = instance("thing_1", None, vec![], vec![]);
    i.mark_released();
    let err = document_json_of(&i).unwrap_err();
    assert!(matches!(err, PersistError::InstanceNotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), "instance not found: thing_1");
    assert_eq!(
        err.to_string(),
        document_of(&i).unwrap_err().message(),
        "same message as document_of"
    );
    let e: tt_vm::Error = err.into();
    assert!(e.is_not_found());
}

// ----- generated instances ------------------------------------------------------------------

fn arb_json_leaf() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Json::String),
        "[\"\\\\/ a\u{0}-\u{1f}é]{0,6}".prop_map(Json::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Json> {
    let tree = arb_json_leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(("[a-c\"\\\\\u{1}é]{0,3}", inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    });
    prop_oneof![
        arb_json_leaf(),
        prop::collection::vec(tree.clone(), 0..4).prop_map(Json::Array),
        prop::collection::vec(("[a-c_]{1,3}", tree), 0..4)
            .prop_map(|kv| Json::Object(kv.into_iter().collect())),
    ]
}

/// A JSON array/object (what `Value::json` holds).
fn arb_json_container() -> impl Strategy<Value = Json> {
    arb_json().prop_map(|j| match j {
        j @ (Json::Array(_) | Json::Object(_)) => j,
        other => Json::Array(vec![other]),
    })
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::NIL),
        any::<bool>().prop_map(Value::bool),
        any::<i64>().prop_map(Value::int),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(Value::int),
        any::<f64>().prop_map(Value::float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(0.1),
            Just(1e300),
            Just(5e-324),
        ]
        .prop_map(Value::float),
        any::<String>().prop_map(|s| Value::string(&s)),
        "[\\[\\]{}\":,0-9a-z .\\\\\u{0}\u{1f}\n-]{0,14}".prop_map(|s| Value::string(&s)),
        // JSON-looking texts without whitespace or escapes (the writer's verbatim path).
        "[\\[\\]{}\":,0-9a-cEe.$-]{0,16}".prop_map(|s| Value::string(&s)),
        "\\[((-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?|\"[a-b$]{0,2}\"|true|null|\\[\\]|\\{\\}),?){0,4}\\]"
            .prop_map(|s| Value::string(&s)),
        "\\{(\"[a-b$]{0,2}\":(-?[0-9]{1,3}|\"x\"|\\[\\]),?){0,3}\\}".prop_map(|s| Value::string(&s)),
        arb_json_container().prop_map(|j| Value::string(&j.to_string())),
        arb_json_container()
            .prop_map(|j| Value::string(&serde_json::to_string_pretty(&j).unwrap())),
        arb_json_container().prop_map(|j| Value::string(&format!(" \n{j}\t"))),
        arb_json_container().prop_map(Value::json),
        Just(()).prop_map(|()| Value::instance(Arc::new(instance("ref_1", None, vec![], vec![])))),
        Just(()).prop_map(|()| block_value()),
    ]
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-e]{1,2}",
        1 => Just("class".to_string()),
        1 => Just("created_at".to_string()),
        1 => Just("_vars".to_string()),
        1 => Just("id".to_string()),
        1 => any::<String>(),
    ]
}

fn arb_instance() -> impl Strategy<Value = Instance> {
    (
        prop::option::of(prop_oneof!["[0-9]{1,10}", any::<String>()]),
        prop::collection::vec((arb_name(), arb_value()), 0..8),
        prop::collection::vec((arb_name(), arb_json()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(created_at, vars, orphans, drop_last_value)| {
            let (names, mut values): (Vec<Arc<str>>, Vec<Value>) = vars
                .into_iter()
                .map(|(n, v)| (Arc::<str>::from(n.as_str()), v))
                .unzip();
            if drop_last_value {
                // Names without a value are dropped by both writers.
                values.pop();
            }
            Instance::new(
                "gen_1".into(),
                "Gen".into(),
                None,
                created_at,
                InstanceState {
                    names,
                    values,
                    orphans,
                },
            )
        })
}

static SQLITE: LazyLock<parking_lot::Mutex<Connection>> =
    LazyLock::new(|| parking_lot::Mutex::new(Connection::open_in_memory().unwrap()));

/// `json(doc)` of the bundled SQLite, or its error message.
fn sqlite_json(doc: &str) -> Result<String, String> {
    let c = SQLITE.lock();
    let mut st = c.prepare_cached("SELECT json(?1), json(?1) = ?1").unwrap();
    st.query_row([doc], |r| {
        let j: String = r.get(0)?;
        let same: bool = r.get(1)?;
        assert_eq!(same, j == doc);
        Ok(j)
    })
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The direct writer is byte-identical to `document_of(..).to_json()`.
    #[test]
    fn writer_matches_document_of(i in arb_instance()) {
        prop_assert_eq!(document_json_of(&i).unwrap(), document_of(&i).unwrap().to_json());
    }

    /// SQLite's `json()` (what the spec's save statement applies) returns the writer's
    /// documents unchanged: binding them without `json()` stores the same text.
    #[test]
    fn sqlite_json_is_an_identity_on_written_documents(i in arb_instance()) {
        let doc = document_json_of(&i).unwrap();
        prop_assert_eq!(sqlite_json(&doc), Ok(doc));
    }
}

/// A JSON value nested `depth` arrays deep.
fn nested(depth: usize) -> Json {
    let mut j = json!([]);
    for _ in 1..depth {
        j = Json::Array(vec![j]);
    }
    j
}

#[test]
fn json_identity_up_to_the_plain_bind_depth_and_deep_documents_take_json() {
    // Up to the depth bound the writer's documents are accepted unchanged by `json()`.
    let i = instance(
        "deep_1",
        None,
        vec![("v", Value::json(nested(PLAIN_BIND_MAX_DEPTH - 1)))],
        vec![],
    );
    let doc = document_json_of(&i).unwrap();
    assert_eq!(sqlite_json(&doc), Ok(doc.clone()));
    let mut out = String::new();
    assert_eq!(
        tt_persist::write_document_json(&i, &mut out).unwrap(),
        PLAIN_BIND_MAX_DEPTH
    );

    // Deeper documents are bound through `json()`: the same rows, and SQLite's own refusal
    // beyond its limit, as with the spec statement.
    for depth in [PLAIN_BIND_MAX_DEPTH + 1, 998, 999, 1000, 1500] {
        let i = instance(
            "deep_1",
            None,
            vec![("v", Value::json(nested(depth)))],
            vec![],
        );
        let doc = document_of(&i).unwrap().to_json();
        let (_d, spec) = temp_store();
        let (_d2, ours) = temp_store();
        let (_d3, batch) = temp_store();
        let want = spec.save("deep_1", &doc).map_err(|e| e.to_string());
        let got = ours.save_instance(&i).map_err(|e| e.to_string());
        let got_batch = batch
            .save_instances(&[&i, &i])
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(got, want, "depth {depth}");
        assert_eq!(got_batch, want, "depth {depth}");
        assert_eq!(ours.load("deep_1").unwrap(), spec.load("deep_1").unwrap());
        assert_eq!(batch.load("deep_1").unwrap(), spec.load("deep_1").unwrap());
    }
}

// ----- Store::save_instances ----------------------------------------------------------------

/// A row: `id`, `data`, `typeof(data)`, `class`, `created_at`.
type Row = (String, String, String, Option<String>, Option<String>);

/// Every row with its generated columns and storage class, in id order.
fn rows(store: &Store) -> Vec<Row> {
    let c = Connection::open(store.path()).unwrap();
    let mut st = c
        .prepare("SELECT id, data, typeof(data), class, created_at FROM instances ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn many_instances(n: usize, class: &str) -> Vec<Arc<Instance>> {
    let values = nasty_values();
    (0..n)
        .map(|k| {
            let i = Instance::new(
                format!("{}_{k:05}", class.to_lowercase()),
                class.into(),
                None,
                (k % 3 != 0).then(|| format!("{}", 1_700_000_000 + k)),
                InstanceState {
                    names: vec!["n".into(), "v".into(), "w".into()],
                    values: vec![
                        Value::int(k as i64),
                        values[k % values.len()].clone(),
                        values[(k * 7 + 3) % values.len()].clone(),
                    ],
                    orphans: if k % 5 == 0 {
                        vec![("legacy".into(), json!({"k": k}))]
                    } else {
                        vec![]
                    },
                },
            );
            i.set_dirty(true);
            Arc::new(i)
        })
        .collect()
}

#[test]
fn save_instances_writes_the_rows_of_per_row_saves() {
    for n in [1, 7, 300, 1000] {
        let insts = many_instances(n, "Batch");
        let (_a, batch) = temp_store();
        let (_b, single) = temp_store();
        let (_c, spec) = temp_store();
        assert_eq!(batch.save_instances(&insts).unwrap(), n);
        for i in &insts {
            assert!(!i.is_dirty());
            i.set_dirty(true);
            InstanceStore::save(&single, &RT, i).unwrap();
            assert!(!i.is_dirty());
            // The spec statement with the document of the original glue.
            spec.save(i.id(), &document_of(i).unwrap().to_json())
                .unwrap();
        }
        let want = rows(&spec);
        assert_eq!(want.len(), n);
        assert!(
            want.iter()
                .all(|r| r.2 == "text" && r.3.as_deref() == Some("Batch"))
        );
        assert_eq!(rows(&batch), want, "n = {n}");
        assert_eq!(rows(&single), want, "n = {n}");
        // Saving again replaces the rows with the same contents.
        assert_eq!(batch.save_instances(&insts).unwrap(), n);
        assert_eq!(rows(&batch), want, "n = {n}, second save");
    }
    let (_d, store) = temp_store();
    let none: [&Instance; 0] = [];
    assert_eq!(store.save_instances(&none).unwrap(), 0);
}

#[test]
fn save_instances_accepts_references_and_repeated_instances() {
    let (_d, store) = temp_store();
    let a = instance("a_1", None, vec![("x", Value::int(1))], vec![]);
    let b = instance("b_1", None, vec![("x", Value::int(2))], vec![]);
    assert_eq!(store.save_instances(&[&a, &b, &a]).unwrap(), 3);
    assert_eq!(
        store.load("a_1").unwrap().as_deref(),
        Some(r#"{"class":"My::Thing","_vars":["x"],"x":1}"#)
    );
    assert_eq!(store.count_of_class("My::Thing").unwrap(), 2);
}

/// Rows and modified flags are untouched by a failed batch.
fn assert_untouched(store: &Store, insts: &[Arc<Instance>], before: &[Row]) {
    assert_eq!(rows(store), before);
    assert!(insts.iter().all(|i| i.is_dirty()));
}

#[test]
fn save_instances_rolls_back_on_a_released_instance() {
    for n in [10, 600] {
        let (_d, store) = temp_store();
        let old = many_instances(n, "Batch");
        store.save_instances(&old[..n / 2]).unwrap();
        let before = rows(&store);
        let insts = many_instances(n, "Batch");
        for i in &insts {
            i.set("n", Value::string("changed"), false).unwrap();
        }
        let victim = &insts[n - 3];
        victim.mark_released();
        let err = store.save_instances(&insts).unwrap_err();
        assert!(matches!(err, PersistError::InstanceNotFound(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("instance not found: {}", victim.id())
        );
        let e: tt_vm::Error = err.into();
        assert!(e.is_not_found());
        assert_untouched(&store, &insts, &before);
        // No transaction is left open: the store and other connections can write.
        store.save_instances(&insts[..1]).unwrap();
        Connection::open(store.path())
            .unwrap()
            .execute(SQL_SAVE, ["z_1", r#"{"class":"Z"}"#])
            .unwrap();
    }
}

#[test]
fn save_instances_refuses_reserved_and_invalid_ids_before_writing() {
    let (_d, store) = temp_store();
    let c = Connection::open(store.path()).unwrap();
    c.execute(SQL_SAVE, ["__kv__greeting", r#"{"v":"hello"}"#])
        .unwrap();
    let before = rows(&store);
    let mut insts = many_instances(300, "Batch");
    insts.push(Arc::new(instance("__kv__greeting", None, vec![], vec![])));
    insts.last().unwrap().set_dirty(true);
    let err = store.save_instances(&insts).unwrap_err();
    assert!(matches!(err, PersistError::ReservedId(_)), "{err:?}");
    assert_eq!(err.to_string(), "reserved key/value id: __kv__greeting");
    assert_untouched(&store, &insts, &before);

    insts.pop();
    insts.insert(0, Arc::new(instance("bad id", None, vec![], vec![])));
    insts[0].set_dirty(true);
    let err = store.save_instances(&insts).unwrap_err();
    assert!(matches!(err, PersistError::InvalidId(_)), "{err:?}");
    assert_eq!(err.to_string(), "invalid id format: bad id");
    assert_untouched(&store, &insts, &before);
}

#[test]
fn save_instances_reports_sqlite_failures() {
    let (_d, store) = temp_store();
    store.set_busy_timeout(Duration::from_millis(100)).unwrap();
    let insts = many_instances(300, "Batch");
    let before = rows(&store);
    let locker = Connection::open(store.path()).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    for n in [300, 3] {
        let err = store.save_instances(&insts[..n]).unwrap_err();
        assert!(matches!(err, PersistError::Sqlite(_)), "{err:?}");
        assert_eq!(err.to_string(), "database is locked");
        let e: tt_vm::Error = err.into();
        assert_eq!(e.kind(), tt_vm::ErrorKind::Persistence);
    }
    let err = store.save_instance(&insts[0]).unwrap_err();
    assert_eq!(err.to_string(), "database is locked");
    locker.execute_batch("ROLLBACK").unwrap();
    assert_untouched(&store, &insts, &before);
    assert_eq!(store.save_instances(&insts).unwrap(), 300);
    assert!(insts.iter().all(|i| !i.is_dirty()));
}

/// `id`, `data`, `typeof(data)`, `class`, `created_at` and a Bash-side extra column `n`.
type FullRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every row with the extra column, in id order.
fn full_rows(store: &Store) -> Vec<FullRow> {
    let c = Connection::open(store.path()).unwrap();
    let mut st = c
        .prepare("SELECT id, data, typeof(data), class, created_at, n FROM instances ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The ids a query answers, sorted.
fn ids(store: &Store, sql: &str) -> Vec<String> {
    let c = Connection::open(store.path()).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let mut ids: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids.sort();
    ids
}

fn rowid(store: &Store, id: &str) -> i64 {
    Connection::open(store.path())
        .unwrap()
        .query_row("SELECT rowid FROM instances WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Checks that the stores hold the same rows and that every index answers as a table scan.
fn assert_same_rows(ours: &Store, spec: &Store, what: &str) {
    let want = full_rows(spec);
    assert_eq!(full_rows(ours), want, "{what}");
    for s in [ours, spec] {
        let c = Connection::open(s.path()).unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{what}");
        for class in ["Batch", "Old"] {
            let q = |how: &str| {
                ids(
                    s,
                    &format!("SELECT id FROM instances {how} WHERE class = '{class}'"),
                )
            };
            assert_eq!(
                q("INDEXED BY idx_instances_class"),
                q("NOT INDEXED"),
                "{what}"
            );
        }
        assert_eq!(
            ids(
                s,
                "SELECT id FROM instances INDEXED BY idx_instances_n WHERE n > 100"
            ),
            ids(s, "SELECT id FROM instances NOT INDEXED WHERE n > 100"),
            "{what}"
        );
    }
    for class in ["Batch", "Old"] {
        let mut a = ours.ids_of_class(class).unwrap();
        let mut b = spec.ids_of_class(class).unwrap();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{what}");
        assert_eq!(
            ours.count_of_class(class).unwrap(),
            spec.count_of_class(class).unwrap()
        );
    }
}

/// The runtime's own saves write an existing row in place (an upsert) where §3.4's
/// `INSERT OR REPLACE` deletes and inserts it again (docs/persistence.md, "Decisions"): the rows
/// are the same — `id`, `data`, `typeof(data)`, `class`, `created_at`, a Bash-side extra column
/// and every index — for rows that existed (with another class and document) and rows that did
/// not; only an existing row keeps its rowid.
#[test]
fn own_saves_write_the_rows_of_the_spec_statement_over_existing_rows() {
    let (_a, ours) = temp_store();
    let (_b, spec) = temp_store();
    for s in [&ours, &spec] {
        let c = Connection::open(s.path()).unwrap();
        c.execute_batch(
            "ALTER TABLE instances ADD COLUMN n TEXT GENERATED ALWAYS AS \
             (json_extract(data, '$.n')) VIRTUAL;
             CREATE INDEX idx_instances_n ON instances(n);",
        )
        .unwrap();
        c.execute(SQL_SAVE, ["__kv__greeting", r#"{"v":"hello"}"#])
            .unwrap();
        // Every other id exists already, written by the Bash side with another class.
        for k in (0..600).step_by(2) {
            c.execute(
                SQL_SAVE,
                [
                    format!("batch_{k:05}"),
                    format!(r#"{{"class":"Old","created_at":"1","_vars":["n"],"n":"{k}"}}"#),
                ],
            )
            .unwrap();
        }
        c.execute(SQL_SAVE, ["old_1", r#"{"class":"Old","n":7}"#])
            .unwrap();
    }
    let rowid_before = rowid(&ours, "batch_00004");
    let insts = many_instances(600, "Batch");
    assert_eq!(ours.save_instances(&insts).unwrap(), 600);
    for i in &insts {
        spec.save(i.id(), &document_of(i).unwrap().to_json())
            .unwrap();
    }
    assert_same_rows(&ours, &spec, "batch over existing and new rows");
    assert_eq!(rowid(&ours, "batch_00004"), rowid_before);
    assert_ne!(rowid(&spec, "batch_00004"), rowid_before);

    // Single saves and a second batch over the runtime's own rows, with changed documents.
    for (k, i) in insts.iter().enumerate().step_by(3) {
        i.set("n", Value::int(1000 + k as i64), false).unwrap();
        ours.save_instance(i).unwrap();
        spec.save(i.id(), &document_of(i).unwrap().to_json())
            .unwrap();
    }
    assert_same_rows(&ours, &spec, "single saves");
    for i in &insts {
        i.set("w", Value::string("again"), false).unwrap();
    }
    assert_eq!(ours.save_instances(&insts[100..400]).unwrap(), 300);
    for i in &insts[100..400] {
        spec.save(i.id(), &document_of(i).unwrap().to_json())
            .unwrap();
    }
    assert_same_rows(&ours, &spec, "second batch");
    assert_eq!(rowid(&ours, "batch_00004"), rowid_before);
}

/// Batches run statements of `BATCH_ROWS` rows, single rows, and `json()` rows for deep
/// documents: the rows are those of the spec statement run row by row in the batch's order,
/// also when one id comes twice (inside one statement and across statements); a row SQLite
/// refuses in the middle rolls the whole batch back.
#[test]
fn save_instances_in_multi_row_statements_keeps_order_and_atomicity() {
    let deep = |id: &str, depth: usize| {
        let i = instance(id, None, vec![("v", Value::json(nested(depth)))], vec![]);
        i.set_dirty(true);
        Arc::new(i)
    };
    let twin = |id: &str, v: i64| {
        let i = instance(id, Some("1"), vec![("v", Value::int(v))], vec![]);
        i.set_dirty(true);
        Arc::new(i)
    };
    let mut insts = many_instances(100, "Batch");
    // The same id twice in one statement of 8 rows, and across statements.
    insts[10] = twin("twin_a", 1);
    insts[12] = twin("twin_a", 2);
    insts[5] = twin("twin_b", 1);
    insts[60] = twin("twin_b", 2);
    // Deep documents (bound through `json()`) inside and between runs, one repeated.
    for k in [0, 3, 50, 51, 99] {
        insts[k] = deep(&format!("deep_{k}"), PLAIN_BIND_MAX_DEPTH + 100);
    }
    insts[70] = deep("deep_3", PLAIN_BIND_MAX_DEPTH + 50);
    let (_a, ours) = temp_store();
    let (_b, spec) = temp_store();
    assert_eq!(ours.save_instances(&insts).unwrap(), 100);
    for i in &insts {
        spec.save(i.id(), &document_of(i).unwrap().to_json())
            .unwrap();
    }
    assert_eq!(rows(&ours), rows(&spec));
    assert_eq!(
        ours.load("twin_a").unwrap().as_deref(),
        Some(r#"{"class":"My::Thing","created_at":"1","_vars":["v"],"v":2}"#)
    );
    assert!(ours.load("twin_b").unwrap().unwrap().ends_with(r#""v":2}"#));

    // A document SQLite refuses (`json()` beyond its depth limit) after several statements:
    // nothing of the batch is written.
    let before = rows(&ours);
    let mut insts = many_instances(100, "Batch");
    for i in &insts {
        i.set("n", Value::string("changed"), false).unwrap();
    }
    insts[77] = deep("deep_77", 1500);
    let err = ours.save_instances(&insts).unwrap_err();
    assert!(matches!(err, PersistError::Sqlite(_)), "{err:?}");
    assert_eq!(
        Some(err.to_string()),
        spec.save("deep_77", &document_of(&insts[77]).unwrap().to_json())
            .err()
            .map(|e| e.to_string())
    );
    assert_untouched(&ours, &insts, &before);
}
