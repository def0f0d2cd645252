// Portable kernels: plain C++ that compiles anywhere (x86-64 baseline, arm64). They are
// the fallback on CPUs without AVX2 and the implementation every other table is checked against.
#include <algorithm>
#include <cmath>

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
