/* A plugin without TT_PluginInit, linked against plugin_initdep.so: dlsym on its handle finds
 * the dependency's TT_PluginInit, which the loader must ignore (docs/spec/c-abi.md §8, dladdr rule). */
#include "libtrashtalk.h"

extern int initdep_calls;

__attribute__((constructor)) static void noinit_load(void) {
    TT_RegisterClass("NoInit", NULL, NULL, 0, NULL);
}

int noinit_dep_calls(void) { return initdep_calls; }
