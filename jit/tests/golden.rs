//! Golden tests of the generated Cranelift IR for two small blocks (docs/spec/ttbc.md §13.1 and §13.2).
//! Run with `UPDATE_GOLDEN=1` to rewrite the files under `jit/tests/golden/`.

use std::path::PathBuf;

use tt_vm::interp::CodeUnit;

const ADD: &str = "5454424300010000000000062200220150F000000201780179000000";
const SUM: &str = "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000";

fn check(name: &str, hex_chunk: &str) {
    let bytes = hex::decode(hex_chunk).unwrap();
    let unit = CodeUnit::decode(tt_vm::ttbc::load_verified(&bytes).unwrap());
    let jit = tt_jit::Jit::new().unwrap();
    let clif = jit.clif(&unit).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.clif"));
    tt_testkit::golden::assert_golden(path, &clif);
}

#[test]
fn golden_13_1_add() {
    check("13_1_add", ADD);
}

#[test]
fn golden_13_2_sum_loop() {
    check("13_2_sum_loop", SUM);
}
