// The serving path's dense layer for a few rows: y = x * W + b for rows <= kDenseRowsMax.
//
// One sample through a 784-256-128-10 network is a chain of vector-matrix products: the whole
// cost is streaming W (940 KB, in L2) once per layer, which these kernels do at full vector
// width. The general GEMM (core/gemm) serves batches; when it grows a small-m path of the same
// speed, Model::predict can drop this one.
//
// Each ISA lives in its own translation unit (dense_rows_avx2.cc, dense_rows_avx512.cc) built
// with its own flags; select_dense_rows() picks the best one the CPU runs, lowered by
// MLPSTREAM_ISA like the kernel tables.
#pragma once

namespace mlpstream {

inline constexpr int kDenseRowsMax = 4;

// y[r][j] = b[j] + sum_p x[r][p] * w[p][j], for r < rows <= kDenseRowsMax, p < k, j < n.
// x has leading dimension ldx, w is row-major k x n (ld n), y has leading dimension ldy.
using DenseRowsFn = void (*)(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n,
                             float* y, int ldy);

void dense_rows_portable(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                         int ldy);
#if defined(MLPSTREAM_X86)
void dense_rows_avx2(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                     int ldy);
void dense_rows_avx512(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                       int ldy);
#endif

// The fastest variant this CPU runs (respecting MLPSTREAM_ISA), and its name.
DenseRowsFn select_dense_rows(const char** name = nullptr);

}  // namespace mlpstream
