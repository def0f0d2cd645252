#include "core/nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "core/util/thread_pool.h"

namespace mlpstream {

namespace {

// Gradient floats per diagnostics slice (see layer_gradient_sums): 256 KiB, big enough that a
// task is worth handing to another thread, small enough to split a layer of a few hundred
// thousand weights.
constexpr std::size_t kGradSlice = 1 << 16;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Saturation thresholds: an output within 1% of an asymptote, where the derivative has
// fallen below ~2% (tanh) / ~4% (sigmoid) of its peak and the gradient barely flows.
constexpr float kTanhSaturated = 0.99f;
constexpr float kSigmoidSaturatedLow = 0.01f;
constexpr float kSigmoidSaturatedHigh = 0.99f;
// The same sigmoid test on a logit: |z| > log(0.99 / 0.01).
constexpr float kSigmoidSaturatedLogit = 4.59512f;

double target_sum_squares(const Dataset& d) {
  if (d.rows == 0 || d.y.empty()) return 0;
  double total = 0;
  for (int c = 0; c < d.outputs; ++c) {
    double mean = 0;
    for (int r = 0; r < d.rows; ++r) mean += d.y[static_cast<std::size_t>(r) * d.outputs + c];
    mean /= d.rows;
    for (int r = 0; r < d.rows; ++r) {
      const double dev = d.y[static_cast<std::size_t>(r) * d.outputs + c] - mean;
      total += dev * dev;
    }
  }
  return total;
}

bool lower_is_better(Monitor m) { return m == Monitor::kLoss || m == Monitor::kValLoss; }

}  // namespace

Trainer::Trainer(Model& model, Dataset data, Dataset validation, TrainConfig config, const KernelTable& kernels,
                 ThreadPool* pool, bool resume)
    : arch_(model.architecture()),
      data_(std::move(data)),
      validation_(std::move(validation)),
      config_(config),
      logits_out_(loss_uses_logits(config.loss, arch_.layer(arch_.depth() - 1).activation.kind)),
      network_(arch_),
      optimizer_(config.optimizer, arch_.param_count()),
      rng_(config.seed),
      best_value_(kNaN) {
  compute_.kernels = &kernels;
  compute_.pool = pool;
  compute_.gemm.reserve(pool != nullptr ? pool->size() : 1);  // packing buffers, before the first step
  const bool lbfgs = config_.optimizer.kind == OptimizerKind::kLbfgs;
  {
    std::lock_guard<std::mutex> lock(model.mutex());
    params_ = model.params();
    auto& state = model.training_state();
    if (state) {
      epochs_done_ = state->epochs_done;
      if (resume) {
        rng_.set_state(state->rng);
        schedule_state_ = state->schedule;
        best_value_ = state->early_best;
        best_epoch_ = state->early_best_epoch;
        wait_ = state->early_wait;
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
  labels_ = data_.has_labels();
  // L-BFGS is a full-batch method: its line search compares losses of the same data.
  batch_rows_ = lbfgs || config_.batch_size <= 0 || config_.batch_size > data_.rows ? data_.rows : config_.batch_size;
  epoch_rows_ = data_.rows;
  if (lbfgs) lbfgs_.emplace(arch_.param_count(), config_.optimizer.lbfgs_history);
  if (config_.loss == Loss::kMse) target_ss_ = target_sum_squares(data_);
  // Batches are gathered into their own buffers only when the order differs from storage order.
  allocate(config_.shuffle && batch_rows_ < data_.rows);
}

Trainer::Trainer(Model& model, std::unique_ptr<ChunkQueue> source, bool labels, Dataset validation, TrainConfig config,
                 const KernelTable& kernels, ThreadPool* pool, bool resume)
    : Trainer(model, Dataset{0, model.architecture().inputs(), model.architecture().outputs(), {}, {}, {}},
              std::move(validation), config, kernels, pool, resume) {
  if (config_.batch_size <= 0) throw std::invalid_argument("streaming data needs a batch size");
  if (config_.optimizer.kind == OptimizerKind::kLbfgs) throw std::invalid_argument("lbfgs needs in-memory data");
  source_ = std::move(source);
  labels_ = labels;
  batch_rows_ = config_.batch_size;
  epoch_rows_ = 0;
  network_.reserve(batch_rows_);
  // Rows are assembled into whole batches across chunk boundaries.
  allocate(true);
  target_sum_.assign(static_cast<std::size_t>(data_.outputs), 0.0);
  target_sum_sq_.assign(static_cast<std::size_t>(data_.outputs), 0.0);
}

void Trainer::allocate(bool gathered_batches) {
  grads_.resize(arch_.param_count());
  grads_.fill(0.0f);
  network_.reserve(batch_rows_);
  order_.resize(static_cast<std::size_t>(data_.rows));
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::uint32_t>(i);
  if (gathered_batches) {
    batch_x_.resize(static_cast<std::size_t>(batch_rows_) * static_cast<std::size_t>(data_.inputs));
    if (labels_) {
      batch_labels_.resize(static_cast<std::size_t>(batch_rows_));
    } else {
      batch_y_.resize(static_cast<std::size_t>(batch_rows_) * static_cast<std::size_t>(data_.outputs));
    }
  }
  if (config_.loss == Loss::kMse) val_target_ss_ = target_sum_squares(validation_);
  if (config_.early_stopping.enabled && config_.early_stopping.restore_best) {
    best_params_ = params_;
    if (best_epoch_ == 0) best_epoch_ = epochs_done_;
  }
  grad_sq_sum_.assign(arch_.depth(), 0.0);
  grad_slices_.clear();
  layer_first_slice_.clear();
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    layer_first_slice_.push_back(grad_slices_.size());
    const LayerLayout& layout = arch_.layout(l);
    const std::size_t count = static_cast<std::size_t>(layout.fan_in + 1) * static_cast<std::size_t>(layout.units);
    for (std::size_t at = 0; at < count; at += kGradSlice) {
      grad_slices_.push_back({layout.weight_offset + at, std::min(kGradSlice, count - at)});
    }
  }
  layer_first_slice_.push_back(grad_slices_.size());
  grad_slice_sums_.assign(grad_slices_.size(), 0.0);
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

void Trainer::layer_gradient_sums(const float* grads) {
  // Fixed slices of each layer's gradient (their sizes never depend on the thread count, so the
  // sums are the same for any pool), summed in parallel: on two cores a single pass over the
  // gradient slab costs as much as the optimizer's update.
  auto task = [&](int t, int) {
    const GradSlice& s = grad_slices_[static_cast<std::size_t>(t)];
    grad_slice_sums_[static_cast<std::size_t>(t)] = compute_.kernels->sum_squares(grads + s.begin, s.count);
  };
  const int tasks = static_cast<int>(grad_slices_.size());
  // Small networks have one slice a layer, each far below a slice's size: a hand-off to the pool
  // would cost more than the sums (XOR's 17 parameters: microseconds against nanoseconds).
  const bool worth_splitting = grads_.size() > kGradSlice;
  if (compute_.pool != nullptr && compute_.pool->size() > 1 && tasks > 1 && worth_splitting) {
    compute_.pool->parallel_for(tasks, task);
  } else {
    for (int t = 0; t < tasks; ++t) task(t, 0);
  }
}

double Trainer::accumulate_diagnostics(int rows, const float* grads) {
  const std::size_t last = arch_.depth() - 1;
  layer_gradient_sums(grads);
  double total = 0;
  for (std::size_t l = 0; l < arch_.depth(); ++l) {
    const LayerLayout& layout = arch_.layout(l);
    double layer_sq = 0;
    for (std::size_t t = layer_first_slice_[l]; t < layer_first_slice_[l + 1]; ++t) layer_sq += grad_slice_sums_[t];
    grad_sq_sum_[l] += layer_sq;
    total += layer_sq;
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
      if (l == last && logits_out_) {
        for (std::size_t i = 0; i < count; ++i) saturated += std::fabs(a[i]) > kSigmoidSaturatedLogit;
      } else {
        for (std::size_t i = 0; i < count; ++i) saturated += (a[i] < kSigmoidSaturatedLow) | (a[i] > kSigmoidSaturatedHigh);
      }
      saturated_count_[l] += static_cast<double>(saturated);
    }
  }
  return total;
}

LossSums Trainer::step_gradients(const float* params, const float* x, Targets targets, int rows, float* grads,
                                 bool diagnostics, double* grad_sq) {
  network_.forward(compute_, params, x, rows, logits_out_);
  const LossSums sums = network_.loss_and_output_delta(compute_, config_.loss, targets, rows);
  if (!std::isfinite(sums.loss)) return sums;
  network_.backward(compute_, params, x, rows, grads);
  if (diagnostics) {
    const double sq = accumulate_diagnostics(rows, grads);
    if (grad_sq != nullptr) *grad_sq = sq;
  }
  return sums;
}

LossSums Trainer::full_gradient(const float* params, float* grads, bool diagnostics) {
  Targets targets;
  if (data_.has_labels()) targets.labels = data_.labels.data();
  else targets.dense = data_.y.data();
  return step_gradients(params, data_.x.data(), targets, data_.rows, grads, diagnostics);
}

void Trainer::clip(float* grads, double grad_sq) const {
  const double norm = std::sqrt(grad_sq);
  if (config_.clip_norm <= 0 || !(norm > config_.clip_norm)) return;
  const auto scale = static_cast<float>(config_.clip_norm / norm);
  for (std::size_t i = 0; i < grads_.size(); ++i) grads[i] *= scale;
}

bool Trainer::train_step(const float* x, Targets targets, int rows, Sums& sums, float learning_rate,
                         std::uint32_t* batches_done) {
  double grad_sq = 0;
  const LossSums batch =
      step_gradients(params_.data(), x, targets, rows, grads_.data(), config_.diagnostics, &grad_sq);
  ++sums.steps;
  if (!std::isfinite(batch.loss)) {
    sums.loss.loss = batch.loss / rows;  // reported as the diverged loss
    return false;
  }
  if (config_.diagnostics || config_.clip_norm > 0) {
    if (!config_.diagnostics) grad_sq = compute_.kernels->sum_squares(grads_.data(), grads_.size());
    sums.grad_sq += grad_sq;
    clip(grads_.data(), grad_sq);
  }
  optimizer_.step(*compute_.kernels, compute_.pool, params_.data(), grads_.data(), params_.size(), learning_rate);
  if (batches_done != nullptr) __atomic_store_n(batches_done, static_cast<std::uint32_t>(sums.steps), __ATOMIC_RELAXED);
  sums.loss.loss += batch.loss;
  sums.loss.correct += batch.correct;
  sums.loss.squared_error += batch.squared_error;
  return true;
}

EpochOutcome Trainer::run_minibatches(const std::atomic<bool>& cancel, Sums& sums, float learning_rate,
                                      std::uint32_t* batches_done) {
  const bool gathered = !batch_x_.empty();
  if (config_.shuffle && batch_rows_ < data_.rows) {
    // Shuffle the identity, not last epoch's order: the order then depends on the RNG state
    // alone, which a checkpoint carries, so a resumed run sees the same batches.
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::uint32_t>(i);
    rng_.shuffle(order_.data(), order_.size());
  }
  for (std::size_t start = 0; start < static_cast<std::size_t>(data_.rows); start += static_cast<std::size_t>(batch_rows_)) {
    if (cancel.load(std::memory_order_relaxed)) return {EpochStatus::kCancelled, sums.steps};
    const int rows = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch_rows_), data_.rows - start));
    const float* x;
    Targets targets;
    if (gathered) {
      gather_batch(start, rows);
      x = batch_x_.data();
      if (labels_) targets.labels = batch_labels_.data();
      else targets.dense = batch_y_.data();
    } else {
      x = data_.x.data() + start * static_cast<std::size_t>(data_.inputs);
      if (labels_) targets.labels = data_.labels.data() + start;
      else targets.dense = data_.y.data() + start * static_cast<std::size_t>(data_.outputs);
    }
    if (!train_step(x, targets, rows, sums, learning_rate, batches_done)) {
      return {EpochStatus::kDiverged, sums.steps, sums.loss.loss};
    }
  }
  return {EpochStatus::kCompleted, sums.steps};
}

