// Prints what the native core decides about this machine: the kernel table it picks, which
// ISAs the CPU check accepts, and the default thread count (physical cores it may run on).
// scripts/check-windows.sh runs the Windows build of it under Wine and compares the answers
// with the host's; on any platform it shows why a prebuild chose what it chose.
//   cmake -S . -B build-tools -DMLPSTREAM_NATIVE_TOOLS=ON && cmake --build build-tools -j2
//   build-tools/cpu_info     ->  kernels avx512 avx2 1 avx512 1 threads 2
#include <cstdio>

#include "core/gemm/kernels.h"
#include "core/util/thread_pool.h"

using namespace mlpstream;

int main() {
  std::printf("kernels %s avx2 %d avx512 %d threads %d\n", select_kernels().name, cpu_supports(Isa::kAvx2) ? 1 : 0,
              cpu_supports(Isa::kAvx512) ? 1 : 0, default_thread_count());
  return 0;
}
