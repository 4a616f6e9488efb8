/*
 * Values (docs/spec/c-abi.md §5.2, §10): constructors, TT_ValueAsString (docs/spec/ttbc.md §14.2 texts),
 * TT_ValueAsInt (the Atoi rule), TT_ValueToJSON, TT_ReleaseValue/TT_Free, and the typing of
 * values crossing the boundary (canonical integer strings are INT, JSON values are STRING).
 */
#include <math.h>
#include <stdint.h>

#include "chunks.h"
#include "tt_test.h"

int main(void) {
    /* ---- constructors ---- */
    TTValue s = TT_MakeString(NULL);
    CHECK(s.type == TT_TYPE_STRING && s.stringVal && s.stringVal[0] == 0);
    TT_ReleaseValue(s);
    char buf[] = "copied";
    s = TT_MakeString(buf);
    buf[0] = 'X'; /* the value owns a copy */
    CHECK(strcmp(s.stringVal, "copied") == 0 && s.stringVal != buf);
    TT_ReleaseValue(s);
    CHECK(TT_MakeBool(5).intVal == 1 && TT_MakeBool(0).intVal == 0);
    CHECK(TT_MakeInt(INT64_MIN).intVal == INT64_MIN);

    /* ---- TT_ValueAsString ---- */
    CHECK_OWNED(TT_ValueAsString(TT_MakeNil()), "");
    CHECK_OWNED(TT_ValueAsString(TT_MakeInt(-42)), "-42");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(3.0)), "3");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(2.5)), "2.5");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(0.0000001)), "0.0000001");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(1e21)), "1000000000000000000000");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(-0.0)), "-0");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(NAN)), "NaN");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(INFINITY)), "+Inf");
    CHECK_OWNED(TT_ValueAsString(TT_MakeFloat(-INFINITY)), "-Inf");
    CHECK_OWNED(TT_ValueAsString(TT_MakeBool(1)), "true");
    CHECK_OWNED(TT_ValueAsString(TT_MakeBool(0)), "false");
    CHECK_OWNED(TT_ValueAsString(tt_str("héllo")), "héllo");
    CHECK_OWNED(TT_ValueAsString(tt_str(NULL)), "");
    TTValue e = {.type = TT_TYPE_ERROR, .stringVal = "it broke"};
    CHECK_OWNED(TT_ValueAsString(e), "Error: it broke");
    TTValue inval = {.type = TT_TYPE_STRING, .stringVal = "a\xff" "b"};
    CHECK_OWNED(TT_ValueAsString(inval), "a\xef\xbf\xbd" "b"); /* U+FFFD */

    /* ---- TT_ValueAsInt ---- */
    CHECK(TT_ValueAsInt(TT_MakeInt(-7)) == -7);
    CHECK(TT_ValueAsInt(TT_MakeFloat(-2.7)) == -2);
    CHECK(TT_ValueAsInt(TT_MakeFloat(2.7)) == 2);
    CHECK(TT_ValueAsInt(TT_MakeFloat(1e300)) == INT64_MAX);
    CHECK(TT_ValueAsInt(TT_MakeFloat(-1e300)) == INT64_MIN);
    CHECK(TT_ValueAsInt(TT_MakeFloat(NAN)) == 0);
    CHECK(TT_ValueAsInt(TT_MakeBool(1)) == 1);
    CHECK(TT_ValueAsInt(TT_MakeNil()) == 0);
    CHECK(TT_ValueAsInt(tt_str("42")) == 42);
    CHECK(TT_ValueAsInt(tt_str("+7")) == 7);
    CHECK(TT_ValueAsInt(tt_str("-0")) == 0);
    CHECK(TT_ValueAsInt(tt_str("007")) == 7);
    CHECK(TT_ValueAsInt(tt_str(" 5")) == 0);
    CHECK(TT_ValueAsInt(tt_str("1.5")) == 0);
    CHECK(TT_ValueAsInt(tt_str("9223372036854775808")) == INT64_MAX);
    CHECK(TT_ValueAsInt(tt_str("-99999999999999999999")) == INT64_MIN);
    CHECK(TT_ValueAsInt(e) == 0);

    /* ---- TT_ValueToJSON ---- */
    CHECK_OWNED(TT_ValueToJSON(TT_MakeNil()), "null");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeInt(42)), "42");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(3.0)), "3.0");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(2.5)), "2.5");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(-0.0)), "-0.0");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(NAN)), "\"NaN\"");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeFloat(-INFINITY)), "\"-Inf\"");
    CHECK_OWNED(TT_ValueToJSON(TT_MakeBool(0)), "false");
    CHECK_OWNED(TT_ValueToJSON(tt_str("a\"b\\c\n\t\x01/é")), "\"a\\\"b\\\\c\\n\\t\\u0001/é\"");
    TTValue e2 = {.type = TT_TYPE_ERROR, .stringVal = "bad \"x\""};
    CHECK_OWNED(TT_ValueToJSON(e2), "{\"_error\":\"bad \\\"x\\\"\"}");
    TTValue arr = {.type = TT_TYPE_ARRAY, .arrayVal = NULL};
    CHECK_OWNED(TT_ValueToJSON(arr), "[]");

    /* ---- values produced by the runtime ---- */
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    size_t len;
    uint8_t* bytes = tt_hex(CHUNK_JSON_ARRAY, &len);
    char* id = TT_RegisterBlock(bytes, len, NULL, 0);
    free(bytes);
    CHECK(id != NULL);
    /* a JSON array crosses as a STRING holding its compact text */
    CHECK_VTEXT(TT_InvokeBlock(id, NULL, 0), TT_TYPE_STRING, "[\"x\"]");
    /* BLOCK values: their JSON is {"_block_id": id} and their text is the id */
    TTBlock* b = TT_LookupBlock(id);
    TTValue bv = {.type = TT_TYPE_BLOCK, .blockVal = b};
    char expect[96];
    snprintf(expect, sizeof expect, "{\"_block_id\":\"%s\"}", id);
    CHECK_OWNED(TT_ValueToJSON(bv), expect);
    CHECK_OWNED(TT_ValueAsString(bv), id);
    free(id);
    /* TT_Free / TT_ReleaseValue on library strings */
    TT_Free(TT_ValueAsString(TT_MakeInt(1)));
    TT_Free(NULL);
    TT_ReleaseValue(TT_MakeNil());
    TT_ReleaseValue(TT_MakeInstance(NULL));
    TT_Close();
    return tt_done();
}
