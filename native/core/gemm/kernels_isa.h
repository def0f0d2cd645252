// Declarations of the per-ISA kernel entry points (definitions in kernels_avx2.cc and
// kernels_avx512.cc, each compiled with its own -m flags). Declarations only: nothing inline
// here, so no AVX-compiled copy of shared code can leak into generic callers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/gemm/kernels.h"

#define MLPSTREAM_DECLARE_ISA_KERNELS(ns)                                                                            \
  namespace ns {                                                                                                      \
  extern const GemmBlocking kGemmBlocking;                                                                           \
  void activation_forward(ActivationSpec f, const float* x, float* y, std::size_t n);                                \
  void activation_backward(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n);             \
  void softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);                               \
  void log_softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);                           \
  void column_sums(const float* x, int ld, int rows, int cols, float* out);                                          \
  double sum_squares(const float* x, std::size_t n);                                                                 \
  void sgd_update(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s);        \
  void adam_update(float* params, const float* grads, float* m, float* v, std::size_t n, const OptimizerStep& s);    \
  void rmsprop_update(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s);          \
  double fma_peak(std::int64_t iterations, float* sink);                                                             \
  }

namespace mlpstream {

namespace avx512 {
// 12 x 32 micro-tile: 24 zmm accumulators (two 16-float vectors per row), 2 for B, 1 broadcast.
void sgemm_ukernel_12x32_avx512(int k, const float* a, std::ptrdiff_t rs_a, std::ptrdiff_t cs_a, const float* b,
                                std::ptrdiff_t rs_b, float* c, std::ptrdiff_t ldc, int mr, int nr,
                                const GemmTileArgs& args);
}  // namespace avx512
MLPSTREAM_DECLARE_ISA_KERNELS(avx512)

namespace avx2 {
// 6 x 16 micro-tile: 12 ymm accumulators (two 8-float vectors per row), 2 for B, 1 broadcast.
void sgemm_ukernel_6x16_avx2(int k, const float* a, std::ptrdiff_t rs_a, std::ptrdiff_t cs_a, const float* b,
                             std::ptrdiff_t rs_b, float* c, std::ptrdiff_t ldc, int mr, int nr,
                             const GemmTileArgs& args);
}  // namespace avx2
MLPSTREAM_DECLARE_ISA_KERNELS(avx2)

}  // namespace mlpstream
