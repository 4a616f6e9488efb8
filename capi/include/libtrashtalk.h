/*
 * libtrashtalk.h — C ABI of the Trashtalk shared runtime (libtrashtalk.so).
 *
 * Normative description: docs/spec/c-abi.md. Summary of the rules a plugin or host must follow:
 *   - every char* returned by the library is malloc'ed and owned by the caller (free() or TT_Free);
 *     the only const char* result, TT_Version(), is static storage: never free it;
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
 * the functions the library exports, with the signatures of docs/spec/c-abi.md §3 made const-correct
 * (docs/capi.md "Header"): parameters the library only reads are `const`, which C callers
 * passing `char*` need not change and C++ callers can pass string literals to.
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
typedef struct TT_Thread TT_Thread;   /* opaque handle on a thread (TT_CurrentThread) */

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

/* ---- Version (docs/capi.md "Versions") ---------------------------------------------------- */

/* The version of the header (= the crate `trashtalk`'s version; a test keeps them in sync). The
 * library's SONAME is libtrashtalk.so.<TT_VERSION_MAJOR>. */
#define TT_VERSION_MAJOR 0
#define TT_VERSION_MINOR 1
#define TT_VERSION_PATCH 0
#define TT_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with TT_VersionNumber() */
#define TT_VERSION_NUMBER (TT_VERSION_MAJOR * 10000 + TT_VERSION_MINOR * 100 + TT_VERSION_PATCH)

/* The version of the loaded library, "MAJOR.MINOR.PATCH". Static storage owned by the library:
 * never free it. Never NULL; works before TT_Init. */
const char* TT_Version(void);
/* The version of the loaded library as MAJOR * 10000 + MINOR * 100 + PATCH (compare with
 * TT_VERSION_NUMBER to detect a header/library mismatch). Works before TT_Init. */
int TT_VersionNumber(void);

/* ---- Functions of the shipped header (docs/spec/c-abi.md §3.1) -------------------------------------- */
/* String and array parameters are only read, during the call (the library copies what it
 * keeps). Results marked "caller frees" are malloc'ed. Before TT_Init only TT_RegisterClass,
 * TT_Intern, TT_Make*, TT_ValueAs*, TT_ValueToJSON, TT_ReleaseValue, TT_Free, TT_GetLastError,
 * TT_SetSessionID and TT_Version* work; the others fail with "runtime not initialized". */

/* Initializes the process-global runtime: opens or creates the database dbPath (NULL = default
 * resolution) and remembers the lazy-loading plugin directory pluginDir (NULL = none).
 * 0 = success (also when already initialized: the arguments are then ignored), -1 = database
 * failure (last error set). */
int TT_Init(const char* dbPath, const char* pluginDir);
/* Saves modified instances, drops all instances and blocks (every handle becomes invalid) and
 * closes the database; classes, selectors and plugins stay. No-op if not initialized. Must not
 * run concurrently with other calls; plugins must not call it. */
void TT_Close(void);
/* Registers or replaces a class; everything is copied (tables and strings stay the caller's).
 * className must be non-empty; superclass NULL or "" = none; instanceVars is NULL or holds
 * numVars strings; methods is NULL (no native methods) or a table whose arrays hold the given
 * counts. Works before TT_Init. On failure the last error is set. */
void TT_RegisterClass(const char* className, const char* superclass, char* const* instanceVars,
                      int numVars, const TTMethodTable* methods);
/* Creates and saves an instance of className (registered or loadable); returns its new id
 * (caller frees) or NULL ("unknown class: <C>"). */
char* TT_New(const char* className);
/* The borrowed handle (owned by the runtime, never freed) of a resident instance, else loaded
 * from the database; NULL if neither ("instance not found: <id>"). */
TTInstance* TT_Lookup(const char* instanceID);
/* A copy of the ivar `name` of inst (caller owns it: TT_ReleaseValue); NIL for a NULL inst
 * ("nil instance") or a name the instance does not have. */
TTValue TT_GetIVar(TTInstance* inst, const char* name);
/* Stores a copy of val (val stays the caller's) in the ivar `name`; NULL inst or unknown name
 * -> nothing stored, last error set. */
void TT_SetIVar(TTInstance* inst, const char* name, TTValue val);
/* Same by 0-based index in the class's full ivar list (superclass first); NIL out of range. */
TTValue TT_GetIVarByIndex(TTInstance* inst, int index);
/* Same by index; out of range -> nothing stored, last error set. */
void TT_SetIVarByIndex(TTInstance* inst, int index, TTValue val);
/* Sends selector (":" or "_" spelling) to receiver (instance id, block id, class name or
 * other text, docs/spec/c-abi.md §6) with numArgs values read from args (NULL if 0; the values stay the
 * caller's). Result: caller-owned value; TT_TYPE_ERROR with the message on failure. */
TTValue TT_Send(const char* receiver, const char* selector, const TTValue* args, int numArgs);
/* Same as TT_Send with a handle receiver (NULL inst -> TT_TYPE_ERROR "nil instance"). */
TTValue TT_SendDirect(TTInstance* inst, const char* selector, const TTValue* args, int numArgs);
/* Loads and verifies a TTBC chunk (bytecodeLen bytes, copied); captures is NULL or holds
 * numCaptures pointers, each NULL or the initial value of one capture cell (copied). Returns
 * the new block id (caller frees) or NULL. */
char* TT_RegisterBlock(const uint8_t* bytecodeData, size_t bytecodeLen, TTValue* const* captures,
                       int numCaptures);
/* The handle of a registered block (owned by the runtime) or NULL. */
TTBlock* TT_LookupBlock(const char* blockID);
/* Invokes a registered block with numArgs values read from args; caller-owned result, or
 * TT_TYPE_ERROR. */
