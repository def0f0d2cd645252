#include "core/nn/network.h"

#include <stdexcept>

namespace mlpstream {

bool loss_uses_logits(Loss loss, Activation output_activation) {
  return (loss == Loss::kBinaryCrossEntropy && output_activation == Activation::kSigmoid) ||
         (loss == Loss::kCrossEntropy && output_activation == Activation::kSoftmax);
}

Network::Network(const Architecture& arch) : arch_(arch) {
  activations_.resize(arch_.depth());
  deltas_.resize(arch_.depth());
}

void Network::reserve(int rows) {
  if (rows <= capacity_) return;
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    const std::size_t size = static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.layer(l).units);
    activations_[l].resize(size);
    deltas_[l].resize(size);
  }
  capacity_ = rows;
}

void Network::forward(Compute& compute, const float* params, const float* x, int rows, bool logits_out) {
  if (rows > capacity_) throw std::logic_error("Network::forward: batch larger than reserved capacity");
  const float* input = x;
  int ld_input = arch_.inputs();
  const std::size_t last = arch_.depth() - 1;
  for (std::size_t l = 0; l <= last; ++l) {
    const LayerLayout& layout = arch_.layout(l);
    const ActivationSpec f = arch_.layer(l).activation;
    const bool keep_pre_activation = (l == last && logits_out) || f.kind == Activation::kSoftmax;
    Epilogue epilogue;
    epilogue.kind = Epilogue::Kind::kBiasActivation;
    epilogue.bias = params + layout.bias_offset;
    epilogue.activation = keep_pre_activation ? ActivationSpec{} : f;
    float* out = activations_[l].data();
    // Z = X * W + b, activation fused into the store.
    sgemm(*compute.kernels, compute.gemm, compute.pool, Transpose::kNo, Transpose::kNo, rows, layout.units,
          layout.fan_in, 1.0f, input, ld_input, params + layout.weight_offset, layout.units, 0.0f, out, layout.units,
          epilogue);
    if (f.kind == Activation::kSoftmax && !(l == last && logits_out)) {
      compute.kernels->softmax_rows(out, layout.units, out, layout.units, rows, layout.units);
    }
    input = out;
    ld_input = layout.units;
  }
  last_forward_logits_ = logits_out;
}

LossSums Network::loss_and_output_delta(Compute& compute, Loss loss, Targets targets, int rows) {
  const std::size_t last = arch_.depth() - 1;
  const int outputs = arch_.outputs();
  const ActivationSpec f = arch_.layer(last).activation;
  if (loss_uses_logits(loss, f.kind) != last_forward_logits_) {
    throw std::logic_error("Network: forward pass did not keep the output form this loss needs");
  }
  // Batch means, as PyTorch and Keras: over rows and outputs for mse and bce, over rows for ce.
  const float scale = loss == Loss::kCrossEntropy ? 1.0f / static_cast<float>(rows)
                                                  : 1.0f / (static_cast<float>(rows) * static_cast<float>(outputs));
  float* delta = deltas_[last].data();
  LossSums sums = compute.kernels->loss_and_grad(loss, activations_[last].data(), outputs, targets, rows, outputs,
                                                  scale, delta, outputs);
  if (!last_forward_logits_) {
    // The loss gave dL/dA; chain through the output activation to dL/dZ.
    compute.kernels->activation_backward(f, activations_[last].data(), delta, delta,
                                         static_cast<std::size_t>(rows) * static_cast<std::size_t>(outputs));
  }
  return sums;
}

void Network::backward(Compute& compute, const float* params, const float* x, int rows, float* grads) {
  for (std::size_t l = arch_.depth(); l-- > 0;) {
    const LayerLayout& layout = arch_.layout(l);
    const float* input = l == 0 ? x : activations_[l - 1].data();
    const float* delta = deltas_[l].data();
    // dW = X^T * dZ; db = column sums of dZ.
    sgemm(*compute.kernels, compute.gemm, compute.pool, Transpose::kYes, Transpose::kNo, layout.fan_in, layout.units,
          rows, 1.0f, input, layout.fan_in, delta, layout.units, 0.0f, grads + layout.weight_offset, layout.units);
    compute.kernels->column_sums(delta, layout.units, rows, layout.units, grads + layout.bias_offset);
    if (l == 0) break;
    // dZ_prev = (dZ * W^T) * f'_prev(A_prev), the derivative fused into the GEMM's store.
    Epilogue epilogue;
    epilogue.kind = Epilogue::Kind::kActivationGrad;
    epilogue.activation = arch_.layer(l - 1).activation;
    epilogue.act_output = activations_[l - 1].data();
    epilogue.ld_act_output = layout.fan_in;
    sgemm(*compute.kernels, compute.gemm, compute.pool, Transpose::kNo, Transpose::kYes, rows, layout.fan_in,
          layout.units, 1.0f, delta, layout.units, params + layout.weight_offset, layout.units, 0.0f,
          deltas_[l - 1].data(), layout.fan_in, epilogue);
  }
}

}  // namespace mlpstream

namespace mlpstream {

const char* loss_mismatch(Loss loss, Activation output_activation) {
  switch (loss) {
    case Loss::kBinaryCrossEntropy:
      return output_activation == Activation::kSigmoid ? nullptr : "binaryCrossEntropy needs a sigmoid output layer";
    case Loss::kCrossEntropy:
      return output_activation == Activation::kSoftmax ? nullptr : "crossEntropy needs a softmax output layer";
    case Loss::kMse:
      return output_activation == Activation::kSoftmax ? "mse cannot train a softmax output layer (use crossEntropy)"
                                                       : nullptr;
  }
  return "unknown loss";
}

}  // namespace mlpstream
