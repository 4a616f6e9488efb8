/*
 * The runtime's plugin loader (docs/spec/c-abi.md §8, docs/spec/daemon-protocol.md §9): lazy loading by class name
 * from TT_Init's plugin directory, load reports (tt_private_load_plugin, an internal entry
 * point), JSON-dispatch plugins beside registering ones, the Rust plugin, a failing
 * TT_PluginInit, and the dladdr rule for TT_PluginInit found in a dependency.
 *
 *   capi_loader lazy      <plugin dir>
 *   capi_loader rust      <libtt_plugin_counter_rs.so>
 *   capi_loader initfail  <initfail.so>
 *   capi_loader dladdr    <noinit.so>
 */
#include <dlfcn.h>

#include "tt_test.h"

char* tt_private_load_plugin(const char* path); /* internal: not in the public header */

static char* load(const char* dir, const char* file) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s", dir, file ? "/" : "", file ? file : "");
    return tt_private_load_plugin(path);
}

#define CHECK_HAS(s, needle)                                                         \
    do {                                                                             \
        tt_checks++;                                                                 \
        if (!(s) || !strstr((s), (needle))) {                                        \
            tt_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s lacks %s\n", __FILE__, __LINE__,         \
                    (s) ? (s) : "(null)", (needle));                                 \
        }                                                                            \
    } while (0)

static int lazy(const char* dir) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), (char*)dir) == 0);
    /* Counter.so is loaded on the first use of the class */
    char* id = TT_New("Counter");
    CHECK(id != NULL);
    CHECK_VINT(TT_Send(id, "increment", NULL, 0), 1);
    free(id);
    /* Event.so is a symlink to EventDispatcher.so: one file, loaded once, two classes */
    TTValue json = tt_str("{\"name\":\"n\"}");
    TTValue ev = TT_Send("Event", "fromJson:", &json, 1);
    CHECK(ev.type == TT_TYPE_INSTANCE);
    char* r = load(dir, "EventDispatcher.so");
    CHECK_HAS(r, "\"classes\":[\"Event\",\"EventDispatcher\"]");
    CHECK_HAS(r, "\"already_loaded\":true");
    free(r);
    r = load(dir, "Counter.so");
    CHECK_HAS(r, "\"classes\":[\"Counter\"],\"plugin_init\":true,\"json_dispatch\":false");
    free(r);
    /* an old-style plugin loads beside them and reports its JSON-dispatch symbols */
    r = load(dir, "JsonCounter.so");
    CHECK_HAS(r, "\"classes\":[],\"plugin_init\":false,\"json_dispatch\":true,\"class_name\":\"JsonCounter\","
                 "\"dispatch_symbols\":[\"JsonCounter_Dispatch\"],\"already_loaded\":false");
    free(r);
    CHECK(TT_New("JsonCounter") == NULL);
    CHECK_ERR("unknown class: JsonCounter");
    CHECK(TT_New("Missing") == NULL);
    CHECK_ERR("unknown class: Missing");
    char* st = TT_Stats();
    CHECK_HAS(st, "\"plugins\":3");
    free(st);
    /* errors name the file and the reason */
    CHECK(load("/nonexistent/dir/Nope.so", NULL) == NULL);
    char* e = TT_GetLastError();
    CHECK(e && strncmp(e, "plugin /nonexistent/dir/Nope.so: cannot load: ", 46) == 0);
    free(e);
    TT_Close();
    return tt_done();
}

static int rust(const char* path) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    char* r = tt_private_load_plugin(path);
    CHECK_HAS(r, "\"classes\":[\"Counter\"],\"plugin_init\":true,\"json_dispatch\":false");
    free(r);
    char* id = TT_New("Counter");
    TTInstance* h = TT_Lookup(id);
    for (int i = 1; i <= 3; i++) CHECK_VINT(TT_SendDirect(h, "increment", NULL, 0), i);
    TTValue ten = TT_MakeInt(10), five = TT_MakeInt(5);
    TT_ReleaseValue(TT_SendDirect(h, "setValue:", &ten, 1));
    CHECK_VINT(TT_SendDirect(h, "incrementBy:", &five, 1), 15);
    TT_ReleaseValue(TT_SendDirect(h, "reset", NULL, 0));
    CHECK_VINT(TT_SendSel(h, TT_Intern("getValue"), NULL, 0), 0);
    CHECK_VTEXT(TT_Send("Counter", "description", NULL, 0), TT_TYPE_STRING, "Counter (Rust plugin)");
    r = tt_private_load_plugin(path);
    CHECK_HAS(r, "\"already_loaded\":true");
    free(r);
    free(id);
    TT_Close();
    return tt_done();
}

static int initfail(const char* path) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    char expect[1200];
    snprintf(expect, sizeof expect, "plugin %s: TT_PluginInit failed with code 3", path);
    CHECK(tt_private_load_plugin(path) == NULL);
    CHECK_ERR(expect);
    char* cl = TT_Classes();
    CHECK(cl && !strstr(cl, "Doomed")); /* registered by its constructor, then unregistered */
    free(cl);
    CHECK(TT_New("Doomed") == NULL);
    CHECK_ERR("unknown class: Doomed");
    CHECK(tt_private_load_plugin(path) == NULL); /* remembered: TT_PluginInit is not run again */
    CHECK_ERR(expect);
    int* calls = dlsym(RTLD_DEFAULT, "initfail_calls");
    CHECK(calls && *calls == 1);
    TT_Close();
    return tt_done();
}

static int dladdr_rule(const char* path) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    char* r = tt_private_load_plugin(path);
    /* dlsym(handle, "TT_PluginInit") finds initdep.so's (a dependency): it must be ignored */
    CHECK_HAS(r, "\"classes\":[\"NoInit\"],\"plugin_init\":false");
    free(r);
    int* calls = dlsym(RTLD_DEFAULT, "initdep_calls");
    CHECK(calls && *calls == 0);
    TT_Close();
    return tt_done();
}

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    if (strcmp(argv[1], "lazy") == 0) return lazy(argv[2]);
    if (strcmp(argv[1], "rust") == 0) return rust(argv[2]);
    if (strcmp(argv[1], "initfail") == 0) return initfail(argv[2]);
    if (strcmp(argv[1], "dladdr") == 0) return dladdr_rule(argv[2]);
    return 2;
}
