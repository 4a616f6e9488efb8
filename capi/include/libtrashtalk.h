/*
 * libtrashtalk.h — C ABI of the Trashtalk shared runtime (libtrashtalk.so).
 *
 * Normative description: docs/spec/c-abi.md. Summary of the rules a plugin or host must follow:
 *   - every char* returned by the library is malloc'ed and owned by the caller (free() or TT_Free);
 *   - every TTValue returned by the library is owned by the caller: release STRING/ERROR values
 *     with TT_ReleaseValue (or free(stringVal));
 *   - TTInstance* / TTBlock* handles are owned by the runtime: never free them; they stay valid
 *     until TT_Release of their id or TT_Close;
 *   - a TTMethodFunc's result is moved to the runtime, which free()s its stringVal: return only
 *     malloc'ed strings (TT_MakeString, strdup), never static storage or an argument's stringVal;
 *   - failures are reported by the return value (NULL, -1, TT_TYPE_ERROR) and the calling
 *     thread's last error (TT_GetLastError).
 *
 * Hand-kept; the test tests/tests/capi_header.rs checks that the prototypes below are exactly
 * the functions the library exports, with the signatures of docs/spec/c-abi.md §3.
 * Requires C11 (anonymous union) or the GNU/MSVC extension.
 */
#ifndef LIBTRASHTALK_H
#define LIBTRASHTALK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Types (docs/spec/c-abi.md §2) -------------------------------------------------------- */

typedef struct TTInstance TTInstance; /* opaque handle, owned by the runtime */
typedef struct TTBlock TTBlock;       /* opaque handle, owned by the runtime */
typedef struct TTArray TTArray;       /* opaque, reserved (never produced) */

typedef enum {
    TT_TYPE_NIL = 0,
    TT_TYPE_INT = 1,
    TT_TYPE_FLOAT = 2,
    TT_TYPE_STRING = 3,
    TT_TYPE_BOOL = 4,
    TT_TYPE_INSTANCE = 5,
    TT_TYPE_BLOCK = 6,
    TT_TYPE_ARRAY = 7,
    TT_TYPE_ERROR = 8
} TTValueType;

typedef struct {
    TTValueType type;
    union {
        int64_t intVal;          /* INT; BOOL (0 or 1) */
        double floatVal;         /* FLOAT */
        const char* stringVal;   /* STRING; ERROR (the message) */
        TTInstance* instanceVal; /* INSTANCE */
        TTBlock* blockVal;       /* BLOCK */
        TTArray* arrayVal;       /* ARRAY (reserved) */
    };
} TTValue;

typedef TTValue (*TTMethodFunc)(TTInstance* self, TTValue* args, int numArgs);

typedef enum {
    TT_METHOD_NATIVE = 1,
    TT_METHOD_BASH_FALLBACK = 2,
    TT_METHOD_CLASS_METHOD = 4
} TTMethodFlags;

typedef struct {
    const char* selector; /* "setValue:" or "setValue_" */
    TTMethodFunc impl;
    int numArgs;          /* declared count; < 0 = any */
    uint32_t flags;       /* TTMethodFlags bits */
} TTMethodEntry;

typedef struct {
    TTMethodEntry* instanceMethods;
    int numInstanceMethods;
    TTMethodEntry* classMethods;
    int numClassMethods;
} TTMethodTable;

typedef uint32_t TTSel; /* interned selector; 0 = invalid */

/* ---- Functions of the shipped header (docs/spec/c-abi.md §3.1) ---------------------------- */

int TT_Init(char* dbPath, char* pluginDir);
void TT_Close(void);
void TT_RegisterClass(char* className, char* superclass, char** instanceVars, int numVars,
                      TTMethodTable* methods);
char* TT_New(char* className);
TTInstance* TT_Lookup(char* instanceID);
TTValue TT_GetIVar(TTInstance* inst, char* name);
void TT_SetIVar(TTInstance* inst, char* name, TTValue val);
TTValue TT_GetIVarByIndex(TTInstance* inst, int index);
void TT_SetIVarByIndex(TTInstance* inst, int index, TTValue val);
TTValue TT_Send(char* receiver, char* selector, TTValue* args, int numArgs);
TTValue TT_SendDirect(TTInstance* inst, char* selector, TTValue* args, int numArgs);
char* TT_RegisterBlock(uint8_t* bytecodeData, size_t bytecodeLen, TTValue** captures,
                       int numCaptures);
TTBlock* TT_LookupBlock(char* blockID);
TTValue TT_InvokeBlock(char* blockID, TTValue* args, int numArgs);
TTValue TT_InvokeBlockDirect(TTBlock* block, TTValue* args, int numArgs);
int TT_Persist(char* instanceID);
TTInstance* TT_Load(char* instanceID);
char* TT_BashFallback(char* receiver, char* selector, char** args, int numArgs);
TTValue TT_MakeNil(void);
TTValue TT_MakeInt(int64_t n);
TTValue TT_MakeFloat(double f);
TTValue TT_MakeString(char* s);
TTValue TT_MakeBool(int b);
char* TT_ValueAsString(TTValue val);
int64_t TT_ValueAsInt(TTValue val);
char* TT_ValueToJSON(TTValue val);
char* TT_Serialize(TTInstance* inst);
TTInstance* TT_Deserialize(char* jsonStr);
char* TT_GetInstanceID(TTInstance* inst);
char* TT_GetInstanceClass(TTInstance* inst);
TTValue TT_MakeInstance(TTInstance* inst);
char* TT_GetLastError(void);
void TT_SetSessionID(char* sessionID);

/* ---- Spellings of the plan (docs/spec/c-abi.md §3.2): exported aliases -------------------- */

TTValue TT_GetIvar(TTInstance* inst, int index);        /* = TT_GetIVarByIndex */
void TT_SetIvar(TTInstance* inst, int index, TTValue val); /* = TT_SetIVarByIndex */

/* ---- Additions (docs/spec/c-abi.md §3.3) -------------------------------------------------- */

TTSel TT_Intern(const char* selector);
TTValue TT_SendSel(TTInstance* receiver, TTSel sel, TTValue* args, int numArgs);
int TT_Release(const char* id);
void TT_ReleaseValue(TTValue val);
void TT_Free(void* ptr);

/* reflection: every char* result is malloc'ed JSON or text, caller frees */
char* TT_Classes(void);
char* TT_Methods(const char* className, int classSide);
char* TT_IVars(const char* className);
char* TT_Superclass(const char* className);
char* TT_ClassOf(const char* receiver);
int TT_RespondsTo(const char* receiver, const char* selector);
char* TT_Stats(void);

/* Exported by a plugin (not by the library), optional: called once after dlopen. 0 = success. */
int TT_PluginInit(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBTRASHTALK_H */
