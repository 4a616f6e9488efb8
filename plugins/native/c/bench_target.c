/*
 * BenchTarget — the benchmarks' method bodies (benches/benches/capi.rs).
 *
 * The same plain C functions are called two ways: through a C function pointer (the baseline)
 * and as methods of class BenchTarget through the runtime (TT_SendSel, TT_SendDirect, TT_Send),
 * so the difference is the cost of the send alone.
 *   get       answers 42
 *   add: n    answers n + 1
 */
#include "libtrashtalk.h"

TTValue bench_target_get(TTInstance* self, TTValue* args, int n) {
    (void)self;
    (void)args;
    (void)n;
    TTValue v = {.type = TT_TYPE_INT, .intVal = 42};
    return v;
}

TTValue bench_target_add(TTInstance* self, TTValue* args, int n) {
    (void)self;
    TTValue v = {.type = TT_TYPE_INT, .intVal = (n > 0 ? args[0].intVal : 0) + 1};
    return v;
}

__attribute__((constructor)) static void bench_target_load(void) {
    static TTMethodEntry methods[] = {
        {"get", bench_target_get, 0, TT_METHOD_NATIVE},
        {"add:", bench_target_add, 1, TT_METHOD_NATIVE},
    };
    TTMethodTable table = {methods, 2, NULL, 0};
    TT_RegisterClass("BenchTarget", "Object", NULL, 0, &table);
}
