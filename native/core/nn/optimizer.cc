#include "core/nn/optimizer.h"

#include <cmath>

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

void Optimizer::step(float* params, const float* grads, std::size_t n, float lr) {
  const float wd = config_.weight_decay;
  ++state_.step;
  switch (config_.kind) {
    case OptimizerKind::kSgd: {
      if (config_.momentum == 0.0f) {
        for (std::size_t i = 0; i < n; ++i) params[i] -= lr * (grads[i] + wd * params[i]);
        return;
      }
      // PyTorch's form: v = mu * v + g; step along g + mu * v with Nesterov, else along v.
      const float mu = config_.momentum;
      float* v = state_.slots[0].data();
      for (std::size_t i = 0; i < n; ++i) {
        const float g = grads[i] + wd * params[i];
        v[i] = mu * v[i] + g;
        params[i] -= lr * (config_.nesterov ? g + mu * v[i] : v[i]);
      }
      return;
    }
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: {
      const bool decoupled = config_.kind == OptimizerKind::kAdamW;
      const float b1 = config_.beta1;
      const float b2 = config_.beta2;
      const double t = static_cast<double>(state_.step);
      const float bias1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
      const float bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2), t)));
      const float step_size = lr / bias1;
      const float eps = config_.epsilon;
      float* m = state_.slots[0].data();
      float* v = state_.slots[1].data();
      for (std::size_t i = 0; i < n; ++i) {
        float g = grads[i];
        if (decoupled) {
          params[i] -= lr * wd * params[i];
        } else {
          g += wd * params[i];
        }
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= step_size * m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps);
      }
      return;
    }
    case OptimizerKind::kRmsprop: {
      const float rho = config_.rho;
      const float eps = config_.epsilon;
      float* sq = state_.slots[0].data();
      for (std::size_t i = 0; i < n; ++i) {
        const float g = grads[i] + wd * params[i];
        sq[i] = rho * sq[i] + (1.0f - rho) * g * g;
        params[i] -= lr * g / (std::sqrt(sq[i]) + eps);
      }
      return;
    }
    case OptimizerKind::kLbfgs: return;  // stepped by the trainer's line search
  }
}

}  // namespace mlpstream
