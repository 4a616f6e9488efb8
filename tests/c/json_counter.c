/*
 * A JSON-dispatch plugin (first style, docs/spec/c-abi.md §8) for the daemon tests: class `Counter`.
 *
 *   incrementBy_ N  -> value += N; result = new value; instance = the state with the new value
 *   getValue        -> result = value; instance = the state unchanged
 *   sleep_ MS       -> sleeps MS milliseconds (to test concurrency); result "slept"
 *   fail            -> {"exit_code":1,"error":"counter failure"}
 *   weird           -> {"exit_code":7}
 *   nil             -> NULL
 *   garbage         -> not JSON
 *   new (class side)-> a fresh state
 *   anything else   -> {"exit_code":200}
 *
 * Minimal JSON handling: the state is rewritten by replacing the digits after "value":.
 * Build: cc -shared -fPIC -o Counter.so json_counter.c
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *GetClassName(void) { return strdup("Counter"); }

static long find_value(const char *json, const char **start, const char **end) {
    const char *p = strstr(json, "\"value\":");
    if (!p) { *start = *end = NULL; return 0; }
    p += strlen("\"value\":");
    while (*p == ' ') p++;
    char *e;
    long v = strtol(p, &e, 10);
    *start = p;
    *end = e;
    return v;
}

static long first_arg(const char *args) {
    const char *p = strchr(args, '"');
    return p ? strtol(p + 1, NULL, 10) : 0;
}

/* JSON-escapes `s` into a fresh string. */
static char *escape(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(n * 6 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
        else if (c < 0x20) { o += sprintf(o, "\\u%04x", c); }
        else *o++ = (char)c;
    }
    *o = 0;
    return out;
}

static char *with_value(const char *state, long v) {
    const char *s, *e;
    find_value(state, &s, &e);
    if (!s) return strdup(state);
    char num[32];
    snprintf(num, sizeof num, "%ld", v);
    size_t len = (size_t)(s - state) + strlen(num) + strlen(e) + 1;
    char *out = malloc(len);
    snprintf(out, len, "%.*s%s%s", (int)(s - state), state, num, e);
    return out;
}

static char *reply(long result, const char *state) {
    char *esc = escape(state);
    size_t len = strlen(esc) + 96;
    char *out = malloc(len);
    snprintf(out, len, "{\"exit_code\":0,\"result\":\"%ld\",\"instance\":\"%s\"}", result, esc);
    free(esc);
    return out;
}

char *Counter_Dispatch(char *instance, char *selector, char *args) {
    const char *s, *e;
    if (strcmp(selector, "incrementBy_") == 0) {
        long v = find_value(instance, &s, &e) + first_arg(args);
        char *state = with_value(instance, v);
        char *out = reply(v, state);
        free(state);
        return out;
    }
    if (strcmp(selector, "getValue") == 0) return reply(find_value(instance, &s, &e), instance);
    if (strcmp(selector, "sleep_") == 0) {
        long ms = first_arg(args);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return strdup("{\"exit_code\":0,\"result\":\"slept\"}");
    }
    if (strcmp(selector, "fail") == 0) return strdup("{\"exit_code\":1,\"error\":\"counter failure\"}");
    if (strcmp(selector, "weird") == 0) return strdup("{\"exit_code\":7}");
    if (strcmp(selector, "nil") == 0) return NULL;
    if (strcmp(selector, "garbage") == 0) return strdup("this is not json");
    if (strcmp(selector, "new") == 0 && strcmp(instance, "Counter") == 0)
        return strdup("{\"exit_code\":0,\"result\":\"counter_fresh\",\"instance\":{\"class\":\"Counter\",\"value\":0}}");
    return strdup("{\"exit_code\":200}");
}
