/*
 * JsonCounter — an old-style JSON-dispatch plugin (docs/spec/c-abi.md §8, docs/spec/daemon-protocol.md §9.2).
 *
 * Exports GetClassName() and JsonCounter_Dispatch(instanceJSON, selector, argsJSON); it does not
 * link or call the runtime. Selectors: increment, getValue, setValue_ <n>; others answer 200.
 * Every returned string is malloc'ed and freed by the caller.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char* GetClassName(void) { return strdup("JsonCounter"); }

static long long field_value(const char* json) {
    const char* p = json ? strstr(json, "\"value\"") : NULL;
    if (!p) return 0;
    p = strchr(p, ':');
    return p ? strtoll(p + 1, NULL, 10) : 0;
}

static long long first_arg(const char* args) {
    const char* p = args ? strchr(args, '"') : NULL;
    return p ? strtoll(p + 1, NULL, 10) : 0;
}

static char* reply(long long value, int with_instance) {
    char buf[256];
    if (with_instance)
        snprintf(buf, sizeof buf,
                 "{\"exit_code\":0,\"result\":\"%lld\",\"instance\":{\"class\":\"JsonCounter\","
                 "\"_vars\":[\"value\"],\"value\":%lld}}",
                 value, value);
    else
        snprintf(buf, sizeof buf, "{\"exit_code\":0,\"result\":\"%lld\"}", value);
    return strdup(buf);
}

char* JsonCounter_Dispatch(char* instanceJSON, char* selector, char* argsJSON) {
    long long v = field_value(instanceJSON);
    if (strcmp(selector, "increment") == 0) return reply(v + 1, 1);
    if (strcmp(selector, "getValue") == 0) return reply(v, 0);
    if (strcmp(selector, "setValue_") == 0) return reply(first_arg(argsJSON), 1);
    return strdup("{\"exit_code\":200}");
}
