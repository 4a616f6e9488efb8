/*
 * Persistence through the C ABI (docs/spec/c-abi.md §5; docs/spec/persistence.md §4, §5, §7): TT_Serialize,
 * TT_ValueToJSON of instances, TT_Persist, TT_Load (refresh in place), TT_Deserialize, TT_Close
 * saving modified instances, lookups that load rows, and TT_BashFallback.
 *
 *   capi_persist            the database part (no Bash bridge)
 *   capi_persist bridge     with a fake $TRASHTALK_ROOT/lib/trash.bash written by the test
 */
#include "tt_test.h"

static TTValue note_touch(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    TTValue c = TT_GetIVar(self, "count");
    int64_t v = TT_ValueAsInt(c) + 1;
    TT_ReleaseValue(c);
    TT_SetIVar(self, "count", TT_MakeInt(v));
    return TT_MakeInt(v);
}

static void register_note(void) {
    TTMethodEntry m[] = {
        {"touch", note_touch, 0, TT_METHOD_NATIVE},
        {"shout", NULL, 1, TT_METHOD_BASH_FALLBACK},
    };
    TTMethodTable t = {m, 2, NULL, 0};
    char* ivars[] = {"title", "count", "ratio", "flag", "data"};
    TT_RegisterClass("Note", NULL, ivars, 5, &t);
}

