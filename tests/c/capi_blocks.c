/*
 * Blocks (docs/spec/c-abi.md §5.1) with the worked examples of docs/spec/ttbc.md §13: registration, invocation by id
 * and by handle, captures, sends from bytecode into C methods, nested blocks and their single
 * registry, non-local return, rejected chunks with their messages, ids, release, block messages.
 */
#include "chunks.h"
#include "tt_test.h"

#define EX_13_1 "5454424300010000000000062200220150F000000201780179000000"
#define EX_13_2 \
    "54544243000100000000002114210014210120002200628200102001200050210120001550210080FFE82001F0000001016E020000"
#define EX_13_3 "545442430001000200000007300010000070F000010001210000010178000000"
#define EX_13_4 \
    "545442430001000000000013220010000060820006100001800003100002F00003000379657300015900014E010161000000"
#define EX_13_5 "54544243000100000000000B22002201155090000001F00001000973657456616C75655F020163016E000000"
#define EX_13_6                                                                                     \
    "5454424300010000000000102200A000000121002000100001A101F00002001E545442430001000200000006300022" \
    "0050F000000101790001017803000000023130010178010000"
#define EX_13_6_RET                                                                                 \
    "5454424300010000000000072200A0000001F00001001E5454424300010002000000063000220050F00000010179" \
    "00010178030000010178000000"
#define EX_13_7                                                                                      \
    "54544243000100000000000DA00000002200A10101100001F0000200175454424300010004000000032200F200000" \
    "10176000000000B6E6F742072656163686564010178000000"
#define EX_13_7_DEAD \
    "545442430001000000000005A0000000F0000100175454424300010004000000032200F2000001017600000000000000"

static TTValue counter_set_value(TTInstance* self, TTValue* a, int n) {
    (void)n;
    TT_SetIVar(self, "value", a[0]);
    TTValue copy = TT_GetIVar(self, "value");
    return copy; /* the block returns the send's result */
}

/* A C method that calls back into a block it receives (nesting through native code). */
static TTValue counter_apply(TTInstance* self, TTValue* a, int n) {
    (void)self;
    (void)n;
    TTValue ten = TT_MakeInt(10);
    return TT_InvokeBlockDirect(a[0].blockVal, &ten, 1);
}

static TTValue invoke2(const char* id, const char* x, const char* y) {
    TTValue args[2] = {tt_str(x), tt_str(y)};
    return TT_InvokeBlock((char*)id, args, y ? 2 : (x ? 1 : 0));
}

static long block_number(const char* id) { return id ? strtol(id + strlen("bytecode_block_"), NULL, 10) : -1; }

static void check_rejected(const char* hex, const char* message) {
    char* id = tt_register_hex(hex, NULL, 0);
    CHECK(id == NULL);
    CHECK_ERR(message);
    free(id);
}

/* §13.1 with its first `skip` hex digits replaced by `prefix`. */
static void check_spliced(const char* prefix, size_t skip, const char* message) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", prefix, EX_13_1 + skip);
    check_rejected(buf, message);
}

