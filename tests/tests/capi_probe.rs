#[test]
fn probe() {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if n.ends_with(".so") && (n.contains("trashtalk") || n.contains("counter")) {
            println!("{}", p.display());
        }
    }
    println!("{}", tt_plugin_native::PLUGIN_DIR);
}
