#include "core/nn/optimizer.h"

#include <cmath>

#include "core/util/thread_pool.h"

namespace mlpstream {

int optimizer_slot_count(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::kSgd: return config.momentum != 0.0f ? 1 : 0;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: return 2;
    case OptimizerKind::kRmsprop: return 1;
    case OptimizerKind::kLbfgs: return 0;
  }
  return 0;
}

Optimizer::Optimizer(const OptimizerConfig& config, std::size_t param_count) : config_(config) {
  state_.slots.resize(static_cast<std::size_t>(optimizer_slot_count(config)));
  for (auto& slot : state_.slots) {
    slot.resize(param_count);
    slot.fill(0.0f);
  }
}

void Optimizer::step(const KernelTable& kernels, ThreadPool* pool, float* params, const float* grads, std::size_t n,
                     float lr) {
  if (config_.kind == OptimizerKind::kLbfgs) return;  // stepped by the trainer's line search
  ++state_.step;
  OptimizerStep s;
  s.learning_rate = lr;
  s.weight_decay = config_.weight_decay;
  s.epsilon = config_.epsilon;
  s.momentum = config_.momentum;
  s.nesterov = config_.nesterov;
  s.rho = config_.rho;
  s.beta1 = config_.beta1;
  s.beta2 = config_.beta2;
  s.decoupled = config_.kind == OptimizerKind::kAdamW;
  if (config_.kind == OptimizerKind::kAdam || config_.kind == OptimizerKind::kAdamW) {
    const double t = static_cast<double>(state_.step);
    s.step_size = static_cast<float>(lr / (1.0 - std::pow(static_cast<double>(config_.beta1), t)));
    s.bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(config_.beta2), t)));
  }
  float* slot0 = state_.slots.empty() ? nullptr : state_.slots[0].data();
  float* slot1 = state_.slots.size() > 1 ? state_.slots[1].data() : nullptr;
  auto update = [&](std::size_t lo, std::size_t hi) {
    const std::size_t len = hi - lo;
    switch (config_.kind) {
      case OptimizerKind::kSgd:
        kernels.sgd_update(params + lo, grads + lo, slot0 != nullptr ? slot0 + lo : nullptr, len, s);
        break;
      case OptimizerKind::kAdam:
      case OptimizerKind::kAdamW: kernels.adam_update(params + lo, grads + lo, slot0 + lo, slot1 + lo, len, s); break;
      case OptimizerKind::kRmsprop: kernels.rmsprop_update(params + lo, grads + lo, slot0 + lo, len, s); break;
      case OptimizerKind::kLbfgs: break;
    }
  };
  // Below this many parameters a second thread costs more than it saves.
  constexpr std::size_t kParallelMin = 1 << 15;
  const int parts = pool != nullptr && n >= kParallelMin ? pool->size() : 1;
  if (parts <= 1) {
    update(0, n);
    return;
  }
  // Slices start on 16-float (64-byte) boundaries, so no cache line is written by two threads.
  auto slice = [&](int task, int) {
    const std::size_t lo = (n * static_cast<std::size_t>(task) / static_cast<std::size_t>(parts)) & ~std::size_t{15};
    const std::size_t hi =
        task + 1 == parts ? n : (n * static_cast<std::size_t>(task + 1) / static_cast<std::size_t>(parts)) & ~std::size_t{15};
    update(lo, hi);
  };
  pool->parallel_for(parts, slice);
}

}  // namespace mlpstream
