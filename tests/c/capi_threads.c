/*
 * Sends from several threads at once (docs/spec/c-abi.md §9): two threads hammer their own counters
 * (exact counts), a shared counter (no method atomicity: increments may interleave, never
 * crash), blocks and TT_Send by id, while a third thread keeps re-registering an unrelated class
 * (cache invalidation under load) and creating/releasing instances. Then TT_Release of an
 * instance whose method is still running, from another thread and from the method itself: the
 * running call keeps the object alive until it returns (docs/spec/c-abi.md §3.3).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "chunks.h"
#include "tt_test.h"

#define N 100000

static TTValue tc_increment(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    TTValue v = TT_GetIVarByIndex(self, 0);
    int64_t x = TT_ValueAsInt(v) + 1;
    TT_ReleaseValue(v);
    TT_SetIVarByIndex(self, 0, TT_MakeInt(x));
    return TT_MakeInt(x);
}

static TTValue tc_value(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    return TT_GetIVarByIndex(self, 0);
}

static TTValue other_ping(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    return TT_MakeInt(1);
}

static atomic_int rc_started, rc_released;

/* What a method can still do with its released receiver: its memory stays valid (the id
 * reads back), its variables answer NIL with the last error `instance not found: <id>`. */
static TTValue rc_after_release(TTInstance* self) {
    char* id = TT_GetInstanceID(self);
    TTValue v = TT_GetIVarByIndex(self, 0);
    char* e = TT_GetLastError();
    char expect[160];
    snprintf(expect, sizeof expect, "instance not found: %s", id ? id : "?");
    int ok = id && v.type == TT_TYPE_NIL && e && strcmp(e, expect) == 0;
    TT_ReleaseValue(v);
    free(e);
    TTValue r = ok ? TT_MakeString(id) : TT_MakeInt(-1);
    free(id);
    return r;
}

/* Signals that it runs, waits until the main thread has released the receiver, then uses it. */
static TTValue rc_hold_then_read(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    atomic_store(&rc_started, 1);
    while (!atomic_load(&rc_released)) {
    }
    return rc_after_release(self);
}

/* Releases its own receiver, then keeps using it. */
static TTValue rc_release_self(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    char* id = TT_GetInstanceID(self);
    int rc = TT_Release(id);
    free(id);
    if (rc != 0) return TT_MakeInt(-2);
    return rc_after_release(self);
}

static void* rc_caller(void* p) {
    TTValue* out = p;
    *out = TT_SendSel(TT_Lookup(getenv("TT_RC_ID")), TT_Intern("holdThenRead"), NULL, 0);
    return NULL;
}

static char* shared_id;
static char* block_id;
static atomic_int stop;
static pthread_barrier_t start;

typedef struct {
    char* own_id;
    const char* bad_sel;
    int errors;
    int64_t final_value;
    int last_error_ok;
} Work;

static void* worker(void* p) {
    Work* w = p;
    TTInstance* own = TT_Lookup(w->own_id);
    TTInstance* shared = TT_Lookup(shared_id);
    TTBlock* inc = TT_LookupBlock(block_id);
    TTSel sel = TT_Intern("increment");
    pthread_barrier_wait(&start);
    for (int i = 0; i < N; i++) {
        TTValue r = TT_SendSel(own, sel, NULL, 0);
        if (r.type != TT_TYPE_INT || r.intVal != i + 1) w->errors++;
        TT_ReleaseValue(r);
        TT_ReleaseValue(TT_SendDirect(shared, "increment", NULL, 0));
        if (i % 64 == 0) {
            TTValue x = TT_MakeInt(i);
            r = TT_InvokeBlockDirect(inc, &x, 1);
            if (r.type != TT_TYPE_INT || r.intVal != i + 1) w->errors++;
            TT_ReleaseValue(r);
            r = TT_Send(w->own_id, "value", NULL, 0);
            if (r.type != TT_TYPE_INT || r.intVal != i + 1) w->errors++;
            TT_ReleaseValue(r);
        }
    }
    /* per-thread last error */
    TT_ReleaseValue(TT_SendDirect(own, (char*)w->bad_sel, NULL, 0));
    char* e = TT_GetLastError();
    char expect[64];
    snprintf(expect, sizeof expect, "unknown method: TC %s", w->bad_sel);
    w->last_error_ok = e && strcmp(e, expect) == 0;
    free(e);
    TTValue v = TT_SendSel(own, TT_Intern("value"), NULL, 0);
    w->final_value = v.intVal;
    return NULL;
}