static int bridge_part(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    register_note();
    char* args[] = {"a  b", "c'd"};
    CHECK_OWNED(TT_BashFallback("Foo", "echo:", args, 2), "Foo echo_ a  b|c'd");
    CHECK(TT_BashFallback("Foo", "fail", NULL, 0) == NULL);
    CHECK_ERR("bash error (exit 3): oops");
    /* a BASH_FALLBACK entry and an unknown class both reach the bridge from a send */
    char* id = TT_New("Note");
    TTValue arg = tt_str("hey");
    char expect[160];
    snprintf(expect, sizeof expect, "%s shout hey", id);
    CHECK_VTEXT(TT_Send(id, "shout", &arg, 1), TT_TYPE_STRING, expect);
    CHECK_VTEXT(TT_Send("Ghost", "echo", &arg, 1), TT_TYPE_STRING, "Ghost echo hey");
    CHECK_VINT(TT_Send("Ghost", "answer", NULL, 0), 42); /* "42" from Bash is an integer */
    TT_SetSessionID("s-123");
    CHECK_OWNED(TT_BashFallback("Foo", "session", NULL, 0), "s-123");
    TT_SetSessionID(NULL);
    free(id);
    TT_Close();
    return tt_done();
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "bridge") == 0) return bridge_part();
    char* db = getenv("TT_TEST_DB");
    CHECK(TT_Init(db, NULL) == 0);
    register_note();

    char* id = TT_New("Note");
    TTInstance* h = TT_Lookup(id);
    TT_SetIVar(h, "title", tt_str("hello \"w\""));
    TT_SetIVar(h, "count", TT_MakeInt(7));
    TT_SetIVar(h, "ratio", TT_MakeFloat(3.0));
    TT_SetIVar(h, "flag", TT_MakeBool(1));
    TT_SetIVar(h, "data", tt_str("[1, 2]"));
    char* doc = TT_Serialize(h);
    CHECK(doc && strncmp(doc, "{\"class\":\"Note\",\"created_at\":\"", 30) == 0);
    CHECK(doc && strstr(doc, "\"_vars\":[\"title\",\"count\",\"ratio\",\"flag\",\"data\"],"
                             "\"title\":\"hello \\\"w\\\"\",\"count\":7,\"ratio\":3.0,\"flag\":true,"
                             "\"data\":[1,2]}"));
    CHECK(doc && !strstr(doc, "\"id\""));
    CHECK_OWNED(TT_ValueToJSON(TT_MakeInstance(h)), doc);
    free(doc);

    /* TT_Persist, then TT_Load discards unsaved changes and keeps the handle */
    CHECK(TT_Persist(id) == 0);
    TT_SetIVar(h, "count", TT_MakeInt(8));
    CHECK(TT_Load(id) == h);
    CHECK_VINT(TT_GetIVar(h, "count"), 7);
    CHECK_VTEXT(TT_GetIVar(h, "ratio"), TT_TYPE_FLOAT, "3");
    CHECK_VTEXT(TT_GetIVar(h, "data"), TT_TYPE_STRING, "[1,2]");
    CHECK(TT_Persist("note_missing") == -1);
    CHECK_ERR("instance not found: note_missing");
    CHECK(TT_Load("note_missing") == NULL);
    CHECK_ERR("instance not found: note_missing");

    /* TT_Deserialize: given id, orphans kept, not saved (until TT_Close) */
    TTInstance* f = TT_Deserialize(
        "{\"class\":\"Note\",\"id\":\"note_fixed-1\",\"_vars\":[\"title\"],\"title\":\"x\",\"extra\":1}");
    CHECK(f != NULL);
    CHECK_OWNED(TT_GetInstanceID(f), "note_fixed-1");
    CHECK_OWNED(TT_Serialize(f), "{\"class\":\"Note\",\"_vars\":[\"title\"],\"title\":\"x\",\"extra\":1}");
    CHECK(TT_Deserialize("{\"class\":\"Note\",\"id\":\"note_fixed-1\",\"_vars\":[\"title\"],\"title\":\"y\"}") == f);
    CHECK_VTEXT(TT_GetIVar(f, "title"), TT_TYPE_STRING, "y");
    TTInstance* g = TT_Deserialize("{\"class\":\"Note\",\"title\":\"no id\",\"count\":2}");
    CHECK(g != NULL);
    char* gid = TT_GetInstanceID(g);
    CHECK(gid && strncmp(gid, "note_", 5) == 0);
    CHECK_VINT(TT_GetIVar(g, "count"), 2);
    CHECK(TT_Deserialize("[1]") == NULL);
    char* e = TT_GetLastError();
    CHECK(e && strncmp(e, "invalid instance JSON: ", 23) == 0);
    free(e);
    CHECK(TT_Deserialize("{\"nope\":1}") == NULL);
    e = TT_GetLastError();
    CHECK(e && strncmp(e, "invalid instance JSON: ", 23) == 0);
    free(e);

    /* TT_Close saves modified instances; a lookup after TT_Init loads the row */
    CHECK_VINT(TT_SendDirect(h, "touch", NULL, 0), 8);
    TT_Close();
    CHECK(TT_Init(db, NULL) == 0);
    TTInstance* h2 = TT_Lookup(id);
    CHECK(h2 != NULL);
    CHECK_VINT(TT_GetIVar(h2, "count"), 8);
    CHECK_VTEXT(TT_GetIVar(TT_Lookup("note_fixed-1"), "title"), TT_TYPE_STRING, "y");
    CHECK(TT_Lookup(gid) != NULL);
    /* a send by id to a released instance loads it again */
    CHECK(TT_Release(id) == 0);
    CHECK_VINT(TT_Send(id, "touch", NULL, 0), 9);
    CHECK(TT_Lookup("bad id!") == NULL);
    CHECK_ERR("instance not found: bad id!");

    CHECK(TT_BashFallback("Note", "x", NULL, 0) == NULL);
    CHECK_ERR("bash bridge not available");

    /* an instance that cannot be saved (a key/value id) does not keep TT_Close from saving
       the other modified instances; the failure is reported */
    CHECK(TT_Deserialize("{\"class\":\"Note\",\"id\":\"__kv__note\",\"_vars\":[\"title\"],\"title\":\"kv\"}") != NULL);
    CHECK_VINT(TT_Send(id, "touch", NULL, 0), 10);
    TT_Close();
    CHECK_ERR("reserved key/value id: __kv__note");
    CHECK(TT_Init(db, NULL) == 0);
    CHECK_VINT(TT_GetIVar(TT_Lookup(id), "count"), 10);
    CHECK(TT_Lookup("__kv__note") == NULL);
    free(gid);
    free(id);
    TT_Close();
    return tt_done();
}
