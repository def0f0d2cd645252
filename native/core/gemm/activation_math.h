// Scalar activation math, shared by the portable kernels and the scalar tails of the
// vector kernels. Inline and header-only: ISA files must not include this (the linker
// could keep an AVX-compiled copy of an inline function for generic callers).
#pragma once

#include <cmath>

#include "core/gemm/kernels.h"

namespace mlpstream::scalar {

inline float sigmoid(float z) {
  // Split by sign so exp never overflows.
  if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

inline float activate(ActivationSpec f, float z) {
  switch (f.kind) {
    case Activation::kSigmoid: return sigmoid(z);
    case Activation::kTanh: return std::tanh(z);
    case Activation::kRelu: return z > 0.0f ? z : 0.0f;
    case Activation::kLeakyRelu: return z > 0.0f ? z : f.leaky_slope * z;
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return z;
}

// f'(z) expressed through y = f(z). For the ReLU family y > 0 exactly when z > 0 (slope >= 0).
inline float derivative_from_output(ActivationSpec f, float y) {
  switch (f.kind) {
    case Activation::kSigmoid: return y * (1.0f - y);
    case Activation::kTanh: return 1.0f - y * y;
    case Activation::kRelu: return y > 0.0f ? 1.0f : 0.0f;
    case Activation::kLeakyRelu: return y > 0.0f ? 1.0f : f.leaky_slope;
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return 1.0f;
}

}  // namespace mlpstream::scalar
