/*
 * The header declares exactly the prototypes of docs/spec/c-abi.md §3, const-correct (docs/capi.md), and
 * the version query (checked at compile time with
 * __builtin_types_compatible_p against the spec's signatures), the §2.1 layouts and the enum
 * values; linking takes the address of every function, so each one is exported by the library.
 */
#include <stddef.h>

#include "libtrashtalk.h"
#include "tt_test.h"

#define SIG(fn, type) _Static_assert(__builtin_types_compatible_p(__typeof__(&fn), type), #fn " signature")

/* §3.1 */
SIG(TT_Init, int (*)(const char*, const char*));
SIG(TT_Close, void (*)(void));
SIG(TT_RegisterClass, void (*)(const char*, const char*, char* const*, int, const TTMethodTable*));
SIG(TT_New, char* (*)(const char*));
SIG(TT_Lookup, TTInstance* (*)(const char*));
SIG(TT_GetIVar, TTValue (*)(TTInstance*, const char*));
SIG(TT_SetIVar, void (*)(TTInstance*, const char*, TTValue));
SIG(TT_GetIVarByIndex, TTValue (*)(TTInstance*, int));
SIG(TT_SetIVarByIndex, void (*)(TTInstance*, int, TTValue));
SIG(TT_Send, TTValue (*)(const char*, const char*, const TTValue*, int));
SIG(TT_SendDirect, TTValue (*)(TTInstance*, const char*, const TTValue*, int));
SIG(TT_RegisterBlock, char* (*)(const uint8_t*, size_t, TTValue* const*, int));
SIG(TT_LookupBlock, TTBlock* (*)(const char*));
SIG(TT_InvokeBlock, TTValue (*)(const char*, const TTValue*, int));
SIG(TT_InvokeBlockDirect, TTValue (*)(TTBlock*, const TTValue*, int));
SIG(TT_Persist, int (*)(const char*));
SIG(TT_Load, TTInstance* (*)(const char*));
SIG(TT_BashFallback, char* (*)(const char*, const char*, char* const*, int));
SIG(TT_MakeNil, TTValue (*)(void));
SIG(TT_MakeInt, TTValue (*)(int64_t));
SIG(TT_MakeFloat, TTValue (*)(double));
SIG(TT_MakeString, TTValue (*)(const char*));
SIG(TT_MakeBool, TTValue (*)(int));
SIG(TT_ValueAsString, char* (*)(TTValue));
SIG(TT_ValueAsInt, int64_t (*)(TTValue));
SIG(TT_ValueToJSON, char* (*)(TTValue));
SIG(TT_Serialize, char* (*)(TTInstance*));
SIG(TT_Deserialize, TTInstance* (*)(const char*));
SIG(TT_GetInstanceID, char* (*)(TTInstance*));
SIG(TT_GetInstanceClass, char* (*)(TTInstance*));
SIG(TT_MakeInstance, TTValue (*)(TTInstance*));
SIG(TT_GetLastError, char* (*)(void));
SIG(TT_SetSessionID, void (*)(const char*));
SIG(TT_CurrentThread, TT_Thread* (*)(void));
SIG(TT_ReleaseThread, void (*)(TT_Thread*));
SIG(TT_Interrupt, int (*)(TT_Thread*));
SIG(TT_SetDeadline, int (*)(long long));
SIG(TT_SetMemoryLimit, int (*)(long long));
/* §3.2 */
SIG(TT_GetIvar, TTValue (*)(TTInstance*, int));
SIG(TT_SetIvar, void (*)(TTInstance*, int, TTValue));
/* §3.3 */
SIG(TT_Intern, TTSel (*)(const char*));
SIG(TT_SendSel, TTValue (*)(TTInstance*, TTSel, const TTValue*, int));
SIG(TT_Release, int (*)(const char*));
SIG(TT_ReleaseValue, void (*)(TTValue));
SIG(TT_Free, void (*)(void*));
SIG(TT_Classes, char* (*)(void));
SIG(TT_Methods, char* (*)(const char*, int));
SIG(TT_IVars, char* (*)(const char*));
SIG(TT_Superclass, char* (*)(const char*));
SIG(TT_ClassOf, char* (*)(const char*));
SIG(TT_RespondsTo, int (*)(const char*, const char*));
SIG(TT_Stats, char* (*)(void));
SIG(TT_PluginInit, int (*)(void));
/* version (docs/capi.md) */
SIG(TT_Version, const char* (*)(void));
SIG(TT_VersionNumber, int (*)(void));
_Static_assert(TT_VERSION_NUMBER == TT_VERSION_MAJOR * 10000 + TT_VERSION_MINOR * 100 + TT_VERSION_PATCH,
               "TT_VERSION_NUMBER");

