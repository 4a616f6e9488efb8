#!/usr/bin/env bash
# Installs libtrashtalk for C users into a prefix (docs/capi.md "Install"), the layout cargo-c's
# `cargo cinstall` produces:
#
#   <libdir>/libtrashtalk.so.X.Y.Z          the library, stripped (SONAME libtrashtalk.so.X)
#   <libdir>/libtrashtalk.so.X              -> libtrashtalk.so.X.Y.Z   (what the loader finds)
#   <libdir>/libtrashtalk.so                -> libtrashtalk.so.X       (what -ltrashtalk finds)
#   <libdir>/.debug/libtrashtalk.so.X.Y.Z.debug   its debug info (found by gdb via .gnu_debuglink)
#   <includedir>/libtrashtalk.h
#   <libdir>/pkgconfig/trashtalk.pc
#
# Usage: capi/install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--destdir DIR]
#                        [--release | --debug | --profile NAME] [--lib FILE] [--no-strip]
#   --prefix      default /usr/local; libdir default <prefix>/lib, includedir <prefix>/include
#   --destdir     staging root prepended to every installed path (packaging), not to the .pc
#   --profile     Cargo profile to build (default release; --debug = dev)
#   --lib FILE    install this already-built libtrashtalk.so instead of running cargo build
#   --no-strip    install the library with its debug info (no .debug file)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
prefix=/usr/local
libdir=
includedir=
destdir=
profile=release
lib=
strip=1

die() { echo "install.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --libdir) libdir="${2:?--libdir needs a directory}"; shift 2 ;;
    --libdir=*) libdir="${1#*=}"; shift ;;
    --includedir) includedir="${2:?--includedir needs a directory}"; shift 2 ;;
    --includedir=*) includedir="${1#*=}"; shift ;;
    --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --release) profile=release; shift ;;
    --debug) profile=dev; shift ;;
    --profile) profile="${2:?--profile needs a name}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --lib) lib="${2:?--lib needs a file}"; shift 2 ;;
    --lib=*) lib="${1#*=}"; shift ;;
    --no-strip) strip=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
[ -n "$libdir" ] || libdir="$prefix/lib"
[ -n "$includedir" ] || includedir="$prefix/include"

# The version: [workspace.package] of the root Cargo.toml (the crate `trashtalk` inherits it).
version="$(awk '/^\[/{s=($0=="[workspace.package]")} s && /^version *=/{gsub(/[" ]/,"");sub(/version=/,"");print;exit}' "$root/Cargo.toml")"
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "cannot read the version from $root/Cargo.toml (got '$version')"
major="${BASH_REMATCH[1]}"
soname="libtrashtalk.so.$major"
real="libtrashtalk.so.$version"

if [ -z "$lib" ]; then
  (cd "$root" && cargo build -p trashtalk --lib --profile "$profile")
  case "$profile" in dev|test) pdir=debug ;; bench) pdir=release ;; *) pdir="$profile" ;; esac
  lib="${CARGO_TARGET_DIR:-$root/target}/$pdir/libtrashtalk.so"
fi
[ -f "$lib" ] || die "library not found: $lib"

# The SONAME is set at link time (capi/build.rs); refuse a library built before that.
if command -v readelf >/dev/null 2>&1; then
  readelf -d "$lib" | grep -q "Library soname: \[$soname\]" \
    || die "$lib does not carry the SONAME $soname (rebuild it)"
fi

L="$destdir$libdir"
I="$destdir$includedir"
mkdir -p "$L/pkgconfig" "$I"
rm -f "$L/$real" "$L/$soname" "$L/libtrashtalk.so"
if [ "$strip" = 1 ]; then
  command -v objcopy >/dev/null 2>&1 || die "objcopy (binutils) is needed to strip; or pass --no-strip"
  mkdir -p "$L/.debug"
  dbg="$L/.debug/$real.debug"
  objcopy --only-keep-debug "$lib" "$dbg"
  chmod 644 "$dbg"
  # --add-gnu-debuglink records the debug file's name and CRC; gdb looks for it next to the
  # library and in its .debug/ directory.
  objcopy --strip-debug --strip-unneeded --add-gnu-debuglink="$dbg" "$lib" "$L/$real.tmp"
  mv -f "$L/$real.tmp" "$L/$real"
else
  cp -f "$lib" "$L/$real"
fi
chmod 755 "$L/$real"
ln -s "$real" "$L/$soname"
ln -s "$soname" "$L/libtrashtalk.so"
install -m 644 "$here/include/libtrashtalk.h" "$I/libtrashtalk.h"

# pkg-config file; the default layout is written relative to ${prefix} so the prefix can move.
pc_libdir="$libdir"; [ "$libdir" = "$prefix/lib" ] && pc_libdir='${exec_prefix}/lib'
pc_incdir="$includedir"; [ "$includedir" = "$prefix/include" ] && pc_incdir='${prefix}/include'
cat > "$L/pkgconfig/trashtalk.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=$pc_libdir
includedir=$pc_incdir

Name: trashtalk
Description: Trashtalk runtime library (libtrashtalk): the C ABI for hosts and native plugins
Version: $version
Libs: -L\${libdir} -ltrashtalk
Cflags: -I\${includedir}
PC
chmod 644 "$L/pkgconfig/trashtalk.pc"

echo "installed libtrashtalk $version into $destdir$prefix:"
echo "  $L/$real (SONAME $soname) + links $soname, libtrashtalk.so"
[ "$strip" = 1 ] && echo "  $L/.debug/$real.debug (debug info)"
echo "  $I/libtrashtalk.h"
echo "  $L/pkgconfig/trashtalk.pc"
