/*
 * Classes with method tables, instances, ivars by index and by name (and the plan's
 * TT_GetIvar/TT_SetIvar aliases), TT_Send / TT_SendDirect / TT_SendSel, class methods,
 * inheritance (a subclass registered before its superclass), numArgs padding, Bash-fallback
 * entries, reflection, re-registration and TT_Release.
 */
#include "tt_test.h"

/* ---- Animal ---------------------------------------------------------------------------- */

static TTValue animal_initialize(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    TT_SetIVar(self, "sound", tt_str("..."));
    return TT_MakeNil();
}

static TTValue animal_speak(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    TTValue name = TT_GetIVar(self, "name");
    TTValue sound = TT_GetIVar(self, "sound");
    char* ns = TT_ValueAsString(name);
    char* ss = TT_ValueAsString(sound);
    char buf[256];
    snprintf(buf, sizeof buf, "%s says %s", ns, ss);
    free(ns);
    free(ss);
    TT_ReleaseValue(name);
    TT_ReleaseValue(sound);
    return TT_MakeString(buf);
}

static TTValue animal_name(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    return TT_GetIVar(self, "name");
}

static TTValue animal_set_name(TTInstance* self, TTValue* a, int n) {
    (void)n;
    TT_SetIVar(self, "name", a[0]);
    return TT_MakeInstance(self);
}

static TTValue animal_describe(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    return TT_MakeString("animal");
}

/* Answers "<numArgs>:<type of each arg>" (numArgs 3 declared). */
static TTValue animal_argc(TTInstance* self, TTValue* a, int n) {
    (void)self;
    char buf[64];
    int k = snprintf(buf, sizeof buf, "%d:", n);
    for (int i = 0; i < n && k < 60; i++) k += snprintf(buf + k, sizeof buf - k, "%d", (int)a[i].type);
    return TT_MakeString(buf);
}

/* numArgs -1: any count, no padding. */
static TTValue animal_count(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    return TT_MakeInt(n);
}

static TTValue animal_fail(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    TTValue e = {.type = TT_TYPE_ERROR, .stringVal = strdup("boom: \"quoted\"")};
    return e;
}

static TTValue animal_canonical(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)n;
    return TT_MakeString((char*)a[0].stringVal); /* a copy: never return an argument's string */
}

static TTValue animal_kingdom(TTInstance* self, TTValue* a, int n) {
    (void)a;
    (void)n;
    return TT_MakeString(self == NULL ? "Animalia" : "self was not NULL");
}

static TTValue plant_kingdom(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    return TT_MakeString("Plantae");
}

static TTValue animal_create(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)n;
    char* id = TT_New("Animal");
    TTInstance* inst = TT_Lookup(id);
    free(id);
    TT_SetIVar(inst, "name", a[0]);
    return TT_MakeInstance(inst);
}

/* ---- Dog : Animal ------------------------------------------------------------------------ */

static TTValue dog_describe(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    return TT_MakeString("dog");
}

static TTValue dog_describe_again(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)a;
    (void)n;
    return TT_MakeString("hound");
}

static void register_animal(TTMethodFunc kingdom) {
    TTMethodEntry im[] = {
        {"initialize", animal_initialize, 0, TT_METHOD_NATIVE},
        {"speak", animal_speak, 0, TT_METHOD_NATIVE},
        {"name", animal_name, 0, TT_METHOD_NATIVE},
        {"setName:", animal_set_name, 1, TT_METHOD_NATIVE},
        {"describe", animal_describe, 0, TT_METHOD_NATIVE},
        {"argc", animal_argc, 3, TT_METHOD_NATIVE},
        {"count", animal_count, -1, TT_METHOD_NATIVE},
        {"fail", animal_fail, 0, TT_METHOD_NATIVE},
        {"canonical:", animal_canonical, 1, TT_METHOD_NATIVE},
        {"bashy", NULL, 0, TT_METHOD_BASH_FALLBACK},
        {"ignored", NULL, 0, TT_METHOD_NATIVE}, /* NULL impl, no fallback flag: ignored */
    };
    TTMethodEntry cm[] = {
        {"kingdom", kingdom, 0, TT_METHOD_CLASS_METHOD},
        {"create:", animal_create, 1, TT_METHOD_CLASS_METHOD},
    };
    TTMethodTable t = {im, sizeof im / sizeof im[0], cm, 2};
    char* ivars[] = {"name", "sound"};
    TT_RegisterClass("Animal", "", ivars, 2, &t);
}

