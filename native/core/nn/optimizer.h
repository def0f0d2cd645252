// Optimizers: each one a single fused loop over the flat parameter slab. Their state
// (moments, step count) mirrors the slab and is part of a checkpoint, so a resumed run
// continues bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "core/gemm/kernels.h"
#include "core/util/aligned_buffer.h"

namespace mlpstream {

class ThreadPool;

// kLbfgs is full-batch L-BFGS, driven by the trainer (core/nn/lbfgs.h), not by Optimizer::step.
enum class OptimizerKind : std::uint8_t { kSgd = 0, kAdam = 1, kAdamW = 2, kRmsprop = 3, kLbfgs = 4 };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;      // sgd
  bool nesterov = false;      // sgd
  float beta1 = 0.9f;         // adam, adamw
  float beta2 = 0.999f;       // adam, adamw
  float rho = 0.99f;          // rmsprop: decay of the squared-gradient average (PyTorch's alpha)
  float epsilon = 1e-8f;      // adam, adamw, rmsprop
  float weight_decay = 0.0f;  // L2 added to the gradient; decoupled (applied to the weights) for adamw
  int lbfgs_history = 10;     // lbfgs: steps remembered for the curvature estimate
};

// Number of state slabs (each the size of the parameter slab) an optimizer keeps.
int optimizer_slot_count(const OptimizerConfig& config);

struct OptimizerState {
  std::vector<AlignedBuffer<float>> slots;  // sgd: velocity (if momentum); adam: m, v; rmsprop: square average
  std::int64_t step = 0;                    // updates applied so far
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::size_t param_count);

  const OptimizerConfig& config() const { return config_; }
  OptimizerState& state() { return state_; }
  const OptimizerState& state() const { return state_; }

  // One update of every parameter with the given learning rate (the schedule's value), by the
  // table's fused update kernel, split over the pool in cache-line-aligned slices (the update
  // is element-wise, so any split gives the same result).
  void step(const KernelTable& kernels, ThreadPool* pool, float* params, const float* grads, std::size_t n,
            float learning_rate);

 private:
  OptimizerConfig config_;
  OptimizerState state_;
};

}  // namespace mlpstream
