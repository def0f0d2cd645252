// GEMM internals shared by the driver and the per-ISA kernels.
#pragma once

#include "core/gemm/kernels.h"
#include "core/util/aligned_buffer.h"

namespace mlpstream {

// Packing buffers for one caller of sgemm (a training session or a predictor). Sized once
// when created; sgemm never allocates.
class GemmWorkspace {
 public:
  GemmWorkspace() = default;
};

// Applies the epilogue to one finished row segment c[0..n) of row i (acc already holds alpha*AB + beta*C).
void apply_epilogue_row(const Epilogue& epilogue, int row, int col0, float* c, int n);

}  // namespace mlpstream