int main(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    TTMethodEntry m[] = {
        {"setValue:", counter_set_value, 1, TT_METHOD_NATIVE},
        {"apply:", counter_apply, 1, TT_METHOD_NATIVE},
    };
    TTMethodTable t = {m, 2, NULL, 0};
    char* ivars[] = {"value"};
    TT_RegisterClass("Counter", NULL, ivars, 1, &t);

    /* §13.1 by id and by handle */
    char* add = tt_register_hex(EX_13_1, NULL, 0);
    CHECK(add && strncmp(add, "bytecode_block_", 15) == 0);
    CHECK_VINT(invoke2(add, "10", "32"), 42);
    CHECK_VINT(invoke2(add, "7", NULL), 7);
    CHECK_VINT(invoke2(add, "a", "1"), 1);
    TTBlock* addb = TT_LookupBlock(add);
    CHECK(addb != NULL && TT_LookupBlock(add) == addb);
    TTValue ints[2] = {TT_MakeInt(40), TT_MakeInt(2)};
    CHECK_VINT(TT_InvokeBlockDirect(addb, ints, 2), 42);
    TTValue fl[2] = {TT_MakeFloat(1.5), TT_MakeInt(1)};
    CHECK_VTEXT(TT_InvokeBlockDirect(addb, fl, 2), TT_TYPE_FLOAT, "2.5");

    /* §13.2 loop */
    char* sum = tt_register_hex(EX_13_2, NULL, 0);
    CHECK_VINT(invoke2(sum, "5", NULL), 10);
    CHECK_VINT(invoke2(sum, "10", NULL), 45);
    CHECK_VINT(invoke2(sum, "abc", NULL), 0);

    /* §13.3 captures: by-value cells from TTValue pointers; NULL pointer = empty cell */
    TTValue hi = tt_str("hi");
    TTValue* caps[1] = {&hi};
    char* bang = tt_register_hex(EX_13_3, caps, 1);
    CHECK_VTEXT(TT_InvokeBlock(bang, NULL, 0), TT_TYPE_STRING, "hi!");
    TTValue n42 = TT_MakeInt(42);
    caps[0] = &n42;
    char* bang42 = tt_register_hex(EX_13_3, caps, 1);
    CHECK_VTEXT(TT_InvokeBlock(bang42, NULL, 0), TT_TYPE_STRING, "42!");
    char* bang0 = tt_register_hex(EX_13_3, NULL, 0);
    CHECK_VTEXT(TT_InvokeBlock(bang0, NULL, 0), TT_TYPE_STRING, "!");
    caps[0] = NULL;
    char* bangn = tt_register_hex(EX_13_3, caps, 1);
    CHECK_VTEXT(TT_InvokeBlock(bangn, NULL, 0), TT_TYPE_STRING, "!");
    TTValue* two[2] = {&hi, &hi};
    CHECK(tt_register_hex(EX_13_3, two, 2) == NULL);
    CHECK_ERR("too many captures: got 2, block declares 1");
    /* capture cells belong to the block: writes persist across invocations */
    TTValue zero = TT_MakeInt(0);
    TTValue* zc[1] = {&zero};
    char* counter = tt_register_hex(CHUNK_COUNT, zc, 1);
    for (int i = 1; i <= 5; i++) CHECK_VINT(TT_InvokeBlock(counter, NULL, 0), i);

    /* §13.4 */
    char* yes = tt_register_hex(EX_13_4, NULL, 0);
    CHECK_VTEXT(invoke2(yes, "yes", NULL), TT_TYPE_STRING, "Y");
    CHECK_VTEXT(invoke2(yes, "YES", NULL), TT_TYPE_STRING, "N");

    /* §13.5 a SEND from bytecode reaches a C method; typed argument (integer 42) */
    char* cid = TT_New("Counter");
    char* setv = tt_register_hex(EX_13_5, NULL, 0);
    CHECK_VINT(invoke2(setv, cid, "41"), 42);
    CHECK_VINT(TT_GetIVar(TT_Lookup(cid), "value"), 42);
    /* the same block with an INSTANCE argument */
    TTValue args[2] = {TT_MakeInstance(TT_Lookup(cid)), TT_MakeInt(99)};
    CHECK_VINT(TT_InvokeBlock(setv, args, 2), 100);
    /* run-time errors cross unchanged (a send to an unknown class inside the block) */
    CHECK_VERR(invoke2(setv, "Nope", "1"), "unknown class: Nope");
    char* foo = tt_register_hex(CHUNK_SEND_FOO, NULL, 0);
    char expect[160];
    snprintf(expect, sizeof expect, "unknown method: Counter foo");
    CHECK_VERR(invoke2(foo, cid, NULL), expect);

    /* §13.6 nested MAKE_BLOCK, and the single registry */
    char* nested = tt_register_hex(EX_13_6, NULL, 0);
    CHECK_VINT(invoke2(nested, "5", NULL), 15);
    char* maker = tt_register_hex(EX_13_6_RET, NULL, 0);
    TTValue blk = invoke2(maker, "5", NULL);
    CHECK(blk.type == TT_TYPE_BLOCK && blk.blockVal != NULL);
    char* inner_id = TT_ValueAsString(blk);
    CHECK(inner_id && strncmp(inner_id, "bytecode_block_", 15) == 0);
    CHECK(TT_LookupBlock(inner_id) == blk.blockVal);
    CHECK_VINT(invoke2(inner_id, "10", NULL), 15);
    TTValue ten = TT_MakeInt(10);
    CHECK_VINT(TT_InvokeBlockDirect(blk.blockVal, &ten, 1), 15);
    /* a C method invoking a block passed to it */
    TTValue bl = blk;
    CHECK_VINT(TT_Send(cid, "apply:", &bl, 1), 15);
    /* block messages through TT_Send */
    CHECK_VINT(TT_Send(add, "numArgs", NULL, 0), 2);
    CHECK_VINT(TT_Send(inner_id, "valueWith:", &ten, 1), 15);
    CHECK_VERR(TT_Send(add, "frobnicate", NULL, 0), "unknown method: Block frobnicate");
    CHECK_OWNED(TT_ClassOf(add), "Block");

    /* §13.7 non-local return */
    char* nlr = tt_register_hex(EX_13_7, NULL, 0);
    CHECK_VINT(invoke2(nlr, "7", NULL), 7);
    char* dead = tt_register_hex(EX_13_7_DEAD, NULL, 0);
    TTValue esc = invoke2(dead, NULL, NULL);
    CHECK(esc.type == TT_TYPE_BLOCK);
    TTValue nine = TT_MakeInt(9);
    CHECK_VINT(TT_InvokeBlockDirect(esc.blockVal, &nine, 1), 9);

    /* §13.8 rejected chunks: messages verbatim; failures consume no id */
    char* before = tt_register_hex(EX_13_1, NULL, 0);
    check_rejected(EX_13_1 "00", "1 trailing byte(s) after end of chunk at byte 28");
    check_spliced("54544258", 8, "invalid magic 54544258 at byte 0");
    check_spliced("545442430003", 12, "unsupported version 3 at byte 4");
    check_spliced("5454424300010002", 16, "HAS_CAPTURES flag does not match capture count 0 at byte 26");
    char* first27 = strndup(EX_13_1, 54);
    check_rejected(first27, "unexpected end of data reading debug marker at byte 27");
    free(first27);
    check_rejected("5454424300010000000000062200220250F000000201780179000000",
                   "param index 2 out of range (2 params) at code offset 2");
    check_rejected("54544243000100000000000250F0000000000000",
                   "stack underflow: ADD needs 2 value(s), depth 0 at code offset 0");
    check_rejected("545442430001000000000004800005F1000000000000",
                   "jump target 8 outside code (length 4) at code offset 0");
    check_rejected("54544243000100000000000205F1000000000000", "unknown opcode 0x05 at code offset 0");
    CHECK(TT_RegisterBlock(NULL, 0, NULL, 0) == NULL);
    char* after = tt_register_hex(EX_13_1, NULL, 0);
    CHECK(block_number(after) == block_number(before) + 1);

    /* release: the id is gone, the handle must not be used any more */
    CHECK(TT_Release(after) == 0);
    snprintf(expect, sizeof expect, "block not found: %s", after);
    CHECK_VERR(TT_InvokeBlock(after, NULL, 0), expect);
    CHECK(TT_LookupBlock(after) == NULL);
    char* st = TT_Stats();
    CHECK(st && strstr(st, "\"blocks\":"));
    free(st);

    free(add);
    free(sum);
    free(bang);
    free(bang42);
    free(bang0);
    free(bangn);
    free(counter);
    free(yes);
    free(cid);
    free(setv);
    free(foo);
    free(nested);
    free(maker);
    free(inner_id);
    free(nlr);
    free(dead);
    free(before);
    free(after);
    TT_Close();
    return tt_done();
}
