/*
 * docs/spec/c-abi.md §4 rule 6: before TT_Init only TT_RegisterClass, TT_Intern, TT_Make*, TT_ValueAsString,
 * TT_ValueAsInt, TT_ValueToJSON, TT_ReleaseValue, TT_Free, TT_GetLastError and TT_SetSessionID
 * work; every other function fails with "runtime not initialized". Also: TT_Close before init is
 * a no-op, TT_Init again with the same arguments is harmless (other ones fail), and after TT_Close the gate closes again until the next TT_Init.
 */
#include "tt_test.h"

/* The last error contains `needle`. */
#define CHECK_ERR_HAS(needle)                                                         \
    do {                                                                              \
        char* tt_s_ = TT_GetLastError();                                              \
        tt_checks++;                                                                  \
        if (!tt_s_ || !strstr(tt_s_, (needle))) {                                     \
            tt_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__, \
                    __LINE__, tt_s_ ? tt_s_ : "(null)", (needle));                    \
        }                                                                             \
        free(tt_s_);                                                                  \
    } while (0)

#define NI "runtime not initialized"

static TTValue early_hello(TTInstance* self, TTValue* args, int n) {
    (void)self;
    (void)args;
    (void)n;
    return TT_MakeString("hello");
}

int main(void) {
    const char* db = getenv("TT_TEST_DB");
    CHECK(TT_GetLastError() == NULL); /* nothing failed on this thread yet */

    /* ---- the functions that work before TT_Init ---- */
    TT_Close(); /* no-op */
    CHECK(TT_GetLastError() == NULL);
    CHECK_VINT(TT_MakeInt(-5), -5);
    CHECK_VTEXT(TT_MakeFloat(2.5), TT_TYPE_FLOAT, "2.5");
    CHECK_VTEXT(TT_MakeBool(7), TT_TYPE_BOOL, "true");
    CHECK_VTEXT(TT_MakeNil(), TT_TYPE_NIL, "");
    CHECK_VTEXT(TT_MakeString("x"), TT_TYPE_STRING, "x");
    CHECK(TT_MakeInstance(NULL).type == TT_TYPE_NIL);
    CHECK(TT_ValueAsInt(tt_str("42")) == 42);
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(3.0)), "3.0");
    TTSel s1 = TT_Intern("setValue:");
    CHECK(s1 != 0 && s1 == TT_Intern("setValue_"));
    TT_SetSessionID("early-session");
    TT_SetSessionID(NULL);
    TT_Free(NULL);
    CHECK(TT_GetLastError() == NULL);
    CHECK(TT_Intern("") == 0);
    CHECK_ERR("invalid selector");

    TTMethodEntry m[] = {{"hello", early_hello, 0, TT_METHOD_NATIVE}};
    TTMethodTable t = {m, 1, NULL, 0};
    TT_RegisterClass("Early", NULL, NULL, 0, &t);
    CHECK_ERR("invalid selector"); /* unchanged: registration succeeded */

    /* ---- everything else fails ---- */
    char* id = TT_New("Early");
    CHECK(id == NULL);
    CHECK_ERR(NI);
    TT_SetSessionID("x"); /* does not touch the last error */
    CHECK_ERR(NI);
    CHECK(TT_Lookup("early_1") == NULL);
    CHECK_ERR(NI);
    TTValue v = TT_GetIVar(NULL, "x");
    CHECK(v.type == TT_TYPE_NIL);
    CHECK_ERR(NI);
    TT_Intern("reset-the-error"); /* succeeds; errno-like: does not clear */
    TT_SetIVar(NULL, "x", TT_MakeInt(1));
    CHECK_ERR(NI);
    CHECK(TT_GetIVarByIndex(NULL, 0).type == TT_TYPE_NIL);
    CHECK_ERR(NI);
    CHECK(TT_GetIvar(NULL, 0).type == TT_TYPE_NIL);
    CHECK_ERR(NI);
    TT_SetIVarByIndex(NULL, 0, TT_MakeInt(1));
    CHECK_ERR(NI);
    TT_SetIvar(NULL, 0, TT_MakeInt(1));
    CHECK_ERR(NI);
    CHECK_VERR(TT_Send("Early", "hello", NULL, 0), NI);
    CHECK_VERR(TT_SendDirect(NULL, "hello", NULL, 0), NI);
    CHECK_VERR(TT_SendSel(NULL, s1, NULL, 0), NI);
    size_t len;
    uint8_t* bytes = tt_hex("5454424300010000000000062200220150F000000201780179000000", &len);
    CHECK(TT_RegisterBlock(bytes, len, NULL, 0) == NULL);
    CHECK_ERR(NI);
    free(bytes);
    CHECK(TT_LookupBlock("bytecode_block_1") == NULL);
    CHECK_ERR(NI);
    CHECK_VERR(TT_InvokeBlock("bytecode_block_1", NULL, 0), NI);
    CHECK_VERR(TT_InvokeBlockDirect(NULL, NULL, 0), NI);
    CHECK(TT_Persist("early_1") == -1);
    CHECK_ERR(NI);
    CHECK(TT_Load("early_1") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_BashFallback("Early", "hello", NULL, 0) == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Serialize(NULL) == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Deserialize("{\"class\":\"Early\"}") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_GetInstanceID(NULL) == NULL);
    CHECK_ERR(NI);
    CHECK(TT_GetInstanceClass(NULL) == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Release("early_1") == -1);
    CHECK_ERR(NI);
    CHECK(TT_Classes() == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Methods("Early", 0) == NULL);
    CHECK_ERR(NI);
    CHECK(TT_IVars("Early") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Superclass("Early") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_ClassOf("early_1") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_RespondsTo("Early", "hello") == -1);
    CHECK_ERR(NI);
    CHECK(TT_Stats() == NULL);
    CHECK_ERR(NI);

    /* ---- a database that cannot be opened: -1 with the reason; still not initialized ---- */
    CHECK(TT_Init("/dev/null/not-a-dir/x.db", NULL) == -1);
    char* why = TT_GetLastError();
    CHECK(why && strlen(why) > 0 && strcmp(why, NI) != 0);
    free(why);
    CHECK(TT_New("Early") == NULL);
    CHECK_ERR(NI);

    /* ---- TT_Init opens the gate; the class registered before it is there ---- */
    CHECK(TT_Init((char*)db, NULL) == 0);
    /* already initialized: the same database again (or NULL) is harmless, another one fails
       (issue #18: it used to be ignored silently) */
    CHECK(TT_Init((char*)db, NULL) == 0);
    CHECK(TT_Init(NULL, NULL) == 0);
    CHECK(TT_Init("/nonexistent/other.db", NULL) == -1);
    CHECK_ERR_HAS("already initialized with database");
    /* a plugin directory that does not exist fails instead of loading nothing */
    CHECK(TT_Init((char*)db, "/nonexistent/plugins") == -1);
    CHECK_ERR_HAS("already initialized with plugin directory");
    id = TT_New("Early");
    CHECK(id && strncmp(id, "early_", 6) == 0);
    CHECK_VTEXT(TT_Send(id, "hello", NULL, 0), TT_TYPE_STRING, "hello");
    free(id);

    /* ---- TT_Close closes it again; classes stay; TT_Init works again ---- */
    TT_Close();
    CHECK(TT_New("Early") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Init((char*)db, "/nonexistent/plugins") == -1);
    CHECK_ERR_HAS("plugin directory /nonexistent/plugins does not exist");
    CHECK(TT_New("Early") == NULL);
    CHECK_ERR(NI);
    CHECK(TT_Init((char*)db, NULL) == 0);
    char* classes = TT_Classes();
    CHECK(classes && strstr(classes, "\"Early\""));
    free(classes);
    TT_Close();
    return tt_done();
}
