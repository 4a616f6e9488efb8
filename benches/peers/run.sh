#!/usr/bin/env bash
# Peer figures for docs/jit.md: the §13.2 summing loop and a method-call loop in Lua 5.4 and
# LuaJIT, printed as ns/iteration. Installs `lua5.4` / `luajit` with apt-get when missing (needs
# root); prints `unavailable` for an interpreter that cannot be installed.
set -u
cd "$(dirname "$0")"
N_SUM=${N_SUM:-100000000}
N_METHOD=${N_METHOD:-100000000}

ensure() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1") >/dev/null 2>&1
  fi
  command -v "$1" >/dev/null 2>&1
}

for interp in lua5.4 luajit; do
  if ensure "$interp"; then
    sum=$("$interp" sum.lua "$N_SUM" 2>/dev/null || echo unavailable)
    method=$("$interp" method.lua "$N_METHOD" 2>/dev/null || echo unavailable)
  else
    sum=unavailable
    method=unavailable
  fi
  echo "$interp sum_loop: $sum ns/iter"
  echo "$interp method_call: $method ns/iter"
done
