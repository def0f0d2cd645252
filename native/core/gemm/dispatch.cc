// Kernel selection: one table per ISA, chosen once from what the CPU reports, and lowered
// (never raised) by MLPSTREAM_ISA so tests can run every path on one machine.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/gemm/kernels_portable.h"
#if defined(MLPSTREAM_X86)
#include "core/gemm/kernels_isa.h"
#endif

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
    portable::log_softmax_rows,
    portable::sum_squares,
    portable::sgd_update,
    portable::adam_update,
    portable::rmsprop_update,
    portable::kGemmBlocking,
    portable::sgemm_ukernel_4x8_portable,
    portable::fma_peak,
};

#if defined(MLPSTREAM_X86)
// loss_and_grad stays portable: it runs on batch x outputs values (128 x 10 in the reference
// network), row by row with a log-sum-exp and a label lookup, a few microseconds per step.
const KernelTable kAvx2Table = {
    "avx2",
    Isa::kAvx2,
    avx2::activation_forward,
    avx2::activation_backward,
    avx2::softmax_rows,
    avx2::column_sums,
    portable::loss_and_grad,
    avx2::log_softmax_rows,
    avx2::sum_squares,
    avx2::sgd_update,
    avx2::adam_update,
    avx2::rmsprop_update,
    avx2::kGemmBlocking,
    avx2::sgemm_ukernel_6x16_avx2,
    avx2::fma_peak,
};

const KernelTable kAvx512Table = {
    "avx512",
    Isa::kAvx512,
    avx512::activation_forward,
    avx512::activation_backward,
    avx512::softmax_rows,
    avx512::column_sums,
    portable::loss_and_grad,
    avx512::log_softmax_rows,
    avx512::sum_squares,
    avx512::sgd_update,
    avx512::adam_update,
    avx512::rmsprop_update,
    avx512::kGemmBlocking,
    avx512::sgemm_ukernel_12x32_avx512,
    avx512::fma_peak,
};
#endif

Isa best_supported() {
  if (cpu_supports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kPortable;
}

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

template <typename F>
std::size_t max_over_tables(F f) {
  std::size_t most = f(kPortableTable.gemm_blocking);
#if defined(MLPSTREAM_X86)
  most = std::max(most, f(kAvx2Table.gemm_blocking));
  most = std::max(most, f(kAvx512Table.gemm_blocking));
#endif
  return most;
}

}  // namespace

std::size_t gemm_packed_a_floats() {
  return max_over_tables([](const GemmBlocking& b) {
    return round_up(static_cast<std::size_t>(b.mc), static_cast<std::size_t>(b.mr)) * static_cast<std::size_t>(b.kc);
  });
}

std::size_t gemm_packed_b_floats() {
  return max_over_tables([](const GemmBlocking& b) {
    return round_up(static_cast<std::size_t>(b.nc), static_cast<std::size_t>(b.nr)) * static_cast<std::size_t>(b.kc);
  });
}

bool cpu_supports(Isa isa) {
#if defined(MLPSTREAM_X86) && defined(_WIN32)
  // __builtin_cpu_supports would need compiler-rt's __cpu_model, which MSVC's linker lacks.
  return cpuid_supports(isa);
#elif defined(MLPSTREAM_X86)
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
#if defined(MLPSTREAM_X86)
  if (isa == Isa::kAvx512 && cpu_supports(Isa::kAvx512)) return kAvx512Table;
  if (isa >= Isa::kAvx2 && cpu_supports(Isa::kAvx2)) return kAvx2Table;
#else
  (void)isa;
#endif
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
