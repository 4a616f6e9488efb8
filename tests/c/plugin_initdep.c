/* A library exporting TT_PluginInit, used as a *dependency* of plugin_noinit.c. */
int initdep_calls;

int TT_PluginInit(void) {
    initdep_calls++;
    return 0;
}