EpochOutcome Trainer::run_streaming(const std::atomic<bool>& cancel, Sums& sums, float learning_rate,
                                    std::uint32_t* batches_done) {
  const std::size_t in = static_cast<std::size_t>(data_.inputs);
  const std::size_t out = static_cast<std::size_t>(data_.outputs);
  epoch_rows_ = 0;
  std::fill(target_sum_.begin(), target_sum_.end(), 0.0);
  std::fill(target_sum_sq_.begin(), target_sum_sq_.end(), 0.0);
  Targets batch_targets;
  if (labels_) batch_targets.labels = batch_labels_.data();
  else batch_targets.dense = batch_y_.data();
  int pending = 0;  // rows already in the batch buffers (a batch that spans chunks)
  for (;;) {
    Dataset* chunk = nullptr;
    const ChunkQueue::Next next = source_->pop(chunk);
    if (next == ChunkQueue::Next::kInterrupted) return {EpochStatus::kCancelled, sums.steps};
    if (next == ChunkQueue::Next::kEndOfEpoch) break;
    // Give the buffer back however this chunk ends.
    struct Release {
      ChunkQueue* queue;
      Dataset* chunk;
      ~Release() { queue->release(chunk); }
    } release{source_.get(), chunk};
    const int rows = chunk->rows;
    epoch_rows_ += rows;
    if (config_.loss == Loss::kMse) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * out; ++i) {
        const double v = chunk->y[i];
        target_sum_[i % out] += v;
        target_sum_sq_[i % out] += v * v;
      }
    }
    const bool shuffled = config_.shuffle && rows > 1;
    if (shuffled) {
      if (order_.size() < static_cast<std::size_t>(rows)) order_.resize(static_cast<std::size_t>(rows));
      for (int i = 0; i < rows; ++i) order_[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i);
      rng_.shuffle(order_.data(), static_cast<std::size_t>(rows));
    }
    int r = 0;
    while (r < rows) {
      if (cancel.load(std::memory_order_relaxed)) return {EpochStatus::kCancelled, sums.steps};
      const std::size_t at = static_cast<std::size_t>(r);
      if (pending == 0 && !shuffled && rows - r >= batch_rows_) {
        // A whole batch inside the chunk, in order: train on it where it lies.
        Targets targets;
        if (labels_) targets.labels = chunk->labels.data() + at;
        else targets.dense = chunk->y.data() + at * out;
        if (!train_step(chunk->x.data() + at * in, targets, batch_rows_, sums, learning_rate, batches_done)) {
          return {EpochStatus::kDiverged, sums.steps, sums.loss.loss};
        }
        r += batch_rows_;
        continue;
      }
      const int take = std::min(batch_rows_ - pending, rows - r);
      for (int i = 0; i < take; ++i) {
        const std::size_t src = shuffled ? order_[at + static_cast<std::size_t>(i)] : at + static_cast<std::size_t>(i);
        const std::size_t dst = static_cast<std::size_t>(pending + i);
        std::memcpy(batch_x_.data() + dst * in, chunk->x.data() + src * in, sizeof(float) * in);
        if (labels_) batch_labels_[dst] = chunk->labels[src];
        else std::memcpy(batch_y_.data() + dst * out, chunk->y.data() + src * out, sizeof(float) * out);
      }
      pending += take;
      r += take;
      if (pending == batch_rows_) {
        if (!train_step(batch_x_.data(), batch_targets, pending, sums, learning_rate, batches_done)) {
          return {EpochStatus::kDiverged, sums.steps, sums.loss.loss};
        }
        pending = 0;
      }
    }
  }
  if (pending > 0 && !train_step(batch_x_.data(), batch_targets, pending, sums, learning_rate, batches_done)) {
    return {EpochStatus::kDiverged, sums.steps, sums.loss.loss};
  }
  if (epoch_rows_ == 0) throw std::runtime_error("the data source gave no rows for an epoch");
  if (config_.loss == Loss::kMse) {
    target_ss_ = 0;
    for (std::size_t c = 0; c < out; ++c) {
      target_ss_ += target_sum_sq_[c] - target_sum_[c] * target_sum_[c] / epoch_rows_;
    }
  }
  return {EpochStatus::kCompleted, sums.steps};
}

