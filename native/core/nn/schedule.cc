#include "core/nn/schedule.h"

#include <algorithm>
#include <cmath>

namespace mlpstream {

double scheduled_learning_rate(const ScheduleConfig& c, const ScheduleState& state, double base, std::int64_t epoch) {
  if (epoch < c.warmup_epochs) return base * static_cast<double>(epoch + 1) / static_cast<double>(c.warmup_epochs);
  const std::int64_t t = epoch - c.warmup_epochs;
  switch (c.kind) {
    case ScheduleKind::kConstant: return base;
    case ScheduleKind::kStep: return base * std::pow(c.gamma, static_cast<double>(t / std::max<std::int64_t>(c.step_epochs, 1)));
    case ScheduleKind::kExponential: return base * std::pow(c.gamma, static_cast<double>(t));
    case ScheduleKind::kCosine: {
      const double period = static_cast<double>(std::max<std::int64_t>(c.cosine_epochs, 1));
      const double progress = std::min(static_cast<double>(t) / period, 1.0);
      return c.min_learning_rate + (base - c.min_learning_rate) * 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
    }
    case ScheduleKind::kPlateau: return std::max(base * state.scale, c.min_learning_rate);
  }
  return base;
}

void update_plateau(const ScheduleConfig& c, ScheduleState& s, double base, double value) {
  if (c.kind != ScheduleKind::kPlateau || !std::isfinite(value)) return;
  if (value < s.best * (1.0 - c.plateau_threshold) || !std::isfinite(s.best)) {
    s.best = value;
    s.wait = 0;
  } else {
    ++s.wait;
  }
  if (s.cooldown > 0) {
    --s.cooldown;
    s.wait = 0;
  }
  if (s.wait > c.plateau_patience && base * s.scale > c.min_learning_rate) {
    s.scale *= c.plateau_factor;
    s.cooldown = c.plateau_cooldown;
    s.wait = 0;
  }
}

}  // namespace mlpstream
