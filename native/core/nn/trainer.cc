#include "core/nn/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/util/thread_pool.h"

namespace mlpstream {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Saturation thresholds: an output within 1% of an asymptote, where the derivative has
// fallen below ~2% (tanh) / ~4% (sigmoid) of its peak and the gradient barely flows.
constexpr float kTanhSaturated = 0.99f;
constexpr float kSigmoidSaturatedLow = 0.01f;
constexpr float kSigmoidSaturatedHigh = 0.99f;
// The same sigmoid test on a logit: |z| > log(0.99 / 0.01).
constexpr float kSigmoidSaturatedLogit = 4.59512f;

}  // namespace

Trainer::Trainer(Model& model, Dataset data, TrainConfig config, const KernelTable& kernels, ThreadPool* pool,
                 bool resume)
    : arch_(model.architecture()),
      data_(std::move(data)),
      config_(config),
      network_(arch_),
      optimizer_(config.optimizer, arch_.param_count()),
      rng_(config.seed) {
  compute_.kernels = &kernels;
  compute_.pool = pool;
  compute_.gemm.reserve(pool != nullptr ? pool->size() : 1);  // packing buffers, before the first step
  {
    std::lock_guard<std::mutex> lock(model.mutex());
    params_ = model.params();
    auto& state = model.training_state();
    if (state) {
      epochs_done_ = state->epochs_done;
      if (resume) {
        rng_.set_state(state->rng);
        if (state->optimizer_config.kind == config.optimizer.kind &&
            state->optimizer.slots.size() == optimizer_.state().slots.size()) {
          optimizer_.state().step = state->optimizer.step;
          for (std::size_t s = 0; s < state->optimizer.slots.size(); ++s) {
            optimizer_.state().slots[s] = state->optimizer.slots[s];
          }
        }
      }
    }
  }
  grads_.resize(arch_.param_count());
  grads_.fill(0.0f);
  batch_rows_ = config_.batch_size <= 0 || config_.batch_size > data_.rows ? data_.rows : config_.batch_size;
  network_.reserve(batch_rows_);
  order_.resize(static_cast<std::size_t>(data_.rows));
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::uint32_t>(i);
  // Batches are gathered into their own buffers only when the order differs from storage order.
  if (config_.shuffle && batch_rows_ < data_.rows) {
    batch_x_.resize(static_cast<std::size_t>(batch_rows_) * static_cast<std::size_t>(data_.inputs));
    if (data_.has_labels()) {
      batch_labels_.resize(static_cast<std::size_t>(batch_rows_));
    } else {
      batch_y_.resize(static_cast<std::size_t>(batch_rows_) * static_cast<std::size_t>(data_.outputs));
    }
  }
  if (config_.loss == Loss::kMse) {
    for (int c = 0; c < data_.outputs; ++c) {
      double mean = 0;
      for (int r = 0; r < data_.rows; ++r) mean += data_.y[static_cast<std::size_t>(r) * data_.outputs + c];
      mean /= data_.rows;
      for (int r = 0; r < data_.rows; ++r) {
        const double d = data_.y[static_cast<std::size_t>(r) * data_.outputs + c] - mean;
        target_sum_squares_about_mean_ += d * d;
      }
    }
  }
  grad_sq_sum_.assign(arch_.depth(), 0.0);
  saturated_count_.assign(arch_.depth(), 0.0);
  unit_active_.resize(arch_.depth());
  for (std::size_t l = 0; l < arch_.depth(); ++l) unit_active_[l].resize(static_cast<std::size_t>(arch_.layer(l).units));
}

void Trainer::gather_batch(std::size_t start, int rows) {
  const std::size_t in = static_cast<std::size_t>(data_.inputs);
  const std::size_t out = static_cast<std::size_t>(data_.outputs);
  for (int r = 0; r < rows; ++r) {
    const std::size_t src = order_[start + static_cast<std::size_t>(r)];
    std::memcpy(batch_x_.data() + static_cast<std::size_t>(r) * in, data_.x.data() + src * in, sizeof(float) * in);
    if (data_.has_labels()) {
      batch_labels_[static_cast<std::size_t>(r)] = data_.labels[src];
    } else {
      std::memcpy(batch_y_.data() + static_cast<std::size_t>(r) * out, data_.y.data() + src * out, sizeof(float) * out);
    }
  }
}