EpochOutcome Trainer::run_lbfgs(const std::atomic<bool>& cancel, Sums& sums, float learning_rate) {
  // Each evaluation is a pass over the whole training set, and a line search may make several:
  // a cancel is honoured between evaluations (the epoch is then not committed, as a cancelled
  // mini-batch epoch is not).
  struct Cancelled {};
  // The loss at the epoch's starting point is the epoch's loss (as for the other optimizers:
  // measured before the update); L2 weight decay enters the objective itself.
  const float wd = config_.optimizer.weight_decay;
  auto objective = [&](const float* params, float* grads, bool diagnostics, LossSums* out) {
    const LossSums s = full_gradient(params, grads, diagnostics);
    if (out != nullptr) *out = s;
    double f = s.loss / data_.rows;
    if (wd > 0 && std::isfinite(f)) {
      f += 0.5 * wd * dot(params, params, params_.size());
      for (std::size_t i = 0; i < params_.size(); ++i) grads[i] += wd * params[i];
    }
    return f;
  };
  LossSums start;
  double f = objective(params_.data(), grads_.data(), config_.diagnostics, &start);
  sums.steps = 1;
  if (!std::isfinite(f)) return {EpochStatus::kDiverged, 1, f};
  sums.loss = start;
  sums.grad_sq = dot(grads_.data(), grads_.data(), grads_.size());
  if (cancel.load(std::memory_order_relaxed)) return {EpochStatus::kCancelled, 1};
  try {
    lbfgs_->iterate(params_.data(), grads_.data(), f, learning_rate, [&](const float* x, float* g) {
      if (cancel.load(std::memory_order_relaxed)) throw Cancelled{};
      const double value = objective(x, g, false, nullptr);
      // A non-finite trial is simply a failed step for the line search.
      return std::isfinite(value) ? value : std::numeric_limits<double>::infinity();
    });
  } catch (const Cancelled&) {
    return {EpochStatus::kCancelled, 1};
  }
  return {EpochStatus::kCompleted, 1};
}

