/*
 * Errors (docs/spec/c-abi.md §4): NULL and invalid handles, invalid selectors and tags, ERROR values as
 * arguments, released instances still referenced elsewhere, unknown ids, and the per-thread
 * last error.
 */
#include <pthread.h>

#include "tt_test.h"

static TTValue box_put(TTInstance* self, TTValue* a, int n) {
    (void)n;
    TT_SetIVar(self, "item", a[0]);
    return TT_MakeInstance(self);
}

static TTValue box_item(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    return TT_GetIVar(self, "item");
}

static TTValue box_bad_tag(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    TTValue v = {.type = (TTValueType)77, .intVal = 0};
    return v;
}

static void* other_thread(void* arg) {
    TTInstance* h = arg;
    static int results[4];
    results[0] = TT_GetLastError() == NULL; /* fresh thread: nothing failed yet */
    TTValue r = TT_SendSel(h, 0, NULL, 0);
    TT_ReleaseValue(r);
    char* e = TT_GetLastError();
    results[1] = e && strcmp(e, "invalid selector") == 0;
    free(e);
    return results;
}

int main(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    TTMethodEntry m[] = {
        {"put:", box_put, 1, TT_METHOD_NATIVE},
        {"item", box_item, 0, TT_METHOD_NATIVE},
        {"badTag", box_bad_tag, 0, TT_METHOD_NATIVE},
    };
    TTMethodTable t = {m, 3, NULL, 0};
    char* ivars[] = {"item"};
    TT_RegisterClass("Box", NULL, ivars, 1, &t);
    char* id = TT_New("Box");
    TTInstance* h = TT_Lookup(id);
    CHECK(h != NULL);

    /* ---- NULL handles ---- */
    CHECK(TT_GetIVar(NULL, "item").type == TT_TYPE_NIL);
    CHECK_ERR("nil instance");
    TT_SetIVar(NULL, "item", TT_MakeInt(1));
    CHECK_ERR("nil instance");
    CHECK(TT_GetIVarByIndex(NULL, 0).type == TT_TYPE_NIL);
    CHECK_ERR("nil instance");
    TT_SetIVarByIndex(NULL, 0, TT_MakeInt(1));
    CHECK_ERR("nil instance");
    CHECK_VERR(TT_SendDirect(NULL, "item", NULL, 0), "nil instance");
    CHECK_VERR(TT_SendSel(NULL, TT_Intern("item"), NULL, 0), "nil instance");
    CHECK_VERR(TT_InvokeBlockDirect(NULL, NULL, 0), "nil block");
    CHECK(TT_GetInstanceID(NULL) == NULL);
    CHECK_ERR("nil instance");
    CHECK(TT_GetInstanceClass(NULL) == NULL);
    CHECK(TT_Serialize(NULL) == NULL);
    CHECK_ERR("nil instance");
    CHECK(TT_Lookup(NULL) == NULL);

    /* ---- selectors ---- */
    CHECK_VERR(TT_SendSel(h, 0, NULL, 0), "invalid selector");
    CHECK_VERR(TT_SendSel(h, 0x7fffff00u, NULL, 0), "invalid selector");
    CHECK_VERR(TT_SendDirect(h, NULL, NULL, 0), "invalid selector");
    CHECK_VERR(TT_SendDirect(h, "", NULL, 0), "invalid selector");
    CHECK_VERR(TT_Send(id, "", NULL, 0), "invalid selector");
    CHECK(TT_Intern(NULL) == 0);
    CHECK_ERR("invalid selector");

    /* ---- tags ---- */
    TTValue bad = {.type = (TTValueType)42, .intVal = 1};
    TT_SetIVar(h, "item", bad);
    CHECK_ERR("invalid TTValue type 42");
    TTValue neg = {.type = (TTValueType)-1, .intVal = 1};
    CHECK(TT_ValueAsString(neg) == NULL);
    CHECK_ERR("invalid TTValue type -1");
    TTValue nine = {.type = (TTValueType)9, .intVal = 1};
    CHECK(TT_ValueToJSON(nine) == NULL);
    CHECK_ERR("invalid TTValue type 9");
    CHECK_VERR(TT_SendDirect(h, "put:", &bad, 1), "invalid TTValue type 42");
    CHECK_VERR(TT_Send(id, "put:", &bad, 1), "invalid TTValue type 42");
    CHECK_VERR(TT_SendDirect(h, "badTag", NULL, 0), "invalid TTValue type 77");
    TTValue arr = {.type = TT_TYPE_ARRAY, .arrayVal = NULL}; /* NULL ARRAY = empty array */
    TTValue r = TT_SendDirect(h, "put:", &arr, 1);
    CHECK(r.type == TT_TYPE_INSTANCE);
    CHECK_VTEXT(TT_GetIVar(h, "item"), TT_TYPE_STRING, "[]");
    TTValue arr2 = {.type = TT_TYPE_ARRAY, .arrayVal = (TTArray*)&arr};
    CHECK_VERR(TT_SendDirect(h, "put:", &arr2, 1), "invalid TTValue type 7");

    /* ---- an ERROR value as an argument fails the call with its message ---- */
    TTValue err = {.type = TT_TYPE_ERROR, .stringVal = "upstream failed"};
    CHECK_VERR(TT_SendDirect(h, "put:", &err, 1), "upstream failed");
    CHECK_VERR(TT_Send(id, "put:", &err, 1), "upstream failed");
    CHECK_VERR(TT_Send("Box", "new", &err, 1), "upstream failed");
    TT_SetIVar(h, "item", err);
    CHECK_ERR("upstream failed");

    /* ---- unknown ids ---- */
    CHECK(TT_Lookup("box_nope") == NULL);
    CHECK_ERR("instance not found: box_nope");
    CHECK(TT_LookupBlock("bytecode_block_999999") == NULL);
    CHECK_ERR("block not found: bytecode_block_999999");
    CHECK_VERR(TT_InvokeBlock("bytecode_block_999999", NULL, 0), "block not found: bytecode_block_999999");
    CHECK(TT_ClassOf("box_nope") == NULL);
    CHECK_ERR("instance not found: box_nope");
    TT_RegisterClass(NULL, NULL, NULL, 0, NULL);
    CHECK_ERR("invalid class name");
    TT_RegisterClass("", NULL, NULL, 0, NULL);
    CHECK_ERR("invalid class name");

    /* ---- a released instance that is still referenced: memory-safe, every use fails ---- */
    char* id2 = TT_New("Box");
    TTInstance* h2 = TT_Lookup(id2);
    TTValue ref = TT_MakeInstance(h2);
    TT_ReleaseValue(TT_SendDirect(h, "put:", &ref, 1)); /* h's ivar keeps h2 alive */
    CHECK(TT_Release(id2) == 0);
    char expect[128];
    snprintf(expect, sizeof expect, "instance not found: %s", id2);
    CHECK(TT_GetIVar(h2, "item").type == TT_TYPE_NIL);
    CHECK_ERR(expect);
    CHECK_VERR(TT_SendDirect(h2, "item", NULL, 0), expect);
    CHECK_VERR(TT_SendSel(h2, TT_Intern("item"), NULL, 0), expect);
    TT_SetIVarByIndex(h2, 0, TT_MakeInt(1));
    CHECK_ERR(expect);
    free(id2);

    /* ---- the last error is per thread; successes do not clear it ---- */
    CHECK_VERR(TT_SendDirect(NULL, "item", NULL, 0), "nil instance");
    TT_ReleaseValue(TT_SendDirect(h, "item", NULL, 0)); /* success */
    CHECK_ERR("nil instance");
    pthread_t th;
    pthread_create(&th, NULL, other_thread, h);
    int* res;
    pthread_join(th, (void**)&res);
    CHECK(res[0] == 1);
    CHECK(res[1] == 1);
    CHECK_ERR("nil instance"); /* this thread's error is unchanged */

    free(id);
    TT_Close();
    return tt_done();
}
