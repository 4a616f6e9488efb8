/*
 * Stream — the plan's streaming callback (shared-runtime-plan.md, phase 5).
 *
 *   Stream serverStream: method with: count handler: aBlock      (class side)
 *
 * A generator produces `count` events and the handler block is invoked once per event with
 * TT_InvokeBlockDirect: no IPC, no Bash. Events are JSON strings
 * {"seq":<i>,"method":"<method>"}; with method "ints" they are the integers 0..count-1.
 * The handler may be a block value or a block id. Answers the number of events delivered, or
 * the first error the handler produced.
 */
#include <stdio.h>
#include <string.h>

#include "libtrashtalk.h"

static TTValue stream_server_stream(TTInstance* self, TTValue* args, int n) {
    (void)self;
    (void)n;
    const char* method = args[0].type == TT_TYPE_STRING ? args[0].stringVal : "";
    int64_t count = TT_ValueAsInt(args[1]);
    TTBlock* block = NULL;
    if (args[2].type == TT_TYPE_BLOCK) {
        block = args[2].blockVal;
    } else if (args[2].type == TT_TYPE_STRING) {
        block = TT_LookupBlock((char*)args[2].stringVal);
    }
    if (!block) return TT_MakeString("serverStream:with:handler: needs a handler block");
    int ints = strcmp(method, "ints") == 0;
    char buf[256];
    TTValue ev;
    for (int64_t i = 0; i < count; i++) {
        if (ints) {
            ev = TT_MakeInt(i);
        } else {
            snprintf(buf, sizeof buf, "{\"seq\":%lld,\"method\":\"%s\"}", (long long)i, method);
            ev.type = TT_TYPE_STRING; /* lent for the call: the runtime copies it */
            ev.stringVal = buf;
        }
        TTValue r = TT_InvokeBlockDirect(block, &ev, 1);
        if (r.type == TT_TYPE_ERROR) return r;
        TT_ReleaseValue(r);
    }
    return TT_MakeInt(count);
}

static void register_stream(void) {
    static TTMethodEntry class_methods[] = {
        {"serverStream:with:handler:", stream_server_stream, 3,
         TT_METHOD_NATIVE | TT_METHOD_CLASS_METHOD},
    };
    TTMethodTable table = {NULL, 0, class_methods, 1};
    TT_RegisterClass("Stream", "Object", NULL, 0, &table);
}

__attribute__((constructor)) static void stream_plugin_load(void) { register_stream(); }

int TT_PluginInit(void) { return 0; }