int main(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);

    /* Dog first: its superclass is resolved by name at lookup time. */
    TTMethodEntry dm[] = {{"describe", dog_describe, 0, TT_METHOD_NATIVE}};
    TTMethodTable dt = {dm, 1, NULL, 0};
    char* divars[] = {"tricks", "name"}; /* "name" is inherited: not added twice */
    TT_RegisterClass("Dog", "Animal", divars, 2, &dt);
    register_animal(animal_kingdom);

    CHECK_OWNED(TT_IVars("Dog"), "[\"name\",\"sound\",\"tricks\"]");
    CHECK_OWNED(TT_Superclass("Dog"), "Animal");
    CHECK_OWNED(TT_Superclass("Animal"), "");
    CHECK(TT_Superclass("Nope") == NULL);
    CHECK_ERR("unknown class: Nope");

    /* ---- new / lookup / ids ---- */
    char* id = TT_New("Dog");
    CHECK(id && strncmp(id, "dog_", 4) == 0 && strlen(id) == 4 + 36);
    TTInstance* h = TT_Lookup(id);
    CHECK(h != NULL);
    CHECK(TT_Lookup(id) == h); /* stable handle */
    CHECK_OWNED(TT_GetInstanceID(h), id);
    CHECK_OWNED(TT_GetInstanceClass(h), "Dog");
    CHECK_OWNED(TT_ClassOf(id), "Dog");

    /* initialize (inherited) ran */
    CHECK_VTEXT(TT_GetIVar(h, "sound"), TT_TYPE_STRING, "...");

    /* ---- ivars by index (superclass ivars first) and by name ---- */
    TT_SetIVarByIndex(h, 0, tt_str("Rex"));
    CHECK_VTEXT(TT_GetIVar(h, "name"), TT_TYPE_STRING, "Rex");
    CHECK_VTEXT(TT_GetIVarByIndex(h, 1), TT_TYPE_STRING, "...");
    CHECK(TT_GetIVarByIndex(h, 2).type == TT_TYPE_NIL);
    TT_SetIvar(h, 2, TT_MakeInt(3)); /* plan spelling */
    CHECK_VINT(TT_GetIvar(h, 2), 3);
    CHECK_VINT(TT_GetIVar(h, "tricks"), 3);
    TT_SetIVar(h, "tricks", TT_MakeFloat(1.5));
    CHECK_VTEXT(TT_GetIVarByIndex(h, 2), TT_TYPE_FLOAT, "1.5");
    TT_SetIVar(h, "tricks", TT_MakeBool(1));
    CHECK_VTEXT(TT_GetIVar(h, "tricks"), TT_TYPE_BOOL, "true");
    /* canonical integer strings are integers; others stay strings */
    TT_SetIVar(h, "tricks", tt_str("42"));
    CHECK_VINT(TT_GetIVar(h, "tricks"), 42);
    TT_SetIVar(h, "tricks", tt_str("007"));
    CHECK_VTEXT(TT_GetIVar(h, "tricks"), TT_TYPE_STRING, "007");
    /* an instance stored in an ivar comes back as the same handle */
    TT_SetIVar(h, "tricks", TT_MakeInstance(h));
    TTValue self_ref = TT_GetIVar(h, "tricks");
    CHECK(self_ref.type == TT_TYPE_INSTANCE && self_ref.instanceVal == h);

    /* out of range / unknown names */
    TT_SetIVarByIndex(h, 3, TT_MakeInt(1));
    CHECK_ERR("ivar index 3 out of range for Dog");
    TT_SetIVarByIndex(h, -1, TT_MakeInt(1));
    CHECK_ERR("ivar index -1 out of range for Dog");
    CHECK(TT_GetIVarByIndex(h, 99).type == TT_TYPE_NIL);
    TT_SetIVar(h, "nope", TT_MakeInt(1));
    CHECK_ERR("unknown instance variable 'nope' for Dog");
    CHECK(TT_GetIVar(h, "nope").type == TT_TYPE_NIL); /* not a failure */

    /* ---- sends: by id, direct, interned ---- */
    CHECK_VTEXT(TT_Send(id, "speak", NULL, 0), TT_TYPE_STRING, "Rex says ...");
    CHECK_VTEXT(TT_SendDirect(h, "describe", NULL, 0), TT_TYPE_STRING, "dog"); /* override */
    TTSel name_sel = TT_Intern("name");
    CHECK_VTEXT(TT_SendSel(h, name_sel, NULL, 0), TT_TYPE_STRING, "Rex"); /* inherited */
    TTValue arg = tt_str("Fido");
    TTValue r = TT_SendDirect(h, "setName:", &arg, 1);
    CHECK(r.type == TT_TYPE_INSTANCE && r.instanceVal == h);
    CHECK_VTEXT(TT_SendSel(h, name_sel, NULL, 0), TT_TYPE_STRING, "Fido");
    arg = tt_str("Rex");
    TT_ReleaseValue(TT_Send(id, "setName_", &arg, 1)); /* either spelling */
    CHECK_VTEXT(TT_SendSel(h, name_sel, NULL, 0), TT_TYPE_STRING, "Rex");
    arg = tt_str("12");
    CHECK_VINT(TT_SendDirect(h, "canonical:", &arg, 1), 12); /* "12" from a method is INT */
    arg = tt_str("1.50");
    CHECK_VTEXT(TT_SendDirect(h, "canonical:", &arg, 1), TT_TYPE_STRING, "1.50");

    /* numArgs padding with NIL; extra args passed through; numArgs < 0 = any */
    TTValue three[4] = {TT_MakeInt(1), TT_MakeBool(0), TT_MakeFloat(2), TT_MakeInt(4)};
    CHECK_VTEXT(TT_SendDirect(h, "argc", three, 1), TT_TYPE_STRING, "3:100");
    CHECK_VTEXT(TT_SendDirect(h, "argc", three, 4), TT_TYPE_STRING, "4:1421");
    CHECK_VTEXT(TT_Send(id, "argc", three, 2), TT_TYPE_STRING, "3:140");
    CHECK_VINT(TT_SendDirect(h, "count", NULL, 0), 0);
    CHECK_VINT(TT_SendDirect(h, "count", three, 2), 2);

    /* class methods: self is NULL; inherited along the class side; `new` */
    CHECK_VTEXT(TT_Send("Dog", "kingdom", NULL, 0), TT_TYPE_STRING, "Animalia");
    arg = tt_str("Tom");
    TTValue tom = TT_Send("Animal", "create:", &arg, 1);
    CHECK(tom.type == TT_TYPE_INSTANCE);
    CHECK_VTEXT(TT_SendDirect(tom.instanceVal, "speak", NULL, 0), TT_TYPE_STRING, "Tom says ...");
    TTValue pup = TT_Send("Dog", "new", NULL, 0);
    CHECK(pup.type == TT_TYPE_INSTANCE);
    CHECK_OWNED(TT_GetInstanceClass(pup.instanceVal), "Dog");
    CHECK_VTEXT(TT_GetIVar(pup.instanceVal, "sound"), TT_TYPE_STRING, "...");

    /* ---- not understood / errors (not-found family) ---- */
    CHECK_VERR(TT_SendDirect(h, "fly", NULL, 0), "unknown method: Dog fly");
    CHECK_VERR(TT_Send(id, "fly:", NULL, 0), "unknown method: Dog fly_");
    CHECK_VERR(TT_Send("Dog", "fly", NULL, 0), "unknown class method: Dog fly");
    CHECK_VERR(TT_Send("Nope", "new", NULL, 0), "unknown class: Nope");
    CHECK(TT_New("Nope") == NULL);
    CHECK_ERR("unknown class: Nope");
    CHECK_VERR(TT_Send("dog_missing", "speak", NULL, 0), "instance not found: dog_missing");
    CHECK_VERR(TT_SendDirect(h, "fail", NULL, 0), "boom: \"quoted\"");
    /* a Bash-only entry is skipped by lookup (no bridge here: the error says it is a Bash
       method, ttbc.md §10.4), but counts for RespondsTo */
    CHECK_VERR(TT_SendDirect(h, "bashy", NULL, 0), "Dog>>bashy is a Bash method (no native body)");
    CHECK(TT_RespondsTo(id, "bashy") == 1);
    CHECK(TT_RespondsTo(id, "speak") == 1);
    CHECK(TT_RespondsTo(id, "ignored") == 0);
    CHECK(TT_RespondsTo(id, "fly") == 0);
    CHECK(TT_RespondsTo("Dog", "kingdom") == 1);
    CHECK(TT_RespondsTo("dog_missing", "speak") == -1);
    CHECK_ERR("instance not found: dog_missing");

    /* ---- reflection ---- */
    char* ms = TT_Methods("Dog", 0);
    CHECK(ms && strstr(ms, "{\"selector\":\"describe\",\"flags\":1,\"owner\":\"Dog\",\"kind\":\"native\"}"));
    CHECK(ms && strstr(ms, "{\"selector\":\"speak\",\"flags\":1,\"owner\":\"Animal\",\"kind\":\"native\"}"));
    CHECK(ms && strstr(ms, "\"selector\":\"bashy\",\"flags\":2"));
    CHECK(ms && strstr(ms, "\"selector\":\"setName_\""));
    CHECK(ms && !strstr(ms, "ignored"));
    free(ms);
    ms = TT_Methods("Dog", 1);
    CHECK(ms && strstr(ms, "{\"selector\":\"kingdom\",\"flags\":5,\"owner\":\"Animal\",\"kind\":\"native\"}"));
    free(ms);
    CHECK(TT_Methods("Nope", 0) == NULL);
    CHECK_ERR("unknown class: Nope");
    char* cl = TT_Classes();
    CHECK(cl && strstr(cl, "\"Animal\"") && strstr(cl, "\"Dog\""));
    free(cl);
    char* st = TT_Stats();
    CHECK(st && strstr(st, "\"classes\":") && strstr(st, "\"instances\":") && strstr(st, "\"blocks\":"));
    CHECK(st && strstr(st, "\"monomorphic\":") && strstr(st, "\"polymorphic\":") &&
          strstr(st, "\"megamorphic\":") && strstr(st, "\"hits\":") && strstr(st, "\"misses\":"));
    CHECK(st && strstr(st, "\"compiled_blocks\":") && strstr(st, "\"compile_time_us\":") &&
          strstr(st, "\"code_bytes\":"));
    free(st);

    /* ---- re-registration replaces the class and invalidates caches ---- */
    for (int i = 0; i < 3; i++) CHECK_VTEXT(TT_Send("Dog", "kingdom", NULL, 0), TT_TYPE_STRING, "Animalia");
    register_animal(plant_kingdom);
    CHECK_VTEXT(TT_Send("Dog", "kingdom", NULL, 0), TT_TYPE_STRING, "Plantae");
    CHECK_VTEXT(TT_SendSel(h, name_sel, NULL, 0), TT_TYPE_STRING, "Rex"); /* handle still valid */

    /* ---- the C send cache (capi/src/send_cache.rs) follows redefinitions ---- */
    TTSel describe_sel = TT_Intern("describe");
    for (int i = 0; i < 3; i++) CHECK_VTEXT(TT_SendSel(h, describe_sel, NULL, 0), TT_TYPE_STRING, "dog");
    for (int i = 0; i < 3; i++) CHECK_VTEXT(TT_SendDirect(h, "describe", NULL, 0), TT_TYPE_STRING, "dog");
    TTMethodEntry dm2[] = {{"describe", dog_describe_again, 0, TT_METHOD_NATIVE}};
    TTMethodTable dt2 = {dm2, 1, NULL, 0};
    TT_RegisterClass("Dog", "Animal", divars, 2, &dt2);
    CHECK_VTEXT(TT_SendSel(h, describe_sel, NULL, 0), TT_TYPE_STRING, "hound");
    CHECK_VTEXT(TT_SendDirect(h, "describe", NULL, 0), TT_TYPE_STRING, "hound");
    /* cached sends still pad with NIL, and arguments that need normalising (BOOL) still are */
    TTSel argc_sel = TT_Intern("argc");
    for (int i = 0; i < 3; i++) CHECK_VTEXT(TT_SendSel(h, argc_sel, three, 1), TT_TYPE_STRING, "3:100");
    CHECK_VTEXT(TT_SendSel(h, argc_sel, three, 4), TT_TYPE_STRING, "4:1421");
    CHECK_VTEXT(TT_SendSel(h, argc_sel, three, 3), TT_TYPE_STRING, "3:142");
    CHECK_VERR(TT_SendSel(h, TT_Intern("fail"), NULL, 0), "boom: \"quoted\"");
    CHECK_VERR(TT_SendSel(h, TT_Intern("fail"), NULL, 0), "boom: \"quoted\"");
    CHECK_VERR(TT_SendSel(NULL, argc_sel, NULL, 0), "nil instance");
    CHECK_VERR(TT_SendSel(h, 0, NULL, 0), "invalid selector");

    /* ---- TT_Release: memory only (the row stays, so a lookup loads it again) ---- */
    char* pup_id = TT_GetInstanceID(pup.instanceVal);
    CHECK(TT_Release(pup_id) == 0);
    CHECK(TT_Release(pup_id) == -1);
    char expect[128];
    snprintf(expect, sizeof expect, "not found: %s", pup_id);
    CHECK_ERR(expect);
    free(pup_id);
    CHECK(TT_Release("nope_1") == -1);
    CHECK_ERR("not found: nope_1");

    free(id);
    TT_Close();
    return tt_done();
}
