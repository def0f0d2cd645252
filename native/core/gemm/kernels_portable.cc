// Portable kernels: plain C++ that compiles anywhere (x86-64 baseline, arm64). They are
// the fallback on CPUs without AVX2 and the implementation every other table is checked against.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/gemm/activation_math.h"
#include "core/gemm/kernels.h"
#include "core/gemm/kernels_portable.h"

namespace mlpstream::portable {

void activation_forward(ActivationSpec f, const float* x, float* y, std::size_t n) {
  switch (f.kind) {
    case Activation::kLinear:
    case Activation::kSoftmax:
      if (x != y) std::copy(x, x + n, y);
      return;
    default:
      for (std::size_t i = 0; i < n; ++i) y[i] = scalar::activate(f, x[i]);
  }
}

void activation_backward(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * scalar::derivative_from_output(f, y[i]);
}

void softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<std::ptrdiff_t>(r) * ld_z;
    float* yr = y + static_cast<std::ptrdiff_t>(r) * ld_y;
    float max = zr[0];
    for (int c = 1; c < cols; ++c) max = std::max(max, zr[c]);
    float sum = 0.0f;
    for (int c = 0; c < cols; ++c) {
      yr[c] = std::exp(zr[c] - max);
      sum += yr[c];
    }
    const float inv = 1.0f / sum;
    for (int c = 0; c < cols; ++c) yr[c] *= inv;
  }
}

void column_sums(const float* x, int ld, int rows, int cols, float* out) {
  std::fill(out, out + cols, 0.0f);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::ptrdiff_t>(r) * ld;
    for (int c = 0; c < cols; ++c) out[c] += xr[c];
  }
}

namespace {

// log(1 + exp(-|z|)) + max(z, 0) - z*y: binary cross-entropy of sigmoid(z) against y,
// computed from the logit so it stays finite however confident the output is.
inline float bce_from_logit(float z, float y) {
  return std::max(z, 0.0f) - z * y + std::log1p(std::exp(-std::fabs(z)));
}

LossSums mse(const float* out, int ld_out, const float* target, int rows, int cols, float scale, float* grad,
             int ld_grad) {
  LossSums sums;
  for (int r = 0; r < rows; ++r) {
    const float* o = out + static_cast<std::ptrdiff_t>(r) * ld_out;
    const float* t = target + static_cast<std::ptrdiff_t>(r) * cols;
    float* g = grad + static_cast<std::ptrdiff_t>(r) * ld_grad;
    double row = 0;
    for (int c = 0; c < cols; ++c) {
      const float d = o[c] - t[c];
      row += static_cast<double>(d) * d;
      g[c] = 2.0f * d * scale;
    }
    sums.squared_error += row;
    sums.loss += row / cols;
  }
  return sums;
}

LossSums binary_cross_entropy(const float* logits, int ld_out, const float* target, int rows, int cols,
                              float scale, float* grad, int ld_grad) {
  LossSums sums;
  for (int r = 0; r < rows; ++r) {
    const float* z = logits + static_cast<std::ptrdiff_t>(r) * ld_out;
    const float* t = target + static_cast<std::ptrdiff_t>(r) * cols;
    float* g = grad + static_cast<std::ptrdiff_t>(r) * ld_grad;
    double row = 0;
    for (int c = 0; c < cols; ++c) {
      row += bce_from_logit(z[c], t[c]);
      g[c] = (scalar::sigmoid(z[c]) - t[c]) * scale;
      sums.correct += ((z[c] >= 0.0f) == (t[c] >= 0.5f)) ? 1.0 : 0.0;
    }
    sums.loss += row / cols;
  }
  return sums;
}

LossSums cross_entropy(const float* logits, int ld_out, Targets targets, int rows, int cols, float scale, float* grad,
                       int ld_grad) {
  LossSums sums;
  for (int r = 0; r < rows; ++r) {
    const float* z = logits + static_cast<std::ptrdiff_t>(r) * ld_out;
    float* g = grad + static_cast<std::ptrdiff_t>(r) * ld_grad;
    int arg_max = 0;
    float max = z[0];
    for (int c = 1; c < cols; ++c) {
      if (z[c] > max) {
        max = z[c];
        arg_max = c;
      }
    }
    float sum = 0.0f;
    for (int c = 0; c < cols; ++c) {
      g[c] = std::exp(z[c] - max);
      sum += g[c];
    }
    const float log_sum = std::log(sum) + max;  // log-sum-exp of the row
    const float inv = 1.0f / sum;
    if (targets.labels != nullptr) {
      const int label = targets.labels[r];
      sums.loss += static_cast<double>(log_sum - z[label]);
      for (int c = 0; c < cols; ++c) g[c] = (g[c] * inv - (c == label ? 1.0f : 0.0f)) * scale;
      sums.correct += (arg_max == label) ? 1.0 : 0.0;
    } else {
      // Soft or one-hot targets: d/dz of -sum_j t_j log_softmax(z)_j = softmax(z) * sum(t) - t.
      const float* t = targets.dense + static_cast<std::ptrdiff_t>(r) * cols;
      double row = 0;
      float t_sum = 0.0f;
      int target_arg_max = 0;
      for (int c = 0; c < cols; ++c) {
        row += static_cast<double>(t[c]) * (log_sum - z[c]);
        t_sum += t[c];
        if (t[c] > t[target_arg_max]) target_arg_max = c;
      }
      for (int c = 0; c < cols; ++c) g[c] = (g[c] * inv * t_sum - t[c]) * scale;
      sums.loss += row;
      sums.correct += (arg_max == target_arg_max) ? 1.0 : 0.0;
    }
  }
  return sums;
}

}  // namespace

