//! The JIT module's lifetime: one [`JITModule`] per [`Engine`], code never freed.
//!
//! The module sits in a `ManuallyDrop` inside the engine, which is shared through an `Arc`:
//! every [`Compiled`] keeps the engine alive, and even when the last reference goes, the module
//! is not dropped, so code addresses stay valid for the life of the process (Cranelift's JIT
//! memory is only reclaimed by `free_memory`, which is never called). Compilation is serialised
//! by a mutex; running compiled code takes no lock.
//!
//! Settings: `opt_level=none` (the translator already emits what the e-graph pass would make of
//! it: constants and shifts are shared per block, params' shifts are hoisted, results are boxed
//! once; the pass cost ~15% of compile time and its re-scheduling of pure instructions made
//! loops slower, see `docs/jit.md`), the backtracking register allocator, the IR verifier on in
//! debug builds and off in release builds, `is_pic=false` (required by `cranelift-jit`).
//! Function names are unique (`tt_unit_<n>`).

use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cranelift_codegen::ir::UserFuncName;
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, ir};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use tt_vm::interp::CodeUnit;
use tt_vm::tier::{Compiled, JitEntry};

use crate::helpers::Helper;
use crate::translate::{self, HelperDecl, Keep};

/// What compiled code of one unit keeps alive: the engine (code memory), the values it
/// borrows besides the unit's constants and its resume sites.
pub(crate) struct UnitCode {
    _engine: Arc<Engine>,
    _keep: Keep,
}

struct State {
    module: ManuallyDrop<JITModule>,
    ctx: Context,
    fctx: FunctionBuilderContext,
    helpers: Vec<HelperDecl>,
    call_conv: CallConv,
    next: u64,
}

impl State {
    /// `unit` translated into a fresh function that is not declared in the module (for the
    /// IR and disassembly views). `display` numbers resume sites instead of addressing them
    /// (stable text; such IR must not be compiled).
    fn scratch_function(&mut self, unit: &CodeUnit, display: bool) -> Result<ir::Function, String> {
        let mut func = ir::Function::with_name_signature(
            UserFuncName::user(0, 0),
            translate::entry_signature(self.call_conv),
        );
        let mut keep = Keep::default();
        let target = self.module.target_config();
        translate::build(
            &mut func,
            &mut self.fctx,
            unit,
            &self.helpers,
            &mut keep,
            target,
            display,
        )?;
        Ok(func)
    }

    /// Translates, compiles and links `unit`: its code address, code size and borrowed values.
    fn define(&mut self, unit: &CodeUnit) -> Result<(*const u8, usize, Keep), String> {
        self.module.clear_context(&mut self.ctx);
        let sig = translate::entry_signature(self.call_conv);
        let name = format!("tt_unit_{}", self.next);
        self.next += 1;
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| format!("declare {name}: {e}"))?;
        self.ctx.func.signature = sig;
        self.ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut keep = Keep::default();
        let target = self.module.target_config();
        translate::build(
            &mut self.ctx.func,
            &mut self.fctx,
            unit,
            &self.helpers,
            &mut keep,
            target,
            false,
        )?;
        self.module
            .define_function(id, &mut self.ctx)
            .map_err(|e| format!("cranelift: {e:?}"))?;
        let code_bytes = self
            .ctx
            .compiled_code()
            .map(|c| c.code_info().total_size as usize)
            .unwrap_or(0);
        self.module
            .finalize_definitions()
            .map_err(|e| format!("cranelift finalize: {e:?}"))?;
        Ok((self.module.get_finalized_function(id), code_bytes, keep))
    }
}

/// One Cranelift JIT module and its scratch state.
pub(crate) struct Engine {
    state: Mutex<State>,
}

impl Engine {
    /// A new engine for the host ISA.
    pub(crate) fn new() -> Result<Arc<Engine>, String> {
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| {
            f.set(k, v)
                .map_err(|e| format!("cranelift setting {k}={v}: {e}"))
        };
        set(&mut flags, "opt_level", "none")?;
        set(&mut flags, "is_pic", "false")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let isa = cranelift_native::builder()
            .map_err(|e| format!("host ISA not supported: {e}"))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| format!("cranelift ISA: {e}"))?;
        let call_conv = isa.default_call_conv();
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        for h in Helper::ALL {
            jb.symbol(h.name(), h.address());
        }
        let mut module = JITModule::new(jb);
        let mut helpers = Vec::with_capacity(Helper::ALL.len());
        for h in Helper::ALL {
            let sig = translate::helper_signature(h, call_conv);
            let id = module
                .declare_function(h.name(), Linkage::Import, &sig)
                .map_err(|e| format!("declare {}: {e}", h.name()))?;
            helpers.push((id, sig));
        }
        let ctx = module.make_context();
        Ok(Arc::new(Engine {
            state: Mutex::new(State {
                module: ManuallyDrop::new(module),
                ctx,
                fctx: FunctionBuilderContext::new(),
                helpers,
                call_conv,
                next: 0,
            }),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while compiling leaves only scratch state behind, which is reset before use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compiles `unit` to native code. A failure (including a panic inside Cranelift) is
    /// reported as an error; the engine stays usable.
    pub(crate) fn compile(self: &Arc<Self>, unit: &CodeUnit) -> Result<Compiled, String> {
        let start = Instant::now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| st.define(unit)));
        let (ptr, code_bytes, keep) = match outcome {
            Ok(r) => {
                st.module.clear_context(&mut st.ctx);
                r?
            }
            Err(panic) => {
                // Scratch state may be half-built: start afresh.
                st.ctx = st.module.make_context();
                st.fctx = FunctionBuilderContext::new();
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("panic");
                return Err(format!("cranelift panicked: {why}"));
            }
        };
        drop(guard);
        // SAFETY: `ptr` is the finalized code of a function built with `entry_signature`, i.e.
        // `extern "C" fn(i64, i64) -> i64` in the platform's default calling convention, which
        // is ABI-compatible with `JitEntry`. The code is never freed (see the module docs).
        let entry: JitEntry = unsafe { std::mem::transmute::<*const u8, JitEntry>(ptr) };
        let keep = UnitCode {
            _engine: Arc::clone(self),
            _keep: keep,
        };
        Ok(Compiled {
            entry,
            code_bytes,
            compile_time: start.elapsed(),
            keep_alive: Some(Arc::new(keep)),
        })
    }

    /// The Cranelift IR `unit` translates to (before optimisation), as text.
    pub(crate) fn clif(&self, unit: &CodeUnit) -> Result<String, String> {
        let st = &mut *self.lock();
        Ok(st.scratch_function(unit, true)?.display().to_string())
    }

    /// The machine code `unit` compiles to, as Cranelift's disassembly (after optimisation).
    /// Compiles the unit into a scratch context; nothing is installed.
    pub(crate) fn asm(&self, unit: &CodeUnit) -> Result<String, String> {
        let st = &mut *self.lock();
        let func = st.scratch_function(unit, false)?;
        let mut ctx = Context::for_function(func);
        ctx.set_disasm(true);
        let code = ctx
            .compile(st.module.isa(), &mut Default::default())
            .map_err(|e| format!("cranelift: {:?}", e.inner))?;
        Ok(code.vcode.clone().unwrap_or_default())
    }
}