void Trainer::accumulate_diagnostics(int rows, bool logits_out) {
  const std::size_t last = arch_.depth() - 1;
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    const LayerLayout& layout = arch_.layout(l);
    grad_sq_sum_[l] += compute_.kernels->sum_squares(
        grads_.data() + layout.weight_offset,
        static_cast<std::size_t>(layout.fan_in + 1) * static_cast<std::size_t>(layout.units));
    const Activation kind = arch_.layer(l).activation.kind;
    const float* a = network_.activations(l);
    const std::size_t units = static_cast<std::size_t>(layout.units);
    const std::size_t count = static_cast<std::size_t>(rows) * units;
    if (kind == Activation::kRelu || kind == Activation::kLeakyRelu) {
      std::uint8_t* active = unit_active_[l].data();
      for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
        const float* row = a + r * units;
        for (std::size_t u = 0; u < units; ++u) active[u] |= static_cast<std::uint8_t>(row[u] > 0.0f);
      }
    } else if (kind == Activation::kTanh) {
      std::size_t saturated = 0;
      for (std::size_t i = 0; i < count; ++i) saturated += std::fabs(a[i]) > kTanhSaturated;
      saturated_count_[l] += static_cast<double>(saturated);
    } else if (kind == Activation::kSigmoid) {
      std::size_t saturated = 0;
      if (l == last && logits_out) {
        for (std::size_t i = 0; i < count; ++i) saturated += std::fabs(a[i]) > kSigmoidSaturatedLogit;
      } else {
        for (std::size_t i = 0; i < count; ++i) saturated += (a[i] < kSigmoidSaturatedLow) | (a[i] > kSigmoidSaturatedHigh);
      }
      saturated_count_[l] += static_cast<double>(saturated);
    }
  }
}