/* §2 types and §2.1 layouts */
_Static_assert(sizeof(TTValue) == 16 && _Alignof(TTValue) == 8, "TTValue size");
_Static_assert(offsetof(TTValue, type) == 0 && sizeof(TTValueType) == 4, "TTValue.type");
_Static_assert(offsetof(TTValue, intVal) == 8 && offsetof(TTValue, floatVal) == 8 &&
                   offsetof(TTValue, stringVal) == 8 && offsetof(TTValue, instanceVal) == 8 &&
                   offsetof(TTValue, blockVal) == 8 && offsetof(TTValue, arrayVal) == 8,
               "TTValue union");
_Static_assert(sizeof(TTMethodEntry) == 24 && offsetof(TTMethodEntry, selector) == 0 &&
                   offsetof(TTMethodEntry, impl) == 8 && offsetof(TTMethodEntry, numArgs) == 16 &&
                   offsetof(TTMethodEntry, flags) == 20,
               "TTMethodEntry");
_Static_assert(sizeof(TTMethodTable) == 32 && offsetof(TTMethodTable, instanceMethods) == 0 &&
                   offsetof(TTMethodTable, numInstanceMethods) == 8 &&
                   offsetof(TTMethodTable, classMethods) == 16 &&
                   offsetof(TTMethodTable, numClassMethods) == 24,
               "TTMethodTable");
_Static_assert(sizeof(TTSel) == 4, "TTSel");
_Static_assert(__builtin_types_compatible_p(TTMethodFunc, TTValue (*)(TTInstance*, TTValue*, int)), "TTMethodFunc");
_Static_assert(TT_TYPE_NIL == 0 && TT_TYPE_INT == 1 && TT_TYPE_FLOAT == 2 && TT_TYPE_STRING == 3 &&
                   TT_TYPE_BOOL == 4 && TT_TYPE_INSTANCE == 5 && TT_TYPE_BLOCK == 6 &&
                   TT_TYPE_ARRAY == 7 && TT_TYPE_ERROR == 8,
               "TTValueType");
_Static_assert(TT_METHOD_NATIVE == 1 && TT_METHOD_BASH_FALLBACK == 2 && TT_METHOD_CLASS_METHOD == 4,
               "TTMethodFlags");

/* Every library function, by address (TT_PluginInit is plugin-side: not in the library). */
static void* const functions[] = {
    (void*)TT_Init, (void*)TT_Close, (void*)TT_RegisterClass, (void*)TT_New, (void*)TT_Lookup,
    (void*)TT_GetIVar, (void*)TT_SetIVar, (void*)TT_GetIVarByIndex, (void*)TT_SetIVarByIndex,
    (void*)TT_Send, (void*)TT_SendDirect, (void*)TT_RegisterBlock, (void*)TT_LookupBlock,
    (void*)TT_InvokeBlock, (void*)TT_InvokeBlockDirect, (void*)TT_Persist, (void*)TT_Load,
    (void*)TT_BashFallback, (void*)TT_MakeNil, (void*)TT_MakeInt, (void*)TT_MakeFloat,
    (void*)TT_MakeString, (void*)TT_MakeBool, (void*)TT_ValueAsString, (void*)TT_ValueAsInt,
    (void*)TT_ValueToJSON, (void*)TT_Serialize, (void*)TT_Deserialize, (void*)TT_GetInstanceID,
    (void*)TT_GetInstanceClass, (void*)TT_MakeInstance, (void*)TT_GetLastError,
    (void*)TT_SetSessionID, (void*)TT_GetIvar, (void*)TT_SetIvar, (void*)TT_Intern,
    (void*)TT_SendSel, (void*)TT_Release, (void*)TT_ReleaseValue, (void*)TT_Free, (void*)TT_Classes,
    (void*)TT_Methods, (void*)TT_IVars, (void*)TT_Superclass, (void*)TT_ClassOf, (void*)TT_RespondsTo,
    (void*)TT_Stats, (void*)TT_Version, (void*)TT_VersionNumber, (void*)TT_CurrentThread,
    (void*)TT_ReleaseThread, (void*)TT_Interrupt, (void*)TT_SetDeadline, (void*)TT_SetMemoryLimit,
};

int main(void) {
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) CHECK(functions[i] != NULL);
    CHECK(sizeof functions / sizeof functions[0] == 54);
    /* the library is the version of the header */
    CHECK(strcmp(TT_Version(), TT_VERSION_STRING) == 0);
    CHECK(TT_VersionNumber() == TT_VERSION_NUMBER);
    /* TTValue really travels by value (RAX:RDX on x86-64): a round trip through the library */
    TTValue v = TT_MakeFloat(-2.5);
    CHECK(v.type == TT_TYPE_FLOAT && v.floatVal == -2.5);
    TTValue s = TT_MakeString("abc");
    CHECK(s.type == TT_TYPE_STRING && strcmp(s.stringVal, "abc") == 0);
    TT_ReleaseValue(s);
    return tt_done();
}
