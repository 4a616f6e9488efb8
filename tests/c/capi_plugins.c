/*
 * A C host that dlopen()s the example plugins itself (RTLD_NOW | RTLD_GLOBAL): the plugins'
 * undefined TT_* symbols bind to the libtrashtalk.so this host is linked with, so everybody
 * shares one runtime. Covers the plan's cross-plugin messaging (Event / EventDispatcher →
 * Counter, a block, and an object of this host), the streaming callback (Stream invoking a
 * block per event), and an old-style JSON-dispatch plugin loaded beside the new ones.
 *
 *   capi_plugins <plugin dir>
 */
#include <dlfcn.h>

#include "chunks.h"
#include "tt_test.h"

/* Logger (this host): handleEvent: asks the event (another plugin) for its name. */
static TTValue logger_handle(TTInstance* self, TTValue* a, int n) {
    (void)n;
    if (a[0].type != TT_TYPE_INSTANCE) return TT_MakeString("not an event");
    TTValue name = TT_SendDirect(a[0].instanceVal, "name", NULL, 0);
    if (name.type == TT_TYPE_STRING && strcmp(name.stringVal, "bad") == 0) {
        TT_ReleaseValue(name);
        TTValue e = {.type = TT_TYPE_ERROR, .stringVal = strdup("bad event")};
        return e;
    }
    TT_SetIVar(self, "last", name);
    TT_ReleaseValue(name);
    return TT_MakeNil();
}

/* Sink (this host): take: keeps the last argument and counts. */
static TTValue sink_take(TTInstance* self, TTValue* a, int n) {
    (void)n;
    TT_SetIVar(self, "last", a[0]);
    TTValue c = TT_GetIVar(self, "count");
    TT_SetIVar(self, "count", TT_MakeInt(TT_ValueAsInt(c) + 1));
    TT_ReleaseValue(c);
    return TT_MakeNil();
}

static void* open_plugin(const char* dir, const char* file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return h;
}

