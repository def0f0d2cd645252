#!/usr/bin/env bash
# Builds the addon for publishing and copies it to prebuilds/<platform>-<arch>/ where the
# package's loader (pkg-prebuilds) finds it, so users install without a compiler. One x86-64
# binary serves every x86-64 CPU: the AVX-512 / AVX2+FMA / portable kernels are chosen at run
# time. Run on each platform/arch to publish for (.github/workflows/release.yml does, and packs
# them all into one tarball); here it makes the linux-x64 one.
set -euo pipefail
cd "$(dirname "$0")/.."
napi=$(node -p "require('./package.json').binary.napi_versions[0]")
# Alpine's musl binaries go beside the glibc ones, under a name of their own.
libc=()
if [ -f /etc/alpine-release ]; then libc=(--libc musl); fi
# Windows: clang-cl, Visual Studio's ClangCL toolset (cl.exe cannot compile the kernels).
toolset=()
if [ "$(node -p process.platform)" = win32 ]; then toolset=(--toolset ClangCL); fi
rm -rf build-prebuild
npx cmake-js compile -O build-prebuild --CDMLPSTREAM_WERROR=ON ${toolset[@]+"${toolset[@]}"}
npx pkg-prebuilds-copy --baseDir build-prebuild/Release --source mlpstream.node --name mlpstream --strip --napi_version "$napi" ${libc[@]+"${libc[@]}"}
ls -l prebuilds/*/