LossSums loss_and_grad(Loss loss, const float* out, int ld_out, Targets targets, int rows, int cols, float scale,
                       float* grad, int ld_grad) {
  switch (loss) {
    case Loss::kMse: return mse(out, ld_out, targets.dense, rows, cols, scale, grad, ld_grad);
    case Loss::kBinaryCrossEntropy:
      return binary_cross_entropy(out, ld_out, targets.dense, rows, cols, scale, grad, ld_grad);
    case Loss::kCrossEntropy: return cross_entropy(out, ld_out, targets, rows, cols, scale, grad, ld_grad);
  }
  return {};
}

double sum_squares(const float* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

}  // namespace mlpstream::portable

namespace mlpstream::portable {

// Block sizes of sgemm_ukernel_4x8_portable (any CPU: 16 SSE registers on x86-64, 32 NEON on arm64).
//   MR 4, NR 8: 8 four-float vectors of accumulators; the compiler vectorises the 8 columns.
//   KC 256: the KC x NR micro-panel of B is 8 KiB, a quarter of a 32 KiB L1.
//   MC 128: the packed MC x KC block of A is 128 KiB, half of a 256 KiB L2.
//   NC 2048: the KC x NC block of B is 2 MiB, a share of L3.
const GemmBlocking kGemmBlocking = {/*mr=*/4, /*nr=*/8, /*mc=*/128, /*kc=*/256, /*nc=*/2048};

namespace {

using Index = std::ptrdiff_t;

// Finishes one row of C: nr values (at most 8), read from acc with stride acc_stride.
inline void store_row_portable(float* c, const float* acc, int acc_stride, int nr, const GemmTileArgs& args, int i) {
  float v[8];
  for (int j = 0; j < nr; ++j) {
    float x = acc[j * acc_stride];
    if (args.alpha != 1.0f) x *= args.alpha;
    if (args.beta != 0.0f) x += args.beta * c[j];
    v[j] = x;
  }
  if (args.epilogue == Epilogue::Kind::kBiasActivation) {
    for (int j = 0; j < nr; ++j) v[j] = scalar::activate(args.activation, args.bias != nullptr ? v[j] + args.bias[j] : v[j]);
  } else if (args.epilogue == Epilogue::Kind::kActivationGrad) {
    const float* y = args.act + static_cast<Index>(i) * args.ld_act;
    for (int j = 0; j < nr; ++j) v[j] *= scalar::derivative_from_output(args.activation, y[j]);
  }
  for (int j = 0; j < nr; ++j) c[j] = v[j];
}

}  // namespace

// Generic 4-float vectors (GCC/Clang vector extensions): SSE on x86-64, NEON on arm64, with
// no ISA flags. Each lane computes acc + a * b exactly as the scalar expression would.
typedef float V4 __attribute__((vector_size(16)));

namespace {

inline V4 load_v4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

void sgemm_ukernel_4x8_portable(int k, const float* a, Index rs_a, Index cs_a, const float* b, Index rs_b, float* c,
                                Index ldc, int mr, int nr, const GemmTileArgs& args) {
  constexpr int MR = 4, NR = 8;
  const float* a0 = a;
  const float* a1 = a + (mr > 1 ? 1 : 0) * rs_a;
  const float* a2 = a + (mr > 2 ? 2 : mr - 1) * rs_a;
  const float* a3 = a + (mr > 3 ? 3 : mr - 1) * rs_a;
  V4 c0a = {}, c0b = {}, c1a = {}, c1b = {}, c2a = {}, c2b = {}, c3a = {}, c3b = {};
  const bool full = nr == NR || args.b_padded;
  alignas(16) float edge[NR] = {};
  Index pa = 0;
  for (int p = 0; p < k; ++p) {
    const float* bp = b + static_cast<Index>(p) * rs_b;
    if (!full) {  // B is read in place and has fewer than NR columns: copy them, zeros after
      for (int j = 0; j < nr; ++j) edge[j] = bp[j];
      bp = edge;
    }
    const V4 b0 = load_v4(bp), b1 = load_v4(bp + 4);
    const float x0 = a0[pa], x1 = a1[pa], x2 = a2[pa], x3 = a3[pa];
    c0a += x0 * b0;
    c0b += x0 * b1;
    c1a += x1 * b0;
    c1b += x1 * b1;
    c2a += x2 * b0;
    c2b += x2 * b1;
    c3a += x3 * b0;
    c3b += x3 * b1;
    pa += cs_a;
  }
  alignas(16) float acc[MR][NR];
  std::memcpy(&acc[0][0], &c0a, 16);
  std::memcpy(&acc[0][4], &c0b, 16);
  std::memcpy(&acc[1][0], &c1a, 16);
  std::memcpy(&acc[1][4], &c1b, 16);
  std::memcpy(&acc[2][0], &c2a, 16);
  std::memcpy(&acc[2][4], &c2b, 16);
  std::memcpy(&acc[3][0], &c3a, 16);
  std::memcpy(&acc[3][4], &c3b, 16);
  if (args.transpose_c) {
    for (int j = 0; j < nr; ++j) store_row_portable(c + static_cast<Index>(j) * ldc, &acc[0][j], NR, mr, args, j);
    return;
  }
  for (int i = 0; i < mr; ++i) store_row_portable(c + static_cast<Index>(i) * ldc, acc[i], 1, nr, args, i);
}

void log_softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<Index>(r) * ld_z;
    float* yr = y + static_cast<Index>(r) * ld_y;
    float max = zr[0];
    for (int c = 1; c < cols; ++c) max = std::max(max, zr[c]);
    float sum = 0.0f;
    for (int c = 0; c < cols; ++c) sum += std::exp(zr[c] - max);
    const float shift = max + std::log(sum);
    for (int c = 0; c < cols; ++c) yr[c] = zr[c] - shift;
  }
}

