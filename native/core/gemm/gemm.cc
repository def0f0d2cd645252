// GEMM driver. This first version is the plain reference loop (correct on every shape and
// the oracle for the blocked kernels); the blocked, packed driver replaces its body.
#include <vector>

#include "core/gemm/activation_math.h"
#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

void apply_epilogue_row(const Epilogue& epilogue, int row, int col0, float* c, int n) {
  switch (epilogue.kind) {
    case Epilogue::Kind::kNone: return;
    case Epilogue::Kind::kBiasActivation:
      for (int j = 0; j < n; ++j) {
        const float z = epilogue.bias != nullptr ? c[j] + epilogue.bias[col0 + j] : c[j];
        c[j] = scalar::activate(epilogue.activation, z);
      }
      return;
    case Epilogue::Kind::kActivationGrad: {
      const float* y = epilogue.act_output + static_cast<std::ptrdiff_t>(row) * epilogue.ld_act_output + col0;
      for (int j = 0; j < n; ++j) c[j] *= scalar::derivative_from_output(epilogue.activation, y[j]);
      return;
    }
  }
}

void sgemm(const KernelTable& /*kernels*/, GemmWorkspace& /*workspace*/, ThreadPool* /*pool*/, Transpose trans_a,
           Transpose trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc, const Epilogue& epilogue) {
  const bool ta = trans_a == Transpose::kYes;
  const bool tb = trans_b == Transpose::kYes;
  for (int i = 0; i < m; ++i) {
    float* ci = c + static_cast<std::ptrdiff_t>(i) * ldc;
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int p = 0; p < k; ++p) {
        const float av = ta ? a[static_cast<std::ptrdiff_t>(p) * lda + i] : a[static_cast<std::ptrdiff_t>(i) * lda + p];
        const float bv = tb ? b[static_cast<std::ptrdiff_t>(j) * ldb + p] : b[static_cast<std::ptrdiff_t>(p) * ldb + j];
        acc += av * bv;
      }
      ci[j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * ci[j];
    }
    apply_epilogue_row(epilogue, i, 0, ci, n);
  }
}

}  // namespace mlpstream
