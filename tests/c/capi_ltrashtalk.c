/*
 * The -ltrashtalk case: the Counter plugin built *linked with* -ltrashtalk (DT_NEEDED
 * libtrashtalk.so.<major>) is dlopen()ed, even with RTLD_LOCAL, into a host linked with
 * -ltrashtalk. Both record the library's SONAME, so the dynamic loader reuses the copy already
 * loaded: the plugin's constructor registers into the host's runtime (one runtime per process).
 *
 *   capi_ltrashtalk <counter linked with -ltrashtalk>
 */
#include <dlfcn.h>

#include "tt_test.h"

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) fprintf(stderr, "dlopen: %s\n", dlerror());
    CHECK(h != NULL);
    char* id = TT_New("Counter");
    CHECK(id != NULL);
    CHECK_VINT(TT_Send(id, "increment", NULL, 0), 1);
    CHECK_VINT(TT_Send(id, "increment", NULL, 0), 2);
    CHECK_VTEXT(TT_Send("Counter", "description", NULL, 0), TT_TYPE_STRING, "Counter (C plugin)");
    /* the plugin's TT_PluginInit (found in the plugin itself) is harmless to call again */
    int (*init)(void) = (int (*)(void))dlsym(h, "TT_PluginInit");
    CHECK(init && init() == 0);
    CHECK_VINT(TT_Send(id, "getValue", NULL, 0), 2);
    /* the library itself exports no plugin-side names */
    CHECK(dlsym(RTLD_DEFAULT, "GetClassName") == NULL);
    free(id);
    TT_Close();
    return tt_done();
}
