#!/usr/bin/env bash
# Runs every benchmark of the workspace and regenerates BENCHMARKS.md and docs/bench-plot.svg.
#
#   benches/run-all.sh            the full run (criterion's default times; about 7 minutes
#                                 on a 2-CPU machine, plus the first build)
#   QUICK=1 benches/run-all.sh    short criterion times and small peer loops (about 2.5 minutes
#                                 once built); the report says it is a QUICK run
#
# Steps:
#   1. Peers: installs what is missing from Debian packages with apt-get (as root, or with
#      passwordless sudo): lua5.4, luajit, liblua5.4-dev, libluajit-5.1-dev, netcat-openbsd.
#      Whatever cannot be installed becomes an "unavailable" row with the reason.
#   2. Builds the `tt` daemon (release), the bench binaries, and benches/peers/lua_call.c
#      against Lua 5.4 and LuaJIT.
#   3. Peers: benches/peers/run.sh (summing loop, method-call loop) and the lua_call programs.
#   4. `cargo bench -p tt-benches` (every bench), criterion's output in the run directory.
#   5. The report generator (`tt-bench-report`) writes BENCHMARKS.md and docs/bench-plot.svg;
#      the reasons for missed goals come from benches/report/reasons.md.
#
# Raw results stay in target/bench-report/ (TT_BENCH_OUT=DIR to change): criterion/ (what
# CRITERION_HOME points at), peers.txt, cargo-bench.log, install.log, meta.txt.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
OUT=${TT_BENCH_OUT:-$ROOT/target/bench-report}
STARTED=$(date +%s)

