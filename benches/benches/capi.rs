//! C ABI benchmarks (`libtrashtalk.so`), each beside a plain C indirect call measured in the
//! same run.
//!
//! The bench loads `libtrashtalk.so` (built next to it as a dependency) with
//! `dlopen(RTLD_NOW | RTLD_GLOBAL)` and calls every `TT_*` function through the pointer `dlsym`
//! returns — exactly what a C caller does. The plugins of `plugins/native` are then opened the
//! same way, so their undefined `TT_*` symbols bind to that one runtime. (The `trashtalk` rlib
//! linked into this binary is used only for the ABI types; its own runtime is never touched.)
//!
//! * `capi/c_indirect_call_baseline`: `bench_target_get(self, args, 0)` through a C function
//!   pointer (`BenchTarget.so`, a plain C function answering INT 42).
//! * `capi/send_sel`: `TT_SendSel(h, TT_Intern("get"), NULL, 0)` reaching that same function as
//!   the method `BenchTarget>>get`.
//! * `capi/send_direct`: `TT_SendDirect(h, "get", NULL, 0)` (same selector pointer every call).
//! * `capi/send_by_id`: `TT_Send("<instance id>", "get", NULL, 0)`.
//! * `capi/cross_plugin`: `EventDispatcher>>dispatch:` (events plugin) of one Event to one
//!   subscriber, a Counter (counter plugin) sent `increment` with `TT_SendSel`.
//! * `capi/invoke_block_direct`: `TT_InvokeBlockDirect` of `[:x | x + 1]` with INT 41.
//! * `capi/vm_invoke_block_reference`: the same block through `tt_vm::Runtime::invoke_block`
//!   directly (no C ABI), for comparison.
//! * `capi/event_callback`: `Stream serverStream: 'ints' with: 1000 handler: [:e | e]`, per
//!   event (INT events); `capi/event_callback_json` the same with JSON string events.
//!
//! Run with `cargo bench -p tt-benches --bench capi`; the ratios to the baseline are printed.

use std::ffi::{CString, c_char, c_int, c_void};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
use trashtalk::types::{TT_TYPE_INSTANCE, TT_TYPE_INT, TTBlock, TTInstance, TTValue};

type MethodFn = unsafe extern "C" fn(*mut TTInstance, *mut TTValue, c_int) -> TTValue;

/// The `TT_*` entry points of the loaded library.
struct Api {
    _lib: Library,
    init: unsafe extern "C" fn(*mut c_char, *mut c_char) -> c_int,
    new: unsafe extern "C" fn(*mut c_char) -> *mut c_char,
    lookup: unsafe extern "C" fn(*mut c_char) -> *mut TTInstance,
    send: unsafe extern "C" fn(*mut c_char, *mut c_char, *mut TTValue, c_int) -> TTValue,
    send_direct: unsafe extern "C" fn(*mut TTInstance, *mut c_char, *mut TTValue, c_int) -> TTValue,
    send_sel: unsafe extern "C" fn(*mut TTInstance, u32, *mut TTValue, c_int) -> TTValue,
    intern: unsafe extern "C" fn(*const c_char) -> u32,
    register_block: unsafe extern "C" fn(*mut u8, usize, *mut *mut TTValue, c_int) -> *mut c_char,
    lookup_block: unsafe extern "C" fn(*mut c_char) -> *mut TTBlock,
    invoke_block_direct: unsafe extern "C" fn(*mut TTBlock, *mut TTValue, c_int) -> TTValue,
    release_value: unsafe extern "C" fn(TTValue),
    value_as_string: unsafe extern "C" fn(TTValue) -> *mut c_char,
}

fn lib_path() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    let deps = exe.parent().expect("deps").to_path_buf();
    for d in [
        deps.clone(),
        deps.parent().expect("profile dir").to_path_buf(),
    ] {
        if d.join("libtrashtalk.so").is_file() {
            return d.join("libtrashtalk.so");
        }
    }
    panic!("libtrashtalk.so not found near {}", exe.display());
}

