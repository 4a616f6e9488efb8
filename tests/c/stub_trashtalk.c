/*
 * A stand-in `libtrashtalk.so` used only at LINK time by the daemon tests, so that test
 * plugins get `DT_NEEDED libtrashtalk.so.<major>` (the stub is linked with that SONAME) without
 * building the real cdylib. It is never on the loader's search path: inside `tt` the dependency
 * must be satisfied by `tt` itself (it carries the same SONAME and exports the TT_* functions). If this stub were ever
 * loaded, every call aborts.
 */
#include <stdlib.h>
#define STUB(name) void name(void) { abort(); }
STUB(TT_RegisterClass) STUB(TT_New) STUB(TT_Lookup) STUB(TT_GetIVar) STUB(TT_SetIVar)
STUB(TT_MakeInt) STUB(TT_MakeNil) STUB(TT_MakeString) STUB(TT_MakeInstance) STUB(TT_ValueAsInt)
STUB(TT_ValueAsString) STUB(TT_ReleaseValue) STUB(TT_InvokeBlock)
