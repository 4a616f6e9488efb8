//! Prints the machine code a TTBC chunk compiles to: `cargo run -p tt-jit --example asm -- <hex>`.

use tt_vm::Runtime;

fn main() {
    let hex = std::env::args().nth(1).expect("usage: asm <chunk hex>");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let rt = Runtime::new();
    let b = rt.register_block(&bytes, Vec::new()).expect("valid chunk");
    let jit = tt_jit::Jit::new().expect("host ISA");
    print!("{}", jit.asm(b.code()).expect("compiles"));
}