fn open(path: &std::path::Path) -> Library {
    // SAFETY: loading the runtime / example plugins runs their (trusted) constructors.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }
        .unwrap_or_else(|e| panic!("dlopen {}: {e}", path.display()))
}

fn sym<T: Copy>(lib: &Library, name: &str) -> T {
    // SAFETY: each symbol is used with the prototype of libtrashtalk.h.
    unsafe { *lib.get::<T>(name).unwrap_or_else(|e| panic!("{name}: {e}")) }
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

impl Api {
    fn load() -> Api {
        let lib = open(&lib_path());
        Api {
            init: sym(&lib, "TT_Init"),
            new: sym(&lib, "TT_New"),
            lookup: sym(&lib, "TT_Lookup"),
            send: sym(&lib, "TT_Send"),
            send_direct: sym(&lib, "TT_SendDirect"),
            send_sel: sym(&lib, "TT_SendSel"),
            intern: sym(&lib, "TT_Intern"),
            register_block: sym(&lib, "TT_RegisterBlock"),
            lookup_block: sym(&lib, "TT_LookupBlock"),
            invoke_block_direct: sym(&lib, "TT_InvokeBlockDirect"),
            release_value: sym(&lib, "TT_ReleaseValue"),
            value_as_string: sym(&lib, "TT_ValueAsString"),
            _lib: lib,
        }
    }

    /// A new instance of `class` (id and handle).
    fn instance(&self, class: &str) -> (CString, *mut TTInstance) {
        let c = cstr(class);
        // SAFETY: `c` is a NUL-terminated class name that outlives the calls; the returned id
        // is a malloc'ed string, checked non-null, copied and freed once.
        unsafe {
            let id = (self.new)(c.as_ptr() as *mut _);
            assert!(!id.is_null(), "TT_New({class}) failed");
            let owned = std::ffi::CStr::from_ptr(id).to_owned();
            libc_free(id.cast());
            let h = (self.lookup)(owned.as_ptr() as *mut _);
            assert!(!h.is_null());
            (owned, h)
        }
    }

    fn block(&self, hex: &str) -> *mut TTBlock {
        let mut bytes = tt_benches::hex(hex);
        // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes and no captures are passed;
        // the returned id is a malloc'ed string, checked non-null and freed after use.
        unsafe {
            let id =
                (self.register_block)(bytes.as_mut_ptr(), bytes.len(), std::ptr::null_mut(), 0);
            assert!(!id.is_null());
            let b = (self.lookup_block)(id);
            libc_free(id.cast());
            b
        }
    }

    fn text(&self, v: TTValue) -> String {
        // SAFETY: `v` is owned by us; the text is malloc'ed; both released once.
        unsafe {
            let t = (self.value_as_string)(v);
            let s = std::ffi::CStr::from_ptr(t).to_string_lossy().into_owned();
            libc_free(t.cast());
            (self.release_value)(v);
            s
        }
    }
}

unsafe extern "C" {
    #[link_name = "free"]
    fn libc_free(p: *mut c_void);
}

/// `[:x | x + 1]`.
const INC_HEX: &str = "54544243000100000000000522001550F00000010178000000";
/// `[:e | e]`.
const IDENT_HEX: &str = "5454424300010000000000032200F00000010165000000";

/// Mean ns/iteration of `f`, measured outside criterion (for the printed ratios).
fn quick_ns(mut f: impl FnMut()) -> f64 {
    for _ in 0..100_000 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let n = 1_000_000u32;
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    best
}

fn capi(c: &mut Criterion) {
    // Every TTBC block of these rows runs compiled (`TT_JIT=always`, read when the runtime is
    // created): the block rows are the compiled-entry figures of issue #6. In the default
    // `auto` mode the trivial blocks used here (`[:x | x + 1]`, `[:e | e]`) would stay on their
    // trivial entry instead (`jit/invoke_block/interpreter`, `interp/invoke_trivial`).
    // SAFETY: single-threaded here: no other thread reads or writes the environment.
    unsafe { std::env::set_var("TT_JIT", "always") };
    let api = Api::load();
    let dir = std::env::temp_dir().join(format!("tt-bench-capi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = cstr(dir.join("bench.db").to_str().expect("utf-8 path"));
    // SAFETY: `db` is a NUL-terminated path that outlives the call; a null plugin path list is
    // allowed (docs/spec/c-abi.md, `TT_Init`).
    let status = unsafe { (api.init)(db.as_ptr() as *mut _, std::ptr::null_mut()) };
    assert_eq!(status, 0);
    let plugins: Vec<Library> = ["BenchTarget", "Counter", "EventDispatcher", "Stream"]
        .iter()
        .map(|p| open(&tt_plugin_native::plugin_path(p)))
        .collect();
    let baseline: MethodFn = sym(&plugins[0], "bench_target_get");

    let (id, h) = api.instance("BenchTarget");
    let get = cstr("get");
    // SAFETY: `get` is a NUL-terminated selector that outlives the call.
    let sel_get = unsafe { (api.intern)(get.as_ptr()) };
    let get_ptr = get.as_ptr() as *mut c_char;
    let id_ptr = id.as_ptr() as *mut c_char;

    // SAFETY: a C function with the TTMethodFunc signature, a valid handle, no arguments.
    let f_base = || unsafe {
        black_box(black_box(baseline)(black_box(h), std::ptr::null_mut(), 0));
    };
    // SAFETY: valid handle and interned selector; no arguments; the INT result owns nothing.
    let f_sel = || unsafe {
        black_box((api.send_sel)(
            black_box(h),
            black_box(sel_get),
            std::ptr::null_mut(),
            0,
        ));
    };
    // SAFETY: valid handle and NUL-terminated selector; the INT result owns nothing.
    let f_direct = || unsafe {
        black_box((api.send_direct)(
            black_box(h),
            black_box(get_ptr),
            std::ptr::null_mut(),
            0,
        ));
    };
    // SAFETY: NUL-terminated id and selector; the INT result owns nothing.
    let f_id = || unsafe {
        black_box((api.send)(
            black_box(id_ptr),
            black_box(get_ptr),
            std::ptr::null_mut(),
            0,
        ));
    };
    // SAFETY: as for `f_sel`: a live handle, an interned selector, no arguments.
    let r = unsafe { (api.send_sel)(h, sel_get, std::ptr::null_mut(), 0) };
    // `text` releases the result.
    assert_eq!(api.text(r), "42");
    // SAFETY: as for `f_id`: NUL-terminated id and selector that outlive the call.
    let r = unsafe { (api.send)(id_ptr, get_ptr, std::ptr::null_mut(), 0) };
    assert_eq!(api.text(r), "42");

    c.bench_function("capi/c_indirect_call_baseline", |b| b.iter(f_base));
    c.bench_function("capi/send_sel", |b| b.iter(f_sel));
    c.bench_function("capi/send_direct", |b| b.iter(f_direct));
    c.bench_function("capi/send_by_id", |b| b.iter(f_id));

    // Cross-plugin: EventDispatcher (events plugin) → Counter (counter plugin).
    let (_did, d) = api.instance("EventDispatcher");
    let (_cid, counter) = api.instance("Counter");
    let json = cstr("{\"name\":\"tick\",\"payload\":{}}");
    let event_class = cstr("Event");
    let from_json = cstr("fromJson:");
    let mut arg = TTValue::borrowed_str(json.as_ptr());
    // SAFETY: NUL-terminated class and selector, one borrowed STRING argument (`json` outlives
    // the call); the event INSTANCE result owns nothing.
    let mut event = unsafe {
        (api.send)(
            event_class.as_ptr() as *mut _,
            from_json.as_ptr() as *mut _,
            &mut arg,
            1,
        )
    };
    assert_eq!(event.type_, TT_TYPE_INSTANCE);
    let incr = cstr("increment");
    let mut sub = [
        TTValue::instance(counter),
        TTValue::borrowed_str(incr.as_ptr()),
    ];
    let subscribe = cstr("subscribe:selector:");
    // SAFETY: `d` is a live handle, the selector is NUL-terminated and `sub` holds two
    // arguments (an instance handle and a borrowed string) that outlive the call.
    api.text(unsafe { (api.send_direct)(d, subscribe.as_ptr() as *mut _, sub.as_mut_ptr(), 2) });
    let dispatch = cstr("dispatch:");
    // SAFETY: `dispatch` is a NUL-terminated selector that outlives the call.
    let sel_dispatch = unsafe { (api.intern)(dispatch.as_ptr()) };
    // SAFETY: valid handle, interned selector, one INSTANCE argument; INT result.
    let mut f_cross = || unsafe {
        black_box((api.send_sel)(black_box(d), sel_dispatch, &mut event, 1));
    };
    c.bench_function("capi/cross_plugin", |b| b.iter(&mut f_cross));

    // Blocks.
    let inc = api.block(INC_HEX);
    let mut x = TTValue::int(41);
    // SAFETY: `inc` is a registered block handle; `x` is one INT argument that owns nothing.
    let r = unsafe { (api.invoke_block_direct)(inc, &mut x, 1) };
    assert_eq!(api.text(r), "42");
    // SAFETY: as above; the INT result owns nothing.
    let mut f_block = || unsafe {
        black_box((api.invoke_block_direct)(black_box(inc), &mut x, 1));
    };
    c.bench_function("capi/invoke_block_direct", |b| b.iter(&mut f_block));

    // Reference: the vm's own entry activation of the same block, called from Rust in this
    // process (the copy of tt-vm linked into the bench, with the JIT installed like TT_Init
    // does): what TT_InvokeBlockDirect adds is the difference.
    let rt = tt_vm::Runtime::global();
    tt_jit::install(rt);
    let vm_block = rt
        .register_block(&tt_benches::hex(INC_HEX), Vec::new())
        .expect("valid chunk");
    let vm_arg = [tt_vm::Value::int(41)];
    c.bench_function("capi/vm_invoke_block_reference", |b| {
        b.iter(|| black_box(rt.invoke_block(&vm_block, &vm_arg)))
    });

    // Streaming: one class-side send delivers N events, each a TT_InvokeBlockDirect.
    const EVENTS: i64 = 1000;
    let ident = api.block(IDENT_HEX);
    let stream = cstr("Stream");
    let server_stream = cstr("serverStream:with:handler:");
    let ints = cstr("ints");
    let greet = cstr("greet");
    let run_stream = |kind: &CString| {
        let mut a = [
            TTValue::borrowed_str(kind.as_ptr()),
            TTValue::int(EVENTS),
            TTValue::block(ident),
        ];
        // SAFETY: NUL-terminated class and selector, three arguments (a borrowed string that
        // outlives the call, an INT, a registered block handle); the INT result owns nothing.
        let r = unsafe {
            (api.send)(
                stream.as_ptr() as *mut _,
                server_stream.as_ptr() as *mut _,
                a.as_mut_ptr(),
                3,
            )
        };
        assert_eq!(r.type_, TT_TYPE_INT, "{}", api.text(r));
    };
    let mut g = c.benchmark_group("capi");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("event_callback", |b| b.iter(|| run_stream(&ints)));
    g.bench_function("event_callback_json", |b| b.iter(|| run_stream(&greet)));
    g.finish();

    // Ratios, measured back to back in this run.
    let base = quick_ns(f_base);
    let t_sel = quick_ns(f_sel);
    let t_direct = quick_ns(f_direct);
    let t_id = quick_ns(f_id);
    println!(
        "ratio capi: baseline {base:.2} ns; send_sel {t_sel:.2} ns ({:.1}x); send_direct {t_direct:.2} ns ({:.1}x); send_by_id {t_id:.2} ns ({:.1}x)",
        t_sel / base,
        t_direct / base,
        t_id / base
    );
    drop(plugins);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = capi
}
criterion_main!(benches);
