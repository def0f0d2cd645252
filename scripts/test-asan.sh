#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UBSan into build-asan/ and runs the whole test
# suite against it (lib/binding.ts loads MLPSTREAM_ADDON_PATH). Node itself is not
# instrumented, so the sanitizer runtimes are preloaded; leak checking is off (V8 and Node
# keep allocations until exit by design). Any sanitizer report aborts the test process.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile -O build-asan --CDMLPSTREAM_SANITIZE=ON
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Absolute: the command-line tests run their commands from temporary folders.
export MLPSTREAM_ADDON_PATH="$PWD/build-asan/Release/mlpstream.node"
exec npx vitest run "$@"
