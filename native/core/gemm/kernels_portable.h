// Portable kernel entry points, used by the portable table and as the building blocks other
// tables fall back to for entries they do not vectorise.
#pragma once

#include "core/gemm/kernels.h"

namespace mlpstream::portable {

void activation_forward(ActivationSpec f, const float* x, float* y, std::size_t n);
void activation_backward(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n);
void softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);
void column_sums(const float* x, int ld, int rows, int cols, float* out);
LossSums loss_and_grad(Loss loss, const float* out, int ld_out, Targets targets, int rows, int cols, float scale,
                       float* grad, int ld_grad);
double sum_squares(const float* x, std::size_t n);

}  // namespace mlpstream::portable

namespace mlpstream::portable {

extern const GemmBlocking kGemmBlocking;
void sgemm_ukernel_4x8_portable(int k, const float* a, std::ptrdiff_t rs_a, std::ptrdiff_t cs_a, const float* b,
                                std::ptrdiff_t rs_b, float* c, std::ptrdiff_t ldc, int mr, int nr,
                                const GemmTileArgs& args);
void log_softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);
void sgd_update(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s);
void adam_update(float* params, const float* grads, float* m, float* v, std::size_t n, const OptimizerStep& s);
void rmsprop_update(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s);
double fma_peak(std::int64_t iterations, float* sink);

}  // namespace mlpstream::portable