LossSums Trainer::evaluate(const Dataset& d) {
  LossSums total;
  for (int start = 0; start < d.rows; start += batch_rows_) {
    const int rows = std::min(batch_rows_, d.rows - start);
    const std::size_t at = static_cast<std::size_t>(start);
    Targets targets;
    if (d.has_labels()) targets.labels = d.labels.data() + at;
    else targets.dense = d.y.data() + at * static_cast<std::size_t>(d.outputs);
    network_.forward(compute_, params_.data(), d.x.data() + at * static_cast<std::size_t>(d.inputs), rows, logits_out_);
    const LossSums s = network_.loss_and_output_delta(compute_, config_.loss, targets, rows);
    total.loss += s.loss;
    total.correct += s.correct;
    total.squared_error += s.squared_error;
  }
  return total;
}

void Trainer::finish_metrics(EpochMetrics& m, const Sums& sums, float learning_rate) {
  const double outputs = static_cast<double>(arch_.outputs());
  auto fill = [&](const LossSums& s, double n, double target_ss, double& loss, double& accuracy, double& rmse,
                  double& r2) {
    loss = s.loss / n;
    accuracy = rmse = r2 = kNaN;
    switch (config_.loss) {
      case Loss::kCrossEntropy: accuracy = s.correct / n; break;
      case Loss::kBinaryCrossEntropy: accuracy = s.correct / (n * outputs); break;
      case Loss::kMse:
        rmse = std::sqrt(s.squared_error / (n * outputs));
        r2 = target_ss > 0 ? 1.0 - s.squared_error / target_ss : kNaN;
        break;
    }
  };
  m.epoch = epochs_done_;
  m.learning_rate = learning_rate;
  m.samples = epoch_rows_;
  fill(sums.loss, static_cast<double>(epoch_rows_), target_ss_, m.loss, m.accuracy, m.rmse, m.r2);
  if (validation_.rows > 0) {
    const LossSums v = evaluate(validation_);
    fill(v, static_cast<double>(validation_.rows), val_target_ss_, m.val_loss, m.val_accuracy, m.val_rmse, m.val_r2);
  } else {
    m.val_loss = m.val_accuracy = m.val_rmse = m.val_r2 = kNaN;
  }
  m.grad_norm = config_.diagnostics || config_.clip_norm > 0 || lbfgs_
                    ? std::sqrt(sums.grad_sq / static_cast<double>(std::max<std::int64_t>(sums.steps, 1)))
                    : kNaN;
  const std::size_t depth = arch_.depth();
  m.layers.resize(depth);
  for (std::size_t l = 0; l < depth; ++l) {
    LayerDiagnostics& d = m.layers[l];
    const LayerLayout& layout = arch_.layout(l);
    const Activation kind = arch_.layer(l).activation.kind;
    if (!config_.diagnostics) {
      d = {kNaN, kNaN, kNaN, kNaN};
      continue;
    }
    d.grad_norm = std::sqrt(grad_sq_sum_[l] / static_cast<double>(std::max<std::int64_t>(sums.steps, 1)));
    d.weight_norm = std::sqrt(compute_.kernels->sum_squares(
        params_.data() + layout.weight_offset, static_cast<std::size_t>(layout.fan_in) * static_cast<std::size_t>(layout.units)));
    d.dead_fraction = kNaN;
    d.saturated_fraction = kNaN;
    if (kind == Activation::kRelu || kind == Activation::kLeakyRelu) {
      std::size_t alive = 0;
      for (std::uint8_t a : unit_active_[l]) alive += a;
      d.dead_fraction = 1.0 - static_cast<double>(alive) / layout.units;
    } else if (kind == Activation::kTanh || kind == Activation::kSigmoid) {
      d.saturated_fraction = saturated_count_[l] / (static_cast<double>(epoch_rows_) * layout.units);
    }
  }
}

