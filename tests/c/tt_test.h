/*
 * Tiny test helpers for the C programs driven by tests/tests/capi_*.rs.
 * A program prints "ok <n> checks" and exits 0, or prints every failure and exits 1.
 */
#ifndef TT_TEST_H
#define TT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtrashtalk.h"

static int tt_checks, tt_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        tt_checks++;                                                                  \
        if (!(cond)) {                                                                \
            tt_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                             \
    } while (0)

/* Compares an owned (malloc'ed) string with an expected text, then frees it. */
#define CHECK_OWNED(owned, expected)                                                  \
    do {                                                                              \
        char* tt_s_ = (owned);                                                        \
        const char* tt_e_ = (expected);                                               \
        tt_checks++;                                                                  \
        if (!tt_s_ || strcmp(tt_s_, tt_e_) != 0) {                                    \
            tt_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s = \"%s\", expected \"%s\"\n", __FILE__,   \
                    __LINE__, #owned, tt_s_ ? tt_s_ : "(null)", tt_e_);                \
        }                                                                             \
        free(tt_s_);                                                                  \
    } while (0)

/* Checks the calling thread's last error text. */
#define CHECK_ERR(expected) CHECK_OWNED(TT_GetLastError(), expected)

/* Checks an owned TTValue is INT n, then releases it. */
#define CHECK_VINT(val, n)                                                            \
    do {                                                                              \
        TTValue tt_v_ = (val);                                                        \
        tt_checks++;                                                                  \
        if (tt_v_.type != TT_TYPE_INT || tt_v_.intVal != (int64_t)(n)) {              \
            tt_failures++;                                                            \
            char* tt_t_ = TT_ValueAsString(tt_v_);                                    \
            fprintf(stderr, "FAIL %s:%d: %s = type %d \"%s\", expected INT %lld\n",   \
                    __FILE__, __LINE__, #val, (int)tt_v_.type, tt_t_ ? tt_t_ : "?",   \
                    (long long)(n));                                                  \
            free(tt_t_);                                                              \
        }                                                                             \
        TT_ReleaseValue(tt_v_);                                                       \
    } while (0)

/* Checks an owned TTValue has type t and text s (TT_ValueAsString), then releases it. */
#define CHECK_VTEXT(val, t, s)                                                        \
    do {                                                                              \
        TTValue tt_v_ = (val);                                                        \
        char* tt_t_ = TT_ValueAsString(tt_v_);                                        \
        tt_checks++;                                                                  \
        if (tt_v_.type != (t) || !tt_t_ || strcmp(tt_t_, (s)) != 0) {                 \
            tt_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s = type %d \"%s\", expected type %d \"%s\"\n", \
                    __FILE__, __LINE__, #val, (int)tt_v_.type, tt_t_ ? tt_t_ : "(null)", \
                    (int)(t), (s));                                                   \
        }                                                                             \
        free(tt_t_);                                                                  \
        TT_ReleaseValue(tt_v_);                                                       \
    } while (0)

/* Checks an owned TTValue is an ERROR with message s (and that it is the last error). */
#define CHECK_VERR(val, s)                                                            \
    do {                                                                              \
        TTValue tt_ev_ = (val);                                                       \
        tt_checks++;                                                                  \
        if (tt_ev_.type != TT_TYPE_ERROR || !tt_ev_.stringVal ||                      \
            strcmp(tt_ev_.stringVal, (s)) != 0) {                                     \
            tt_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s = type %d \"%s\", expected ERROR \"%s\"\n", \
                    __FILE__, __LINE__, #val, (int)tt_ev_.type,                       \
                    tt_ev_.type == TT_TYPE_ERROR && tt_ev_.stringVal ? tt_ev_.stringVal \
                                                                     : "",            \
                    (s));                                                             \
        }                                                                             \
        TT_ReleaseValue(tt_ev_);                                                      \
        CHECK_ERR(s);                                                                 \
    } while (0)

static inline TTValue tt_str(const char* s) {
    TTValue v;
    v.type = TT_TYPE_STRING;
    v.stringVal = s;
    return v;
}

static inline int tt_done(void) {
    if (tt_failures) {
        fprintf(stderr, "%d of %d checks failed\n", tt_failures, tt_checks);
        return 1;
    }
    printf("ok %d checks\n", tt_checks);
    return 0;
}

/* Hex → bytes (caller frees); *len receives the length. */
static inline uint8_t* tt_hex(const char* hex, size_t* len) {
    size_t n = strlen(hex) / 2;
    uint8_t* out = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
    *len = n;
    return out;
}

/* Registers a TTBC chunk given in hex; returns the owned block id (or NULL). */
static inline char* tt_register_hex(const char* hex, TTValue** caps, int ncaps) {
    size_t len;
    uint8_t* bytes = tt_hex(hex, &len);
    char* id = TT_RegisterBlock(bytes, len, caps, ncaps);
    free(bytes);
    return id;
}

/* Resident set size in bytes (Linux /proc/self/statm). */
static inline long tt_rss_bytes(void) {
    long pages = 0, resident = 0;
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

#endif
