/*
 * Counter — a registering plugin in C (docs/spec/c-abi.md §8).
 *
 * Class Counter, ivars value (index 0) and step (index 1):
 *   initialize        value := 0, step := 1 (sent by TT_New / Counter new)
 *   increment         value := value + step; answers the new value
 *   getValue          answers value
 *   setValue:  n      value := n; answers self
 *   incrementBy: n    value := value + n; answers the new value
 *   reset             value := 0; answers self
 *   Counter description (class side) answers "Counter (C plugin)"
 *
 * Registers from a constructor and also exports TT_PluginInit; both are idempotent.
 * Leaves every TT_* symbol undefined: it binds to the runtime of the process at dlopen
 * (or, built with -ltrashtalk, to the libtrashtalk.so already loaded; same SONAME).
 */
#include <stdlib.h>

#include "libtrashtalk.h"

enum { IV_VALUE = 0, IV_STEP = 1 };

static int64_t ivar_int(TTInstance* self, int index, int64_t dflt) {
    TTValue v = TT_GetIVarByIndex(self, index);
    int64_t n = v.type == TT_TYPE_NIL ? dflt : TT_ValueAsInt(v);
    TT_ReleaseValue(v);
    return n;
}

static TTValue counter_initialize(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    TT_SetIVarByIndex(self, IV_VALUE, TT_MakeInt(0));
    TT_SetIVarByIndex(self, IV_STEP, TT_MakeInt(1));
    return TT_MakeInstance(self);
}

static TTValue counter_increment(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    int64_t v = ivar_int(self, IV_VALUE, 0) + ivar_int(self, IV_STEP, 1);
    TT_SetIVarByIndex(self, IV_VALUE, TT_MakeInt(v));
    return TT_MakeInt(v);
}

static TTValue counter_get_value(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    /* The caller-owned copy is moved to the runtime, which frees a string payload. */
    return TT_GetIVarByIndex(self, IV_VALUE);
}

static TTValue counter_set_value(TTInstance* self, TTValue* args, int n) {
    (void)n; /* padded with NIL to numArgs = 1 */
    TT_SetIVarByIndex(self, IV_VALUE, args[0]);
    return TT_MakeInstance(self);
}

static TTValue counter_increment_by(TTInstance* self, TTValue* args, int n) {
    (void)n;
    if (args[0].type == TT_TYPE_ERROR) return TT_MakeString("unreachable");
    int64_t v = ivar_int(self, IV_VALUE, 0) + TT_ValueAsInt(args[0]);
    TT_SetIVarByIndex(self, IV_VALUE, TT_MakeInt(v));
    return TT_MakeInt(v);
}

static TTValue counter_reset(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    TT_SetIVarByIndex(self, IV_VALUE, TT_MakeInt(0));
    return TT_MakeInstance(self);
}

static TTValue counter_description(TTInstance* self, TTValue* args, int n) {
    (void)self; /* NULL for class methods */
    (void)args;
    (void)n;
    return TT_MakeString("Counter (C plugin)");
}

static void register_counter(void) {
    static TTMethodEntry instance_methods[] = {
        {"initialize", counter_initialize, 0, TT_METHOD_NATIVE},
        {"increment", counter_increment, 0, TT_METHOD_NATIVE},
        {"getValue", counter_get_value, 0, TT_METHOD_NATIVE},
        {"setValue:", counter_set_value, 1, TT_METHOD_NATIVE},
        {"incrementBy:", counter_increment_by, 1, TT_METHOD_NATIVE},
        {"reset", counter_reset, 0, TT_METHOD_NATIVE},
    };
    static TTMethodEntry class_methods[] = {
        {"description", counter_description, 0, TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
    };
    TTMethodTable table = {
        instance_methods, (int)(sizeof instance_methods / sizeof instance_methods[0]),
        class_methods, (int)(sizeof class_methods / sizeof class_methods[0]),
    };
    char* ivars[] = {"value", "step"};
    TT_RegisterClass("Counter", "Object", ivars, 2, &table);
}

static int registered;

__attribute__((constructor)) static void counter_plugin_load(void) {
    register_counter();
    registered = 1;
}

/* Called once by the runtime's loader after dlopen; registering again would be harmless too. */
int TT_PluginInit(void) {
    if (!registered) {
        register_counter();
        registered = 1;
    }
    return 0;
}
