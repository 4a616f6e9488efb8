/* A plugin whose TT_PluginInit fails: its constructor registers Doomed, which the loader must
 * unregister; the loader must not call TT_PluginInit twice. */
#include "libtrashtalk.h"

int initfail_calls;

__attribute__((constructor)) static void initfail_load(void) {
    TT_RegisterClass("Doomed", NULL, NULL, 0, NULL);
}

int TT_PluginInit(void) {
    initfail_calls++;
    return 3;
}
