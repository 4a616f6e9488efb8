/*
 * Peer figure for TT_InvokeBlockDirect: a C host calling the Lua function
 * `function(x) return x + 1 end` through the Lua C API, plus a plain C indirect call measured
 * in the same process as its baseline.
 *
 * Built by benches/run-all.sh twice from this one file:
 *   cc -O2 lua_call.c -I/usr/include/lua5.4      -llua5.4      -o lua_call_lua54
 *   cc -O2 lua_call.c -I/usr/include/luajit-2.1  -lluajit-5.1  -o lua_call_luajit
 *
 * Usage: lua_call N LABEL   (LABEL: lua5.4 or luajit, used in the output ids)
 *
 * Each figure is timed over N calls, 7 times; it prints the median and the range in the
 * `peer <id>: <ns> ns/iter (<what>) spread <min>..<max> over <timings>` format the report
 * generator reads:
 *   peer lua_call/LABEL      lua_pushvalue + lua_pushinteger + lua_call + lua_tointeger + lua_pop
 *   peer lua_pcall/LABEL     the same with lua_pcall (what a host that survives Lua errors uses)
 *   peer c_indirect_call/LABEL  `x + 1` in a noinline C function through a volatile pointer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define REPS 7

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const char *id, const char *label, const char *what, double *t) {
  qsort(t, REPS, sizeof t[0], cmp_double);
  printf("peer %s/%s: %.3f ns/iter (%s) spread %.3f..%.3f over %d\n", id, label, t[REPS / 2], what,
         t[0], t[REPS - 1], REPS);
}

__attribute__((noinline)) static long long plus_one(long long x) { return x + 1; }

static long long (*volatile plus_one_ptr)(long long) = plus_one;

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  const char *label = argc > 2 ? argv[2] : "lua";
  if (n <= 0) n = 1;
  lua_State *L = luaL_newstate();
  if (!L) {
    printf("peer lua_call/%s: unavailable (luaL_newstate failed)\n", label);
    return 1;
  }
  luaL_openlibs(L);
  if (luaL_loadstring(L, "return function(x) return x + 1 end") || lua_pcall(L, 0, 1, 0)) {
    printf("peer lua_call/%s: unavailable (%s)\n", label, lua_tostring(L, -1));
    return 1;
  }
  int f = lua_gettop(L); /* the function stays at this stack slot */
  double t[REPS];
  long long acc;

  /* Warm up (lets LuaJIT record the callee if it wants to). */
  acc = 0;
  for (long i = 0; i < n / 10 + 1000; i++) {
    lua_pushvalue(L, f);
    lua_pushinteger(L, (lua_Integer)i);
    lua_call(L, 1, 1);
    acc += (long long)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }

  for (int r = 0; r < REPS; r++) {
    acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      lua_pushvalue(L, f);
      lua_pushinteger(L, (lua_Integer)i);
      lua_call(L, 1, 1);
      acc += (long long)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    t[r] = (now_ns() - t0) / (double)n;
    if (acc != (long long)n * (n - 1) / 2 + n) {
      printf("peer lua_call/%s: unavailable (wrong result %lld)\n", label, acc);
      return 1;
    }
  }
  report("lua_call", label, "C host, lua_call of function(x) return x + 1 end", t);

  for (int r = 0; r < REPS; r++) {
    acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      lua_pushvalue(L, f);
      lua_pushinteger(L, (lua_Integer)i);
      if (lua_pcall(L, 1, 1, 0) != 0) {
        printf("peer lua_pcall/%s: unavailable (%s)\n", label, lua_tostring(L, -1));
        return 1;
      }
      acc += (long long)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    t[r] = (now_ns() - t0) / (double)n;
    if (acc != (long long)n * (n - 1) / 2 + n) {
      printf("peer lua_pcall/%s: unavailable (wrong result %lld)\n", label, acc);
      return 1;
    }
  }
  report("lua_pcall", label, "C host, lua_pcall of the same function", t);

  for (int r = 0; r < REPS; r++) {
    acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) acc += plus_one_ptr((long long)i);
    t[r] = (now_ns() - t0) / (double)n;
    if (acc != (long long)n * (n - 1) / 2 + n) return 1;
  }
  report("c_indirect_call", label, "plain C indirect call, cc -O2, same process", t);

  lua_close(L);
  return 0;
}
