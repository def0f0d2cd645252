#!/usr/bin/env bash
# Proves, as far as a Linux machine can, that the native code builds for win32-x64 (the
# release builds it there with clang-cl, Visual Studio's ClangCL toolset):
#  1. every native/core and native/binding file cross-compiles for Windows x64 (_WIN32, PE/COFF)
#     with MinGW-w64's g++ and with clang++ --target=x86_64-w64-windows-gnu (Clang's front end,
#     as in clang-cl), the project's warning flags and -Werror, the ISA files with their flags;
#  2. no object needs __cpu_model (what __builtin_cpu_supports links against: compiler-rt's,
#     which the MSVC linker does not bring in), and the core links into an .exe (native/tools);
#  3. native/core/gemm/cpuid.cc, the one file with an MSVC-only path, compiles with clang in
#     clang-cl mode for x86_64-pc-windows-msvc with the flags CMakeLists.txt gives clang-cl.
#     There are no MSVC headers here, so that file alone (it needs nothing of the C++ library
#     beyond <cstddef>/<cstdint>, shimmed below); the rest is not compiled against MSVC's STL.
# Compile-only: no node.lib (MSVC-only) to link the .node against, no Windows to run it on.
#
#   scripts/check-windows.sh   (installs g++-mingw-w64-x86-64-posix and clang with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

GXX=x86_64-w64-mingw32-g++-posix  # the posix thread model: the win32 one has no std::thread
need=()
command -v "$GXX" >/dev/null 2>&1 || need+=(g++-mingw-w64-x86-64-posix)
command -v clang++ >/dev/null 2>&1 || need+=(clang)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
for dir in node_modules/node-api-headers/include node_modules/node-addon-api; do
  [ -d "$dir" ] || { echo "missing $dir: run npm ci first" >&2; exit 1; }
done

# The per-file ISA flags, read from CMakeLists.txt so that the two never disagree.
isa_flags() {
  local f
  f=$(grep -o "COMPILE_OPTIONS \"$1[^\"]*\"" CMakeLists.txt | head -1 | sed 's/^COMPILE_OPTIONS "//; s/"$//' | tr ';' ' ')
  [ -n "$f" ] || { echo "no COMPILE_OPTIONS starting with $1 in CMakeLists.txt" >&2; exit 1; }
  echo "$f"
}
read -r -a avx512 <<<"$(isa_flags -mavx512f)"
read -r -a avx2 <<<"$(isa_flags -mavx2)"
napi=$(node -p "require('./package.json').binary.napi_versions[0]")