void Trainer::update_early_stopping(EpochMetrics& m) {
  m.stop = false;
  m.best_epoch = 0;
  const EarlyStoppingConfig& es = config_.early_stopping;
  if (!es.enabled) return;
  double value = kNaN;
  switch (es.monitor) {
    case Monitor::kLoss: value = m.loss; break;
    case Monitor::kValLoss: value = m.val_loss; break;
    case Monitor::kAccuracy: value = m.accuracy; break;
    case Monitor::kValAccuracy: value = m.val_accuracy; break;
  }
  const bool improved = std::isnan(best_value_) ||
                        (lower_is_better(es.monitor) ? value < best_value_ - es.min_delta : value > best_value_ + es.min_delta);
  if (improved && !std::isnan(value)) {
    best_value_ = value;
    best_epoch_ = m.epoch;
    wait_ = 0;
    if (es.restore_best) best_params_ = params_;
  } else {
    ++wait_;
    if (wait_ >= es.patience) m.stop = true;
  }
  m.best_epoch = best_epoch_;
}

EpochOutcome Trainer::run_epoch(const std::atomic<bool>& cancel, EpochMetrics& metrics, std::uint32_t* batches_done) {
  const auto started = std::chrono::steady_clock::now();
  const auto learning_rate = static_cast<float>(
      scheduled_learning_rate(config_.schedule, schedule_state_, config_.optimizer.learning_rate, epochs_done_));
  if (config_.diagnostics) {
    std::fill(grad_sq_sum_.begin(), grad_sq_sum_.end(), 0.0);
    std::fill(saturated_count_.begin(), saturated_count_.end(), 0.0);
    for (auto& active : unit_active_) active.fill(0);
  }
  Sums sums;
  const EpochOutcome outcome = lbfgs_     ? run_lbfgs(cancel, sums, learning_rate)
                              : source_ ? run_streaming(cancel, sums, learning_rate, batches_done)
                                        : run_minibatches(cancel, sums, learning_rate, batches_done);
  if (outcome.status != EpochStatus::kCompleted) return outcome;
  // A finite loss can still be followed by an update that overflows the weights; such an
  // epoch is not committed either.
  for (float p : params_) {
    if (!std::isfinite(p)) return {EpochStatus::kDiverged, sums.steps, sums.loss.loss / std::max(epoch_rows_, 1), true};
  }
  ++epochs_done_;
  finish_metrics(metrics, sums, learning_rate);
  update_plateau(config_.schedule, schedule_state_, config_.optimizer.learning_rate,
                 validation_.rows > 0 ? metrics.val_loss : metrics.loss);
  update_early_stopping(metrics);
  metrics.epoch_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return outcome;
}

void Trainer::commit(Model& model, bool final_epoch) const {
  std::lock_guard<std::mutex> lock(model.mutex());
  const bool restore = final_epoch && config_.early_stopping.enabled && config_.early_stopping.restore_best &&
                       !best_params_.empty();
  const AlignedBuffer<float>& source = restore ? best_params_ : params_;
  std::memcpy(model.params().data(), source.data(), sizeof(float) * source.size());
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
  state->schedule = schedule_state_;
  state->early_best = best_value_;
  state->early_best_epoch = best_epoch_;
  state->early_wait = wait_;
}

}  // namespace mlpstream