void sgd_update(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s) {
  const float lr = s.learning_rate, wd = s.weight_decay, mu = s.momentum;
  if (mu == 0.0f || velocity == nullptr) {
    for (std::size_t i = 0; i < n; ++i) params[i] -= lr * (grads[i] + wd * params[i]);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    velocity[i] = mu * velocity[i] + g;
    params[i] -= lr * (s.nesterov ? g + mu * velocity[i] : velocity[i]);
  }
}

void adam_update(float* params, const float* grads, float* m, float* v, std::size_t n, const OptimizerStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.epsilon;
  const float decay = 1.0f - s.learning_rate * s.weight_decay;
  const float inv_bias2 = 1.0f / s.bias2_sqrt;
  for (std::size_t i = 0; i < n; ++i) {
    float g = grads[i];
    if (s.decoupled) {
      params[i] *= decay;
    } else {
      g += s.weight_decay * params[i];
    }
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    params[i] -= s.step_size * m[i] / (std::sqrt(v[i]) * inv_bias2 + eps);
  }
}

void rmsprop_update(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s) {
  const float rho = s.rho, eps = s.epsilon, lr = s.learning_rate, wd = s.weight_decay;
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    sq[i] = rho * sq[i] + (1.0f - rho) * g * g;
    params[i] -= lr * g / (std::sqrt(sq[i]) + eps);
  }
}

double fma_peak(std::int64_t iterations, float* sink) {
  // 12 independent 4-float multiply-adds per iteration (no FMA on the x86-64 baseline: a
  // multiply and an add, 2 flops per lane).
  V4 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = V4{} + static_cast<float>(i) * 1e-3f;
  const V4 x = V4{} + 0.999999f, y = V4{} + 1e-7f;
  for (std::int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * x + y;
  }
  V4 s = acc[0];
  for (int i = 1; i < 12; ++i) s += acc[i];
  *sink = s[0] + s[1] + s[2] + s[3];
  return static_cast<double>(iterations) * 12.0 * 4.0 * 2.0;
}

}  // namespace mlpstream::portable
