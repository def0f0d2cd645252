// Kernel selection: one table per ISA, chosen once per call site from what the CPU reports,
// and lowered (never raised) by MLPSTREAM_ISA so tests can run every path on one machine.
#include <cstdlib>
#include <cstring>

#include "core/gemm/kernels.h"
#include "core/gemm/kernels_portable.h"

namespace mlpstream {

namespace {

const KernelTable kPortableTable = {
    "portable",
    Isa::kPortable,
    portable::activation_forward,
    portable::activation_backward,
    portable::softmax_rows,
    portable::column_sums,
    portable::loss_and_grad,
    portable::sum_squares,
};

Isa best_supported() {
  if (cpu_supports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kPortable;
}

}  // namespace

bool cpu_supports(Isa isa) {
#if defined(MLPSTREAM_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kPortable: return true;
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == Isa::kPortable;
#endif
}

const KernelTable& kernels_for(Isa isa) {
  (void)isa;
  return kPortableTable;
}

const KernelTable& select_kernels() {
  Isa isa = best_supported();
  if (const char* forced = std::getenv("MLPSTREAM_ISA")) {
    if (std::strcmp(forced, "portable") == 0) isa = Isa::kPortable;
    else if (std::strcmp(forced, "avx2") == 0 && isa == Isa::kAvx512) isa = Isa::kAvx2;
  }
  return kernels_for(isa);
}

}  // namespace mlpstream