TTValue TT_InvokeBlock(const char* blockID, const TTValue* args, int numArgs);
/* Same as TT_InvokeBlock with a handle (NULL -> TT_TYPE_ERROR). */
TTValue TT_InvokeBlockDirect(TTBlock* block, const TTValue* args, int numArgs);
/* Saves the resident instance. 0 = success, -1 = not resident or database error (last error). */
int TT_Persist(const char* instanceID);
/* Reads the row and creates or refreshes the resident instance (unsaved changes discarded);
 * borrowed handle, or NULL ("instance not found: <id>"). */
TTInstance* TT_Load(const char* instanceID);
/* Runs `@ receiver selector args...` through the Bash bridge; args is NULL or holds numArgs
 * strings (read only). Returns stdout without one trailing newline (caller frees) or NULL. */
char* TT_BashFallback(const char* receiver, const char* selector, char* const* args, int numArgs);
/* Value constructors; never fail. */
TTValue TT_MakeNil(void);
TTValue TT_MakeInt(int64_t n);
TTValue TT_MakeFloat(double f);
/* STRING holding a malloc'ed copy of s (NULL -> ""); the caller releases it (TT_ReleaseValue). */
TTValue TT_MakeString(const char* s);
TTValue TT_MakeBool(int b);
/* The value as text (docs/spec/c-abi.md §5.2; caller frees) or NULL for an invalid tag. val is only read. */
char* TT_ValueAsString(TTValue val);
/* The value as an integer (docs/spec/c-abi.md §5.2); 0 when it has none. */
int64_t TT_ValueAsInt(TTValue val);
/* The value as JSON (caller frees) or NULL for an invalid tag. */
char* TT_ValueToJSON(TTValue val);
/* The instance's JSON document without `id` (caller frees); NULL for a NULL inst. */
char* TT_Serialize(TTInstance* inst);
/* Creates or updates the resident instance described by the document jsonStr (not saved);
 * borrowed handle, or NULL ("invalid instance JSON: ..."). */
TTInstance* TT_Deserialize(const char* jsonStr);
/* The instance's id (caller frees); NULL for a NULL inst. */
char* TT_GetInstanceID(TTInstance* inst);
/* The instance's class name (caller frees); NULL for a NULL inst. */
char* TT_GetInstanceClass(TTInstance* inst);
/* An INSTANCE value referring to inst (NIL for NULL); nothing to release. */
TTValue TT_MakeInstance(TTInstance* inst);
/* A copy of the calling thread's last error message (caller frees); NULL if no call on this
 * thread has failed yet. */
char* TT_GetLastError(void);
/* Sets the process-wide Bash-bridge session (copied); NULL or "" = back to the default. */
void TT_SetSessionID(const char* sessionID);

/* ---- Spellings of the plan (docs/spec/c-abi.md §3.2): exported aliases -------------------- */

TTValue TT_GetIvar(TTInstance* inst, int index);        /* = TT_GetIVarByIndex */
void TT_SetIvar(TTInstance* inst, int index, TTValue val); /* = TT_SetIVarByIndex */

/* ---- Additions (docs/spec/c-abi.md §3.3) -------------------------------------------------- */

/* The process-wide id of a selector (normalized ":" -> "_"); 0 for NULL or "" (last error set). */
TTSel TT_Intern(const char* selector);
/* Same as TT_SendDirect with an interned selector (0 or unknown -> TT_TYPE_ERROR). */
TTValue TT_SendSel(TTInstance* receiver, TTSel sel, const TTValue* args, int numArgs);
/* Forgets an instance id or block id (not saved, not deleted from the database); its handles
 * become invalid. 0 = released, -1 = not found (last error set). */
int TT_Release(const char* id);
/* Frees what a caller-owned value owns (STRING/ERROR: its stringVal); at most once per value. */
void TT_ReleaseValue(TTValue val);
/* free(ptr) inside the library's allocator; NULL allowed. */
void TT_Free(void* ptr);

/* Reflection: every char* result is malloc'ed JSON or text (caller frees); NULL (or -1) on an
 * unknown class or receiver, with the last error set. */
char* TT_Classes(void);                            /* JSON array of class names */
char* TT_Methods(const char* className, int classSide); /* JSON array of method records */
char* TT_IVars(const char* className);             /* JSON array of ivar names, inherited first */
char* TT_Superclass(const char* className);        /* name, or "" for a root class */
char* TT_ClassOf(const char* receiver);            /* class of an instance id or block id */
int TT_RespondsTo(const char* receiver, const char* selector); /* 1 yes, 0 no, -1 error */
char* TT_Stats(void);                              /* JSON snapshot of runtime counters */

/* Limits of calls (docs/spec/c-abi.md §12): stopping runaway code. All work before TT_Init. A
 * stopped call fails like any call (NULL / -1 / TT_TYPE_ERROR) with the last error "interrupted",
 * "deadline exceeded" or "memory limit exceeded". */
TT_Thread* TT_CurrentThread(void);     /* handle on the calling thread; TT_ReleaseThread it */
void TT_ReleaseThread(TT_Thread* thread); /* NULL is allowed */
int TT_Interrupt(TT_Thread* thread);   /* from any thread: its running (or next) call stops; 0 / -1 */
int TT_SetDeadline(long long ms);      /* this thread's calls stop ms from now; <= 0 clears; 0 */
int TT_SetMemoryLimit(long long bytes); /* this thread's values may take bytes from now; <= 0 removes; 0 */

/* Exported by a plugin (not by the library), optional: called once after dlopen. 0 = success. */
int TT_PluginInit(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBTRASHTALK_H */
