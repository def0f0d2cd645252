#include "core/nn/model.h"

#include <cmath>
#include <cstring>

namespace mlpstream {

Model::Model(Architecture arch) : arch_(std::move(arch)), predict_network_(arch_) {
  params_.resize(arch_.param_count());
  params_.fill(0.0f);
}

void Model::initialize(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  Rng rng(seed);
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    const LayerLayout& layout = arch_.layout(l);
    const Activation kind = arch_.layer(l).activation.kind;
    float* w = params_.data() + layout.weight_offset;
    const std::size_t count = static_cast<std::size_t>(layout.fan_in) * static_cast<std::size_t>(layout.units);
    if (kind == Activation::kRelu || kind == Activation::kLeakyRelu) {
      const double std_dev = std::sqrt(2.0 / layout.fan_in);
      for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<float>(rng.normal() * std_dev);
    } else {
      const double limit = std::sqrt(6.0 / (layout.fan_in + layout.units));
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

void Model::predict(const KernelTable& kernels, ThreadPool* pool, const float* x, int rows, float* out) {
  std::lock_guard<std::mutex> lock(mutex_);
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

}  // namespace mlpstream
