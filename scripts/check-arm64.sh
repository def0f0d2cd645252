#!/usr/bin/env bash
# Proves that the native core (everything but the x86 ISA files, which CMake leaves out on
# other processors) compiles for arm64: cross-compiles every native/core/*.cc except
# *_avx2.cc / *_avx512.cc with Debian's aarch64 g++ and the project's warning flags, links
# them into a static library, and checks the objects are AArch64.
#
#   scripts/check-arm64.sh          (installs g++-aarch64-linux-gnu with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=aarch64-linux-gnu-g++
AR=aarch64-linux-gnu-ar
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "== installing g++-aarch64-linux-gnu"
  # The proof is conditional on the cross compiler being installable (no apt, no network):
  # say so plainly and stop without failing.
  if ! { apt-get update -qq && apt-get install -y -qq g++-aarch64-linux-gnu >/dev/null; }; then
    echo "== arm64 check SKIPPED: g++-aarch64-linux-gnu could not be installed"
    exit 0
  fi
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags=(-std=c++17 -O2 -fPIC -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wnull-dereference -Werror -Inative)
objs=()
while IFS= read -r src; do
  case "$src" in
    *_avx2.cc | *_avx512.cc) continue ;;
  esac
  obj="$out/$(echo "$src" | tr '/' '_').o"
  echo "   $CXX $src"
  "$CXX" "${flags[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done < <(find native/core -name '*.cc' | sort)
"$AR" rcs "$out/libmlpstream_core.a" "${objs[@]}"
# The cross binutils come with the compiler, so this check never depends on `file` being there.
if ! aarch64-linux-gnu-readelf -h "${objs[0]}" | grep -q 'Machine:.*AArch64'; then
  echo "not an AArch64 object: ${objs[0]}" >&2
  exit 1
fi
echo "arm64: ${#objs[@]} translation units of native/core compiled and archived ($(du -h "$out/libmlpstream_core.a" | cut -f1)), warning-free (-Werror)"