EpochOutcome Trainer::run_epoch(const std::atomic<bool>& cancel, EpochMetrics& metrics, std::uint32_t* batches_done) {
  const auto started = std::chrono::steady_clock::now();
  const std::size_t depth = arch_.depth();
  const bool logits_out = loss_uses_logits(config_.loss, arch_.layer(depth - 1).activation.kind);
  const bool gathered = !batch_x_.empty();
  const float learning_rate = config_.optimizer.learning_rate;
  if (config_.shuffle && batch_rows_ < data_.rows) {
    // Shuffle the identity, not last epoch's order: the order then depends on the RNG state
    // alone, which a checkpoint carries, so a resumed run sees the same batches.
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::uint32_t>(i);
    rng_.shuffle(order_.data(), order_.size());
  }
  if (config_.diagnostics) {
    std::fill(grad_sq_sum_.begin(), grad_sq_sum_.end(), 0.0);
    std::fill(saturated_count_.begin(), saturated_count_.end(), 0.0);
    for (auto& active : unit_active_) active.fill(0);
  }

  LossSums epoch_sums;
  std::int64_t steps = 0;
  for (std::size_t start = 0; start < static_cast<std::size_t>(data_.rows); start += static_cast<std::size_t>(batch_rows_)) {
    if (cancel.load(std::memory_order_relaxed)) return {EpochStatus::kCancelled, steps, 0};
    const int rows = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch_rows_), data_.rows - start));
    const float* x;
    Targets targets;
    if (gathered) {
      gather_batch(start, rows);
      x = batch_x_.data();
      if (data_.has_labels()) targets.labels = batch_labels_.data();
      else targets.dense = batch_y_.data();
    } else {
      x = data_.x.data() + start * static_cast<std::size_t>(data_.inputs);
      if (data_.has_labels()) targets.labels = data_.labels.data() + start;
      else targets.dense = data_.y.data() + start * static_cast<std::size_t>(data_.outputs);
    }

    network_.forward(compute_, params_.data(), x, rows, logits_out);
    const LossSums sums = network_.loss_and_output_delta(compute_, config_.loss, targets, rows);
    ++steps;
    if (!std::isfinite(sums.loss)) return {EpochStatus::kDiverged, steps, sums.loss / rows};
    network_.backward(compute_, params_.data(), x, rows, grads_.data());
    if (config_.diagnostics) accumulate_diagnostics(rows, logits_out);
    optimizer_.step(params_.data(), grads_.data(), params_.size(), learning_rate);
    if (batches_done != nullptr) __atomic_store_n(batches_done, static_cast<std::uint32_t>(steps), __ATOMIC_RELAXED);
    epoch_sums.loss += sums.loss;
    epoch_sums.correct += sums.correct;
    epoch_sums.squared_error += sums.squared_error;
  }

  // A finite loss can still be followed by an update that overflows the weights; such an
  // epoch is not committed either.
  for (float p : params_) {
    if (!std::isfinite(p)) return {EpochStatus::kDiverged, steps, epoch_sums.loss / data_.rows, true};
  }

  ++epochs_done_;
  const double n = static_cast<double>(data_.rows);
  const double outputs = static_cast<double>(arch_.outputs());
  metrics.epoch = epochs_done_;
  metrics.loss = epoch_sums.loss / n;
  metrics.learning_rate = learning_rate;
  metrics.accuracy = kNaN;
  metrics.rmse = kNaN;
  metrics.r2 = kNaN;
  switch (config_.loss) {
    case Loss::kCrossEntropy: metrics.accuracy = epoch_sums.correct / n; break;
    case Loss::kBinaryCrossEntropy: metrics.accuracy = epoch_sums.correct / (n * outputs); break;
    case Loss::kMse:
      metrics.rmse = std::sqrt(epoch_sums.squared_error / (n * outputs));
      metrics.r2 = target_sum_squares_about_mean_ > 0 ? 1.0 - epoch_sums.squared_error / target_sum_squares_about_mean_ : kNaN;
      break;
  }
  metrics.layers.resize(depth);
  for (std::size_t l = 0; l < depth; ++l) {
    LayerDiagnostics& d = metrics.layers[l];
    const LayerLayout& layout = arch_.layout(l);
    const Activation kind = arch_.layer(l).activation.kind;
    if (!config_.diagnostics) {
      d = {kNaN, kNaN, kNaN, kNaN};
      continue;
    }
    d.grad_norm = std::sqrt(grad_sq_sum_[l] / static_cast<double>(steps));
    d.weight_norm = std::sqrt(compute_.kernels->sum_squares(
        params_.data() + layout.weight_offset, static_cast<std::size_t>(layout.fan_in) * static_cast<std::size_t>(layout.units)));
    d.dead_fraction = kNaN;
    d.saturated_fraction = kNaN;
    if (kind == Activation::kRelu || kind == Activation::kLeakyRelu) {
      std::size_t alive = 0;
      for (std::uint8_t a : unit_active_[l]) alive += a;
      d.dead_fraction = 1.0 - static_cast<double>(alive) / layout.units;
    } else if (kind == Activation::kTanh || kind == Activation::kSigmoid) {
      d.saturated_fraction = saturated_count_[l] / (n * layout.units);
    }
  }
  metrics.epoch_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return {EpochStatus::kCompleted, steps, 0};
}

void Trainer::commit(Model& model) const {
  std::lock_guard<std::mutex> lock(model.mutex());
  std::memcpy(model.params().data(), params_.data(), sizeof(float) * params_.size());
  auto& state = model.training_state();
  if (!state) state.emplace();
  state->epochs_done = epochs_done_;
  state->rng = rng_.state();
  state->optimizer_config = config_.optimizer;
  state->optimizer.step = optimizer_.state().step;
  state->optimizer.slots.resize(optimizer_.state().slots.size());
  for (std::size_t s = 0; s < optimizer_.state().slots.size(); ++s) {
    state->optimizer.slots[s] = optimizer_.state().slots[s];
  }
}

}  // namespace mlpstream
