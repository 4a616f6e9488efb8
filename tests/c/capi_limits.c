/*
 * Limits of calls (docs/spec/c-abi.md §12, docs/limits.md): TT_Interrupt from another thread,
 * TT_SetDeadline and TT_SetMemoryLimit stop runaway blocks, first interpreted, then compiled
 * (an interrupted run still counts its loop's back-edges, so the block's next call runs the
 * JIT's code; TT_Stats shows it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "tt_test.h"

/* [:n | | i | i := 0. [i < n] whileTrue: [i := i + 1]. i] */
#define COUNT_TO "545442430001000000000017142100200022006282000920001550210080ffef2000f0000001016e010000"
/* [:n | | s | s := 'ab'. [true] whileTrue: [s := s , s]. s] */
#define DOUBLING "54544243000100000000001610000021001282000a2000200070210080fff22000f000010002616201016e010000"
#define FOREVER "4000000000000"

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int compiled_blocks(void) {
    char* s = TT_Stats();
    char* p = s ? strstr(s, "\"compiled_blocks\":") : NULL;
    int n = p ? atoi(p + strlen("\"compiled_blocks\":")) : -1;
    TT_Free(s);
    return n;
}

static _Atomic(TT_Thread*) worker_thread;
static const char* worker_block;
static char worker_error[200];

static void* worker(void* arg) {
    (void)arg;
    atomic_store(&worker_thread, TT_CurrentThread());
    TTValue a = TT_MakeString(FOREVER);
    TTValue r = TT_InvokeBlock(worker_block, &a, 1);
    TT_ReleaseValue(a);
    snprintf(worker_error, sizeof worker_error, "%s",
             r.type == TT_TYPE_ERROR && r.stringVal ? r.stringVal : "(no error)");
    TT_ReleaseValue(r);
    return NULL;
}

/* Runs the endless block on a thread and interrupts it from this one. */
static void interrupt_from_here(const char* block) {
    pthread_t t;
    worker_block = block;
    atomic_store(&worker_thread, NULL);
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
    TT_Thread* h;
    while ((h = atomic_load(&worker_thread)) == NULL) sleep_ms(1);
    sleep_ms(50);
    CHECK(TT_Interrupt(h) == 0);
    pthread_join(t, NULL);
    TT_ReleaseThread(h);
    CHECK(strcmp(worker_error, "interrupted") == 0);
}

static TTValue invoke1(const char* block, const char* arg) {
    TTValue a = TT_MakeString(arg);
    TTValue r = TT_InvokeBlock(block, &a, 1);
    TT_ReleaseValue(a);
    return r;
}

int main(void) {
    CHECK(TT_Init(getenv("TT_TEST_DB"), NULL) == 0);
    CHECK(TT_Interrupt(NULL) == -1);
    TT_ReleaseThread(NULL);

    /* Interrupt from another thread: interpreted, then compiled. */
    char* count = tt_register_hex(COUNT_TO, NULL, 0);
    CHECK(count != NULL);
    int before = compiled_blocks();
    interrupt_from_here(count);
    CHECK(compiled_blocks() == before);
    interrupt_from_here(count);
    CHECK(compiled_blocks() == before + 1);
    /* The block and the thread still work. */
    CHECK_VTEXT(invoke1(count, "10"), TT_TYPE_INT, "10");

    /* A deadline: interpreted, then compiled. */
    char* count2 = tt_register_hex(COUNT_TO, NULL, 0);
    for (int tier = 0; tier < 2; tier++) {
        CHECK(TT_SetDeadline(30) == 0);
        CHECK_VERR(invoke1(count2, FOREVER), "deadline exceeded");
        /* Every call fails until the deadline is cleared. */
        CHECK_VERR(invoke1(count2, "10"), "deadline exceeded");
        CHECK(TT_SetDeadline(0) == 0);
        CHECK_VTEXT(invoke1(count2, "10"), TT_TYPE_INT, "10");
    }
    CHECK(compiled_blocks() == before + 2);

    /* A memory limit. */
    char* doubling = tt_register_hex(DOUBLING, NULL, 0);
    CHECK(TT_SetMemoryLimit(1 << 20) == 0);
    CHECK_VERR(invoke1(doubling, "x"), "memory limit exceeded");
    CHECK(TT_SetMemoryLimit(0) == 0);
    CHECK_VTEXT(invoke1(count, "7"), TT_TYPE_INT, "7");

    TT_Free(count);
    TT_Free(count2);
    TT_Free(doubling);
    TT_Close();
    return tt_done();
}
