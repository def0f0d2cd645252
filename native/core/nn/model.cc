#include "core/nn/model.h"

#include <cmath>
#include <cstring>

namespace mlpstream {

Model::Model(Architecture arch) : arch_(std::move(arch)), predict_network_(arch_), detached_network_(arch_) {
  params_.resize(arch_.param_count());
  params_.fill(0.0f);
  dense_rows_ = select_dense_rows(&dense_rows_name_);
  const std::size_t widest = static_cast<std::size_t>(arch_.widest_layer() > arch_.inputs() ? arch_.widest_layer() : arch_.inputs());
  for (auto& buffer : small_) buffer.resize(static_cast<std::size_t>(kDenseRowsMax) * widest);
}

void Model::initialize(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  Rng rng(seed);
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    const LayerLayout& layout = arch_.layout(l);
    const Activation kind = arch_.layer(l).activation.kind;
    float* w = params_.data() + layout.weight_offset;
    const std::size_t count = static_cast<std::size_t>(layout.fan_in) * static_cast<std::size_t>(layout.units);
    WeightInit init = arch_.layer(l).init;
    if (init == WeightInit::kAuto) {
      init = kind == Activation::kRelu || kind == Activation::kLeakyRelu ? WeightInit::kHeNormal : WeightInit::kGlorotUniform;
    }
    // Glorot keeps the variance of activations and gradients across a layer (2 / (fan_in +
    // fan_out)); He doubles it for ReLU, which zeroes half its inputs (2 / fan_in).
    const bool he = init == WeightInit::kHeUniform || init == WeightInit::kHeNormal;
    const double variance = he ? 2.0 / layout.fan_in : 2.0 / (layout.fan_in + layout.units);
    if (init == WeightInit::kGlorotNormal || init == WeightInit::kHeNormal) {
      const double std_dev = std::sqrt(variance);
      for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<float>(rng.normal() * std_dev);
    } else {
      const double limit = std::sqrt(3.0 * variance);  // U(-a, a) has variance a^2 / 3
      for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
    }
    std::memset(params_.data() + layout.bias_offset, 0, sizeof(float) * static_cast<std::size_t>(layout.units));
  }
  training_state_.reset();
}

void apply_normalization(const Normalization& norm, const float* x, int rows, int cols, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::ptrdiff_t>(r) * cols;
    float* o = out + static_cast<std::ptrdiff_t>(r) * cols;
    for (int c = 0; c < cols; ++c) o[c] = (xr[c] - norm.mean[static_cast<std::size_t>(c)]) * norm.inv_std[static_cast<std::size_t>(c)];
  }
}

// Layer after layer through small_[0] and small_[1] (the normalised input in small_[1] first):
// z = x * W + b, then the activation in place. Same arithmetic as Network::forward, summed in another order.
void Model::predict_small(const KernelTable& kernels, const float* x, int rows, float* out) {
  const float* input = x;
  int ld_input = arch_.inputs();
  if (normalization_) {
    float* normalized = small_[1].data();
    apply_normalization(*normalization_, x, rows, arch_.inputs(), normalized);
    input = normalized;
  }
  const std::size_t last = arch_.depth() - 1;
  for (std::size_t l = 0; l <= last; ++l) {
    const LayerLayout& layout = arch_.layout(l);
    const ActivationSpec f = arch_.layer(l).activation;
    float* z = small_[l % 2].data();
    dense_rows_(input, ld_input, rows, params_.data() + layout.weight_offset, params_.data() + layout.bias_offset,
                layout.fan_in, layout.units, z, layout.units);
    const std::size_t count = static_cast<std::size_t>(rows) * static_cast<std::size_t>(layout.units);
    if (f.kind == Activation::kSoftmax) {
      kernels.softmax_rows(z, layout.units, z, layout.units, rows, layout.units);
    } else if (f.kind != Activation::kLinear) {
      kernels.activation_forward(f, z, z, count);
    }
    input = z;
    ld_input = layout.units;
  }
  // Copied out last, so `out` may even alias `x`.
  std::memcpy(out, input, sizeof(float) * static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.outputs()));
}

void Model::predict(const KernelTable& kernels, ThreadPool* pool, const float* x, int rows, float* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (rows <= kDenseRowsMax) {
    predict_small(kernels, x, rows, out);
    return;
  }
  predict_compute_.kernels = &kernels;
  predict_compute_.pool = pool;
  predict_network_.reserve(rows);
  const float* input = x;
  if (normalization_) {
    predict_input_.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.inputs()));
    apply_normalization(*normalization_, x, rows, arch_.inputs(), predict_input_.data());
    input = predict_input_.data();
  }
  predict_network_.forward(predict_compute_, params_.data(), input, rows, /*logits_out=*/false);
  std::memcpy(out, predict_network_.output(),
              sizeof(float) * static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.outputs()));
}

void Model::predict_detached(const KernelTable& kernels, ThreadPool* pool, const float* x, int rows, float* out) {
  if (rows <= kDenseRowsMax) {
    predict(kernels, pool, x, rows, out);  // microseconds under the lock: no snapshot needed
    return;
  }
  std::lock_guard<std::mutex> detached(detached_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    detached_params_.resize(params_.size());
    std::memcpy(detached_params_.data(), params_.data(), sizeof(float) * params_.size());
    detached_normalization_ = normalization_;
  }
  detached_compute_.kernels = &kernels;
  detached_compute_.pool = pool;
  detached_network_.reserve(rows);
  const float* input = x;
  if (detached_normalization_) {
    detached_input_.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.inputs()));
    apply_normalization(*detached_normalization_, x, rows, arch_.inputs(), detached_input_.data());
    input = detached_input_.data();
  }
  detached_network_.forward(detached_compute_, detached_params_.data(), input, rows, /*logits_out=*/false);
  std::memcpy(out, detached_network_.output(),
              sizeof(float) * static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch_.outputs()));
}

}  // namespace mlpstream
