#!/usr/bin/env bash
# Proves, as far as a Linux machine can, that the native code builds for win32-x64 (the
# release builds it there with clang-cl, Visual Studio's ClangCL toolset):
#  1. every native/core and native/binding file cross-compiles for Windows x64 (_WIN32, PE/COFF)
#     with MinGW-w64's g++ and with clang++ --target=x86_64-w64-windows-gnu (Clang's front end,
#     as in clang-cl), the project's warning flags and -Werror, the ISA files with their flags;
#  2. no object needs __cpu_model (what __builtin_cpu_supports links against: compiler-rt's,
#     which the MSVC linker does not bring in), and the core links into an .exe (native/tools);
#  3. the Windows programs run under Wine (on an x86-64 host): cpu_info.exe must pick the kernels
#     /proc/cpuinfo says this CPU runs and count the physical cores lscpu counts (the CPUID and
#     GetLogicalProcessorInformation paths), and xor_epochs.exe must learn XOR with every table;
#  4. native/core/gemm/cpuid.cc, the one file with an MSVC-only path, compiles with clang in
#     clang-cl mode for x86_64-pc-windows-msvc with the flags CMakeLists.txt gives clang-cl.
#     There are no MSVC headers here, so that file alone (it needs nothing of the C++ library
#     beyond <cstddef>/<cstdint>, shimmed below); the rest is not compiled against MSVC's STL.
# Not proven here: the addon itself (no node.lib, which is MSVC-only, to link the .node against),
# clang-cl with MSVC's headers, and real Windows (Wine reimplements its API).
#
#   scripts/check-windows.sh   (installs g++-mingw-w64-x86-64-posix, clang and wine64 with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

GXX=x86_64-w64-mingw32-g++-posix  # the posix thread model: the win32 one has no std::thread
need=()
command -v "$GXX" >/dev/null 2>&1 || need+=(g++-mingw-w64-x86-64-posix)
command -v clang++ >/dev/null 2>&1 || need+=(clang)
# Debian's wine64 puts its loader outside PATH.
wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
host_x64=$([ "$(uname -m)" = x86_64 ] && echo 1 || echo 0)
[ "$host_x64" = 0 ] || [ -x "$wine" ] || need+=(wine64)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  # Conditional on the tools being installable (no apt, no network): say so plainly and stop
  # without failing.
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
    echo "== win32-x64 check SKIPPED: ${need[*]} could not be installed"
    exit 0
  fi
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
# As CMakeLists.txt compiles the binding. The Node-API headers are SYSTEM includes there, but
# whether Visual Studio's ClangCL toolset passes them as such is not proven here: the Clang legs
# include them as ordinary headers, so their warnings count too (GCC's -Wshadow would flag them).
binding=(-DNAPI_VERSION="$napi" -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_CPP_EXCEPTIONS_ALL
  -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS)
napi_system=(-isystem node_modules/node-api-headers/include -isystem node_modules/node-addon-api)
napi_plain=(-Inode_modules/node-api-headers/include -Inode_modules/node-addon-api)

out="$(mktemp -d)"
# Wine's server outlives its programs by a few seconds: stop it before its prefix goes.
cleanup() {
  local prefix server
  server="$(dirname "$wine")/wineserver"
  for prefix in "$out"/wine*; do
    [ -d "$prefix" ] && [ -x "$server" ] && WINEPREFIX="$prefix" "$server" -k 2>/dev/null || true
  done
  rm -rf "$out"
}
trap cleanup EXIT
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
      native/binding/*)
        extra=("${binding[@]}")
        if [ "$name" = mingw-g++ ]; then extra+=("${napi_system[@]}"); else extra+=("${napi_plain[@]}"); fi
        ;;
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

if [ "$host_x64" = 1 ]; then
  echo "== the Windows programs under $("$wine" --version)"
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
  want=portable
  has avx2 fma && want=avx2
  has avx512f avx512bw avx512dq avx512vl fma && want=avx512
  cores=$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)
  run() { WINEPREFIX="$out/wine" WINEDEBUG=-all timeout 300 "$wine" "$@" 2>/dev/null | tr -d '\r'; }
  got=$(run "$out/cpu_info.exe")
  read -r _ kernels _ _ _ _ _ threads <<<"$got"
  if [ "$kernels" != "$want" ] || [ "$threads" != "$cores" ]; then
    echo "cpu_info.exe says '$got'; this machine: kernels $want (/proc/cpuinfo), $cores physical cores (lscpu)" >&2
    exit 1
  fi
  echo "   cpu_info.exe: $got (the host: $want, $cores cores)"
  # Only the cores the process may run on count. (A Wine of its own: its server keeps the affinity it started with.)
  if command -v taskset >/dev/null 2>&1; then
    got=$(WINEPREFIX="$out/wine-cpu0" WINEDEBUG=-all timeout 300 taskset -c 0 "$wine" "$out/cpu_info.exe" 2>/dev/null | tr -d '\r')
    [[ "$got" == *" threads 1" ]] || { echo "cpu_info.exe on CPU 0 only: '$got', not 1 thread" >&2; exit 1; }
    echo "   cpu_info.exe under taskset -c 0: $got"
  fi
  isas=(portable)
  [ "$want" = portable ] || isas+=(avx2)
  [ "$want" != avx512 ] || isas+=(avx512)
  for isa in "${isas[@]}"; do
    line=$(MLPSTREAM_ISA=$isa run "$out/xor_epochs.exe" 3000 | tail -1)
    # The 2-4-1 network starts near ln 2 = 0.69; trained, its loss is about 0.002.
    if ! [[ "$line" == "$isa, "* ]] || ! awk -v l="${line##*loss }" 'BEGIN { exit !(l < 0.01) }'; then
      echo "xor_epochs.exe with MLPSTREAM_ISA=$isa: '$line'" >&2
      exit 1
    fi
    echo "   xor_epochs.exe: $line"
  done
else
  echo "== not an x86-64 host: the Windows programs are not run"
fi

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
echo "win32-x64: every native file compiles for Windows x64 warning-free; the core runs under Wine (not proven here: the .node, MSVC's headers, real Windows)"
