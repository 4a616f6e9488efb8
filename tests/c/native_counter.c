/*
 * A registering plugin (docs/spec/c-abi.md §8) for the daemon tests: class `Counter` with ivars
 * `value` and `step`, registered from a constructor with a native method table, linked with
 * `-ltrashtalk` so that it has `DT_NEEDED libtrashtalk.so`.
 *
 *   instance side:  increment        value += step (step nil = 1); returns value
 *                   incrementBy_ N   value += N; returns value
 *                   getValue         returns value
 *                   fail             returns an ERROR value
 *                   spawn            TT_New("Counter"), sets its value to self's value + 100,
 *                                    returns the new instance (its id)
 *                   bashOnly         flagged TT_METHOD_BASH_FALLBACK
 *   class side:     make_ N          TT_New + value N; returns the instance
 *                   invoke_ ID A     TT_InvokeBlock(ID, [A]): runs a block registered through
 *                                    the daemon socket (proves one shared runtime)
 *                   initCount        how often TT_PluginInit ran
 */
#include <stdlib.h>
#include <string.h>
#include "libtrashtalk.h"

static int init_count = 0;

static int64_t ivar_int(TTInstance *self, const char *name, int64_t dflt) {
    TTValue v = TT_GetIVar(self, (char *)name);
    int64_t out = v.type == TT_TYPE_NIL ? dflt : TT_ValueAsInt(v);
    TT_ReleaseValue(v);
    return out;
}

static TTValue m_increment(TTInstance *self, TTValue *args, int n) {
    (void)args; (void)n;
    int64_t v = ivar_int(self, "value", 0) + ivar_int(self, "step", 1);
    TT_SetIVar(self, "value", TT_MakeInt(v));
    return TT_MakeInt(v);
}

static TTValue m_increment_by(TTInstance *self, TTValue *args, int n) {
    int64_t by = n > 0 ? TT_ValueAsInt(args[0]) : 0;
    int64_t v = ivar_int(self, "value", 0) + by;
    TT_SetIVar(self, "value", TT_MakeInt(v));
    return TT_MakeInt(v);
}

static TTValue m_get_value(TTInstance *self, TTValue *args, int n) {
    (void)args; (void)n;
    return TT_MakeInt(ivar_int(self, "value", 0));
}

static TTValue m_fail(TTInstance *self, TTValue *args, int n) {
    (void)self; (void)args; (void)n;
    TTValue e = TT_MakeString("native counter failure");
    e.type = TT_TYPE_ERROR;
    return e;
}

static TTValue m_spawn(TTInstance *self, TTValue *args, int n) {
    (void)args; (void)n;
    char *id = TT_New("Counter");
    if (!id) return TT_MakeNil();
    TTInstance *other = TT_Lookup(id);
    free(id);
    TT_SetIVar(other, "value", TT_MakeInt(ivar_int(self, "value", 0) + 100));
    return TT_MakeInstance(other);
}

static TTValue c_make(TTInstance *self, TTValue *args, int n) {
    (void)self;
    char *id = TT_New("Counter");
    if (!id) return TT_MakeNil();
    TTInstance *inst = TT_Lookup(id);
    free(id);
    TT_SetIVar(inst, "value", TT_MakeInt(n > 0 ? TT_ValueAsInt(args[0]) : 0));
    return TT_MakeInstance(inst);
}

static TTValue c_invoke(TTInstance *self, TTValue *args, int n) {
    (void)self;
    if (n < 2) return TT_MakeNil();
    char *block = TT_ValueAsString(args[0]);
    TTValue r = TT_InvokeBlock(block, &args[1], 1);
    free(block);
    return r;
}

static TTValue c_init_count(TTInstance *self, TTValue *args, int n) {
    (void)self; (void)args; (void)n;
    return TT_MakeInt(init_count);
}

static TTMethodEntry instance_methods[] = {
    {"increment", m_increment, 0, TT_METHOD_NATIVE},
    {"incrementBy:", m_increment_by, 1, TT_METHOD_NATIVE},
    {"getValue", m_get_value, 0, TT_METHOD_NATIVE},
    {"fail", m_fail, 0, TT_METHOD_NATIVE},
    {"spawn", m_spawn, 0, TT_METHOD_NATIVE},
    {"bashOnly", NULL, 0, TT_METHOD_BASH_FALLBACK},
};

static TTMethodEntry class_methods[] = {
    {"make:", c_make, 1, TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
    {"invoke:with:", c_invoke, 2, TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
    {"initCount", c_init_count, 0, TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
};

__attribute__((constructor)) static void register_counter(void) {
    char *ivars[] = {"value", "step"};
    TTMethodTable table = {instance_methods, sizeof instance_methods / sizeof *instance_methods,
                           class_methods, sizeof class_methods / sizeof *class_methods};
    TT_RegisterClass("Counter", NULL, ivars, 2, &table);
}

int TT_PluginInit(void) {
    init_count++;
    return 0;
}