static void* churner(void* p) {
    (void)p;
    TTMethodEntry m[] = {{"ping", other_ping, 0, TT_METHOD_NATIVE}};
    TTMethodTable t = {m, 1, NULL, 0};
    pthread_barrier_wait(&start);
    int rounds = 0;
    while (!atomic_load(&stop)) {
        TT_RegisterClass("Other", NULL, NULL, 0, &t);
        char* id = TT_New("Other");
        if (id) {
            TT_ReleaseValue(TT_Send(id, "ping", NULL, 0));
            TT_Release(id);
            free(id);
        }
        rounds++;
    }
    return (void*)(intptr_t)rounds;
}

int main(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    TTMethodEntry m[] = {
        {"increment", tc_increment, 0, TT_METHOD_NATIVE},
        {"value", tc_value, 0, TT_METHOD_NATIVE},
    };
    TTMethodTable t = {m, 2, NULL, 0};
    char* ivars[] = {"value"};
    TT_RegisterClass("TC", NULL, ivars, 1, &t);
    Work a = {TT_New("TC"), "nope1", 0, 0, 0};
    Work b = {TT_New("TC"), "nope2", 0, 0, 0};
    shared_id = TT_New("TC");
    block_id = tt_register_hex(CHUNK_INC, NULL, 0);
    CHECK(a.own_id && b.own_id && shared_id && block_id);

    pthread_barrier_init(&start, NULL, 3);
    pthread_t ta, tb, tc;
    pthread_create(&ta, NULL, worker, &a);
    pthread_create(&tb, NULL, worker, &b);
    pthread_create(&tc, NULL, churner, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    atomic_store(&stop, 1);
    void* rounds;
    pthread_join(tc, &rounds);

    CHECK(a.errors == 0);
    CHECK(b.errors == 0);
    CHECK(a.final_value == N);
    CHECK(b.final_value == N);
    CHECK(a.last_error_ok);
    CHECK(b.last_error_ok);
    CHECK((intptr_t)rounds > 0);
    TTValue s = TT_Send(shared_id, "value", NULL, 0);
    CHECK(s.type == TT_TYPE_INT && s.intVal > 0 && s.intVal <= 2 * N);
    printf("shared counter: %lld of %d increments (no method-level atomicity), churn rounds: %ld\n",
           (long long)s.intVal, 2 * N, (long)(intptr_t)rounds);
    free(a.own_id);
    free(b.own_id);
    free(shared_id);
    free(block_id);

    /* Released while its method runs on another thread, and by its own method. */
    TTMethodEntry rm[] = {
        {"holdThenRead", rc_hold_then_read, 0, TT_METHOD_NATIVE},
        {"releaseSelf", rc_release_self, 0, TT_METHOD_NATIVE},
    };
    TTMethodTable rt = {rm, 2, NULL, 0};
    char* rivars[] = {"payload"};
    TT_RegisterClass("RC", NULL, rivars, 1, &rt);
    for (int round = 0; round < 50; round++) {
        char* rid = TT_New("RC");
        CHECK(rid != NULL);
        TTValue payload = TT_MakeString("still here");
        TT_SetIVarByIndex(TT_Lookup(rid), 0, payload);
        TT_ReleaseValue(payload);
        setenv("TT_RC_ID", rid, 1);
        atomic_store(&rc_started, 0);
        atomic_store(&rc_released, 0);
        TTValue got;
        pthread_t tr;
        pthread_create(&tr, NULL, rc_caller, &got);
        while (!atomic_load(&rc_started)) {
        }
        CHECK(TT_Release(rid) == 0);
        /* new objects that could take the released memory if it had been freed */
        for (int k = 0; k < 8; k++) {
            char* junk = TT_New("RC");
            TTValue j = TT_MakeString("junk junk junk junk");
            TT_SetIVarByIndex(TT_Lookup(junk), 0, j);
            TT_ReleaseValue(j);
            TT_Release(junk);
            free(junk);
        }
        atomic_store(&rc_released, 1);
        pthread_join(tr, NULL);
        CHECK(got.type == TT_TYPE_STRING && strcmp(got.stringVal, rid) == 0);
        TT_ReleaseValue(got);
        CHECK(TT_Release(rid) == -1);
        free(rid);

        char* sid = TT_New("RC");
        TTInstance* sh = TT_Lookup(sid);
        payload = TT_MakeString("mine");
        TT_SetIVarByIndex(sh, 0, payload);
        TT_ReleaseValue(payload);
        TTValue r = TT_SendDirect(sh, "releaseSelf", NULL, 0);
        CHECK(r.type == TT_TYPE_STRING && strcmp(r.stringVal, sid) == 0);
        TT_ReleaseValue(r);
        CHECK(TT_Release(sid) == -1);
        free(sid);
    }
    TT_Close();
    return tt_done();
}
