#include "core/nn/dense_rows.h"

#include <cstdlib>
#include <cstring>

#include "core/gemm/kernels.h"

namespace mlpstream {

void dense_rows_portable(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                         int ldy) {
  for (int r = 0; r < rows; ++r) {
    float* yr = y + static_cast<std::ptrdiff_t>(r) * ldy;
    const float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
    for (int j = 0; j < n; ++j) yr[j] = b[j];
    // Row p of W scaled by x[p], added to the output: contiguous in j, so it vectorises.
    for (int p = 0; p < k; ++p) {
      const float xp = xr[p];
      const float* wp = w + static_cast<std::ptrdiff_t>(p) * n;
      for (int j = 0; j < n; ++j) yr[j] += xp * wp[j];
    }
  }
}

DenseRowsFn select_dense_rows(const char** name) {
  Isa isa = Isa::kPortable;
  if (cpu_supports(Isa::kAvx512)) isa = Isa::kAvx512;
  else if (cpu_supports(Isa::kAvx2)) isa = Isa::kAvx2;
  if (const char* forced = std::getenv("MLPSTREAM_ISA")) {
    if (std::strcmp(forced, "portable") == 0) isa = Isa::kPortable;
    else if (std::strcmp(forced, "avx2") == 0 && isa == Isa::kAvx512) isa = Isa::kAvx2;
  }
#if defined(MLPSTREAM_X86)
  if (isa == Isa::kAvx512) {
    if (name) *name = "avx512";
    return dense_rows_avx512;
  }
  if (isa == Isa::kAvx2) {
    if (name) *name = "avx2";
    return dense_rows_avx2;
  }
#endif
  if (name) *name = "portable";
  return dense_rows_portable;
}

}  // namespace mlpstream
