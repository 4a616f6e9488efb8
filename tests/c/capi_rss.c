/*
 * Ownership (docs/spec/c-abi.md §7): a loop of N calls of every string-returning function, each result
 * released as the rules say, keeps the resident set flat. RSS (/proc/self/statm) is measured
 * after a warm-up of each loop and after the loop; growth must stay below 2 MiB.
 *
 *   capi_rss [N]        (default 1000000)
 *
 * TT_New runs N/10 times: each call writes a SQLite row (docs/spec/persistence.md §7.1), ~40 µs here, so
 * 10^6 calls would take most of a minute and grow the database file by ~100 MB. Its loop is the
 * one that can legitimately grow the heap a little (SQLite's page cache fills up to its limit).
 */
#include <time.h>

#include "chunks.h"
#include "tt_test.h"

#define LIMIT (2L * 1024 * 1024)

static long n_iter = 1000000;
static long total_growth;

static TTValue item_text(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    return TT_GetIVar(self, "text");
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define LOOP(label, n, body)                                                           \
    do {                                                                               \
        long warm = (n) / 20 + 1000;                                                   \
        for (long i = 0; i < warm; i++) { body; }                                      \
        long before = tt_rss_bytes();                                                  \
        double t0 = now();                                                             \
        for (long i = 0; i < (n); i++) { body; }                                       \
        long growth = tt_rss_bytes() - before;                                         \
        total_growth += growth > 0 ? growth : 0;                                       \
        printf("%-22s %8ld calls  %7.1f ns/call  rss %+ld KiB\n", label, (long)(n),   \
               (now() - t0) * 1e9 / (double)(n), growth / 1024);                       \
        tt_checks++;                                                                   \
        if (growth >= LIMIT) {                                                         \
            tt_failures++;                                                             \
            fprintf(stderr, "FAIL %s: RSS grew by %ld bytes\n", label, growth);        \
        }                                                                              \
    } while (0)

int main(int argc, char** argv) {
    if (argc > 1) n_iter = atol(argv[1]);
    long n = n_iter;
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    TTMethodEntry m[] = {{"text", item_text, 0, TT_METHOD_NATIVE}};
    TTMethodTable t = {m, 1, NULL, 0};
    char* ivars[] = {"text", "count"};
    TT_RegisterClass("Item", NULL, ivars, 2, &t);
    char* id = TT_New("Item");
    TTInstance* h = TT_Lookup(id);
    TT_SetIVar(h, "text", tt_str("some text that is long enough to need a heap allocation"));
    char* ident = tt_register_hex(CHUNK_IDENT, NULL, 0);
    TTBlock* b = TT_LookupBlock(ident);
    TTValue str = tt_str("an argument string, copied by the runtime on every call");
    size_t blen;
    uint8_t* bytes = tt_hex(CHUNK_INC, &blen);
    TTSel text_sel = TT_Intern("text");

    /* char* results: free() / TT_Free */
    LOOP("TT_New+TT_Release", n / 10, {
        char* x = TT_New("Item");
        TT_Release(x);
        free(x);
    });
    LOOP("TT_RegisterBlock", n, {
        char* x = TT_RegisterBlock(bytes, blen, NULL, 0);
        TT_Release(x);
        TT_Free(x);
    });
    LOOP("TT_ValueAsString", n, free(TT_ValueAsString(str)));
    LOOP("TT_ValueToJSON", n, free(TT_ValueToJSON(str)));
    LOOP("TT_Serialize", n, free(TT_Serialize(h)));
    LOOP("TT_GetInstanceID", n, free(TT_GetInstanceID(h)));
    LOOP("TT_GetInstanceClass", n, free(TT_GetInstanceClass(h)));
    LOOP("TT_Classes", n, free(TT_Classes()));
    LOOP("TT_Methods", n, free(TT_Methods("Item", 0)));
    LOOP("TT_IVars", n, free(TT_IVars("Item")));
    LOOP("TT_Superclass", n, free(TT_Superclass("Item")));
    LOOP("TT_ClassOf", n, free(TT_ClassOf(id)));
    LOOP("TT_Stats", n, free(TT_Stats()));
    LOOP("TT_BashFallback (err)", n, free(TT_BashFallback("Item", "x", NULL, 0)));
    LOOP("TT_GetLastError", n, free(TT_GetLastError()));
    /* TTValue results owning strings: TT_ReleaseValue */
    LOOP("TT_MakeString", n, TT_ReleaseValue(TT_MakeString("abc")));
    LOOP("TT_GetIVar", n, TT_ReleaseValue(TT_GetIVar(h, "text")));
    LOOP("TT_GetIVarByIndex", n, TT_ReleaseValue(TT_GetIVarByIndex(h, 0)));
    LOOP("TT_SendSel", n, TT_ReleaseValue(TT_SendSel(h, text_sel, NULL, 0)));
    LOOP("TT_SendDirect", n, TT_ReleaseValue(TT_SendDirect(h, "text", NULL, 0)));
    LOOP("TT_Send", n, TT_ReleaseValue(TT_Send(id, "text", NULL, 0)));
    LOOP("TT_InvokeBlockDirect", n, TT_ReleaseValue(TT_InvokeBlockDirect(b, &str, 1)));
    LOOP("TT_InvokeBlock", n, TT_ReleaseValue(TT_InvokeBlock(ident, &str, 1)));
    LOOP("error values", n, TT_ReleaseValue(TT_SendDirect(h, "nope", &str, 1)));
    LOOP("TT_SetIVar(string)", n, TT_SetIVar(h, "count", str));

    printf("total RSS growth after warm-up: %ld KiB\n", total_growth / 1024);
    free(bytes);
    free(ident);
    free(id);
    TT_Close();
    return tt_done();
}
