// Learning-rate schedules, evaluated once per epoch (Keras' convention) from the epoch's
// index over the model's whole history, so a resumed run continues the same curve.
#pragma once

#include <cstdint>
#include <limits>

namespace mlpstream {

enum class ScheduleKind : std::uint8_t { kConstant = 0, kStep = 1, kExponential = 2, kCosine = 3, kPlateau = 4 };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kConstant;
  double gamma = 0.1;           // step: factor every step_epochs; exponential: factor per epoch
  std::int64_t step_epochs = 10;
  std::int64_t cosine_epochs = 0;   // cosine: epochs from the end of warm-up to the minimum
  std::int64_t warmup_epochs = 0;   // cosine (and any schedule): linear ramp from base/warmup to base
  double min_learning_rate = 0;     // cosine floor; plateau floor
  double plateau_factor = 0.1;      // plateau: multiply the rate by this when the monitor stalls
  std::int64_t plateau_patience = 10;
  double plateau_threshold = 1e-4;  // plateau: relative improvement that counts (PyTorch's 'rel' mode)
  std::int64_t plateau_cooldown = 0;
};

// What reduce-on-plateau remembers between epochs (and checkpoints).
struct ScheduleState {
  double scale = 1.0;  // product of the reductions so far
  double best = std::numeric_limits<double>::infinity();
  std::int64_t wait = 0;
  std::int64_t cooldown = 0;
};

// The learning rate of the epoch with 0-based index `epoch`.
double scheduled_learning_rate(const ScheduleConfig& config, const ScheduleState& state, double base,
                               std::int64_t epoch);

// Reduce-on-plateau bookkeeping after an epoch whose monitored loss was `value`.
void update_plateau(const ScheduleConfig& config, ScheduleState& state, double base, double value);

}  // namespace mlpstream