static TTInstance* new_instance(const char* cls) {
    TTValue v = TT_Send((char*)cls, "new", NULL, 0);
    return v.type == TT_TYPE_INSTANCE ? v.instanceVal : NULL;
}

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : getenv("TT_PLUGIN_DIR");
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    TTMethodEntry lm[] = {{"handleEvent:", logger_handle, 1, TT_METHOD_NATIVE}};
    TTMethodTable lt = {lm, 1, NULL, 0};
    char* livars[] = {"last"};
    TT_RegisterClass("Logger", NULL, livars, 1, &lt);
    TTMethodEntry sm[] = {{"take:", sink_take, 1, TT_METHOD_NATIVE}};
    TTMethodTable st = {sm, 1, NULL, 0};
    char* sivars[] = {"last", "count"};
    TT_RegisterClass("Sink", NULL, sivars, 2, &st);

    CHECK(open_plugin(dir, "Counter.so") != NULL);
    CHECK(open_plugin(dir, "EventDispatcher.so") != NULL);
    CHECK(open_plugin(dir, "Stream.so") != NULL);
    char* classes = TT_Classes();
    CHECK(classes && strstr(classes, "\"Counter\"") && strstr(classes, "\"Event\"") &&
          strstr(classes, "\"EventDispatcher\"") && strstr(classes, "\"Stream\""));
    free(classes);

    /* ---- cross-plugin: Event (events plugin) ---- */
    TTValue json = tt_str("{\"name\":\"click\",\"payload\":{\"x\":1,\"y\":[2,3]}}");
    TTValue ev = TT_Send("Event", "fromJson:", &json, 1);
    CHECK(ev.type == TT_TYPE_INSTANCE);
    CHECK_VTEXT(TT_SendDirect(ev.instanceVal, "name", NULL, 0), TT_TYPE_STRING, "click");
    CHECK_VTEXT(TT_SendDirect(ev.instanceVal, "payload", NULL, 0), TT_TYPE_STRING, "{\"x\":1,\"y\":[2,3]}");

    /* ---- EventDispatcher (events plugin) → Counter (counter plugin), a block, a host object ---- */
    TTInstance* d = new_instance("EventDispatcher");
    TTInstance* c = new_instance("Counter");
    TTInstance* logger = new_instance("Logger");
    CHECK(d && c && logger);
    TTValue sub[2] = {TT_MakeInstance(c), tt_str("increment")};
    CHECK_VINT(TT_SendDirect(d, "subscribe:selector:", sub, 2), 1);
    char* ident = tt_register_hex(CHUNK_IDENT, NULL, 0);
    TTValue blk = {.type = TT_TYPE_BLOCK, .blockVal = TT_LookupBlock(ident)};
    CHECK_VINT(TT_SendDirect(d, "subscribe:", &blk, 1), 2);
    TTValue lg = TT_MakeInstance(logger);
    CHECK_VINT(TT_SendDirect(d, "subscribe:", &lg, 1), 3);
    CHECK_VINT(TT_SendDirect(d, "dispatch:", &ev, 1), 3);
    CHECK_VINT(TT_SendDirect(c, "getValue", NULL, 0), 1);
    CHECK_VTEXT(TT_GetIVar(logger, "last"), TT_TYPE_STRING, "click");
    TTSel dispatch = TT_Intern("dispatch:");
    for (int i = 0; i < 9; i++) CHECK_VINT(TT_SendSel(d, dispatch, &ev, 1), 3);
    CHECK_VINT(TT_SendDirect(c, "getValue", NULL, 0), 10);
    /* an error of a handler in this host crosses the events plugin unchanged */
    TTValue badjson = tt_str("{\"name\":\"bad\"}");
    TTValue bad = TT_Send("Event", "fromJson:", &badjson, 1);
    CHECK_VERR(TT_SendSel(d, dispatch, &bad, 1), "bad event");
    CHECK_VINT(TT_SendDirect(c, "getValue", NULL, 0), 11); /* the counter ran before the logger */
    CHECK_VINT(TT_SendDirect(d, "handlerCount", NULL, 0), 3);
    CHECK_VTEXT(TT_Send("Counter", "description", NULL, 0), TT_TYPE_STRING, "Counter (C plugin)");

    /* ---- streaming: Stream invokes a block per event with TT_InvokeBlockDirect ---- */
    TTInstance* c2 = new_instance("Counter");
    TTValue cv = TT_MakeInstance(c2);
    TTValue* caps[1] = {&cv};
    char* inc_c2 = tt_register_hex(CHUNK_CAP_INCREMENT, caps, 1);
    TTValue sargs[3] = {tt_str("ints"), TT_MakeInt(1000), {.type = TT_TYPE_BLOCK, .blockVal = TT_LookupBlock(inc_c2)}};
    CHECK_VINT(TT_Send("Stream", "serverStream:with:handler:", sargs, 3), 1000);
    CHECK_VINT(TT_SendDirect(c2, "getValue", NULL, 0), 1000);
    TTInstance* sink = new_instance("Sink");
    TTValue sv = TT_MakeInstance(sink);
    caps[0] = &sv;
    char* take = tt_register_hex(CHUNK_CAP_TAKE, caps, 1);
    TTValue gargs[3] = {tt_str("greet"), TT_MakeInt(3), tt_str(take)}; /* handler by block id */
    CHECK_VINT(TT_Send("Stream", "serverStream:with:handler:", gargs, 3), 3);
    CHECK_VTEXT(TT_GetIVar(sink, "last"), TT_TYPE_STRING, "{\"seq\":2,\"method\":\"greet\"}");
    CHECK_VINT(TT_GetIVar(sink, "count"), 3);
    /* a handler error stops the stream and comes back unchanged */
    char* foo = tt_register_hex(CHUNK_SEND_FOO, NULL, 0);
    TTValue fargs[3] = {tt_str("ints"), TT_MakeInt(5), tt_str(foo)};
    CHECK_VERR(TT_Send("Stream", "serverStream:with:handler:", fargs, 3), "unknown method: Integer foo"); /* ttbc.md §10.4 */

    /* ---- an old-style JSON-dispatch plugin beside the registering ones ---- */
    void* jc = open_plugin(dir, "JsonCounter.so");
    CHECK(jc != NULL);
    char* (*get_class_name)(void) = (char* (*)(void))dlsym(jc, "GetClassName");
    char* (*jdispatch)(char*, char*, char*) = (char* (*)(char*, char*, char*))dlsym(jc, "JsonCounter_Dispatch");
    CHECK(get_class_name && jdispatch);
    if (get_class_name && jdispatch) {
        CHECK_OWNED(get_class_name(), "JsonCounter");
        char* reply = jdispatch("{\"class\":\"JsonCounter\",\"value\":41}", "increment", "[]");
        CHECK(reply && strstr(reply, "\"exit_code\":0") && strstr(reply, "\"result\":\"42\""));
        free(reply);
        CHECK_OWNED(jdispatch("{}", "fly", "[]"), "{\"exit_code\":200}");
    }
    CHECK(TT_New("JsonCounter") == NULL); /* JSON-only classes are not reachable by TT_New/TT_Send */
    CHECK_ERR("unknown class: JsonCounter");
    CHECK_VINT(TT_SendDirect(c, "increment", NULL, 0), 12);

    free(ident);
    free(inc_c2);
    free(take);
    free(foo);
    TT_Close();
    return tt_done();
}