mkdir -p "$OUT"
rm -rf "$OUT/criterion" "$OUT/bin"
rm -f "$OUT"/*.txt "$OUT"/*.log
mkdir -p "$OUT/criterion" "$OUT/bin"
export CRITERION_HOME="$OUT/criterion"

if [ -n "$QUICK" ]; then
  WARM_UP=0.3
  MEASUREMENT=1
  CRITERION_ARGS=(--noplot --warm-up-time "$WARM_UP" --measurement-time "$MEASUREMENT")
  N_SUM=10000000
  N_METHOD=2000000
  N_LUA_CALL=1000000
  export TT_BENCH_NC_ITERS=50
else
  WARM_UP=3
  MEASUREMENT=5
  CRITERION_ARGS=(--noplot)
  N_SUM=100000000
  N_METHOD=20000000
  N_LUA_CALL=10000000
  export TT_BENCH_NC_ITERS=200
fi
PEER_RUNS=3

say() { printf '\n==> %s\n' "$*"; }
NOTES=()
note() {
  NOTES+=("$*")
  echo "    $*"
}

# --- 1. peers --------------------------------------------------------------------------------
SUDO=
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
fi
APT_UPDATED=
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    note "cannot install $*: no apt-get"
    return 1
  fi
  if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
    note "cannot install $*: apt-get needs root or passwordless sudo"
    return 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq >>"$OUT/install.log" 2>&1
    APT_UPDATED=1
  fi
  if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >>"$OUT/install.log" 2>&1; then
    note "installed $* with apt-get"
  else
    note "apt-get install $* failed (see $OUT/install.log)"
    return 1
  fi
}
nc_unix() { nc -h 2>&1 | grep -q -- '-U'; }

say "peers: checking lua5.4, luajit, their C headers, nc -U"
command -v lua5.4 >/dev/null 2>&1 || apt_install lua5.4
command -v luajit >/dev/null 2>&1 || apt_install luajit
[ -f /usr/include/lua5.4/lua.h ] || apt_install liblua5.4-dev
[ -f /usr/include/luajit-2.1/lua.h ] || apt_install libluajit-5.1-dev
nc_unix || apt_install netcat-openbsd

version() { # command args... -> first two words of its first line, or nothing
  command -v "$1" >/dev/null 2>&1 && "$@" 2>&1 | awk 'NR==1 {print $1, $2}'
}
LUA54_VERSION=$(version lua5.4 -v)
LUAJIT_VERSION=$(version luajit -v)
CC_VERSION=$(command -v cc >/dev/null 2>&1 && cc --version 2>/dev/null | head -n1)

# --- 2. builds -------------------------------------------------------------------------------
say "building the tt daemon and the bench binaries"
cargo build --release --locked -p tt || {
  echo "run-all.sh: cargo build -p tt failed" >&2
  exit 1
}
cargo bench --locked -p tt-benches --no-run || {
  echo "run-all.sh: building the benches failed" >&2
  exit 1
}
# The report generator is built now, so step 5 runs exactly this binary.
cargo build --release --locked -p tt-benches --bin tt-bench-report || {
  echo "run-all.sh: building the report generator failed" >&2
  exit 1
}
REPORT_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/tt-bench-report
cp "$REPORT_BIN" "$OUT/bin/tt-bench-report"

say "building benches/peers/lua_call.c"
: >"$OUT/peers.txt"
build_lua_call() { # label include-dir lib
  local label=$1 inc=$2 lib=$3
  if ! command -v cc >/dev/null 2>&1; then
    echo "no C compiler (cc)"
    return 1
  fi
  if [ ! -f "$inc/lua.h" ]; then
    echo "no $inc/lua.h (Debian package: ${4})"
    return 1
  fi
  cc -O2 -o "$OUT/bin/lua_call_$label" benches/peers/lua_call.c -I"$inc" "-l$lib" \
    >>"$OUT/install.log" 2>&1 || {
    echo "cc failed for $label (see $OUT/install.log)"
    return 1
  }
}
for spec in "lua5.4 /usr/include/lua5.4 lua5.4 liblua5.4-dev" \
  "luajit /usr/include/luajit-2.1 luajit-5.1 libluajit-5.1-dev"; do
  read -r label inc lib pkg <<<"$spec"
  if ! why=$(build_lua_call "$label" "$inc" "$lib" "$pkg"); then
    for id in lua_call lua_pcall c_indirect_call; do
      echo "peer $id/$label: unavailable ($why)" >>"$OUT/peers.txt"
    done
    note "lua_call peer for $label unavailable: $why"
  fi
done

# --- 3. peers --------------------------------------------------------------------------------
say "peers: Lua 5.4 and LuaJIT loops ($PEER_RUNS runs), lua_call programs"
for ((r = 1; r <= PEER_RUNS; r++)); do
  N_SUM=$N_SUM N_METHOD=$N_METHOD benches/peers/run.sh 2>>"$OUT/install.log" |
    while read -r interp what value _; do
      what=${what%:}
      case $what in
        sum_loop) script=sum.lua ;;
        *) script=method.lua ;;
      esac
      if [ "$value" = unavailable ]; then
        echo "peer $what/$interp: unavailable ($interp not installed, or benches/peers/$script failed)"
      else
        echo "peer $what/$interp: $value ns/iter ($interp, benches/peers/$script, best of 5)"
      fi
    done | tee -a "$OUT/peers.txt"
done
for label in lua5.4 luajit; do
  if [ -x "$OUT/bin/lua_call_$label" ]; then
    if ! "$OUT/bin/lua_call_$label" "$N_LUA_CALL" "$label" | tee -a "$OUT/peers.txt"; then
      echo "peer lua_call/$label: unavailable (the lua_call program failed)" | tee -a "$OUT/peers.txt"
    fi
  fi
done

# --- 4. criterion ----------------------------------------------------------------------------
say "cargo bench -p tt-benches -- ${CRITERION_ARGS[*]}"
BENCH_STATUS=0
cargo bench --locked -p tt-benches --no-fail-fast -- "${CRITERION_ARGS[@]}" 2>&1 |
  tee "$OUT/cargo-bench.log" || BENCH_STATUS=$?

# --- 5. report -------------------------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  COMMIT="$COMMIT + local changes"
fi
{
  echo "# written by benches/run-all.sh"
  echo "quick=${QUICK:+1}"
  echo "warm_up=$WARM_UP"
  echo "measurement=$MEASUREMENT"
  echo "started=$STARTED"
  echo "finished=$(date +%s)"
  echo "rustc=$(rustc -V)"
  echo "commit=$COMMIT"
  echo "lua54_version=${LUA54_VERSION:-not installed}"
  echo "luajit_version=${LUAJIT_VERSION:-not installed}"
  echo "cc_version=${CC_VERSION:-none}"
  echo "peer_n=sum $N_SUM, method $N_METHOD, lua_call $N_LUA_CALL, nc $TT_BENCH_NC_ITERS"
  if [ ${#NOTES[@]} -gt 0 ]; then
    (
      IFS=';'
      echo "install_note=${NOTES[*]}"
    )
  fi
} >"$OUT/meta.txt"

say "writing BENCHMARKS.md and docs/bench-plot.svg"
"$OUT/bin/tt-bench-report" \
  --run-dir "$OUT" --out "$ROOT/BENCHMARKS.md" --svg "$ROOT/docs/bench-plot.svg" \
  --reasons "$ROOT/benches/report/reasons.md" || exit 1

ELAPSED=$(($(date +%s) - STARTED))
echo "run-all.sh: done in $((ELAPSED / 60)) min $((ELAPSED % 60)) s${QUICK:+ (QUICK)}; raw results in $OUT"
if [ "$BENCH_STATUS" != 0 ]; then
  echo "run-all.sh: cargo bench failed (status $BENCH_STATUS); the rows it did not produce are marked unavailable" >&2
  exit "$BENCH_STATUS"
fi
