/*
 * Event and EventDispatcher — the plan's cross-plugin example (shared-runtime-plan.md, phase 6).
 *
 * Event (ivars name, payload):
 *   Event fromJson: '{"name":"click","payload":{...}}'   (class side) answers a new Event
 *   name, payload                                         answer the ivars
 *
 * EventDispatcher (ivar count):
 *   subscribe: handler              handler = a block (invoked with the event) or an object
 *                                   (sent handleEvent: event); answers the subscriber count
 *   subscribe: object selector: s   object is sent s (with the event if s takes an argument)
 *   dispatch: event                 runs every subscriber in order; answers how many ran, or the
 *                                   first error a subscriber produced
 *   handlerCount                    answers the subscriber count
 *
 * Handlers live in other plugins (e.g. a Counter of counter.c, subscribed with selector
 * increment) or are TTBC blocks: every call goes through the runtime (TT_SendSel,
 * TT_InvokeBlockDirect), never through plugin-private entry points.
 * Subscriber lists are plugin-private state keyed by the dispatcher's handle.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libtrashtalk.h"

/* ---- a tiny JSON field extractor (top-level keys only, enough for the example) ---------- */

static const char* skip_ws(const char* p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* End of the JSON value starting at p (string, object, array or scalar). */
static const char* value_end(const char* p) {
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = value_end(p) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

/* malloc'ed raw text of top-level key `key` of a JSON object, or NULL. */
static char* json_field(const char* json, const char* key) {
    const char* p = skip_ws(json ? json : "");
    if (*p != '{') return NULL;
    p = skip_ws(p + 1);
    size_t klen = strlen(key);
    while (*p == '"') {
        const char* kend = value_end(p);
        int match = (size_t)(kend - p) == klen + 2 && strncmp(p + 1, key, klen) == 0;
        p = skip_ws(kend);
        if (*p != ':') return NULL;
        p = skip_ws(p + 1);
        const char* vend = value_end(p);
        if (match) {
            char* out = malloc((size_t)(vend - p) + 1);
            memcpy(out, p, (size_t)(vend - p));
            out[vend - p] = 0;
            return out;
        }
        p = skip_ws(vend);
        if (*p != ',') return NULL;
        p = skip_ws(p + 1);
    }
    return NULL;
}

/* Unquotes a simple JSON string in place (escapes other than \" and \\ are kept). */
static void unquote(char* s) {
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"') return;
    char* w = s;
    for (size_t i = 1; i + 1 < n; i++) {
        if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\')) i++;
        *w++ = s[i];
    }
    *w = 0;
}

static TTValue borrowed_string(const char* s) {
    TTValue v;
    v.type = TT_TYPE_STRING;
    v.stringVal = s;
    return v;
}

/* ---- Event ------------------------------------------------------------------------------- */

static TTValue event_from_json(TTInstance* self, TTValue* args, int n) {
    (void)self;
    (void)n;
    if (args[0].type != TT_TYPE_STRING) return TT_MakeString("fromJson: expects a JSON string");
    char* name = json_field(args[0].stringVal, "name");
    char* payload = json_field(args[0].stringVal, "payload");
    char* id = TT_New("Event");
    TTInstance* ev = id ? TT_Lookup(id) : NULL;
    free(id);
    if (!ev) {
        free(name);
        free(payload);
        char* err = TT_GetLastError();
        TTValue e = {.type = TT_TYPE_ERROR, .stringVal = err};
        return e; /* moved to the runtime, which frees the message */
    }
    if (name) unquote(name);
    TT_SetIVar(ev, "name", borrowed_string(name ? name : ""));
    TT_SetIVar(ev, "payload", borrowed_string(payload ? payload : ""));
    free(name);
    free(payload);
    return TT_MakeInstance(ev);
}

static TTValue event_name(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    return TT_GetIVar(self, "name");
}

static TTValue event_payload(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    return TT_GetIVar(self, "payload");
}

/* ---- EventDispatcher --------------------------------------------------------------------- */

typedef struct {
    TTInstance* owner;
    TTValue handler; /* BLOCK or INSTANCE (handles are owned by the runtime) */
    TTSel sel;       /* for INSTANCE handlers */
    int with_arg;
} Sub;

static pthread_mutex_t subs_lock = PTHREAD_MUTEX_INITIALIZER;
static Sub* subs;
static int nsubs, capsubs;

static int count_for(TTInstance* owner) {
    int c = 0;
    for (int i = 0; i < nsubs; i++) c += subs[i].owner == owner;
    return c;
}

static TTValue add_sub(TTInstance* self, TTValue handler, const char* selector) {
    if (handler.type == TT_TYPE_STRING) { /* a block id */
        TTBlock* b = TT_LookupBlock((char*)handler.stringVal);
        if (!b) {
            TTValue e = {.type = TT_TYPE_ERROR, .stringVal = TT_GetLastError()};
            return e;
        }
        handler.type = TT_TYPE_BLOCK;
        handler.blockVal = b;
    }
    if (handler.type != TT_TYPE_BLOCK && handler.type != TT_TYPE_INSTANCE)
        return TT_MakeString("subscribe: expects a block or an object");
    size_t len = strlen(selector);
    Sub s = {self, handler, TT_Intern(selector),
             len > 0 && (selector[len - 1] == ':' || selector[len - 1] == '_')};
    pthread_mutex_lock(&subs_lock);
    if (nsubs == capsubs) {
        capsubs = capsubs ? capsubs * 2 : 16;
        subs = realloc(subs, (size_t)capsubs * sizeof *subs);
    }
    subs[nsubs++] = s;
    int c = count_for(self);
    pthread_mutex_unlock(&subs_lock);
    return TT_MakeInt(c);
}

static TTValue dispatcher_subscribe(TTInstance* self, TTValue* args, int n) {
    (void)n;
    return add_sub(self, args[0], "handleEvent:");
}

static TTValue dispatcher_subscribe_selector(TTInstance* self, TTValue* args, int n) {
    (void)n;
    if (args[1].type != TT_TYPE_STRING) return TT_MakeString("selector: expects a string");
    return add_sub(self, args[0], args[1].stringVal);
}

static TTValue dispatcher_dispatch(TTInstance* self, TTValue* args, int n) {
    (void)n;
    Sub local[32];
    int k = 0;
    pthread_mutex_lock(&subs_lock);
    for (int i = 0; i < nsubs && k < 32; i++)
        if (subs[i].owner == self) local[k++] = subs[i];
    pthread_mutex_unlock(&subs_lock);
    for (int i = 0; i < k; i++) {
        TTValue r;
        if (local[i].handler.type == TT_TYPE_BLOCK)
            r = TT_InvokeBlockDirect(local[i].handler.blockVal, args, 1);
        else
            r = TT_SendSel(local[i].handler.instanceVal, local[i].sel, args, local[i].with_arg);
        if (r.type == TT_TYPE_ERROR) return r; /* ownership moves on to the runtime */
        TT_ReleaseValue(r);
    }
    return TT_MakeInt(k);
}

static TTValue dispatcher_handler_count(TTInstance* self, TTValue* args, int n) {
    (void)args;
    (void)n;
    pthread_mutex_lock(&subs_lock);
    int c = count_for(self);
    pthread_mutex_unlock(&subs_lock);
    return TT_MakeInt(c);
}

static void register_events(void) {
    static TTMethodEntry event_methods[] = {
        {"name", event_name, 0, TT_METHOD_NATIVE},
        {"payload", event_payload, 0, TT_METHOD_NATIVE},
    };
    static TTMethodEntry event_class_methods[] = {
        {"fromJson:", event_from_json, 1, TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
    };
    TTMethodTable event_table = {event_methods, 2, event_class_methods, 1};
    char* event_ivars[] = {"name", "payload"};
    TT_RegisterClass("Event", "Object", event_ivars, 2, &event_table);

    static TTMethodEntry dispatcher_methods[] = {
        {"subscribe:", dispatcher_subscribe, 1, TT_METHOD_NATIVE},
        {"subscribe:selector:", dispatcher_subscribe_selector, 2, TT_METHOD_NATIVE},
        {"dispatch:", dispatcher_dispatch, 1, TT_METHOD_NATIVE},
        {"handlerCount", dispatcher_handler_count, 0, TT_METHOD_NATIVE},
    };
    TTMethodTable dispatcher_table = {dispatcher_methods, 4, NULL, 0};
    char* dispatcher_ivars[] = {"count"};
    TT_RegisterClass("EventDispatcher", "Object", dispatcher_ivars, 1, &dispatcher_table);
}

__attribute__((constructor)) static void events_plugin_load(void) { register_events(); }
