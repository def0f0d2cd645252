// The shape of a network: input width, then dense layers. All parameters live in one
// contiguous slab (llm.c style): layer l's weights (fan_in x units, row-major, so that a
// forward pass is X * W) followed by its bias (units). Gradients and optimizer moments use
// the same layout, so every optimizer is one flat loop and a save is one write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/gemm/kernels.h"

namespace mlpstream {

// How a layer's weights start. kAuto: Glorot-uniform for sigmoid/tanh/linear/softmax layers,
// He-normal for the ReLU family.
enum class WeightInit : std::uint8_t { kAuto = 0, kGlorotUniform = 1, kGlorotNormal = 2, kHeUniform = 3, kHeNormal = 4 };

struct LayerSpec {
  int units = 0;
  ActivationSpec activation{};
  WeightInit init = WeightInit::kAuto;
};

struct LayerLayout {
  int fan_in = 0;
  int units = 0;
  std::size_t weight_offset = 0;  // into the parameter slab
  std::size_t bias_offset = 0;
};

class Architecture {
 public:
  Architecture() = default;
  Architecture(int inputs, std::vector<LayerSpec> layers) : inputs_(inputs), layers_(std::move(layers)) {
    if (inputs_ < 1) throw std::invalid_argument("inputs must be at least 1");
    if (layers_.empty()) throw std::invalid_argument("a network needs at least one layer");
    std::size_t offset = 0;
    int fan_in = inputs_;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const LayerSpec& spec = layers_[l];
      if (spec.units < 1) throw std::invalid_argument("layer " + std::to_string(l) + " needs at least one unit");
      if (spec.activation.kind == Activation::kSoftmax && l + 1 != layers_.size()) {
        throw std::invalid_argument("softmax is only allowed on the output layer");
      }
      LayerLayout layout;
      layout.fan_in = fan_in;
      layout.units = spec.units;
      layout.weight_offset = offset;
      offset += static_cast<std::size_t>(fan_in) * static_cast<std::size_t>(spec.units);
      layout.bias_offset = offset;
      offset += static_cast<std::size_t>(spec.units);
      layouts_.push_back(layout);
      fan_in = spec.units;
    }
    param_count_ = offset;
  }

  int inputs() const { return inputs_; }
  int outputs() const { return layers_.back().units; }
  std::size_t depth() const { return layers_.size(); }
  const LayerSpec& layer(std::size_t l) const { return layers_[l]; }
  const LayerLayout& layout(std::size_t l) const { return layouts_[l]; }
  std::size_t param_count() const { return param_count_; }
  int widest_layer() const {
    int w = 0;
    for (const auto& s : layers_) w = s.units > w ? s.units : w;
    return w;
  }

 private:
  int inputs_ = 0;
  std::vector<LayerSpec> layers_;
  std::vector<LayerLayout> layouts_;
  std::size_t param_count_ = 0;
};

}  // namespace mlpstream