warnings=(-Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wnull-dereference)
common=(-std=c++17 -O2 -Wall -Wextra "${warnings[@]}" -Werror -Inative -DMLPSTREAM_X86=1 -D_CRT_SECURE_NO_WARNINGS)
# As CMakeLists.txt compiles the binding (the Node-API headers are SYSTEM includes there too).
binding=(-isystem node_modules/node-api-headers/include -isystem node_modules/node-addon-api
  -DNAPI_VERSION="$napi" -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_CPP_EXCEPTIONS_ALL
  -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mapfile -t sources < <(find native/core native/binding -name '*.cc' | sort)

# compile <name> <compiler and its target flags...>: every source into $out/<name>/.
compile() {
  local name=$1 src obj extra
  shift
  mkdir -p "$out/$name"
  local start=$SECONDS
  for src in "${sources[@]}"; do
    extra=()
    case "$src" in
      *_avx512.cc) extra=("${avx512[@]}") ;;
      *_avx2.cc) extra=("${avx2[@]}") ;;
      native/binding/*) extra=("${binding[@]}") ;;
    esac
    obj="$out/$name/$(echo "$src" | tr '/' '_').o"
    "$@" "${common[@]}" "${extra[@]}" -c "$src" -o "$obj"
    if ! x86_64-w64-mingw32-objdump -f "$obj" | grep -q 'file format pe-x86-64'; then
      echo "not a PE/COFF x86-64 object: $obj ($name)" >&2
      exit 1
    fi
  done
  # __builtin_cpu_supports compiles to references to these; on Windows cpuid.cc answers instead.
  if x86_64-w64-mingw32-nm -u "$out/$name"/*.o | grep -E '__cpu_(model|indicator_init|features2)'; then
    echo "$name: an object still needs the compiler runtime's CPU model (above)" >&2
    exit 1
  fi
  echo "   $name: ${#sources[@]} files compiled warning-free to PE/COFF x86-64 ($((SECONDS - start)) s)"
}

echo "== Windows x64: MinGW-w64 $($GXX -dumpversion)"
compile mingw-g++ "$GXX"
# The core linked into a Windows program: every symbol it needs is defined (the Node-API
# functions the binding needs come from node.exe, which has no MinGW import library here).
x86_64-w64-mingw32-ar rcs "$out/libmlpstream_core.a" "$out"/mingw-g++/native_core_*.o
for tool in native/tools/*.cc; do
  exe="$out/$(basename "$tool" .cc).exe"
  "$GXX" "${common[@]}" "$tool" "$out/libmlpstream_core.a" -static -o "$exe"
  x86_64-w64-mingw32-objdump -f "$exe" | grep -q 'file format pei-x86-64' || { echo "not a PE executable: $exe" >&2; exit 1; }
  echo "   mingw-g++: linked $(basename "$exe") against the core ($(du -h "$exe" | cut -f1))"
done

echo "== Windows x64: $(clang++ --version | head -1), --target=x86_64-w64-windows-gnu"
# Clang does not find Debian's MinGW libstdc++ (its directory is named 12-posix, not 12) and
# would search the host's /usr/include: give it MinGW g++'s C++ directories, then its own
# headers, then MinGW's C headers, and nothing else.
mapfile -t cxx_dirs < <("$GXX" -v -E -x c++ /dev/null 2>&1 | sed -n '/<\.\.\.> search starts/,/End of/p' | grep '/include/c++' | sed 's/^ *//')
clang_inc=(-nostdinc -nostdinc++)
for dir in "${cxx_dirs[@]}"; do clang_inc+=(-isystem "$dir"); done
clang_inc+=(-isystem "$(clang++ -print-resource-dir)/include" -isystem /usr/x86_64-w64-mingw32/include)
compile clang-mingw clang++ --target=x86_64-w64-windows-gnu "${clang_inc[@]}"

# clang-cl: CMakeLists.txt's flags for it (/W4, the -W list, /WX, the ISA -m flags), checked on
# cpuid.cc with the MSVC target; <cstddef>/<cstdint> come from a shim over Clang's own C headers.
echo "== clang-cl mode (--driver-mode=cl --target=x86_64-pc-windows-msvc): native/core/gemm/cpuid.cc"
mkdir -p "$out/shim"
printf '#pragma once\n#include <stddef.h>\nnamespace std { using ::size_t; using ::ptrdiff_t; }\n' >"$out/shim/cstddef"
printf '#pragma once\n#include <stdint.h>\nnamespace std { using ::int8_t; using ::uint8_t; using ::int16_t; using ::uint16_t; using ::int32_t; using ::uint32_t; using ::int64_t; using ::uint64_t; using ::intptr_t; using ::uintptr_t; }\n' >"$out/shim/cstdint"
clang_cl=(clang --driver-mode=cl --target=x86_64-pc-windows-msvc /nologo /W4 "${warnings[@]}" /WX /std:c++17 /EHsc /O2
  /clang:-ffreestanding -imsvc "$out/shim" -Inative -DMLPSTREAM_X86=1 -D_CRT_SECURE_NO_WARNINGS)
for isa in none avx2 avx512; do
  case $isa in none) extra=() ;; avx2) extra=("${avx2[@]}") ;; avx512) extra=("${avx512[@]}") ;; esac
  # `--`: in cl mode a path starting with / would be read as an option.
  "${clang_cl[@]}" "${extra[@]}" /c "/Fo$out/cpuid-$isa.obj" -- native/core/gemm/cpuid.cc
done
x86_64-w64-mingw32-objdump -f "$out/cpuid-none.obj" | grep -q 'file format pe-x86-64'
x86_64-w64-mingw32-objdump -d "$out/cpuid-none.obj" | grep -qP '\txgetbv' || { echo "clang-cl: no XGETBV in cpuid.obj" >&2; exit 1; }
echo "   clang-cl: cpuid.cc compiled warning-free (/W4 /WX), with and without the ISA flags (MSVC name mangling, CPUID/XGETBV inline)"
echo "windows-x64: compile-only proof passed (no MSVC STL, node.lib or Windows run here)"
